"""The PDF handout (issue 3): valid PDF, fonts embedded, every page renders, the text holds every
node name and gradient as the labels format them, the page count follows the documented rule,
the chain rule and fan-out sums are written out with independently computed numbers, the
gradient-by-depth page (issue 6) holds the chart of the trace's per-depth gradients, the
"Jacobian and modes" page (issue 5) holds the Jacobian, its factors through a --via cut, the
forward-mode sweep and the mode comparison (the Jacobian of examples/jacobian.grad against its
closed form, derived by hand below), --paper, metadata, and no PDF on a model error. Then `gradviz flow -f pdf`: one page, the chart and the
table of stdout (skipped until main.c dispatches `gradviz flow`).

Expected numbers come from the JSON trace where only their presence is checked (names,
gradients: the trace itself is verified against closed forms in test_examples.py) and from
Python's math module for the chain-rule lines; the per-depth levels are found here by a
longest-path walk over the trace's edges."""
import glob
import math
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import ROOT, check, gen, run, tmpdir, write_model  # noqa: E402

# Rows per table page (src/emit_pdf.c, file comment): floor((H - 60 - 48) / 14).
SLOTS = {"a4": 52, "letter": 48}


def tool(*args):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=120)


def fmt(v, prec=4):
    """A number as the labels write it: %.<prec>g with a true minus sign (fmt_num)."""
    if v is None:
        return None
    if v == 0:
        v = 0.0
    return ("%.*g" % (prec, v)).replace("-", "\u2212")


def pages_text(pdf):
    """pdftotext output split into pages (pdftotext ends each page with a form feed)."""
    # -raw: text in drawing order, so a heading never mixes with the drawing beside it
    p = tool("pdftotext", "-raw", "-enc", "UTF-8", pdf, "-")
    pages = p.stdout.split("\f")
    if pages and pages[-1].strip() == "":
        pages.pop()
    return p.returncode, pages


def page_count(pdf):
    m = re.search(r"^Pages:\s+(\d+)", tool("pdfinfo", pdf).stdout, re.M)
    return int(m.group(1)) if m else -1


def page_sizes(pdf, n):
    out = tool("pdfinfo", "-f", "1", "-l", str(n), pdf).stdout
    return [(float(a), float(b)) for a, b in re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+)", out)]


def table_pages(doc, slots, with_check):
    """The number of table pages, by the flow rule of src/emit_pdf.c's file comment."""
    sections = [[1] * len(doc["nodes"])]
    if doc["fanout"]:
        sections.append([len(f["edges"]) + 1 for f in doc["fanout"]])
    if with_check:
        sections.append([1] * (1 + len(doc["check"]["wrt"])))
    pages, slot = 0, None
    for groups in sections:
        if slot is not None and slot > 0:
            slot += 1
        if slot is None or slot + 4 > slots:
            pages, slot = pages + 1, 0
        slot += 3  # title and column header
        for g in groups:
            rows = [g] if g <= slots - 3 else [1] * g  # long groups flow row by row
            for r in rows:
                if slot + r > slots:
                    pages, slot = pages + 1, 3
                slot += r
    return pages


SUP = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def pow10(k):
    """The chart's tick label of 10^k: 10⁻³."""
    return "10" + str(k).translate(SUP)


def depth_levels(doc):
    """Per depth (longest path to the primary output, in edges): [|grad| of each non-const node
    with a finite gradient], found by an iterative memoised walk over the out-edges."""
    out = {}
    for e in doc["edges"]:
        out.setdefault(e["from"], []).append(e["to"])
    primary = doc["outputs"][0]
    memo = {}
    for start in (n["id"] for n in doc["nodes"]):
        stack = [start]
        while stack:
            n = stack[-1]
            if n in memo:
                stack.pop()
                continue
            todo = [t for t in out.get(n, []) if t not in memo]
            if todo:
                stack.extend(todo)
                continue
            best = 0 if n == primary else None
            for t in out.get(n, []):
                if memo[t] is not None and (best is None or memo[t] + 1 > best):
                    best = memo[t] + 1
            memo[n] = best
            stack.pop()
    levels = []
    for n in doc["nodes"]:
        d = memo[n["id"]]
        if d is None or n["kind"] == "const":
            continue
        while len(levels) <= d:
            levels.append([])
        if n["grad"] is not None:
            levels[d].append(abs(n["grad"]))
    return levels


