"""Layout cost guards (SPEC §6): structural checks only, never timings (timings are in
`make bench`). A graph whose edges cross many ranks (x feeding every step of a long chain) is
drawn in the dense style dot lays out quickly: straight edges, positioning at dot's first
feasible solution, and the labels of edges that cross more than one rank as xlabels. Graphs
too dense even for that are refused with a clear message, below the 2,000-node limit; dot and
json still work. The expected counts come from the model's structure, worked out by hand here.
Also: an empty model title falls back to the file name (Graphviz rejects an empty <b></b>),
and PNGs are capped at 4,000 px a side while small drawings keep 144 dpi."""
import os
import re
import struct
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import ROOT, check, dot_cells, gen, run, tmpdir, write_model  # noqa: E402

PNG_MAX_PX = 4000


def fan(n):
    """y = x + x + … + x with n + 1 terms: x feeds the first add twice and every later add once."""
    return "input x = 1\ny = x" + " + x" * n + "\n"


def edges(dot):
    """[(attribute block)] of every edge statement in a DOT file written by agwrite."""
    return [m.group(1) for m in re.finditer(r"^\t[^\n]*? -> [^\n]*?\t\[(.*?)\];$", dot, re.S | re.M)]


def graph_attrs(dot):
    m = re.search(r"graph \[(.*?)\];", dot, re.S)
    return m.group(1) if m else ""


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return struct.unpack(">II", head[16:24])


# ---- a fan-out of 50: the dense style ----
out = tmpdir()
model = write_model(fan(49), "fan50.grad")
p = run("-q", "-f", "dot,svg", "-o", out, model)
if check("fan-out 50: dot and svg written", p.returncode == 0, p.stderr):
    dot = open(os.path.join(out, "fan50.dot"), encoding="utf-8").read()
    ga = graph_attrs(dot)
    check("fan-out 50: straight edges (splines=line)", re.search(r"\bsplines=line\b", ga) is not None, ga[-300:])
    check("fan-out 50: positioning at the first feasible solution (nslimit=0)",
          re.search(r"\bnslimit=0\b", ga) is not None, ga[-300:])
    es = edges(dot)
    # x -> add1 twice and add(k-1) -> add(k) for k = 2..49 cross one rank; x -> add(k) for
    # k = 2..49 crosses k ranks: 48 xlabels, 2 + 48 labels
    xl = [e for e in es if re.search(r"\bxlabel=<", e)]
    lb = [e for e in es if re.search(r"(?<![a-z])label=<", e)]
    check("fan-out 50: 98 edges", len(es) == 98, len(es))
    check("fan-out 50: the 48 edges from x that cross several ranks carry xlabels", len(xl) == 48, len(xl))
    check("fan-out 50: the 50 one-rank edges keep their labels", len(lb) == 50, len(lb))
    check("fan-out 50: every edge has exactly one of label and xlabel", len(xl) + len(lb) == len(es))
    cells = dot_cells(dot)
    check("fan-out 50: every edge still shows value, local derivative and gradient",
          all(f"e{i}-{k}" in cells for i in range(98) for k in ("val", "local", "grad")))
    svg = open(os.path.join(out, "fan50.svg"), encoding="utf-8").read()
    check("fan-out 50: the SVG draws every edge", len(re.findall(r'class="edge"', svg)) == 98)

# ---- lecture examples keep the full look ----
out = tmpdir()
p = run("-q", "-f", "dot", "-o", out, os.path.join(ROOT, "examples", "mlp.grad"))
if check("examples/mlp.grad: dot written", p.returncode == 0, p.stderr):
    dot = open(os.path.join(out, "mlp.dot"), encoding="utf-8").read()
    ga = graph_attrs(dot)
    check("examples/mlp.grad: spline edges and full positioning (no splines, no nslimit)",
          "splines" not in ga and "nslimit" not in ga, ga[-300:])
    check("examples/mlp.grad: no xlabels", "xlabel" not in dot)

# ---- a large sparse graph keeps the look, with positioning iterations capped ----
out = tmpdir()
model = write_model(gen("chain", 399), "chain399.grad")
p = run("-q", "-f", "dot", "-o", out, model)
if check("gen chain 399: dot written", p.returncode == 0, p.stderr):
    ga = graph_attrs(open(os.path.join(out, "chain399.dot"), encoding="utf-8").read())
    m = re.search(r"\bnslimit=\"?([0-9.e+-]+)", ga)
    check("gen chain 399: spline edges", "splines" not in ga, ga[-300:])
    check("gen chain 399: positioning capped below one iteration per node (0 < nslimit < 1)",
          m is not None and 0 < float(m.group(1)) < 1, ga[-300:])

# ---- too dense: refused with a message, dot and json still work ----
out = tmpdir()
model = write_model(fan(599), "fan600.grad")
p = run("-f", "svg", "-o", out, model, timeout=60)
check("fan-out 600 (600 nodes): -f svg is refused with exit 2", p.returncode == 2, f"{p.returncode} {p.stderr}")
check("fan-out 600: the message says the model is too dense and names x and its 600 out-edges",
      "too dense" in p.stderr and re.search(r"\bx has 600 out-edges", p.stderr) is not None, p.stderr)
