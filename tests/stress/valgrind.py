#!/usr/bin/python3
"""valgrind memcheck over the real binary (`make valgrind`): every example with
-f dot,json,svg,png --steps --check, every example with the default formats (PDF and HTML as
they land), and the error and edge paths (model error, usage error, non-finite warnings, stdin,
`gen`). A run fails on any memory error (invalid read or write, use of uninitialised memory,
bad free) and on any leak not matched by tests/valgrind.supp, whose entries cover only leaks
inside Graphviz, pango, fontconfig, cairo and glib. Logs go to build/valgrind/<case>.log.

Runs two cases at a time (2 cores). VALGRIND_ONLY=substring runs only the matching cases."""
import concurrent.futures
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import GRADVIZ, ROOT, check, finish, note  # noqa: E402

SUPP = os.path.join(ROOT, "tests", "valgrind.supp")
LOGS = os.path.join(ROOT, "build", "valgrind")
VG = ["valgrind", "--tool=memcheck", "--leak-check=full", "--show-leak-kinds=definite,indirect,possible",
      "--errors-for-leak-kinds=definite,indirect,possible", "--error-exitcode=99", "--num-callers=40",
      f"--suppressions={SUPP}", "--child-silent-after-fork=yes"]


def cases(work):
    out = []
    examples = sorted(glob.glob(os.path.join(ROOT, "examples", "*.grad")))
    for ex in examples:
        stem = os.path.basename(ex)[:-5]
        out.append((f"{stem}-all", ["-q", "-f", "dot,json,svg,png", "--steps", "--check", "-o",
                                    os.path.join(work, stem + "-all"), ex], None, (0,)))
        out.append((f"{stem}-default", ["-q", "-o", os.path.join(work, stem + "-default"), ex], None, (0,)))
    bad = os.path.join(work, "bad.grad")
    with open(bad, "w") as f:
        f.write("input x = 1\ny = sigmod(x) + (x\n")
    nonfinite = os.path.join(work, "nonfinite.grad")
    with open(nonfinite, "w") as f:
        f.write("model \"<b>&amp; 'hostile' \\\\ ]]> </script></b>\"\ninput x = 0\na = log(x)\nb = 1/x\n"
                "c = exp(1000*(x+1))\nloss L = a + b + c + x*x\n")
    out += [
        ("model-error", ["-f", "dot,json", "-o", os.path.join(work, "bad"), bad], None, (1,)),
        ("usage-error", ["-f", "nope", bad], None, (2,)),
        ("nonfinite", ["-f", "dot,json,svg", "--steps", "--check", "-o", os.path.join(work, "nf"), nonfinite],
         None, (0, 4)),
        ("stdin", ["-q", "-f", "json,dot", "-o", os.path.join(work, "stdin"), "-"],
         b"input x = 2\noutput h = sin(x^2)\n", (0,)),
        ("set-precision-tb", ["-q", "-f", "dot,svg", "--set", "x=0.25", "--precision", "9", "--rankdir", "TB",
                              "-o", os.path.join(work, "set"), examples[0] if examples else bad], None, (0,)),
        ("gen-mlp", ["gen", "mlp", "3,4,2", "--act", "relu", "--seed", "5"], None, (0,)),
        ("gen-chain", ["gen", "chain", "50"], None, (0,)),
        ("help", ["--help"], None, (0,)),
    ]
    return out


def run_case(case):
    name, args, stdin, want = case
    log = os.path.join(LOGS, name + ".log")
    p = subprocess.run(VG + [f"--log-file={log}", GRADVIZ] + args, input=stdin, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
    with open(log, encoding="utf-8", errors="replace") as f:
        text = f.read()
    errors = re.search(r"ERROR SUMMARY: (\d+) errors", text)
    lost = re.search(r"definitely lost: ([\d,]+) bytes", text)
    supp = re.search(r"suppressed: ([\d,]+) bytes in ([\d,]+) blocks", text)
    return name, p.returncode, want, int(errors.group(1)) if errors else -1, lost.group(1) if lost else "0", \
        supp.group(1) if supp else "0", text, p.stderr.decode("utf-8", "replace")


def main():
    if shutil.which("valgrind") is None:
        check("valgrind is installed", False, "apt-get install valgrind")
        finish()
    os.makedirs(LOGS, exist_ok=True)
    work = tempfile.mkdtemp(prefix="gradviz-valgrind-")
    only = os.environ.get("VALGRIND_ONLY", "")
    todo = [c for c in cases(work) if only in c[0]]
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            for name, rc, want, nerr, lost, supp, text, stderr in pool.map(run_case, todo):
                detail = ""
                if nerr != 0 or rc == 99:
                    # the first error records, without the suppressed noise
                    blocks = [b for b in re.split(r"\n==\d+== \n", text) if re.search(
                        r"Invalid|uninitialised|definitely lost|indirectly lost|possibly lost|free\(\)|overlap", b)]
                    detail = "\n".join(blocks[:4])[:3000]
                check(f"valgrind: {name}: no memory error and no leak of ours "
                      f"(exit {rc}, {nerr} errors, {supp} bytes suppressed in libraries)",
                      nerr == 0 and rc != 99, detail or stderr[-1500:])
                check(f"valgrind: {name}: exit status {rc} is one of {want}", rc in want, stderr[-1500:])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    note(f"logs in {LOGS}/")
    finish()


if __name__ == "__main__":
    main()