def check_depth_page(label, doc, text, size):
    """The gradient-by-depth page: landscape, its legend names the output, the y axis spans the
    decades of the gradients, and the deepest level's numbers are written out."""
    check(f"{label}: gradient-by-depth page is landscape", size and size[0] > size[1], size)
    L = doc["nodes"][doc["outputs"][0]]["name"]
    check(f"{label}: depth chart legend names mean and largest |∂{L}/∂node|",
          f"mean |∂{L}/∂node| at each depth" in text and f"largest |∂{L}/∂node| at each depth" in text, text[:400])
    levels = depth_levels(doc)
    # the chart draws each level's mean and largest |gradient|
    vals = [f(lv) for lv in levels if lv for f in (lambda x: sum(x) / len(x), max)]
    if vals and all(v > 0 for v in vals):
        lo, hi = math.floor(math.log10(min(vals))), math.ceil(math.log10(max(vals)))
        if lo == hi:
            lo, hi = lo - 1, hi + 1
        if hi - lo <= 8:  # one label per decade
            want = [pow10(k) for k in range(lo, hi + 1)]
            check(f"{label}: depth chart's y axis labels 10^{lo}..10^{hi}", all(w in text for w in want)
                  and pow10(lo - 1) not in text and pow10(hi + 1) not in text, (want, text[:300]))
    d = max((k for k, lv in enumerate(levels) if lv), default=0)
    if d >= 1:
        lv = levels[d]
        want = (f"Deepest level: depth {d} ({len(lv)} node{'s' if len(lv) != 1 else ''}): "
                f"mean |∂{L}/∂node| = {fmt(sum(lv) / len(lv))}, largest = {fmt(max(lv))}.")
        check(f"{label}: depth page writes out the deepest level", want in text, (want, text[-500:]))


def thin(n):
    """A count as the mode table writes it: comma thousands separators."""
    return f"{n:,}"


def matrix_rows(text, corner):
    """The rows of the matrix whose header line starts with `corner` ("J", "Jh", "Jf"): {row name:
    [cells]} read from the lines after the header, up to the first line that is not a row."""
    lines = text.splitlines()
    for i, ln in enumerate(lines):
        parts = ln.split()
        if parts and parts[0] == corner and len(parts) >= 2 and \
                all(re.fullmatch(r"[A-Za-z_]\w*|…", c) for c in parts[1:]):
            rows = {}
            for row in lines[i + 1:]:
                cells = row.split()
                if len(cells) < 2 or not re.fullmatch(r"[A-Za-z_]\w*", cells[0]) or \
                        not all(re.fullmatch(r"[−0-9.e+∞…·]+|NaN", c) for c in cells[1:]):
                    break
                rows[cells[0]] = cells[1:]
            return parts[1:], rows
    return None, {}