check("fan-out 600: the message says dot and json still work", "dot and json" in p.stderr, p.stderr)
check("fan-out 600: no SVG written", not os.path.exists(os.path.join(out, "fan600.svg")))
p = run("-q", "-f", "dot,json", "-o", out, model, timeout=60)
check("fan-out 600: dot and json are written", p.returncode == 0 and
      os.path.exists(os.path.join(out, "fan600.dot")) and os.path.exists(os.path.join(out, "fan600.json")), p.stderr)
out = tmpdir()
p = run("-o", out, model)
check("fan-out 600, default formats: exit 0, dot and json written, pdf and html skipped with a note",
      p.returncode == 0 and sorted(os.listdir(out)) == ["fan600.dot", "fan600.json"]
      and "note: skipping pdf" in p.stderr and "note: skipping html" in p.stderr, (p.returncode, p.stderr))
out = tmpdir()
model = write_model(fan(149), "fan150.grad")
p = run("-q", "-f", "svg", "-o", out, model, timeout=60)
check("fan-out 150 (150 nodes) is laid out", p.returncode == 0 and os.path.exists(os.path.join(out, "fan150.svg")),
      p.stderr)

# ---- an empty or blank title is no title: the file name heads the drawing ----
for title in ('""', '"   "', '"\t"'):
    out = tmpdir()
    model = write_model(f"model {title}\ninput x = 2\ny = x*x + 1\n", "untitled.grad")
    p = run("-q", "-f", "dot,svg", "-o", out, model)
    name = f"model {title!r}"
    if not check(f"{name}: svg written", p.returncode == 0, p.stderr):
        continue
    check(f"{name}: Graphviz reports no error", "error" not in p.stderr.lower() and "warning" not in p.stderr.lower(),
          p.stderr)
    svg = open(os.path.join(out, "untitled.svg"), encoding="utf-8").read()
    check(f"{name}: the file name heads the drawing", ">untitled.grad</text>" in svg, svg[:600])
    check(f"{name}: the legend is drawn", "value (forward)" in svg)
    dot = open(os.path.join(out, "untitled.dot"), encoding="utf-8").read()
    check(f"{name}: no empty bold run in the DOT label", "<b></b>" not in dot)

# ---- PNG size: small drawings at 144 dpi, large ones capped ----
out = tmpdir()
p = run("-q", "-f", "svg,png", "-o", out, os.path.join(ROOT, "examples", "neuron.grad"))
if check("neuron: svg and png written", p.returncode == 0, p.stderr):
    svg = open(os.path.join(out, "neuron.svg"), encoding="utf-8").read()
    m = re.search(r'<svg width="([0-9.]+)pt" height="([0-9.]+)pt"', svg)
    size = png_size(os.path.join(out, "neuron.png"))
    want = (float(m.group(1)) * 2, float(m.group(2)) * 2) if m else None  # 144 dpi = 2 px per point
    check("neuron: the PNG is drawn at 144 dpi (2 px per SVG point)",
          size and want and abs(size[0] - want[0]) <= 3 and abs(size[1] - want[1]) <= 3, f"{size} {want}")
out = tmpdir()
model = write_model(gen("chain", 30), "chain30.grad")
p = run("-q", "-f", "svg,png", "-o", out, model)
if check("gen chain 30: svg and png written", p.returncode == 0, p.stderr):
    svg = open(os.path.join(out, "chain30.svg"), encoding="utf-8").read()
    m = re.search(r'<svg width="([0-9.]+)pt"', svg)
    size = png_size(os.path.join(out, "chain30.png"))
    check("gen chain 30: the drawing is wider than the cap at 144 dpi", m and float(m.group(1)) * 2 > PNG_MAX_PX,
          m and m.group(1))
    check(f"gen chain 30: the PNG is scaled to {PNG_MAX_PX} px on its longer side",
          size and PNG_MAX_PX - 5 <= max(size) <= PNG_MAX_PX, size)

# ---- --steps PNG frames are capped too: a frame's heading (step, chain-rule line with two
# 250-byte names) is wider than the drawing it is scaled like ----
a, b = "a" * 250, "b" * 250
out = tmpdir()
p = run("-q", "-f", "png", "--steps", "-o", out,
        write_model(f"input x = 0.5\n{a} = sin(x)\n{b} = {a} * x\noutput y = {b} + {a}\n", "longnames.grad"))
pngs = sorted(f for f in os.listdir(out) if f.endswith(".png")) if p.returncode == 0 else []
sizes = {f: png_size(os.path.join(out, f)) for f in pngs}
check("--steps -f png with 250-byte names: a final PNG and frames, none over 4,000 px a side",
      len(pngs) > 2 and all(max(s) <= PNG_MAX_PX for s in sizes.values()), (p.stderr, sizes))
