"""Model-derived text that Graphviz or an XML parser would misread: backslashes (Graphviz
expands \\G, \\N, \\L and \\\\ in labels), control characters and bytes that are not UTF-8 in the
model's file name (which titles the drawing when the model has none). Every output still
parses: `dot` accepts the DOT (no "not well-formed"), the SVG is well-formed XML and shows the
text as written (U+FFFD for what XML cannot hold), and nothing is lost from the heading."""
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(__file__))
from harness import check, run, tmpdir  # noqa: E402


def svg_text(path):
    root = ET.parse(path).getroot()  # raises on malformed XML
    return " ".join(t for t in root.itertext())


CASES = [
    # (label, file name bytes, model text, text the heading must show)
    ("backslashes in the title", b"title.grad", b'model "\\G and \\N and \\\\ end"\ninput x = 1\ny = x*2\n',
     "\\G and \\N and \\\\ end"),
    ("backslash in the file name", b"a\\Gb.grad", b"input x = 1\ny = x*2\n", "a\\Gb.grad"),
    ("control characters in the file name", b"c\x01x\x1b.grad", b"input x = 1\ny = x*2\n", "c\ufffdx\ufffd.grad"),
    ("a Latin-1 file name (not UTF-8)", b"caf\xe9.grad", b"input x = 1\ny = x*2\n", "caf\ufffd.grad"),
    ("markup in the file name", b"<b>&amp;.grad", b"input x = 1\ny = x*2\n", "<b>&amp;.grad"),
]
for label, fname, text, shown in CASES:
    d = tmpdir()
    path = os.path.join(d.encode(), fname)
    with open(path, "wb") as f:
        f.write(text)
    out = os.path.join(d, "out")
    p = subprocess.run([os.environ.get("GRADVIZ") or os.path.join(os.path.dirname(__file__), "..", "..", "build",
                                                                  "rel", "gradviz"), "-f", "dot,svg", "-o", out, path],
                       capture_output=True)
    err = p.stderr.decode("utf-8", "replace")
    check(f"{label}: exit 0, Graphviz does not complain", p.returncode == 0 and "Error" not in err
          and "not well-formed" not in err, err[:500])
    files = sorted(os.listdir(out)) if os.path.isdir(out) else []
    dots = [f for f in files if f.endswith(".dot")]
    svgs = [f for f in files if f.endswith(".svg")]
    if not check(f"{label}: one DOT and one SVG, named safely", len(dots) == 1 and len(svgs) == 1
                 and all(re.fullmatch(r"[A-Za-z0-9_.-]+", f) for f in files), files):
        continue
    r = subprocess.run(["dot", "-Tsvg", os.path.join(out, dots[0])], capture_output=True)
    check(f"{label}: dot -Tsvg accepts our DOT without a message", r.returncode == 0 and r.stderr == b"",
          r.stderr[:300])
    try:
        txt = svg_text(os.path.join(out, svgs[0]))
        check(f"{label}: the SVG heading shows {shown!r}", shown in txt, txt[:300])
    except ET.ParseError as e:
        check(f"{label}: the SVG is well-formed XML", False, str(e))

# ---- a file name that is not UTF-8: model.source is valid JSON text with U+FFFD ----
import json  # noqa: E402
d = tmpdir()
path = os.path.join(d.encode(), b"caf\xe9.grad")
with open(path, "wb") as f:
    f.write(b"input x = 1\ny = x*2\n")
out = os.path.join(d, "out")
p = subprocess.run([os.environ.get("GRADVIZ") or os.path.join(os.path.dirname(__file__), "..", "..", "build", "rel",
                                                               "gradviz"), "-q", "-f", "json,html", "-o", out, path],
                   capture_output=True)
try:
    with open(os.path.join(out, "caf_.json"), encoding="utf-8") as f:
        src = json.load(f)["model"]["source"]
    check("a Latin-1 file name: the trace is UTF-8 and model.source shows U+FFFD for the bad byte",
          p.returncode == 0 and src == d + "/caf\ufffd.grad", src)
    with open(os.path.join(out, "caf_.html"), "rb") as f:
        f.read().decode("utf-8")
    check("...and the HTML report is UTF-8 too", True)
except (OSError, ValueError) as e:
    check("a Latin-1 file name: the trace and report are valid UTF-8", False, (p.returncode, p.stderr, str(e)))