def check_jac_page(label, doc, text, size):
    """The Jacobian page of any trace: portrait; each matrix row (when every column fits) holds the
    trace's values as the labels write them; the mode table's sweep counts follow from the numbers
    of outputs, inputs and params (reverse: one per output; forward: one per input or param) and
    its multiply-adds are the trace's (edges followed, the elementary operations)."""
    check(f"{label}: Jacobian page is portrait", size and size[0] < size[1], size)
    names = {nd["id"]: nd["name"] for nd in doc["nodes"]}
    jd = doc.get("jacobian")
    if jd and len(jd["cols"]) <= 5 and len(jd["rows"]) <= 10:
        cols, rows = matrix_rows(text, "Jh" if "via" in jd else "J")
        want = {r["name"]: [fmt(v) for v in jd["values"][i]] for i, r in enumerate(jd["rows"])}
        check(f"{label}: Jacobian table = the trace's jacobian.values",
              cols == [c["name"] for c in jd["cols"]] and rows == want, (cols, rows, want))
    nin = sum(nd["kind"] == "input" for nd in doc["nodes"])
    npar = sum(nd["kind"] == "param" for nd in doc["nodes"])
    nout = len(doc["outputs"])
    L = names[doc["outputs"][0]]
    tasks = [("Jacobian", f"Jacobian ({nout} × {nin + npar})", nout, nin + npar),
             ("gradient_inputs", f"∂{L}/∂inputs (1 × {nin})", 1, nin),
             ("gradient_inputs_params", f"∂{L}/∂(inputs, params) (1 × {nin + npar})", 1, nin + npar)]
    modes = {m["task"]: m for m in doc["modes"]["tasks"]} if doc.get("modes") else {}
    for key, head, rev, fwd in tasks:
        # a --reproducible table has no time after the reverse row's multiply-adds
        m = re.search(re.escape(head) + r" reverse (\S+) (\S+)(?: .*)?\nforward (\S+) (\S+)(?=\s)", text)
        got = m.groups() if m else None
        want = (thin(rev), None, thin(fwd), None)
        if key in modes:
            r, f = modes[key]["reverse"], modes[key]["forward"]
            want = (thin(rev), ("~" if r["estimated"] else "") + thin(int(r["edges"])),
                    thin(fwd), ("~" if f["estimated"] else "") + thin(int(f["edges"])))
        check(f"{label}: mode table row '{head}': sweeps {rev} reverse, {fwd} forward, multiply-adds of the trace",
              got is not None and got[0] == want[0] and got[2] == want[2]
              and (want[1] is None or (got[1], got[3]) == (want[1], want[3])), (got, want))
    check(f"{label}: Jacobian page states the lecture's point",
          "Reverse mode needs 1 sweep for many inputs and one output; forward mode needs one per input." in
          " ".join(text.split()), text[-900:])


def render(model, *extra, out=None):
    """Runs gradviz -f pdf,json; returns (process, trace, pdf path)."""
    import json
    out = out or tmpdir()
    p = run("-q", "-f", "pdf,json", "-o", out, model, *extra)
    stem = os.path.splitext(os.path.basename(model))[0]
    doc = None
    jpath = os.path.join(out, stem + ".json")
    if os.path.exists(jpath):
        with open(jpath, encoding="utf-8") as f:
            doc = json.load(f)
    return p, doc, os.path.join(out, stem + ".pdf")


