"""Every JSON trace gradviz writes for the examples and for generated models validates against
the schema and satisfies the invariants of SPEC §4 (tests/e2e/invariants.py). Values and
gradients are compared with an independent reference implementation (tests/e2e/refmodel.py)
that parses the same model text itself; that reference is in turn checked against central
differences here."""
import glob
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import invariants  # noqa: E402
import refmodel  # noqa: E402
from harness import ROOT, check, gen, run, schema_errors, tmpdir, trace, write_model  # noqa: E402

def by_name(doc):
    return {n["name"]: n for n in doc["nodes"] if n["name"] is not None}


def compare_with_reference(label, doc, text, rel=1e-9):
    """Values and gradients of every named node against refmodel's."""
    m = refmodel.parse(text)
    vals, grads = m.values(), m.grads()
    named = by_name(doc)
    bad_v, bad_g = [], []
    for name, want in vals.items():
        n = named.get(name)
        if n is None:
            bad_v.append(f"{name}: missing from the trace")
            continue
        got = invariants.num(n, "value", "nonfinite")
        if not invariants.near(got, want, rel=rel, abs_=1e-300):
            bad_v.append(f"{name}: value {got}, reference {want}")
        if m.leaves.get(name, ("",))[0] == "const":
            continue
        got = invariants.num(n, "grad", "grad_nonfinite")
        # gradients are sums of products: allow cancellation relative to the largest term
        if not invariants.near(got, grads[name], rel=rel, abs_=1e-12):
            bad_g.append(f"{name}: grad {got}, reference {grads[name]}")
    check(f"{label}: values = reference", not bad_v, "\n".join(bad_v[:10]))
    check(f"{label}: gradients = reference", not bad_g, "\n".join(bad_g[:10]))
    outs = [doc["nodes"][i]["name"] for i in doc["outputs"]]
    check(f"{label}: outputs are the marked outputs, primary first", outs == m.outputs, f"{outs} want {m.outputs}")
    nops = sum(refmodel.count_ops(t) for _, t in m.assigns)
    got_ops = sum(1 for n in doc["nodes"] if n["kind"] == "op")
    check(f"{label}: one node per operator application ({nops})", got_ops == nops, got_ops)
    check(f"{label}: leaves are the declared leaves",
          {n["name"]: n["kind"] for n in doc["nodes"] if n["kind"] != "op"} == {k: v[0] for k, v in m.leaves.items()})
    return m


def check_trace(label, model_path, text=None, extra=()):
    p, doc, path = trace(model_path, *extra)
    if not check(f"{label}: gradviz exits 0 and writes the trace", p.returncode == 0 and doc is not None, p.stderr):
        return None
    errs = schema_errors(path)
    check(f"{label}: trace validates against the schema", not errs, "\n".join(errs[:10]))
    invariants.run_all(check, label, doc)
    check(f"{label}: model.source is the path as given", doc["model"]["source"] == model_path, doc["model"])
    if text is not None:
        compare_with_reference(label, doc, text)
    return doc


# ---- the reference itself against central differences (so it can be trusted) ----
text = gen("mlp", "2,3,1", "--seed", "7")
m = refmodel.parse(text)
g = m.grads()
worst = 0.0
for name, (kind, v) in m.leaves.items():
    if kind == "const":
        continue
    h = 1e-6 * max(1.0, abs(v))
    up = m.values({name: v + h})[m.primary]
    dn = m.values({name: v - h})[m.primary]
    fd = (up - dn) / (2 * h)
    worst = max(worst, abs(fd - g[name]) / max(1e-8, abs(fd), abs(g[name])))
check("reference evaluator agrees with central differences", worst < 1e-6, worst)

# ---- examples ----
examples = sorted(glob.glob(os.path.join(ROOT, "examples", "*.grad")))
check("there are examples", len(examples) >= 3, examples)
for path in examples:
    rel = os.path.relpath(path, ROOT)
    with open(path, encoding="utf-8") as f:
        check_trace(rel, rel, f.read())

