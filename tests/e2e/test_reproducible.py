"""Reproducible outputs (issue 7): with --reproducible, or SOURCE_DATE_EPOCH in the environment
(the reproducible-builds convention), the same input gives the same bytes in every format:
dot, svg, png, pdf, json, html, the --steps frames (backward and forward mode) and `gradviz
flow`. The one thing a default run measures, the time of the reverse/forward mode comparison
(the trace's `modes`, its tables in the PDF and the HTML report), is then counted instead of
timed: sweeps, nodes and edges stay, seconds, timed_sweeps, budget_seconds and ratio go, and
`"timed": false` says so. Expected counts come from the trace's own graph (walked here) and,
for examples/jacobian.grad, from a hand count. The default run keeps its seconds.

Byte identity is checked by running twice (and again from another directory, with another TZ
and output directory) and comparing every file; --reproducible must also change nothing but the
mode comparison."""
import filecmp
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import GRADVIZ, ROOT, check, gen, schema_errors, tmpdir, write_model  # noqa: E402

EXAMPLES = os.path.join(ROOT, "examples")
ALL = "dot,svg,png,pdf,json,html"
EPOCH = "1700000000"


def run_env(args, env=None, cwd=None):
    """gradviz with args; SOURCE_DATE_EPOCH removed from the environment unless env sets it."""
    e = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    e.update(env or {})
    return subprocess.run([GRADVIZ, *args], capture_output=True, text=True, cwd=cwd or ROOT, env=e, timeout=300)


def files(d):
    out = []
    for base, _, names in os.walk(d):
        out += [os.path.relpath(os.path.join(base, f), d) for f in names]
    return sorted(out)


def differing(a, b):
    """Files of a whose bytes differ in b (or that b lacks), and files only in b."""
    fa, fb = files(a), files(b)
    bad = [f for f in fa if f not in fb or not filecmp.cmp(os.path.join(a, f), os.path.join(b, f), shallow=False)]
    return bad + [f for f in fb if f not in fa]


def ext_of(f):
    stem, ext = os.path.splitext(f)
    kind = "-fwd frame" if "-fwd" in stem else "-step frame" if "-step" in stem else ""
    return ext[1:] + kind


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def by_kind(names):
    kinds = {}
    for f in names:
        kinds.setdefault(ext_of(f), []).append(f)
    return kinds


# ---- 1. every format, frames included, run twice with --reproducible and once with
# SOURCE_DATE_EPOCH (in another working directory, another TZ, another output path) ----
neuron = os.path.join(EXAMPLES, "neuron.grad")
opts = ["-q", "-f", ALL, "--steps", "--mode", "both", "--wrt", "x2"]
runs = {}
for key, extra, env, cwd in (("A", ["--reproducible"], None, None), ("B", ["--reproducible"], None, None),
                             ("C", [], {"SOURCE_DATE_EPOCH": EPOCH, "TZ": "Asia/Tokyo"}, None),
                             ("D", [], None, None)):
    out = os.path.join(tmpdir(), "deeper", "out")
    runs[key] = (run_env(opts + extra + ["-o", out, neuron], env, cwd), out)
pa, a = runs["A"]
ok = check("neuron, every format, --steps --mode both, --reproducible: exit 0, quiet", pa.returncode == 0 and
           pa.stderr == "", (pa.returncode, pa.stderr[-800:]))
kinds = by_kind(files(a)) if ok else {}
want_kinds = {"dot", "svg", "png", "pdf", "json", "html", "dot-step frame", "svg-step frame", "png-step frame",
              "dot-fwd frame", "svg-fwd frame", "png-fwd frame"}