def check_pdf(label, model, *extra, paper="a4"):
    """The checks every PDF must pass. Returns (trace, pages text) for further checks."""
    steps = "--steps" in extra
    with_check = "--check" in extra
    p, doc, pdf = render(model, *extra)
    if not check(f"{label}: gradviz writes the PDF", p.returncode in (0, 4) and doc and os.path.exists(pdf),
                 p.stderr):
        return None, []
    q = tool("qpdf", "--check", pdf)
    check(f"{label}: qpdf --check passes", q.returncode == 0, q.stdout + q.stderr)

    f = tool("pdffonts", pdf)
    emb = [ln for ln in f.stdout.splitlines() if "DejaVuSans" in ln]
    check(f"{label}: DejaVu Sans embedded", emb and all(" yes " in ln for ln in emb), f.stdout)

    n = page_count(pdf)
    rc, pages = pages_text(pdf)
    check(f"{label}: pdftotext reads every page", rc == 0 and len(pages) == n, f"{len(pages)} texts, {n} pages")
    text = "\n".join(pages)

    missing = [nd["name"] for nd in doc["nodes"] if nd["name"] and nd["name"] not in text]
    check(f"{label}: every node name in the text", not missing, missing)
    want = {fmt(nd["grad"]) for nd in doc["nodes"] if nd["kind"] != "const" and nd["grad"] is not None}
    want |= {fmt(nd["value"]) for nd in doc["nodes"] if nd["value"] is not None}
    missing = sorted(w for w in want if w not in text)
    check(f"{label}: every gradient and value as the labels write it", not missing, missing)

    # classify the pages: page 1, tiles ("Part X of the graph"), steps, tables. With --steps, one
    # page per backward step (none in --mode forward) and per forward-mode step (--mode
    # forward|both: the steps of forward_mode), as the DOT and SVG frames.
    tiles = sum(1 for t in pages if re.search(r"^Part [A-Z]\d+ of the graph", t, re.M))
    step_pages = [t for t in pages if re.search(r"Backward step \d+ of \d+", t)]
    fwd_pages = [t for t in pages if re.search(r"^Forward step \d+ of \d+", t, re.M)]
    mode = extra[extra.index("--mode") + 1] if "--mode" in extra else "reverse"
    nsteps = len(doc["backward"]) if steps and mode != "forward" else 0
    nfwd = len(doc["forward_mode"]["steps"]) if steps and "forward_mode" in doc else 0
    ntables = table_pages(doc, SLOTS[paper], with_check)
    check(f"{label}: pages = 1 + {tiles} tiles + {nsteps} backward + {nfwd} forward steps + 1 gradient-by-depth + "
          f"1 Jacobian + {ntables} table pages", n == 1 + tiles + nsteps + nfwd + 1 + 1 + ntables, f"{n} pages")
    check(f"{label}: one page per forward-mode step, in order",
          [int(m) for t in fwd_pages for m in re.findall(r"^Forward step (\d+) of", t, re.M)[:1]]
          == list(range(1, nfwd + 1)), [t[:60] for t in fwd_pages])
    depth = [i for i, t in enumerate(pages) if "Gradient magnitude by depth" in t]
    check(f"{label}: one gradient-by-depth page, just before the Jacobian page", depth == [n - ntables - 2], depth)
    jac = [i for i, t in enumerate(pages) if t.startswith("Jacobian and modes")]
    check(f"{label}: one 'Jacobian and modes' page, just before the tables", jac == [n - ntables - 1], jac)
    check(f"{label}: one step page per backward step, in order",
          [int(m) for t in step_pages for m in re.findall(r"Backward step (\d+) of", t)[:1]]
          == list(range(1, nsteps + 1)), [t[:60] for t in step_pages])
    tail = pages[n - ntables:] if ntables else []
    check(f"{label}: the last {ntables} pages are tables",
          ntables > 0 and all("Nodes: values and gradients" in t or "(continued)" in t or "Fan-out:" in t
                              or "Gradient check" in t for t in tail), [t[:80] for t in tail])

    d = tmpdir()
    r = tool("pdftoppm", "-r", "12", "-png", pdf, os.path.join(d, "p"))
    pngs = glob.glob(os.path.join(d, "p-*.png"))
    check(f"{label}: pdftoppm renders all {n} pages", r.returncode == 0 and len(pngs) == n,
          f"rc {r.returncode}, {len(pngs)} images; {r.stderr[-300:]}")
    sizes = page_sizes(pdf, n)
    want_size = {"a4": (595.276, 841.89), "letter": (612.0, 792.0)}[paper]
    check(f"{label}: every page is {paper}",
          len(sizes) == n and all(sorted(s) == sorted(want_size) for s in sizes), sizes[:4])
    if depth == [n - ntables - 2] and len(sizes) == n:
        check_depth_page(label, doc, pages[depth[0]], sizes[depth[0]])
    if jac == [n - ntables - 1] and len(sizes) == n:
        check_jac_page(label, doc, pages[jac[0]], sizes[jac[0]])
    return doc, pages


# ---- every example, with --steps ----
for model in sorted(glob.glob(os.path.join(ROOT, "examples", "*.grad"))):
    check_pdf(os.path.basename(model), model, "--steps")

