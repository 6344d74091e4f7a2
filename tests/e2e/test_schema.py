"""The checkers themselves can fail: the JSON Schema (through tests/validate_trace.py, as a user
runs it) accepts the valid fixtures and rejects the invalid ones and a set of broken variants
made here, and each trace invariant of tests/e2e/invariants.py catches a trace broken on
purpose."""
import copy
import glob
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import invariants  # noqa: E402
from harness import ROOT, SCHEMA, check, tmpdir, trace  # noqa: E402

VALIDATE = os.path.join(ROOT, "tests", "validate_trace.py")
FIX = os.path.join(ROOT, "tests", "fixtures", "trace")


def validate(paths):
    """(exit code, files reported ok, files reported INVALID)."""
    p = subprocess.run(["/usr/bin/python3", VALIDATE, SCHEMA, *paths], capture_output=True, text=True, timeout=120)
    ok = {ln[3:] for ln in p.stdout.splitlines() if ln.startswith("ok ")}
    bad = {ln.rsplit(": INVALID", 1)[0] for ln in p.stderr.splitlines() if ": INVALID" in ln}
    bad |= {ln.split(": ", 1)[0] for ln in p.stderr.splitlines() if "invalid JSON" in ln}
    return p.returncode, ok, bad, p.stderr


valid = sorted(glob.glob(os.path.join(FIX, "valid_*.json")))
invalid = sorted(glob.glob(os.path.join(FIX, "invalid_*.json")))
check("fixtures: there are valid and invalid traces", valid and invalid)
rc, ok, bad, err = validate(valid)
check("fixtures: every valid_*.json validates (exit 0)", rc == 0 and ok == set(valid), err)
for f in invalid:
    rc, ok, bad, err = validate([f])
    check(f"fixtures: {os.path.basename(f)} is rejected (exit 1)", rc == 1 and bad == {f}, err)

with open(valid[0], encoding="utf-8") as f:
    base = json.load(f)


def node(doc, i):
    return doc["nodes"][i]


# The issue-5 blocks for the fixture's model (h = sin(x^2): node 0 x, node 1 x^2, node 2 h;
# edge 0 from x, edge 1 from x^2), built here as gradviz writes them.
def cost(sweeps):
    return {"sweeps": sweeps, "timed_sweeps": sweeps, "nodes": 2 * sweeps, "edges": 2 * sweeps,
            "seconds": 1e-7 * sweeps, "estimated": False}


def task(name):
    return {"task": name, "rows": 1, "cols": 1, "reverse": cost(1), "forward": cost(1), "ratio": 1.0}


def with_jacobian(d, mode="reverse"):
    g = d["nodes"][0]["grad"]
    d["jacobian"] = {"mode": mode, "rows": [{"id": 2, "name": "h"}], "cols": [{"id": 0, "name": "x", "kind": "input"}],
                     "values": [[g]]}
    if mode == "both":
        d["jacobian"]["forward_max_abs_diff"] = 0
    return d["jacobian"]


def with_via(d):
    j = with_jacobian(d)
    j["via"] = {"cut": [{"id": 1, "name": None}], "f": [[d["nodes"][2]["grad"] / 1]], "g": [[4.0]],
                "product": [[d["nodes"][0]["grad"]]], "max_abs_diff": 0, "max_rel_diff": 0, "agree": True}
    j["check"] = {"method": "central-difference", "eps": 6e-6, "tolerance": {"rel": 1e-5, "abs": 1e-7},
                  "numeric": [[d["nodes"][0]["grad"]]], "failed": 0, "max_abs_error": 1e-10, "max_rel_error": 1e-11,
                  "worst": {"row": 0, "col": 0}, "passed": True}
    return j


def with_modes(d):
    d["modes"] = {"budget_seconds": 0.5, "outputs": 1, "inputs": 1, "params": 0,
                  "tasks": [task("jacobian"), task("gradient_inputs"), task("gradient_inputs_params")]}
    return d["modes"]