check("the run writes every format and both kinds of frames", set(kinds) == want_kinds, sorted(kinds))
for key, what in (("B", "a second --reproducible run"), ("C", f"SOURCE_DATE_EPOCH={EPOCH} (TZ=Asia/Tokyo)")):
    p, b = runs[key]
    if not check(f"{what}: exit 0", p.returncode == 0 and p.stderr == "", (p.returncode, p.stderr[-800:])):
        continue
    bad = set(differing(a, b))
    for kind in sorted(kinds):
        check(f"{what}: every {kind} file byte-identical to the first --reproducible run ({len(kinds[kind])})",
              not bad & set(kinds[kind]), sorted(bad & set(kinds[kind]))[:5])
    check(f"{what}: the same files", files(a) == files(b), (files(a)[:5], files(b)[:5]))

# --reproducible changes nothing but the mode comparison: the drawn formats and frames are the
# default run's bytes, and the trace differs only in `modes`
pd, d = runs["D"]
if check("the same options without --reproducible: exit 0", pd.returncode == 0, pd.stderr[-800:]) and kinds:
    bad = differing(a, d)
    check("without --reproducible only the files holding the mode comparison differ (json, pdf, html)",
          set(bad) <= {"neuron.json", "neuron.pdf", "neuron.html"} and files(a) == files(d), bad[:8])
    ja, jd = load(os.path.join(a, "neuron.json")), load(os.path.join(d, "neuron.json"))
    check("...and the trace only in its modes block", {k: v for k, v in ja.items() if k != "modes"} ==
          {k: v for k, v in jd.items() if k != "modes"} and "modes" in ja and "modes" in jd)
    md = jd["modes"]
    costs = [t[k] for t in md["tasks"] for k in ("reverse", "forward")]
    check("the default trace still measures: budget_seconds, seconds and timed_sweeps in every cost, a ratio per "
          "task, no 'timed' key", md.get("budget_seconds", 0) > 0 and "timed" not in md
          and all(isinstance(c.get("seconds"), (int, float)) and c["seconds"] >= 0 and "timed_sweeps" in c
                  for c in costs) and all("ratio" in t for t in md["tasks"]), md)
    check("the default trace validates", not schema_errors(os.path.join(d, "neuron.json")),
          schema_errors(os.path.join(d, "neuron.json")))


# ---- 2. more models, the formats that hold the comparison: twice each, byte for byte ----
def reverse_counts(doc, out):
    """Op nodes from which `out` is reachable, and their in-edges: what one reverse sweep visits."""
    kind = {n["id"]: n["kind"] for n in doc["nodes"]}
    ins = {}
    for e in doc["edges"]:
        ins.setdefault(e["to"], []).append(e["from"])
    seen, todo = {out}, [out]
    while todo:
        k = todo.pop()
        for f in ins.get(k, []):
            if f not in seen:
                seen.add(f)
                todo.append(f)
    ops = [k for k in seen if kind[k] == "op"]
    return len(ops), sum(len(ins.get(k, [])) for k in ops)


def forward_counts(doc, leaf, end):
    """Op nodes with leaf < id <= end and their in-edges: what one forward sweep visits (ids are
    a topological order, so nothing below the leaf can depend on it)."""
    ops = [n["id"] for n in doc["nodes"] if n["kind"] == "op" and leaf < n["id"] <= end]
    return len(ops), sum(1 for e in doc["edges"] if e["to"] in ops)


def expected_modes(doc):
    """The untimed modes tasks, {task: ((sweeps, nodes, edges) reverse, (...) forward)}, from the graph."""
    outs, primary = doc["outputs"], doc["outputs"][0]
    ins = [n["id"] for n in doc["nodes"] if n["kind"] == "input"]
    leaves = [n["id"] for n in doc["nodes"] if n["kind"] in ("input", "param")]
    last = max(outs)

    def rev(os_):
        c = [reverse_counts(doc, o) for o in os_]
        return (len(os_), sum(x[0] for x in c), sum(x[1] for x in c))

    def fwd(ls, end):
        c = [forward_counts(doc, lf, end) for lf in ls]
        return (len(ls), sum(x[0] for x in c), sum(x[1] for x in c))
    return {"jacobian": (rev(outs), fwd(leaves, last)), "gradient_inputs": (rev([primary]), fwd(ins, primary)),
            "gradient_inputs_params": (rev([primary]), fwd(leaves, primary))}


