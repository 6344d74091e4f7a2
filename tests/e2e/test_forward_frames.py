"""Forward mode in the drawing (issue 5): with --mode forward|both every node shows its tangent
∂v/∂x and every edge the tangent flowing along it (cells n<ID>-tan / e<ID>-tan), and --steps
writes one frame per forward-mode step, <stem>-fwdNN.*, besides the backward frames
<stem>-stepNN.* (both sets with --mode both, only the forward ones with --mode forward).

Expected tangents are closed-form derivatives of examples/jacobian.grad written here:
u1 = x1², u2 = x1·x2, u3 = x2², y1 = sin(u1) + u2, y2 = u2·u3 at x = (1, 2). The frame count is
the number of op nodes the --wrt leaf reaches, found by walking the trace's edges (structure,
not numbers)."""
import glob
import html
import json
import math
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(__file__))
from harness import ROOT, check, dot_cells, run, tmpdir  # noqa: E402

JACOBIAN = os.path.join(ROOT, "examples", "jacobian.grad")
X1, X2 = 1.0, 2.0
U1, U2, U3 = X1 * X1, X1 * X2, X2 * X2
# ∂v/∂x1 and ∂v/∂x2 of every node, by name ("sin" is the unnamed sin(u1) node)
TAN = {
    "x1": {"x1": 1, "x2": 0, "u1": 2 * X1, "u2": X2, "u3": 0, "sin": math.cos(U1) * 2 * X1,
           "y1": math.cos(U1) * 2 * X1 + X2, "y2": X2 ** 3},
    "x2": {"x1": 0, "x2": 1, "u1": 0, "u2": X1, "u3": 2 * X2, "sin": 0, "y1": X1, "y2": 3 * X1 * X2 ** 2},
}
# ∂to/∂from (the local derivative) of every edge, by (from, to) name
LOCAL = {("x1", "u1"): 2 * X1, ("x1", "u2"): X2, ("x2", "u2"): X1, ("x2", "u3"): 2 * X2,
         ("u1", "sin"): math.cos(U1), ("sin", "y1"): 1, ("u2", "y1"): 1, ("u2", "y2"): U3, ("u3", "y2"): U2}


MINUS = "\u2212"


def fmt(v, prec=4):
    """The label text of a number: %.Ng with U+2212 for '-' and no -0."""
    if v == 0:
        v = 0.0
    return ("%.*g" % (prec, v)).replace("-", MINUS)


def dot_accepts(path):
    r = subprocess.run(["dot", "-Tsvg", "-o", os.devnull, path], capture_output=True, text=True, timeout=60)
    return r.returncode == 0 and r.stderr == "", r.stderr


def statement(dot, obj_id):
    """The attribute block of the DOT node or edge with id=obj_id."""
    for st in dot.split("];"):
        if re.search(r"\bid=%s\b" % obj_id, st):
            return st
    return ""


def node_key(n):
    return n["name"] or n["op"]