def with_forward_mode(d):
    tan = [1.0, 4.0, 4.0 * -0.6536436208636119]
    for n, t in zip(d["nodes"], tan):
        n["tangent"] = t
    for e, t in zip(d["edges"], (4.0, tan[2])):
        e["tangent"] = t
    d["forward_mode"] = {"wrt": 0, "steps": [
        {"step": 0, "node": 1, "tangent": tan[1], "edges": [{"edge": 0, "tangent": 4.0}]},
        {"step": 1, "node": 2, "tangent": tan[2], "edges": [{"edge": 1, "tangent": tan[2]}]}]}
    return d["forward_mode"]


# (name, mutation) -> the schema must reject the result
MUTANTS = [
    ("format misspelt", lambda d: d.update(format="gradviz-trac")),
    ("version 2", lambda d: d.update(version=2)),
    ("unknown top-level key", lambda d: d.update(extra=1)),
    ("no outputs", lambda d: d.update(outputs=[])),
    ("model.source missing", lambda d: d["model"].pop("source")),
    ("node value null without a marker", lambda d: node(d, 1).update(value=None)),
    ("nonfinite marker beside a finite value", lambda d: node(d, 1).update(nonfinite="inf")),
    ("bad marker", lambda d: node(d, 1).update(value=None, nonfinite="NaN")),
    ("const node with a gradient", lambda d: node(d, 0).update(kind="const")),
    ("leaf without a name", lambda d: node(d, 0).update(name=None)),
    ("leaf with args", lambda d: node(d, 0).update(args=[{"node": 1}])),
    ("op node without op", lambda d: node(d, 2).pop("op")),
    ("unknown op", lambda d: node(d, 2).update(op="sinh")),
    ("unknown kind", lambda d: node(d, 0).update(kind="variable")),
    ("unary op with two args", lambda d: node(d, 2).update(args=[{"node": 1}, {"node": 0}])),
    ("unary op on a literal", lambda d: node(d, 2).update(args=[{"const": 1}])),
    ("binary op with one arg", lambda d: node(d, 1).update(args=[{"node": 0}])),
    ("binary op on two literals", lambda d: node(d, 1).update(args=[{"const": 1}, {"const": 2}])),
    ("arg with node and const", lambda d: node(d, 1)["args"][1].update(node=0)),
    ("name that is not an identifier", lambda d: node(d, 2).update(name="2h")),
    ("line 0", lambda d: node(d, 0).update(line=0)),
    ("negative id", lambda d: node(d, 0).update(id=-1)),
    ("edge slot 2", lambda d: d["edges"][0].update(slot=2)),
    ("edge without rule", lambda d: d["edges"][0].pop("rule")),
    ("edge local null without a marker", lambda d: d["edges"][0].update(local=None)),
    ("edge value as a string", lambda d: d["edges"][0].update(value="2.0")),
    ("backward step without edges", lambda d: d["backward"][0].update(edges=[])),
    ("backward edge without accum", lambda d: d["backward"][0]["edges"][0].pop("accum")),
    ("forward step with grad", lambda d: d["forward"][0].update(grad=1)),
    ("fanout with one edge", lambda d: d.update(fanout=[{"node": 0, "edges": [0], "terms": [1], "grad": 1}])),
    ("check with another method", lambda d: d["check"].update(method="forward-difference")),
    ("check entry without passed", lambda d: d["check"]["wrt"][0].pop("passed")),
    ("check eps 0", lambda d: d["check"].update(eps=0)),
    # issue 5 blocks
    ("jacobian with an unknown key", lambda d: with_jacobian(d).update(anything=[1, 2])),
    ("jacobian mode sideways", lambda d: with_jacobian(d).update(mode="sideways")),
    ("jacobian without values", lambda d: with_jacobian(d).pop("values")),
    ("jacobian without rows", lambda d: with_jacobian(d).update(rows=[])),
    ("jacobian mode both without forward_max_abs_diff", lambda d: with_jacobian(d, "both").pop("forward_max_abs_diff")),
    ("forward_max_abs_diff in mode reverse", lambda d: with_jacobian(d).update(forward_max_abs_diff=0)),
    ("forward_max_abs_diff null without its marker", lambda d: with_jacobian(d, "both").update(forward_max_abs_diff=None)),
    ("a const leaf as a Jacobian column", lambda d: with_jacobian(d)["cols"][0].update(kind="const")),
    ("a Jacobian entry as a string", lambda d: with_jacobian(d).update(values=[["1.0"]])),
    ("an empty values_nonfinite list", lambda d: with_jacobian(d).update(values_nonfinite=[])),
    ("values_nonfinite with a bad marker", lambda d: with_jacobian(d).update(
        values=[[None]], values_nonfinite=[{"row": 0, "col": 0, "value": "NaN"}])),
    ("via without agree", lambda d: with_via(d)["via"].pop("agree")),
    ("via with an empty cut", lambda d: with_via(d)["via"].update(cut=[])),
    ("Jacobian check without passed", lambda d: with_via(d)["check"].pop("passed")),
    ("Jacobian check max_rel_error null without marker", lambda d: with_via(d)["check"].update(max_rel_error=None)),
    ("modes with two tasks", lambda d: with_modes(d)["tasks"].pop()),
    ("modes tasks out of order", lambda d: with_modes(d)["tasks"].reverse()),
    ("modes task with an unknown name", lambda d: with_modes(d)["tasks"][2].update(task="hessian")),
    ("modes cost without estimated", lambda d: with_modes(d)["tasks"][0]["forward"].pop("estimated")),
    ("modes cost with negative seconds", lambda d: with_modes(d)["tasks"][0]["reverse"].update(seconds=-1)),
    ("modes without budget", lambda d: with_modes(d).pop("budget_seconds")),
    ("forward_mode without the nodes' tangents", lambda d: (with_forward_mode(d), d["nodes"][1].pop("tangent"))),
    ("forward_mode without the edges' tangents", lambda d: (with_forward_mode(d), d["edges"][0].pop("tangent"))),
    ("a node tangent without forward_mode", lambda d: d["nodes"][0].update(tangent=1.0)),
    ("an edge tangent without forward_mode", lambda d: d["edges"][0].update(tangent=1.0)),
    ("a null tangent without its marker", lambda d: (with_forward_mode(d), d["nodes"][2].update(tangent=None))),
    ("a tangent marker beside a finite tangent", lambda d: (with_forward_mode(d),
                                                            d["nodes"][2].update(tangent_nonfinite="inf"))),
    ("forward_mode step without edges", lambda d: with_forward_mode(d)["steps"][0].update(edges=[])),
    ("forward_mode without wrt", lambda d: with_forward_mode(d).pop("wrt")),
]
GOOD = [
    ("as written", lambda d: None),
    ("no check block", lambda d: d.pop("check")),
    ("a jacobian block (mode reverse)", with_jacobian),
    ("a jacobian block (mode both)", lambda d: with_jacobian(d, "both")),
    ("a jacobian with a cut and a check", with_via),
    ("a non-finite Jacobian entry listed in values_nonfinite", lambda d: with_jacobian(d).update(
        values=[[None]], values_nonfinite=[{"row": 0, "col": 0, "value": "inf"}])),
    ("a modes block", with_modes),
    ("a modes block with an unmeasured ratio", lambda d: with_modes(d)["tasks"][1].update(ratio=None)),
    ("a forward_mode block with tangents on every node and edge", with_forward_mode),
    ("a non-finite tangent with its marker", lambda d: (with_forward_mode(d),
                                                        d["nodes"][2].update(tangent=None, tangent_nonfinite="nan"))),
    ("every issue-5 block at once", lambda d: (with_via(d), with_modes(d), with_forward_mode(d))),
    ("non-finite value with its marker", lambda d: (node(d, 1).update(value=None, nonfinite="-inf"),
                                                    d["forward"][0].update(value=None, nonfinite="-inf"),
                                                    d["edges"][1].update(value=None, value_nonfinite="-inf"))),
    ("non-finite grad with its marker", lambda d: (node(d, 0).update(grad=None, grad_nonfinite="nan"),
                                                   d["edges"][0].update(grad=None, grad_nonfinite="nan"))),
    ("const leaf with null grad", lambda d: node(d, 0).update(kind="const", grad=None)),
]