mlp = write_model(gen("mlp", "3,4,1"), "mlp341.grad")
multi = write_model("input a = 0.5\ninput b = -1.5\nparam w = 2\nc = tanh(w*a + b)\noutput y = c*c\n"
                    "output z = exp(c) + a*b\nloss L = y + z\n", "multi.grad")
MODELS = [(os.path.join(EXAMPLES, "jacobian.grad"), ["--mode", "forward", "--via", "u1,u2,u3", "--check"]),
          (mlp, []), (multi, ["--mode", "both"])]
for model, extra in MODELS:
    stem = os.path.splitext(os.path.basename(model))[0]
    label = f"{stem} {' '.join(extra)}".strip()
    outs = []
    for env in (None, {"SOURCE_DATE_EPOCH": "0"}):
        o = tmpdir()
        p = run_env(["-q", "-f", "json,pdf,html", "-o", o, model] + extra + ([] if env else ["--reproducible"]), env)
        check(f"{label}: {'SOURCE_DATE_EPOCH=0' if env else '--reproducible'}: exit 0, quiet",
              p.returncode == 0 and p.stderr == "", (p.returncode, p.stderr[-800:]))
        outs.append(o)
    bad = differing(*outs)
    for ext in ("json", "pdf", "html"):
        check(f"{label}: --reproducible and SOURCE_DATE_EPOCH=0 write the same {ext} bytes",
              f"{stem}.{ext}" in files(outs[0]) and f"{stem}.{ext}" not in bad, bad)
    path = os.path.join(outs[0], f"{stem}.json")
    if not os.path.exists(path):
        continue
    check(f"{label}: the trace validates", not schema_errors(path), schema_errors(path)[:5])
    doc = load(path)
    m = doc.get("modes") or {}
    got = {t["task"]: tuple((t[k]["sweeps"], t[k]["nodes"], t[k]["edges"]) for k in ("reverse", "forward"))
           for t in m.get("tasks", [])}
    want = expected_modes(doc)
    check(f"{label}: modes has the sweeps, nodes and edges a walk of the graph gives, none estimated",
          got == want and not any(t[k]["estimated"] for t in m["tasks"] for k in ("reverse", "forward")),
          (got, want))
    check(f"{label}: modes has timed false and no seconds, timed_sweeps, budget or ratio",
          m.get("timed") is False and "budget_seconds" not in m
          and all(set(t) == {"task", "rows", "cols", "reverse", "forward"} for t in m["tasks"])
          and all(set(t[k]) == {"sweeps", "nodes", "edges", "estimated"} for t in m["tasks"]
                  for k in ("reverse", "forward")), m)

# jacobian.grad by hand (ids x1 0, x2 1, u1 2, u2 3, u3 4, sin 5, y1 6, y2 7): reverse from y1 =
# sin(u1) + u2 visits y1, sin, u2, u1 (4 op nodes, 2+1+2+1 in-edges), from y2 = u2·u3 y2, u2, u3
# (3, 2+2+1); forward from x1 or x2 visits ids 2..7 up to y2 (6, 9) and 2..6 up to y1 (5, 7)
o = tmpdir()
p = run_env(["-q", "-f", "json", "--reproducible", "-o", o, os.path.join(EXAMPLES, "jacobian.grad")])
if check("jacobian.grad -f json --reproducible: exit 0", p.returncode == 0, p.stderr):
    m = load(os.path.join(o, "jacobian.json"))["modes"]
    got = {t["task"]: tuple((t[k]["sweeps"], t[k]["nodes"], t[k]["edges"]) for k in ("reverse", "forward"))
           for t in m["tasks"]}
    check("jacobian.grad: the counts of the hand count",
          got == {"jacobian": ((2, 7, 11), (2, 12, 18)), "gradient_inputs": ((1, 4, 6), (2, 10, 14)),
                  "gradient_inputs_params": ((1, 4, 6), (2, 10, 14))}, got)