def text_of(dot):
    """All label text of a DOT file, tags stripped and entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", dot))


def reached_ops(doc, leaf):
    """Op node ids the leaf reaches, in id order, by walking the edges."""
    seen = {leaf}
    for e in sorted(doc["edges"], key=lambda e: e["to"]):  # ids are topological
        if e["from"] in seen:
            seen.add(e["to"])
    return sorted(i for i in seen if doc["nodes"][i]["kind"] == "op")


def trailing_number(cell):
    m = re.search(r"(\S+)$", cell or "")
    return m.group(1) if m else None


for wrt in ("x1", "x2"):
    out = tmpdir()
    p = run("-q", "-f", "dot,json", "--mode", "forward", "--wrt", wrt, "--steps", "-o", out, JACOBIAN)
    if not check(f"--mode forward --wrt {wrt} --steps -f dot,json runs", p.returncode == 0, p.stderr):
        continue
    doc = json.load(open(os.path.join(out, "jacobian.json"), encoding="utf-8"))
    dot = open(os.path.join(out, "jacobian.dot"), encoding="utf-8").read()
    cells = dot_cells(dot)
    names = {n["id"]: node_key(n) for n in doc["nodes"]}
    leaf = next(n["id"] for n in doc["nodes"] if n["name"] == wrt)

    # tangents in the finished drawing
    probs = []
    for i, key in names.items():
        want = fmt(TAN[wrt][key])
        got = trailing_number(cells.get(f"n{i}-tan"))
        if got != want:
            probs.append(f"node {key}: tangent cell {cells.get(f'n{i}-tan')!r}, want {want}")
    check(f"--wrt {wrt}: every node's tangent cell shows the closed-form ∂v/∂{wrt}", not probs, "\n".join(probs))
    probs = []
    for e in doc["edges"]:
        fr, to = names[e["from"]], names[e["to"]]
        want = fmt(LOCAL[(fr, to)] * TAN[wrt][fr])
        got = trailing_number(cells.get(f"e{e['id']}-tan"))
        if got != want:
            probs.append(f"edge {fr} -> {to}: tangent cell {cells.get('e%d-tan' % e['id'])!r}, want {want}")
    check(f"--wrt {wrt}: every edge's tangent cell shows ∂to/∂from · ∂from/∂{wrt}", not probs, "\n".join(probs))
    outs = {names[o] for o in doc["outputs"]}
    check(f"--wrt {wrt}: the outputs and leaves name their tangent (∂y1/∂{wrt} = …)",
          all(cells.get(f"n{i}-tan", "").startswith(f"∂{k}/∂{wrt} = ") for i, k in names.items()
              if k in outs or k in ("x1", "x2")), {k: cells.get(f"n{i}-tan") for i, k in names.items()})
    check(f"--wrt {wrt}: the legend explains the tangent colour", f"tangent ∂·/∂{wrt}" in text_of(dot))
    check(f"--wrt {wrt}: the finished drawing still shows the gradients",
          all(f"n{i}-grad" in cells or f"n{i}-sum" in cells for i in names))

    # the frames: one per op node the leaf reaches, in id (topological) order
    steps = reached_ops(doc, leaf)
    frames = sorted(glob.glob(os.path.join(out, "jacobian-fwd*.dot")))
    check(f"--wrt {wrt}: one forward frame per op node {wrt} reaches ({len(steps)}), jacobian-fwdNN.dot",
          [os.path.basename(f) for f in frames] == [f"jacobian-fwd{k:02d}.dot" for k in range(len(steps))],
          [os.path.basename(f) for f in frames])
    check(f"--mode forward --wrt {wrt}: no backward frames", not glob.glob(os.path.join(out, "jacobian-step*")),
          os.listdir(out))
    bad = [(f, e) for f in frames for ok, e in [dot_accepts(f)] if not ok]
    check(f"--wrt {wrt}: every forward frame is accepted by dot", not bad, bad[:3])
    check(f"--wrt {wrt}: the forward frames carry no layout",
          not any(re.search(r"\b(pos|_draw_|bb|lp)=", open(f, encoding="utf-8").read()) for f in frames))
    probs = []
    for k, (path, active) in enumerate(zip(frames, steps)):
        fdot = open(path, encoding="utf-8").read()
        fc = dot_cells(fdot)
        text = text_of(fdot)
        key = names[active]
        if f"Forward step {k + 1} of {len(steps)}" not in text:
            probs.append(f"frame {k}: no 'Forward step {k + 1} of {len(steps)}'")
        # known tangents: leaves, nodes the leaf does not reach, and steps up to k; '?' after
        for i, name in names.items():
            cell = fc.get(f"n{i}-tan")
            later = i in steps and steps.index(i) > k
            want = "?" if later else fmt(TAN[wrt][name])
            if trailing_number(cell) != want:
                probs.append(f"frame {k}: node {name} tangent {cell!r}, want {want}")
            if f"n{i}-grad" in fc or f"n{i}-sum" in fc:
                probs.append(f"frame {k}: node {name} shows a gradient in a forward frame")
        # the active node is highlighted with its in-edges
        if "penwidth=3" not in statement(fdot, f"n{active}"):
            probs.append(f"frame {k}: the active node {key} is not highlighted")
        for e in doc["edges"]:
            lit = 'color="#bf8700"' in statement(fdot, f"e{e['id']}")
            if lit != (e["to"] == active):
                probs.append(f"frame {k}: edge {e['id']} highlighted {lit}, active node {key}")
        # the panel: ∂v/∂x = Σ ∂v/∂u · ∂u/∂x = (local)(tangent) + … = total, with numbers
        in_edges = [e for e in doc["edges"] if e["to"] == active]
        terms = " + ".join(f"({fmt(LOCAL[(names[e['from']], key)])})({fmt(TAN[wrt][names[e['from']]])})"
                           for e in in_edges)
        if "Σ" not in text or f"{terms} = {fmt(TAN[wrt][key])}" not in text:
            probs.append(f"frame {k} ({key}): panel lacks '{terms} = {fmt(TAN[wrt][key])}'")
    check(f"--wrt {wrt}: each forward frame shows the tangents known so far, '?' for the rest, and writes "
          "out ∂v/∂x = Σ ∂v/∂u · ∂u/∂x with numbers", not probs, "\n".join(probs[:12]))

# --mode both: both sets of frames; SVG frames pinned to the finished drawing's layout
out = tmpdir()
p = run("-q", "-f", "dot,svg,json", "--mode", "both", "--steps", "-o", out, JACOBIAN)
if check("--mode both --steps -f dot,svg,json runs", p.returncode == 0, p.stderr):
    doc = json.load(open(os.path.join(out, "jacobian.json"), encoding="utf-8"))
    nf = len(reached_ops(doc, next(n["id"] for n in doc["nodes"] if n["name"] == "x1")))
    nb = len(doc["backward"])
    for ext in ("dot", "svg"):
        fw = sorted(os.path.basename(f) for f in glob.glob(os.path.join(out, f"jacobian-fwd*.{ext}")))
        bw = sorted(os.path.basename(f) for f in glob.glob(os.path.join(out, f"jacobian-step*.{ext}")))
        check(f"--mode both: {nb} backward and {nf} forward {ext} frames (default --wrt: the first input)",
              bw == [f"jacobian-step{k:02d}.{ext}" for k in range(nb)] and
              fw == [f"jacobian-fwd{k:02d}.{ext}" for k in range(nf)], (bw, fw))

    def ellipses(path):
        """{node id: (cx, cy)} of the op nodes' ellipses in an SVG."""
        root = ET.parse(path).getroot()
        res = {}
        for g in root.iter("{http://www.w3.org/2000/svg}g"):
            if g.get("class") == "node" and (g.get("id") or "").startswith("n"):
                e = g.find("{http://www.w3.org/2000/svg}ellipse")
                if e is not None:
                    res[g.get("id")] = (float(e.get("cx")), float(e.get("cy")))
        return res

    def same_place(a, b):
        """The same nodes at the same centres, to the 0.1 pt that pos attributes keep."""
        return a.keys() == b.keys() and all(abs(a[k][0] - b[k][0]) < 0.1 and abs(a[k][1] - b[k][1]) < 0.1 for k in a)

    final = ellipses(os.path.join(out, "jacobian.svg"))
    moved = [f for f in sorted(glob.glob(os.path.join(out, "jacobian-fwd*.svg"))) if not same_place(ellipses(f), final)]
    check("--mode both: SVG forward frames keep every op node where the finished drawing has it",
          final and not moved, moved[:3])
    svg = open(os.path.join(out, "jacobian.svg"), encoding="utf-8").read()
    check("--mode both: the finished SVG has the Jacobian table, the frames do not",
          'id="jacobian"' in svg and not any('id="jacobian"' in open(f, encoding="utf-8").read()
                                             for f in glob.glob(os.path.join(out, "jacobian-*.svg"))))

# --mode reverse (the default) draws no tangents and writes no forward frames
out = tmpdir()
p = run("-q", "-f", "dot", "--steps", "-o", out, JACOBIAN)
dot = open(os.path.join(out, "jacobian.dot"), encoding="utf-8").read() if p.returncode == 0 else ""
check("--mode reverse --steps: no tangent cells and no forward frames",
      p.returncode == 0 and "-tan" not in dot and not glob.glob(os.path.join(out, "*fwd*")), p.stderr)
