"""Gradient flow end to end: the `flow` block of a model's JSON trace (the per-depth profile,
checked against depths found here by DFS and the trace's own node gradients), and `gradviz flow`,
the vanishing-gradient experiment — the table on stdout, flow.json and the flow.svg chart (parsed
as XML, rendered by headless Chromium and checked for ink). Each part skips cleanly until main.c
and tracejson.c are wired up.

Expected values are computed here: E[f'(z)] and E[f'(z)^2] for z ~ N(0, 1) by Simpson's rule
over the closed-form derivatives, and the sampling error of a mean over T trials from them."""
import json
import math
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
import zlib

sys.path.insert(0, os.path.dirname(__file__))
from harness import check, run, tmpdir, trace, write_model  # noqa: E402

SVG_NS = "{http://www.w3.org/2000/svg}"



def deriv(act, z):
    if act == "sigmoid":
        e = math.exp(-abs(z))
        return e / (1 + e) ** 2
    if act == "tanh":
        return 1 / math.cosh(z) ** 2
    return 1.0 if z > 0 else 0.0


def moment(act, power, n=4000):
    """E[f'(z)^power], z ~ N(0, 1): Simpson on [-10, 0] and [0, 10] (relu jumps at 0)."""
    h = 10 / n
    total = 0.0
    for side in (-1, 1):
        s = 0.0
        for i in range(n + 1):
            z = side * i * h
            zf = side * 1e-300 if i == 0 else z
            w = 1 if i in (0, n) else (4 if i % 2 else 2)
            s += w * deriv(act, zf) ** power * math.exp(-z * z / 2)
        total += s * h / 3
    return total / math.sqrt(2 * math.pi)


ACTS = ["sigmoid", "tanh", "relu"]
E1 = {a: moment(a, 1) for a in ACTS}
E2 = {a: moment(a, 2) for a in ACTS}
check("lecture's factors: E[sigmoid'] = 0.2066, E[1 - tanh^2] = 0.6057, E[relu'] = 0.5",
      round(E1["sigmoid"], 4) == 0.2066 and round(E1["tanh"], 4) == 0.6057 and abs(E1["relu"] - 0.5) < 1e-12, E1)


# ---- the `flow` block of a model's trace: the per-depth profile ----

def longest_paths(doc):
    """{node id: longest path in edges to the primary output} by memoised DFS over out-edges."""
    out = {}
    for e in doc["edges"]:
        out.setdefault(e["from"], []).append(e["to"])
    primary = doc["outputs"][0]
    memo = {}

    def depth(n):
        if n not in memo:
            best = 0 if n == primary else None
            for t in out.get(n, []):
                d = depth(t)
                if d is not None and (best is None or d + 1 > best):
                    best = d + 1
            memo[n] = best
        return memo[n]
    sys.setrecursionlimit(10000)
    return {n["id"]: depth(n["id"]) for n in doc["nodes"]}


def expected_levels(doc):
    depths = longest_paths(doc)
    levels = {}
    for n in doc["nodes"]:
        d = depths[n["id"]]
        if d is None or n["kind"] == "const":
            continue
        levels.setdefault(d, []).append(abs(n["grad"]))
    return [levels.get(d, []) for d in range(max(levels) + 1)]


def chain_model(act, layers, seed):
    d = tmpdir()
    path = os.path.join(d, f"{act}_chain.grad")
    p = run("gen", "chain", layers, "--act", act, "--seed", seed)
    with open(path, "w", encoding="utf-8") as f:
        f.write(p.stdout)
    return path


def relu_chain(layers):
    """h_k = relu(1*h_{k-1} + 0.5) from h0 = 1: every pre-activation positive."""
    lines = ["input h0 = 1"]
    for k in range(1, layers + 1):
        lines += [f"param w{k} = 1", f"param b{k} = 0.5",
                  f"{'output ' if k == layers else ''}h{k} = relu(w{k}*h{k - 1} + b{k})"]
    d = tmpdir()
    path = os.path.join(d, "relu_chain.grad")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return path