d = tmpdir()
paths_bad, paths_good = [], []
for i, (name, mut) in enumerate(MUTANTS + GOOD):
    doc = copy.deepcopy(base)
    mut(doc)
    path = os.path.join(d, f"{'bad' if i < len(MUTANTS) else 'good'}{i:02d}.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False)
    (paths_bad if i < len(MUTANTS) else paths_good).append((name, path))
# JSON that Python would accept but is not JSON
for name, text in (("a NaN literal", json.dumps(base).replace('"value": 2.0', '"value": NaN', 1)),
                   ("a duplicate key", json.dumps(base).replace('"version": 1', '"version": 1, "version": 1', 1))):
    path = os.path.join(d, f"raw{len(paths_bad)}.json")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    paths_bad.append((name, path))

rc, ok, bad, err = validate([p for _, p in paths_bad + paths_good])
check("validate_trace.py exits 1 when any file is invalid", rc == 1, err[-500:])
for name, path in paths_bad:
    check(f"schema rejects: {name}", path in bad and path not in ok, err[-300:])
for name, path in paths_good:
    check(f"schema accepts: {name}", path in ok, [ln for ln in err.splitlines() if path in ln][:3])
rc = subprocess.run(["/usr/bin/python3", VALIDATE], capture_output=True).returncode
check("validate_trace.py without files: exit 2", rc == 2)

# ---- each invariant catches a trace broken on purpose ----
p, doc, _ = trace("examples/fanout.grad")
if check("fanout trace for the invariant mutations", p.returncode == 0 and doc, p.stderr):
    v = invariants.View(doc)
    check("the unbroken trace passes every invariant", all(not fn(v) for _, fn in invariants.CHECKS),
          [(n, fn(v)[:2]) for n, fn in invariants.CHECKS if fn(v)])
    x = 0  # node x fans out to four edges

    def bump(val):
        import math
        return math.nextafter(val, math.inf)

    INV_MUTANTS = [
        ("ids and references", lambda t: t["edges"][0].update(id=5)),
        ("slot indexes args", lambda t: t["edges"][0].update(slot=1 - t["edges"][0]["slot"])),
        ("edge value = value(from)", lambda t: t["edges"][0].update(value=bump(t["edges"][0]["value"]))),
        ("edge grad = grad(to) * local", lambda t: t["edges"][0].update(grad=bump(t["edges"][0]["grad"]))),
        ("node grad = sum of out-edge grads", lambda t: t["nodes"][x].update(grad=t["nodes"][x]["grad"] * 1.001)),
        ("node grad = sum of out-edge grads", lambda t: t["nodes"][t["outputs"][0]].update(grad=2)),
        ("forward order", lambda t: t["forward"].reverse()),
        ("forward order", lambda t: t["forward"].pop()),
        ("backward order", lambda t: t["backward"].reverse()),
        ("backward order", lambda t: t["backward"].pop()),
        ("backward steps and accum", lambda t: t["backward"][0]["edges"][0].update(
            accum=bump(t["backward"][0]["edges"][0]["accum"]))),
        ("backward steps and accum", lambda t: t["backward"][0]["edges"].reverse()
         if len(t["backward"][0]["edges"]) > 1 else t["backward"][1]["edges"].reverse()),
        ("fanout", lambda t: t["fanout"].pop()),
        ("fanout", lambda t: t["fanout"][0]["terms"].reverse() if len(set(t["fanout"][0]["terms"])) > 1
         else t["fanout"][0]["terms"].__setitem__(0, 9.0)),
        ("fanout", lambda t: t["fanout"][0]["edges"].pop()),
    ]
    fns = dict(invariants.CHECKS)
    for name, mut in INV_MUTANTS:
        t = copy.deepcopy(doc)
        mut(t)
        try:
            probs = fns[name](invariants.View(t))
        except (KeyError, IndexError, TypeError) as e:
            probs = [repr(e)]
        check(f"invariant '{name}' catches a broken trace", bool(probs))