# ---- neuron: the chain rule written out, with numbers from closed forms ----
neuron = os.path.join(ROOT, "examples", "neuron.grad")
doc, pages = check_pdf("neuron --check", neuron, "--steps", "--check")
if doc:
    text = "\n".join(pages)
    x1, x2, w1, w2, t = 0.5, 0.8, 0.3, -0.2, 0.7
    z = w1 * x1 + w2 * x2
    y = 1 / (1 + math.exp(-z))
    dL_dy = 2 * (y - t)
    dL_dz = dL_dy * y * (1 - y)
    line = f"∂L/∂z = ∂L/∂y · ∂y/∂z = ({fmt(dL_dy)})({fmt(y * (1 - y))}) = {fmt(dL_dz)}"
    check("neuron: step page writes out ∂L/∂z with numbers", any(line in pg for pg in pages), line)
    check("neuron: the sigmoid rule is quoted", "∂σ(a)/∂a = σ(a)(1 − σ(a))" in text)
    check("neuron: ∂L/∂w1 step", f"({fmt(dL_dz)})({fmt(x1)}) = {fmt(dL_dz * x1)}" in text)
    check("neuron: const target gets no gradient", "target is a constant" in text)
    check("neuron: check table", "Gradient check: passed" in text and text.count("pass") >= 4)
    first = pages[0]
    check("neuron: page 1 has title and legend", "Single sigmoid neuron" in first and "forward value" in first
          and "local derivative" in first and "fan-out" in first, first[:300])

# ---- fanout: at the step where x completes, the sum of its four terms ----
fanout = os.path.join(ROOT, "examples", "fanout.grad")
doc, pages = check_pdf("fanout --check", fanout, "--steps", "--check")
if doc:
    x, y = 1.5, -0.5
    terms = [y, math.cos(x), x, x]  # out-edges in creation order: x*y, sin(x), x*x (a), x*x (b)
    s = fmt(terms[0]) + "".join((" − " + fmt(-v)) if v < 0 else (" + " + fmt(v)) for v in terms[1:])
    want = f"∂f/∂x = {s} = {fmt(sum(terms))}"
    hits = [i for i, pg in enumerate(pages) if want in pg and "Backward step" in pg]
    check("fanout: the step completing ∂f/∂x shows the sum of its terms", len(hits) == 1, want)
    text = "\n".join(pages)
    check("fanout: fan-out table sums over 4 paths", "sum over 4 paths" in text)
    check("fanout: running sums of x", f"running sum {fmt(2 * x)}" in text)

# ---- jacobian.grad: the Jacobian, its factors through the cut and the forward sweep, by hand ----
# y1 = sin(u1) + u2, y2 = u2·u3 with u1 = x1², u2 = x1·x2, u3 = x2², at x = (1, 2):
#   y1 = sin(x1²) + x1·x2   ∂y1/∂x1 = 2·x1·cos(x1²) + x2   ∂y1/∂x2 = x1
#   y2 = x1·x2³             ∂y2/∂x1 = x2³                  ∂y2/∂x2 = 3·x1·x2²
#   J_f = ∂y/∂u = [[cos u1, 1, 0], [0, u3, u2]]   J_g = ∂u/∂x = [[2·x1, 0], [x2, x1], [0, 2·x2]]
jmodel = os.path.join(ROOT, "examples", "jacobian.grad")
doc, pages = check_pdf("jacobian --mode both --via", jmodel, "--mode", "both", "--via", "u1,u2,u3", "--wrt", "x1",
                       "--steps")