# ---- generated models ----
GENERATED = [("mlp", "2,3,1", "--seed", s) for s in ("1", "2", "3")]
GENERATED += [("mlp", "3,4,4,2", "--act", "relu", "--seed", s) for s in ("1", "5")]
GENERATED += [("mlp", "2,2,1", "--act", "sigmoid", "--seed", "4")]
GENERATED += [("chain", "8", "--act", "tanh", "--seed", s) for s in ("1", "2", "3")]
GENERATED += [("chain", "5", "--seed", "9")]
for args in GENERATED:
    text = gen(*args)
    label = "gen " + " ".join(args)
    check_trace(label, write_model(text, "gen.grad"), text)

# ---- every operator, literal folding, several outputs, unreachable nodes ----
ALL_OPS = """\
model "every operator"
input x = 0.7
input y = -1.3
param w = 2.5
const c = 0.25
a = x*y + w/x - c
b = sin(x)*cos(y) + tan(x/3)
d = exp(-x) + log(w) + sqrt(w) + tanh(y)
e = sigmoid(a) + relu(b) + abs(y) + softplus(d)
f = pow(w, x) + max(x, y) + min(x, 2) + x^2^0.5 - -y
g = 2*x + x*3 + 1/x + 1 - x + x^3 + 2^x + (x - 1)*(1 + x)
output out = a + b*d + e*f + g + x*x
output other = y*3
after = out*out
unused = exp(w) * c
"""
doc = check_trace("all operators", write_model(ALL_OPS, "allops.grad"), ALL_OPS)
if doc:
    ops = {n["op"] for n in doc["nodes"] if n["kind"] == "op"}
    want = {"add", "sub", "mul", "div", "neg", "pow", "sin", "cos", "tan", "exp", "log", "sqrt", "tanh", "sigmoid",
            "relu", "abs", "softplus", "max", "min"}
    check("all operators: every op appears", ops == want, want - ops)
    nm = by_name(doc)
    check("all operators: second output listed after the primary",
          doc["outputs"] == [nm["out"]["id"], nm["other"]["id"]], doc["outputs"])
    check("all operators: unreachable nodes have grad 0",
          nm["other"]["grad"] == 0 and nm["unused"]["grad"] == 0 and nm["after"]["grad"] == 0,
          [nm[k] for k in ("other", "unused", "after")])
    bw = {s["node"] for s in doc["backward"]}
    check("all operators: unreachable nodes are not in backward",
          not bw & {nm["other"]["id"], nm["unused"]["id"], nm["after"]["id"]})
    fo = [f for f in doc["fanout"] if f["node"] == nm["out"]["id"]]
    check("all operators: the primary output fans out to out*out with grad 1",
          len(fo) == 1 and fo[0]["grad"] == 1 and fo[0]["terms"] == [0, 0], fo)
    # x^2^0.5 is x^(2^0.5): right-associative, the literal part folded
    pw = [n for n in doc["nodes"] if n.get("op") == "pow" and len(n["args"]) == 2
          and n["args"][1].get("const") is not None and abs(n["args"][1]["const"] - math.sqrt(2)) < 1e-15]
    check("all operators: x^2^0.5 is one pow node with literal 2^0.5", len(pw) == 1, pw)

# ---- slot indexes args, literals included ----
SLOTS = """\
input x = 3
a = 2*x
b = x*2
c = 1 - x
d = x + 1
e = 2^x
f = max(1, x)
y = a + b + c + d + e + f
"""
p, doc, _ = trace(write_model(SLOTS, "slots.grad"))
if check("slots model runs", p.returncode == 0 and doc, p.stderr):
    nm = by_name(doc)
    x = nm["x"]["id"]
    for name, slot, lit in (("a", 1, 2), ("b", 0, 2), ("c", 1, 1), ("d", 0, 1), ("e", 1, 2), ("f", 1, 1)):
        n = nm[name]
        es = [e for e in doc["edges"] if e["to"] == n["id"]]
        want_args = [{"const": lit}, {"node": x}] if slot == 1 else [{"node": x}, {"const": lit}]
        check(f"slots: {name} has args in the order written and one edge from x with slot {slot}",
              n["args"] == want_args and len(es) == 1 and es[0]["from"] == x and es[0]["slot"] == slot, (n, es))
    # dy/dx by hand: 2 + 2 - 1 + 1 + 2^x ln 2 + 1 (max(1, x) selects x = 3)
    check("slots: dy/dx by hand", math.isclose(nm["x"]["grad"], 2 + 2 - 1 + 1 + 8 * math.log(2) + 1, rel_tol=1e-13),
          nm["x"])