# ---- 3. every example and a generated MLP, -f json: twice, byte for byte, schema-valid ----
for model in sorted(os.path.join(EXAMPLES, f) for f in os.listdir(EXAMPLES) if f.endswith(".grad")) + [mlp]:
    stem = os.path.splitext(os.path.basename(model))[0]
    o1, o2 = tmpdir(), tmpdir()
    p1 = run_env(["-q", "-f", "json", "--reproducible", "-o", o1, model])
    p2 = run_env(["-q", "-f", "json", "-o", o2, model], {"SOURCE_DATE_EPOCH": EPOCH})
    path = os.path.join(o1, f"{stem}.json")
    ok = p1.returncode == 0 and p2.returncode == 0 and os.path.exists(path)
    check(f"{stem}.json: --reproducible and SOURCE_DATE_EPOCH give the same bytes",
          ok and not differing(o1, o2), (p1.stderr, p2.stderr))
    if ok:
        check(f"{stem}.json (--reproducible) validates", not schema_errors(path), schema_errors(path)[:5])

# ---- 4. the same relative model path from another working directory, another output path:
# nothing in any output depends on where gradviz runs or writes ----
w1, w2 = tmpdir(), tmpdir()
for w in (w1, w2):
    os.mkdir(os.path.join(w, "m"))
    shutil.copy(neuron, os.path.join(w, "m", "neuron.grad"))
p1 = run_env(["-q", "-f", ALL, "--reproducible", "-o", "o", "m/neuron.grad"], cwd=w1)
p2 = run_env(["-q", "-f", ALL, "-o", os.path.join(w2, "x", "y"), "m/neuron.grad"],
             {"SOURCE_DATE_EPOCH": EPOCH, "TZ": "America/St_Johns", "LC_ALL": "C.UTF-8"}, cwd=w2)
check("from two working directories into two output paths: the same bytes in every format",
      p1.returncode == 0 and p2.returncode == 0 and len(files(os.path.join(w1, "o"))) == 6
      and not differing(os.path.join(w1, "o"), os.path.join(w2, "x", "y")),
      (p1.stderr, p2.stderr, differing(os.path.join(w1, "o"), os.path.join(w2, "x", "y"))))

# ---- 5. `gradviz flow`: seeded, so the same bytes every time ----
f1, f2 = tmpdir(), tmpdir()
fargs = ["flow", "--layers", "12", "--trials", "5", "--seed", "7", "-f", "json,svg,pdf,html"]
q1 = run_env(fargs + ["-o", f1])
q2 = run_env(fargs + ["-o", f2], {"SOURCE_DATE_EPOCH": EPOCH})
check("gradviz flow -f json,svg,pdf,html twice (once with SOURCE_DATE_EPOCH): the same bytes and stdout",
      q1.returncode == 0 and q2.returncode == 0 and len(files(f1)) == 4 and not differing(f1, f2)
      and q1.stdout == q2.stdout, (q1.stderr, q2.stderr, differing(f1, f2)))

# ---- 6. SOURCE_DATE_EPOCH: empty is unset; anything but a count of seconds is a usage error ----
o = tmpdir()
p = run_env(["-q", "-f", "json", "-o", o, neuron], {"SOURCE_DATE_EPOCH": ""})
doc = load(os.path.join(o, "neuron.json")) if p.returncode == 0 else {}
check("SOURCE_DATE_EPOCH empty: as unset, the comparison is timed", p.returncode == 0
      and doc.get("modes", {}).get("budget_seconds", 0) > 0 and "timed" not in doc.get("modes", {}), p.stderr)
o = tmpdir()
p = run_env(["-q", "-f", "json", "-o", o, neuron], {"SOURCE_DATE_EPOCH": "253402300799"})
check("SOURCE_DATE_EPOCH=253402300799 (the end of year 9999): accepted, untimed", p.returncode == 0
      and load(os.path.join(o, "neuron.json"))["modes"].get("timed") is False, p.stderr)