jpage = next((pg for pg in pages if pg.startswith("Jacobian and modes")), "")
if check("jacobian: the PDF has its Jacobian page", jpage, [pg[:40] for pg in pages]):
    x1, x2 = 1.0, 2.0
    u1, u2, u3 = x1 ** 2, x1 * x2, x2 ** 2
    Jh = [[2 * x1 * math.cos(x1 ** 2) + x2, x1], [x2 ** 3, 3 * x1 * x2 ** 2]]
    Jf = [[math.cos(u1), 1, 0], [0, u3, u2]]
    Jg = [[2 * x1, 0], [x2, x1], [0, 2 * x2]]
    for corner, J, rnames, cnames in (("Jh", Jh, ["y1", "y2"], ["x1", "x2"]), ("Jf", Jf, ["y1", "y2"], ["u1", "u2", "u3"]),
                                      ("Jg", Jg, ["u1", "u2", "u3"], ["x1", "x2"])):
        cols, rows = matrix_rows(jpage, corner)
        # the "·" between J_f and J_g, drawn level with J_f's rows, ends one of them
        rows = {k: [c for c in v if c != "·"] for k, v in rows.items()}
        want = {r: [fmt(v) for v in J[i]] for i, r in enumerate(rnames)}
        check(f"jacobian: table {corner} = closed form", cols == cnames and rows == want, (cols, rows, want))
    flat = " ".join(jpage.split())
    check("jacobian: J_f · J_g = J_h, max |difference| 0", "Jf · Jg = Jh: " in flat and "max |difference| 0 " in flat,
          flat[:1200])
    check("jacobian: reverse and forward mode agree", "max |reverse − forward| = 0" in flat)
    check("jacobian: the mode table has measured times and a time ratio (no --reproducible)",
          "time ratio" in flat and re.search(r"\d (ns|µs|ms|s) ", flat) and "Timings omitted" not in flat, flat[-900:])
    # forward mode w.r.t. x1: ∂y1/∂x1 = ∂y1/∂sin · ∂sin/∂x1 + ∂y1/∂u2 · ∂u2/∂x1 = 1·(cos(u1)·2x1) + 1·x2
    dsin = math.cos(u1) * 2 * x1
    want = f"∂y1/∂x1 = (1)({fmt(dsin)}) + (1)({fmt(x2)}) = {fmt(dsin + x2)}"
    check("jacobian: the forward sweep writes out ∂y1/∂x1 with numbers", want in flat, want)
    want = f"∂y2/∂x1 = ({fmt(u3)})({fmt(x2)}) + ({fmt(u2)})(0) = {fmt(x2 ** 3)}"
    check("jacobian: the forward sweep writes out ∂y2/∂x1 (u3 does not depend on x1)", want in flat, want)
    # the forward-mode step page of y2 = u2·u3: ∂y2/∂u2 = u3, ∂u2/∂x1 = x2; ∂y2/∂u3 = u2, ∂u3/∂x1 = 0
    fpage = next((" ".join(pg.split()) for pg in pages if pg.startswith("Forward step 5 of 5")), "")
    want = (f"∂y2/∂x1 = ∂y2/∂u2 · ∂u2/∂x1 + ∂y2/∂u3 · ∂u3/∂x1 = ({fmt(u3)})({fmt(x2)}) + ({fmt(u2)})(0) = "
            f"{fmt(x2 ** 3)}")
    check("jacobian: forward step 5 of 5 (y2) writes out ∂y2/∂x1 = Σ ∂y2/∂u · ∂u/∂x1 with numbers", want in fpage,
          (want, fpage[:600]))
    check("jacobian: forward step 5 of 5: u3 does not depend on x1, y2 is an entry of the Jacobian",
          "u3 does not depend on x1" in fpage and "is the entry (y2, x1) of the Jacobian" in fpage, fpage[-600:])

