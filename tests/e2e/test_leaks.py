"""Leaks of ours that pass through Graphviz (issue 7): under `make test SAN=1` only (SAN=1 from
tests/run.sh); skipped otherwise, for the release binary has no LeakSanitizer.

The rest of the SAN suite runs with ASan's fast unwinder, whose stacks stop at Graphviz's gmalloc
(Graphviz is built without frame pointers), so tests/lsan-fast.supp has to suppress gmalloc and a
layout we forget to free (a missing gvFreeLayout) goes unseen there. Here every run uses the slow
unwinder (fast_unwind_on_malloc=0) and tests/lsan.supp, whose entries name the Graphviz functions
that lose memory on their own: a missing agclose, gvFreeLayout or gvFreeRenderData makes the run
exit 23 with LeakSanitizer's report, shown under the failed check.

Runs: every example in every format; --steps --mode both --via (one output and several: the
Jacobian table); `gradviz flow` in every format; outputs that fail after every layout is done and
a full disk in each format that needs a layout (the error paths). Two self-checks: without
suppressions a run reports Graphviz's own leaks with frames inside Graphviz (leak checking is on
and the slow unwinder gets past gmalloc), and every entry of tests/lsan.supp is used by some run
(a stale one only widens the net). Costs ~15-20 s of CPU on 2 cores."""
import glob
import os
import re
import resource
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import GRADVIZ, ROOT, check, help_formats, tmpdir  # noqa: E402

if os.environ.get("SAN") != "1":
    print("# skipped: the leak check through Graphviz runs under `make test SAN=1` only")
    sys.exit(0)

SUPP = os.path.join(ROOT, "tests", "lsan.supp")
# the slow unwinder, 16 frames: in every stack measured, tests/lsan.supp's deepest entry is at
# most frame #7 (make_html_label); the margin covers deeper label tables and shows our frames in
# a report. A shorter stack could only make a suppression miss, never hide a leak. (12 frames:
# ~12% less CPU time.)
SLOW = "detect_leaks=1:abort_on_error=0:exitcode=23:fast_unwind_on_malloc=0:malloc_context_size=16"
LEAK_EXIT = 23
used = set()  # suppression templates that matched in some run


def leakrun(args, supp=SUPP, preexec_fn=None):
    env = dict(os.environ, ASAN_OPTIONS=SLOW,
               LSAN_OPTIONS=(f"suppressions={supp}:" if supp else "") + "print_suppressions=1")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    p = subprocess.run([GRADVIZ, *map(str, args)], capture_output=True, text=True, cwd=ROOT, env=env,
                       timeout=600, preexec_fn=preexec_fn)
    table = p.stderr.split("Suppressions used:", 1)
    if len(table) == 2:
        used.update(m.group(1) for m in re.finditer(r"^\s+\d+\s+\d+\s+(\S+)\s*$", table[1], re.M))
    return p


def sanitizer_report(p):
    """The first leak reports (or the sanitizer error), frames included, for a check's detail."""
    err = p.stderr
    i = err.find("ERROR: ")
    if i < 0:
        i = err.find("runtime error")
    text = err[i:] if i >= 0 else err[-2000:]
    blocks = re.split(r"\n(?=(?:Direct|Indirect) leak of)", text)
    summary = [ln for ln in err.splitlines() if ln.startswith("SUMMARY: ")]
    return "\n".join([f"exit {p.returncode}", *summary, *blocks[:3]])


def clean(p, want_rc):
    return p.returncode == want_rc and "Sanitizer" not in p.stderr and "runtime error" not in p.stderr


def expect(name, args, want_rc=0, preexec_fn=None):
    p = leakrun(args, preexec_fn=preexec_fn)
    check(f"no leak: {name}", clean(p, want_rc), sanitizer_report(p) if "Sanitizer" in p.stderr else
          f"exit {p.returncode}, want {want_rc}\n{p.stderr[-1500:]}")
    return p