for bad in ("abc", "-1", "+5", "1.5", "12 ", " 12", "0x10", "253402300800", "99999999999999999999999",
            "17\x1b[31m"):
    o = tmpdir()
    p = run_env(["-q", "-f", "json", "-o", o, neuron], {"SOURCE_DATE_EPOCH": bad})
    check(f"SOURCE_DATE_EPOCH={bad!r}: usage error (exit 2) naming the variable, nothing written, no control "
          "characters echoed", p.returncode == 2 and "SOURCE_DATE_EPOCH" in p.stderr and files(o) == []
          and "\x1b" not in p.stderr, (p.returncode, p.stderr))
p = run_env(["--help"], {"SOURCE_DATE_EPOCH": "abc"})
check("--help works whatever SOURCE_DATE_EPOCH holds, and documents --reproducible and SOURCE_DATE_EPOCH",
      p.returncode == 0 and "--reproducible" in p.stdout and "SOURCE_DATE_EPOCH" in p.stdout, p.stderr)
p = run_env(["--reproducible=yes", neuron])
check("--reproducible takes no value: usage error", p.returncode == 2 and "--reproducible" in p.stderr, p.stderr)

# ---- 7. -v prints the comparison without times ----
p = run_env(["-v", "-f", "json", "--reproducible", "-o", tmpdir(), os.path.join(EXAMPLES, "jacobian.grad")])
check("-v --reproducible: the comparison says timings omitted and shows no seconds",
      p.returncode == 0 and "timings omitted" in p.stdout and "budget" not in p.stdout
      and " s, " not in p.stdout and "ratio ~" not in p.stdout and "11 multiply-adds" in p.stdout, p.stdout[-1500:])
p = run_env(["-v", "-f", "json", "-o", tmpdir(), os.path.join(EXAMPLES, "jacobian.grad")])
check("-v without it: the comparison is timed (budget, seconds)", p.returncode == 0 and "budget 10 s" in p.stdout
      and "timings omitted" not in p.stdout, p.stdout[-1500:])

# ---- 8. the schema: the untimed shape is strict, and neither shape borrows from the other ----
o = tmpdir()
p = run_env(["-q", "-f", "json", "--reproducible", "-o", o, neuron])
base = load(os.path.join(o, "neuron.json")) if p.returncode == 0 else None


def mutated(fn):
    doc = json.loads(json.dumps(base))
    fn(doc["modes"])
    path = os.path.join(tmpdir(), "t.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f)
    return schema_errors(path)


if check("schema cases: a --reproducible trace to mutate", base is not None, p.stderr):
    BAD = [
        ("timed true", lambda m: m.update(timed=True)),
        ("untimed with budget_seconds", lambda m: m.update(budget_seconds=0.5)),
        ("untimed cost with seconds", lambda m: m["tasks"][0]["reverse"].update(seconds=1e-6)),
        ("untimed cost with timed_sweeps", lambda m: m["tasks"][1]["forward"].update(timed_sweeps=1)),
        ("untimed task with a ratio", lambda m: m["tasks"][2].update(ratio=2.0)),
        ("untimed cost without edges", lambda m: m["tasks"][0]["forward"].pop("edges")),
        ("untimed cost without estimated", lambda m: m["tasks"][0]["reverse"].pop("estimated")),
        ("untimed tasks out of order", lambda m: m["tasks"].reverse()),
        ("no timed marker and no timings (neither shape)", lambda m: m.pop("timed")),
        ("no timed marker, a budget, but costs without seconds",
         lambda m: (m.pop("timed"), m.update(budget_seconds=0.5))),
    ]
    for name, fn in BAD:
        check(f"schema rejects modes: {name}", mutated(fn) != [])
    check("schema accepts the untimed modes block as written", mutated(lambda m: None) == [],
          mutated(lambda m: None))