# ---- --reproducible: the mode table counted, not timed, and says so ----
# By hand on jacobian.grad (ids x1 0, x2 1, u1 2, u2 3, u3 4, sin 5, y1 6, y2 7): reverse from y1
# follows y1 (2 in-edges), sin (1), u2 (2), u1 (1) = 6, from y2 = u2·u3 y2 (2), u2 (2), u3 (1) =
# 5; forward from x1 or x2 up to y2 follows every in-edge of ids 2..7 = 9, up to y1 = 7.
doc, pages = check_pdf("jacobian --reproducible", jmodel, "--reproducible")
jpage = next((pg for pg in pages if pg.startswith("Jacobian and modes")), "")
if check("jacobian --reproducible: the PDF has its Jacobian page", jpage, [pg[:40] for pg in pages]):
    flat = " ".join(jpage.split())
    check("jacobian --reproducible: the mode table says the timings were omitted, shows no time",
          "Timings omitted (--reproducible or SOURCE_DATE_EPOCH)" in flat and "time ratio" not in flat
          and not re.search(r"\d (ns|µs|ms|s) ", flat) and not re.search(r"nan|NaN|inf", flat), flat[-900:])
    for row in ("Jacobian (2 × 2) reverse 2 11 forward 2 18 1.64×", "∂y1/∂inputs (1 × 2) reverse 1 6 forward 2 14 2.33×",
                "∂y1/∂(inputs, params) (1 × 2) reverse 1 6 forward 2 14 2.33×"):
        check(f"jacobian --reproducible: mode table row '{row}' (ratio of multiply-adds, by hand)", row in flat,
              flat[-900:])

# ---- --paper letter, metadata ----
p, doc, pdf = render(neuron, "--paper", "letter")
if check("--paper letter writes the PDF", p.returncode == 0, p.stderr):
    n = page_count(pdf)
    sizes = page_sizes(pdf, n)
    check("--paper letter: 612 x 792 pt pages", sizes and all(sorted(s) == [612.0, 792.0] for s in sizes), sizes)
    check("--paper letter: page 1 is landscape for the wide neuron graph", sizes and sizes[0][0] > sizes[0][1], sizes)
    info = tool("pdfinfo", pdf).stdout
    check("metadata: title", re.search(r"^Title:\s+Single sigmoid neuron$", info, re.M), info)
    check("metadata: creator", re.search(r"^Creator:\s+gradviz", info, re.M), info)
    check("metadata: subject names the model", re.search(r"^Subject:.*neuron\.grad", info, re.M), info)

# --rankdir TB makes the drawing tall: portrait page 1
p, doc, pdf = render(neuron, "--rankdir", "TB")
if check("--rankdir TB writes the PDF", p.returncode == 0, p.stderr):
    sizes = page_sizes(pdf, 1)
    check("--rankdir TB: page 1 is portrait", sizes and sizes[0][0] < sizes[0][1], sizes)

# ---- a graph too big for one readable page is tiled; tables continue over pages ----
mlp = write_model(gen("mlp", "2,3,1", "--seed", "3"), "mlp231.grad")
doc, pages = check_pdf("gen mlp 2,3,1", mlp)
if doc:
    check("mlp: page 1 says the overview is too small and tiles it", "too small to read" in pages[0]
          and any(re.search(r"^Part A1 of the graph", pg, re.M) for pg in pages), pages[0][-400:])

big = write_model(gen("mlp", "3,6,1", "--seed", "2"), "mlp361.grad")
doc, pages = check_pdf("gen mlp 3,6,1 letter", big, "--paper", "letter", paper="letter")
if doc:
    check("mlp 3,6,1: node table continues on a second page",
          table_pages(doc, SLOTS["letter"], False) >= 2 and any("(continued)" in pg for pg in pages))

# ---- errors: no PDF, no temporary left behind ----
bad = write_model("input x = 1\ny = sigmod(x)\n", "bad.grad")
out = tmpdir()
p = run("-q", "-f", "pdf", "-o", out, bad)
check("model error: exit 1", p.returncode == 1, p.stderr)
check("model error: no PDF written", os.listdir(out) == [], os.listdir(out))

out = tmpdir()
os.mkdir(os.path.join(out, "neuron.pdf"))  # the PDF cannot replace a directory
p = run("-q", "-f", "pdf", "-o", out, neuron)
check("unwritable PDF: exit 3", p.returncode == 3, p.stderr)
check("unwritable PDF: no temporary file left", sorted(os.listdir(out)) == ["neuron.pdf"], os.listdir(out))