with open(GRADVIZ, "rb") as binary:
    asan = b"__asan_init" in binary.read()
if not check("SAN=1 runs an ASan build", asan, f"{GRADVIZ} has no AddressSanitizer: make build SAN=1"):
    sys.exit(1)

formats, _ = help_formats()
check("gradviz --help lists the formats", "svg" in formats and "dot" in formats, formats)
fmt = ",".join(formats)
examples = sorted(glob.glob(os.path.join(ROOT, "examples", "*.grad")))
check("the examples are there", len(examples) >= 5, examples)
NEURON = os.path.join(ROOT, "examples", "neuron.grad")
JACOBIAN = os.path.join(ROOT, "examples", "jacobian.grad")

# ---- self-check: leak checking is on, and the slow unwinder gets past gmalloc ----
# Without suppressions Graphviz's own losses are reported (exit 23) with their real stacks: the
# HTML-label parse (make_html_label, tests/lsan.supp) is named, which the fast unwinder, stopping
# at gmalloc, never shows. If this fails, a leak of ours would pass unseen too.
p = leakrun(["-q", "-f", "svg", "-o", tmpdir(), os.path.join(ROOT, "examples", "chain_rule.grad")], supp=None)
check("without suppressions Graphviz's own leaks are reported, with frames past gmalloc (make_html_label)",
      p.returncode == LEAK_EXIT and "ERROR: LeakSanitizer" in p.stderr and " in make_html_label " in p.stderr,
      f"exit {p.returncode}\n{p.stderr[-1500:]}")

# ---- every example in every format ----
for ex in examples:
    expect(f"{os.path.basename(ex)} -f {fmt}", ["-q", "-f", fmt, "-o", tmpdir(), ex])

# ---- frames, both modes, a cut: one output (neuron) and several (the Jacobian table) ----
expect(f"neuron.grad -f {fmt} --steps --mode both --via z",
       ["-q", "-f", fmt, "--steps", "--mode", "both", "--via", "z", "-o", tmpdir(), NEURON])
expect(f"jacobian.grad -f {fmt} --steps --mode both --via u1,u2,u3",
       ["-q", "-f", fmt, "--steps", "--mode", "both", "--via", "u1,u2,u3", "-o", tmpdir(), JACOBIAN])

# ---- gradviz flow in every format ----
flow_help = leakrun(["flow", "--help"]).stdout
m = re.search(r"--format LIST\s+comma list of ([a-z,]+)", flow_help)
check("gradviz flow --help lists its formats", m is not None, flow_help[-500:])
if m:
    expect(f"flow -f {m.group(1)}", ["flow", "-q", "-f", m.group(1), "-o", tmpdir()])

# ---- error paths after the layouts: exit 3 (I/O error), still no leak ----
# an output name taken by a directory: every format is laid out and staged, then the commit fails
out = tmpdir()
os.mkdir(os.path.join(out, "neuron.json"))
expect(f"an output blocked by a directory, -f {fmt} (exit 3)", ["-q", "-f", fmt, "-o", out, NEURON],
       want_rc=3)


def file_limit(limit):
    def pre():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return pre


# a full disk at the first file of each format that needs a layout (RLIMIT_FSIZE, as in test_cli)
for form in formats:
    if form in ("dot", "json"):
        continue
    expect(f"disk full writing -f {form} --steps (exit 3)",
           ["-q", "-f", form, "--steps", "-o", tmpdir(), JACOBIAN], want_rc=3, preexec_fn=file_limit(256))

# ---- every suppression is needed ----
with open(SUPP, encoding="utf-8") as supp_file:
    entries = [ln.split(":", 1)[1].strip() for ln in supp_file if ln.startswith("leak:")]
check("tests/lsan.supp has entries", len(entries) >= 1, entries)
unused = [e for e in entries if e not in used]
check("every tests/lsan.supp entry is used by some run (delete a stale one)", not unused, f"unused: {unused}")
print(f"# suppressions used: {sorted(used)}")