sig_model = chain_model("sigmoid", 20, 3)
p, doc, _ = trace(sig_model)
if doc is not None and "flow" not in doc:
    print("ok - skipped: the JSON trace has no flow block yet")
elif check("trace of a sigmoid chain", doc is not None, p.stderr):
    flow_block = doc["flow"]
    want = expected_levels(doc)
    got = flow_block.get("levels", [])
    check("flow block: one level per depth, 3 per layer", len(got) == len(want) == 3 * 20 + 1, (len(got), len(want)))
    ok = all(g["depth"] == d and g["nodes"] == len(w) and math.isclose(g["mean"], sum(w) / len(w), rel_tol=1e-12)
             and g["max"] == max(w) for d, (g, w) in enumerate(zip(got, want)))
    check("flow block: mean and max |dL/dnode| per depth match the trace's node gradients", ok, got[:4])
    means = [g["mean"] for g in got]
    check("sigmoid chain: the profile decays with depth",
          sum(means[-20:]) / 20 < 1e-6 * sum(means[:20]) / 20, means[::10])
    p, doc, _ = trace(relu_chain(15))
    if check("trace of a positive relu chain", doc is not None and "flow" in doc, p.stderr):
        got = doc["flow"]["levels"]
        check("positive relu chain: the profile does not decay", all(g["mean"] >= 1 - 1e-12 for g in got),
              [g["mean"] for g in got])

# ---- `gradviz flow` ----

# Until main.c dispatches `gradviz flow` to flow_main, `gradviz flow --help` is the main help
# (or an error): skip cleanly.
probe = run("flow", "--help")
if probe.returncode != 0 or "--layers" not in probe.stdout:
    print("ok - skipped: `gradviz flow` is not dispatched by main yet")
    sys.exit(0)


def flow(*args, out=None):
    out = out or tmpdir()
    p = run("flow", *args, "-o", out)
    doc = None
    path = os.path.join(out, "flow.json")
    if p.returncode == 0 and os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    return p, doc, out


def table_rows(stdout):
    """{layer: [values...]} from the printed table (numbers or '0', plus 'k/T' counts)."""
    rows = {}
    for line in stdout.splitlines():
        m = re.match(r"^\s*(\d+)\s+(.*)$", line)
        if m:
            rows[int(m.group(1))] = m.group(2).split()
    return rows