# ---- x*x: two edges from x, x is a fan-out node ----
p, doc, _ = trace(write_model("input x = -1.5\ny = x*x\n", "square.grad"))
if check("x*x runs", p.returncode == 0 and doc, p.stderr):
    es = [e for e in doc["edges"] if e["from"] == 0]
    check("x*x: two edges from x, slots 0 and 1", sorted(e["slot"] for e in es) == [0, 1], es)
    check("x*x: x is a fan-out node with terms x, x", len(doc["fanout"]) == 1 and doc["fanout"][0]["node"] == 0
          and doc["fanout"][0]["terms"] == [-1.5, -1.5] and doc["fanout"][0]["grad"] == -3.0, doc["fanout"])
    st = doc["backward"][0]["edges"]
    check("x*x: accum runs -1.5 then -3", [r["accum"] for r in st] == [-1.5, -3.0], st)

# ---- numbers round-trip ----
ROUND = """\
input a = 0.1
input b = 0.2
input tiny = 4.9406564584124654e-324
input big = 1.7976931348623157e308
input third = 0.33333333333333331
s = a + b
t = s*3
u = tiny*0.5 + tiny
v = big/3 + third
w = a/b
"""
p, doc, path = trace(write_model(ROUND, "round.grad"))
if check("round-trip model runs", p.returncode == 0 and doc, p.stderr):
    nm = by_name(doc)
    want = {"a": 0.1, "b": 0.2, "tiny": 5e-324, "big": 1.7976931348623157e308, "third": 1 / 3, "s": 0.1 + 0.2,
            "t": (0.1 + 0.2) * 3, "u": 5e-324 * 0.5 + 5e-324, "v": 1.7976931348623157e308 / 3 + 1 / 3, "w": 0.1 / 0.2}
    bad = [f"{k}: {nm[k]['value']!r} != {v!r}" for k, v in want.items() if nm[k]["value"] != v]
    check("numbers round-trip exactly (0.1+0.2, denormals, DBL_MAX)", not bad, "\n".join(bad))
    # -a/b² is taken as (-a/b)/b (b² alone can overflow or underflow): two IEEE divisions
    check("round-trip: dw/db = (-a/b)/b exactly", nm["b"]["grad"] == -(0.1 / 0.2) / 0.2, nm["b"])
    # the text itself: JSON numbers that parse back to the same double
    with open(path, encoding="utf-8") as f:
        raw = f.read()
    check("round-trip: 0.30000000000000004 written with 17 digits", "0.30000000000000004" in raw)

# ---- --set and --check traces validate too ----
rel = "examples/neuron.grad"
p, doc, path = trace(rel, "--check", "--set", "target=0.25")
if check("neuron --check --set runs", p.returncode == 0 and doc, p.stderr):
    errs = schema_errors(path)
    check("neuron --check: trace with check block validates", not errs and "check" in doc, "\n".join(errs[:10]))
    invariants.run_all(check, "neuron --check --set", doc)
    with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
        m = refmodel.parse(f.read())
    ov = {"target": 0.25}
    nm = by_name(doc)
    check("neuron --set target=0.25: L = reference", math.isclose(nm["L"]["value"], m.values(ov)["L"], rel_tol=1e-13))
    check("neuron --set target=0.25: dL/dw1 = reference",
          math.isclose(nm["w1"]["grad"], m.grads(ov)["w1"], rel_tol=1e-12))
    wrt = {doc["nodes"][w["node"]]["name"] for w in doc["check"]["wrt"]}
    check("neuron --check: wrt covers every input and param", wrt == {"x1", "x2", "w1", "w2"}, wrt)

# ---- JSON is the same through stdin ----
with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
    src = f.read()