# ---- `gradviz flow -f pdf`: one page, the chart and the table of stdout ----
UNSUP = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")


def page_cells(row):
    """A table row as the pages write it ("1.4485 × 10⁻⁷ 0 0/100") -> ["1.4485e-7", "0", "0/100"]."""
    toks, cells = row.split(), []
    i = 0
    while i < len(toks):
        if i + 2 < len(toks) and toks[i + 1] == "×" and toks[i + 2].startswith("10"):
            cells.append(f"{toks[i]}e{toks[i + 2][2:].translate(UNSUP)}")
            i += 3
        else:
            cells.append(toks[i])
            i += 1
    return cells


def same_cell(a, b):
    """One cell of stdout's table and one of a page's: equal numbers (both 5 digits) or equal text."""
    try:
        return float(a) == float(b)
    except ValueError:
        return a == b


def stdout_rows(stdout):
    rows = {}
    for line in stdout.splitlines():
        m = re.match(r"^\s*(\d+)\s+(.*)$", line)
        if m:
            rows[int(m.group(1))] = m.group(2).split()
    return rows


probe = run("flow", "--help")
if probe.returncode != 0 or "--layers" not in probe.stdout:
    print("ok - skipped: `gradviz flow` is not dispatched by main yet (flow.pdf)")
else:
    out = tmpdir()
    p = run("flow", "--layers", 50, "--trials", 100, "--seed", 42, "-f", "pdf", "-q", "-o", out)
    pdf = os.path.join(out, "flow.pdf")
    if check("flow -f pdf: exit 0, writes flow.pdf only", p.returncode == 0 and os.listdir(out) == ["flow.pdf"],
             (p.returncode, p.stderr, os.listdir(out))):
        q = tool("qpdf", "--check", pdf)
        check("flow.pdf: qpdf --check passes", q.returncode == 0, q.stdout + q.stderr)
        f = tool("pdffonts", pdf)
        emb = [ln for ln in f.stdout.splitlines() if "DejaVuSans" in ln]
        check("flow.pdf: DejaVu Sans embedded", emb and all(" yes " in ln for ln in emb), f.stdout)
        sizes = page_sizes(pdf, 1)
        check("flow.pdf: one landscape A4 page", page_count(pdf) == 1 and sizes
              and sorted(sizes[0]) == [595.276, 841.89] and sizes[0][0] > sizes[0][1], sizes)
        rc, pages = pages_text(pdf)
        text = pages[0] if pages else ""
        check("flow.pdf: chart title and legend",
              "Vanishing gradients" in text and all(w in text for w in ("sigmoid: E[σ′(z)]", "tanh: E[1 − tanh²(z)]",
                                                                        "relu: E[1{z > 0}]", "0.25ⁿ: the sigmoid bound")),
              text[:600])
        check("flow.pdf: y axis from 10⁰ down to 10⁻³⁵", "10⁰" in text and "10⁻³⁵" in text, text[:300])
        want = stdout_rows(run("flow", "--layers", 50, "--trials", 100, "--seed", 42, "-f", "json",
                               "-q", "-o", tmpdir()).stdout)
        got = {}
        for line in text.splitlines():
            m = re.match(r"^(\d+) (.*)$", line)
            if m and int(m.group(1)) in want:
                got[int(m.group(1))] = page_cells(m.group(2))
        check("flow.pdf: the table has stdout's rows (layers 10..50)", sorted(got) == sorted(want) == [10, 20, 30, 40, 50],
              (sorted(got), sorted(want)))
        ok = all(len(got[k]) == len(want[k]) and all(same_cell(a, b) for a, b in zip(got[k], want[k])) for k in got)
        check("flow.pdf: every cell equals stdout's", ok and got, {k: (got[k], want.get(k)) for k in list(got)[:2]})
        # the bound column, from the closed form
        check("flow.pdf: bound column is 0.25^n", got and all(math.isclose(float(got[k][3]), 0.25 ** k, rel_tol=1e-4)
                                                            for k in got), got)