# ---- the lecture's run ----
args = ["--layers", 50, "--trials", 100, "--act", "sigmoid,tanh,relu", "--seed", 42]
p, doc, out = flow(*args)
check("flow runs", p.returncode == 0 and doc is not None, p.stderr)
if doc:
    rows = table_rows(p.stdout)
    check("table rows at layers 10..50", sorted(rows) == [10, 20, 30, 40, 50], p.stdout)
    header = next((l for l in p.stdout.splitlines() if "layer" in l and "sigmoid" in l), "")
    check("table header names the activations and the bound",
          all(w in header for w in ("sigmoid", "tanh", "relu", "0.25^n")), header)
    acts = {a["name"]: a for a in doc["activations"]}
    check("json: format and settings",
          doc["format"] == "gradviz-flow" and doc["version"] == 1 and doc["experiment"]["layers"] == 50
          and doc["experiment"]["trials"] == 100 and doc["experiment"]["seed"] == 42 and list(acts) == ACTS, doc["experiment"])
    check("json: 50 means and counts per activation",
          all(len(a["mean"]) == 50 and len(a["nonzero"]) == 50 for a in acts.values()))
    ok = True
    for layer, vals in rows.items():
        for i, a in enumerate(ACTS):
            got = float(vals[i])
            want = acts[a]["mean"][layer - 1]
            ok = ok and (got == want == 0 or math.isclose(got, want, rel_tol=1e-4))
        ok = ok and math.isclose(float(vals[3]), 0.25 ** layer, rel_tol=1e-4)
        ok = ok and vals[4] == f"{acts['relu']['nonzero'][layer - 1]}/100"
    check("table agrees with flow.json (5 digits) and 0.25^n", ok, p.stdout)
    sig = acts["sigmoid"]["mean"]
    check("sigmoid mean never above 0.25^n", all(v <= 0.25 ** (k + 1) * (1 + 1e-12) for k, v in enumerate(sig)))
    check("sigmoid vanishes: below 1e-30 after 50 layers", 0 < sig[49] < 1e-30, sig[49])
    relu = acts["relu"]
    check("relu mean is the share of non-zero trials (each is 0 or exactly 1)",
          all(math.isclose(m, n / 100, rel_tol=1e-15, abs_tol=0) for m, n in zip(relu["mean"], relu["nonzero"])))
    check("expected factors in json", all(math.isclose(acts[a]["expected_factor"], E1[a], rel_tol=1e-6) for a in ACTS),
          {a: acts[a]["expected_factor"] for a in ACTS})
    check("no temporary files left", sorted(os.listdir(out)) == ["flow.json", "flow.svg"], os.listdir(out))

    # same seed, same everything; another seed, another table
    p2, doc2, out2 = flow(*args)
    check("same seed: same table", p2.stdout == p.stdout)
    with open(os.path.join(out, "flow.svg"), "rb") as f1, open(os.path.join(out2, "flow.svg"), "rb") as f2:
        check("same seed: same files", doc2 == doc and f1.read() == f2.read())
    p3, doc3, _ = flow("--layers", 50, "--trials", 100, "--seed", 43)
    check("another seed: another table", p3.returncode == 0 and p3.stdout != p.stdout)

# ---- the means converge to E^n within the sampling error ----
T = 40000
p, doc, _ = flow("--layers", 10, "--trials", T, "--seed", 7, "-f", "json")
check("large run", p.returncode == 0 and doc is not None, p.stderr)
if doc:
    for a in doc["activations"]:
        name = a["name"]
        for n in (1, 10):
            want = E1[name] ** n
            se = math.sqrt((E2[name] ** n - E1[name] ** (2 * n)) / T)
            got = a["mean"][n - 1]
            check(f"{name} after {n} layer(s): {got:.5g} within 5 SE of E^n = {want:.5g}",
                  abs(got - want) <= 5 * se, f"se {se:.3g}")

# ---- the chart ----
p, doc, out = flow(*args)
svg_path = os.path.join(out, "flow.svg")
root = None
try:
    root = ET.parse(svg_path).getroot()
except (OSError, ET.ParseError) as e:
    check("flow.svg is well-formed XML", False, e)
if root is not None:
    check("flow.svg is well-formed XML with an svg root", root.tag == SVG_NS + "svg", root.tag)
    texts = ["".join(t.itertext()) for t in root.iter(SVG_NS + "text")]
    for name in ("sigmoid", "tanh", "relu", "0.25ⁿ"):
        check(f"legend names {name}", any(t.startswith(name) for t in texts), texts)
    check("y ticks at powers of ten from 10⁰ down", "10⁰" in texts and "10⁻³⁵" in texts, texts)
    check("x axis ticks 0..50", all(str(k) in texts for k in range(0, 51, 10)), texts)
    dashed = [e for e in root.iter() if e.get("stroke-dasharray") and e.tag == SVG_NS + "polyline"]
    bound = [e for e in dashed if len(e.get("points").split()) == 51]
    check("one dashed polyline of 51 points: the 0.25^n bound", len(bound) == 1, [e.attrib for e in dashed])
    if bound:
        pts = [tuple(map(float, q.split(","))) for q in bound[0].get("points").split()]
        steps = [pts[i + 1][1] - pts[i][1] for i in range(50)]
        # straight on a log scale; coordinates are rounded to 0.01
        check("the bound is a straight line on the log scale", max(steps) - min(steps) < 0.03 and steps[0] > 0, steps)
    w, h = float(root.get("width")), float(root.get("height"))
    check("viewBox matches the size", root.get("viewBox") == f"0 0 {w:g} {h:g}", root.attrib)


