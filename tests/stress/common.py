"""Shared helpers of the stress tests (tests/stress/*.py, run by `make stress`): the binary
under test, ok/not ok reporting in the format tests/run.sh counts, and measuring a run's time
and peak RSS with /usr/bin/time -v."""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GRADVIZ = os.environ.get("GRADVIZ") or os.path.join(ROOT, "build", "rel", "gradviz")
# Big generated files go here, never into the repository.
TMP = os.environ.get("STRESS_TMP", "/tmp")

_failed = 0
_passed = 0


def check(name, cond, detail=""):
    global _failed, _passed
    if cond:
        _passed += 1
        print(f"ok - {name}")
    else:
        _failed += 1
        print(f"not ok - {name}")
        for line in str(detail).splitlines()[:30]:
            print(f"    {line}")
    sys.stdout.flush()


def note(msg):
    print(f"# {msg}")
    sys.stdout.flush()


def finish():
    print(f"# {_passed} passed, {_failed} failed")
    sys.exit(1 if _failed else 0)


def crashed(rc, stderr):
    """True if the process died from a signal or a sanitizer reported an error."""
    return rc < 0 or rc >= 128 or "Sanitizer" in stderr or "runtime error" in stderr


def timed(args, stdin=None, stdout=subprocess.DEVNULL, timeout=900):
    """Runs args under /usr/bin/time -v. Returns (rc, stderr without the time report,
    seconds of wall clock, peak RSS in KiB). timed.cpu holds the last run's user+system CPU
    seconds (on a loaded machine the wall clock says little)."""
    p = subprocess.run(["/usr/bin/time", "-v"] + list(args), stdin=stdin, stdout=stdout,
                       stderr=subprocess.PIPE, timeout=timeout)
    err = p.stderr.decode("utf-8", "replace")
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", err)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", err)
    secs = None
    if wall:
        secs = int(wall.group(1) or 0) * 3600 + int(wall.group(2)) * 60 + float(wall.group(3))
    user = re.search(r"User time \(seconds\): ([\d.]+)", err)
    system = re.search(r"System time \(seconds\): ([\d.]+)", err)
    timed.cpu = (float(user.group(1)) if user else 0) + (float(system.group(1)) if system else 0)
    status = re.search(r"Exit status: (\d+)", err)
    sig = re.search(r"Command terminated by signal (\d+)", err)
    rc = -int(sig.group(1)) if sig else int(status.group(1)) if status else p.returncode
    own = err.split("\tCommand being timed:")[0]
    if wall is None:
        secs = float("nan")
    return rc, own, secs, int(rss.group(1)) if rss else None


timed.cpu = 0.0