out = tmpdir()
p = run("-q", "-f", "json", "-o", out, "-", stdin=src)
files = os.listdir(out)
if check("model from stdin writes stdin.json", p.returncode == 0 and files == ["stdin.json"], (p.stderr, files)):
    with open(os.path.join(out, "stdin.json"), encoding="utf-8") as f:
        sdoc = json.load(f)
    p2, fdoc, _ = trace(rel)
    same = fdoc and [n["grad"] for n in sdoc["nodes"]] == [n["grad"] for n in fdoc["nodes"]]
    check("model from stdin: same gradients as from the file", same)
    check("model from stdin: trace validates", not schema_errors(os.path.join(out, "stdin.json")))

# ---- a branch that switches an operand off passes on 0, even from an infinite gradient ----
# d/dx sqrt(relu(x)) at x = -1 is 0: relu is constant near -1, whatever sqrt'(0) = inf does
# downstream (PyTorch and JAX give 0 too); 0·inf = NaN would be the literal product. The
# expected numbers are worked out by hand in each comment.
SWITCHED = [
    # sqrt'(relu(-1) = 0) = inf; relu'(-1) = 0 switched off: dy/dx = 0
    ("relu off under sqrt'(0)", "input x = -1\ny = sqrt(relu(x))\n", {"x": 0.0}),
    # y = log(max(a, b) - 2) at a = -1, b = 2: log'(0) = inf reaches max; b is selected (inf),
    # a is not (0)
    ("max: the unselected operand", "input a = -1\ninput b = 2\ny = log(max(a, b) - 2)\n",
     {"a": 0.0, "b": math.inf}),
    ("min: the unselected operand", "input a = 5\ninput b = 2\ny = log(min(a, b) - 2)\n",
     {"a": 0.0, "b": math.inf}),
    # pow(x, b) at x = 0, b = 2, under log'(0) = inf: d/db = 0 is the a = 0, b >= 0 branch (0);
    # d/dx = 2·0 = 0 is arithmetic: inf·0 = NaN stays NaN, as in PyTorch
    ("pow at a = 0: d/db switched off, d/da not", "input x = 0\ninput b = 2\ny = log(pow(x, b))\n",
     {"b": 0.0, "x": math.nan}),
    # pow(x, 0) = 1 under log'(1 - 1): d/dx at b = 0 is switched off
    ("pow at b = 0: d/da switched off", "input x = 3\ny = log(pow(x, 0) - 1)\n", {"x": 0.0}),
    # no branch: 0·x under log'(0) stays NaN (the mul rule is arithmetic, as in PyTorch)
    ("a zero from arithmetic stays 0·inf = NaN", "input x = 2\ninput w = 0\ny = log(w*x)\n",
     {"x": math.nan, "w": math.inf}),
]
for label, text, want in SWITCHED:
    path = write_model(text)
    for mode in ("reverse", "forward"):
        p, doc, jpath = trace(path, "--mode", mode)
        if not check(f"{label} ({mode} mode): runs, exit 0", p.returncode == 0 and doc, p.stderr):
            continue
        got = {k: invariants.num(n, "grad", "grad_nonfinite") for k, n in by_name(doc).items() if k in want}
        check(f"{label}: gradients {want}", all(invariants.same(got[k], v) for k, v in want.items()), got)
        invariants.run_all(check, f"{label} ({mode})", doc)
        # forward mode is compared in reverse mode only: a tangent sweep meets the same 0·inf
        # one edge later (sqrt'(0) = inf times relu's tangent 0), as PyTorch's jvp does
        jac = doc.get("jacobian")
        if jac and mode == "reverse":
            cols = [doc["nodes"][c]["name"] if isinstance(c, int) else c.get("name") for c in jac["cols"]]
            row = jac["values"][0]
            marks = {(m["row"], m["col"]): invariants.MARK[m["value"]] for m in jac.get("values_nonfinite", [])}
            vals = {cols[j]: (row[j] if row[j] is not None else marks.get((0, j))) for j in range(len(cols))}
            check(f"{label} ({mode} mode): the Jacobian row agrees",
                  all(invariants.same(vals.get(k), v) for k, v in want.items()), vals)