def png_pixels(path):
    """(width, height, rows of bytes, bytes per pixel) of an 8-bit non-interlaced PNG."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and interlace == 0, "unsupported PNG"
            bpp = {2: 3, 6: 4, 0: 1, 4: 2}[ctype]
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        ftype, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 255
            elif ftype == 2:
                line[i] = (line[i] + b) & 255
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ftype == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, rows, bpp


chromium = shutil.which("chromium") or shutil.which("chromium-browser")
if root is None:
    pass
elif not chromium:
    print("ok - skipped: chromium is not installed, the chart was not rendered")
else:
    shot = os.path.join(tmpdir(), "flow.png")
    profile = tempfile.mkdtemp(prefix="gradviz-chromium-")
    try:
        r = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                            "--no-first-run", "--disable-background-networking", "--disable-component-update",
                            "--disable-sync", f"--user-data-dir={profile}", "--hide-scrollbars",
                            f"--screenshot={shot}", f"--window-size={int(w)},{int(h)}", "file://" + svg_path],
                           capture_output=True, text=True, timeout=90)
    except subprocess.TimeoutExpired:
        r = None
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if check("chromium renders flow.svg", r is not None and os.path.exists(shot), r and r.stderr[-2000:]):
        try:
            width, height, rows, bpp = png_pixels(shot)
        except (AssertionError, zlib.error, KeyError, struct.error) as e:
            check("screenshot decodes", False, e)
        else:
            ink = 0
            colours = {"sigmoid": 0, "tanh": 0, "relu": 0}
            for row in rows:
                for x in range(0, width * bpp, bpp):
                    r_, g_, b_ = row[x], row[x + 1 if bpp >= 3 else x], row[x + 2 if bpp >= 3 else x]
                    if r_ < 200 or g_ < 200 or b_ < 200:
                        ink += 1
                    # the lines' colours (Okabe-Ito vermillion, blue, green), anti-aliasing allowed
                    if r_ > 180 and 60 < g_ < 130 and b_ < 60:
                        colours["sigmoid"] += 1
                    elif r_ < 60 and 80 < g_ < 150 and b_ > 140:
                        colours["tanh"] += 1
                    elif r_ < 60 and g_ > 130 and 90 < b_ < 150:
                        colours["relu"] += 1
            share = ink / (width * height)
            check(f"screenshot has ink but is mostly white ({share:.1%} inked)", 0.01 < share < 0.5, share)
            check("each activation's colour is on screen", all(v > 50 for v in colours.values()), colours)

# ---- usage and I/O errors ----
for bad, why in [(["--layers", "0"], "layers 0"), (["--layers", "10001"], "too many layers"),
                 (["--trials", "x"], "trials not a number"), (["--act", "sigmoid,foo"], "unknown activation"),
                 (["--act", "tanh,tanh"], "activation twice"), (["-f", "bmp"], "unknown format bmp"),
                 (["-f", "png"], "unknown format"), (["--bogus"], "unknown option"), (["extra"], "extra argument"),
                 (["--layers", "10000", "--trials", "1000000"], "too much work"), (["--seed", "-1"], "negative seed")]:
    d = tmpdir()
    p = run("flow", *bad, "-o", d)
    check(f"usage error: {why} (exit 2, nothing written)",
          p.returncode == 2 and "error" in p.stderr and os.listdir(d) == [], p.stderr)
blocker = os.path.join(tmpdir(), "file")
open(blocker, "w").close()
p = run("flow", "--layers", 5, "-o", os.path.join(blocker, "sub"))
check("I/O error: output directory under a file (exit 3)", p.returncode == 3 and "error" in p.stderr, p.stderr)


# ---- gen mlp --init: the weights follow the documented distributions -------------------
def _weights(text, layer):
    import re
    return [float(m.group(1)) for m in re.finditer(r"^param w%d_\d+_\d+ = (\S+)$" % layer, text, re.M)]


def _biases(text):
    import re
    return [float(m.group(1)) for m in re.finditer(r"^param b\d+_\d+ = (\S+)$", text, re.M)]


def test_gen_init():
    sizes = [64, 48, 32, 1]
    for init, std in (("xavier", lambda i, o: math.sqrt(2.0 / (i + o))), ("he", lambda i, o: math.sqrt(2.0 / i)),
                      ("normal", lambda i, o: 1.0)):
        p = run("gen", "mlp", ",".join(map(str, sizes)), "--init", init, "--seed", "7")
        if not check(f"gen mlp --init {init} runs", p.returncode == 0, p.stderr):
            continue
        for layer in (1, 2):
            w = _weights(p.stdout, layer)
            n = len(w)
            want = std(sizes[layer - 1], sizes[layer])
            mean = sum(w) / n
            sd = math.sqrt(sum((x - mean) ** 2 for x in w) / (n - 1))
            # sample sd of n normals: relative standard error ~ 1/sqrt(2n); allow 5 of them
            # (values are printed with 6 digits, negligible here)
            check(f"--init {init}: layer {layer} weight sd {sd:.4f} ~ {want:.4f}",
                  abs(sd - want) <= 5 * want / math.sqrt(2 * n) and abs(mean) <= 5 * want / math.sqrt(n),
                  f"n={n} mean={mean}")
        b = _biases(p.stdout)
        if init in ("xavier", "he"):
            check(f"--init {init}: biases are 0", all(x == 0 for x in b), b[:5])
        check(f"--init {init}: header records the init", f"--init {init}" in p.stdout.splitlines()[0])
        q = run("gen", "mlp", ",".join(map(str, sizes)), "--init", init, "--seed", "7")
        check(f"--init {init}: same seed, same model", q.stdout == p.stdout)
    p = run("gen", "mlp", "2,3,1", "--init", "uniform")
    q = run("gen", "mlp", "2,3,1")
    check("--init uniform is the default", p.returncode == 0 and p.stdout == q.stdout)
    p = run("gen", "mlp", "2,3,1", "--init", "lecun")
    check("unknown --init is a usage error", p.returncode == 2 and "lecun" in p.stderr, p.stderr)
    p = run("gen", "chain", "3", "--init", "he")
    check("--init with gen chain is a usage error", p.returncode == 2, p.stderr)


def test_init_effect_on_profile():
    """The same deep tanh MLP (fan-in 16) with N(0,1) weights and with Xavier weights: the
    per-depth profile must show the difference. N(0,1) weights are 1/sqrt(2/32) = 4x larger
    than Xavier's, so the gradients reaching the first layers are larger by about that
    factor per weight traversed; Xavier keeps them near the output's scale."""
    shape = "16,16,16,16,16,16,1"
    means = {}
    for init in ("xavier", "normal"):
        p = run("gen", "mlp", shape, "--act", "tanh", "--init", init, "--seed", "3")
        path = write_model(p.stdout, f"{init}.grad")
        q, doc, _ = trace(path)
        if not check(f"profile of {init} MLP written", q.returncode == 0 and doc and "flow" in doc, q.stderr):
            return
        lv = [l for l in doc["flow"]["levels"] if l["mean"] is not None and l["nodes"] > 0]
        means[init] = lv[-1]["mean"]
    check("the profile shows the initialisation: deepest-level gradient with N(0,1) weights "
          "is over 10x Xavier's", means["normal"] > 10 * means["xavier"], means)


test_gen_init()
test_init_effect_on_profile()
