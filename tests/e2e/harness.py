"""Tiny TAP-like harness for the end-to-end tests: every check prints "ok - name" or
"not ok - name" plus details; tests/run.sh counts those lines. Runs the real binary named by
$GRADVIZ (build/rel/gradviz by default)."""
import atexit
import json
import math
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GRADVIZ = os.environ.get("GRADVIZ") or os.path.join(ROOT, "build", "rel", "gradviz")
SCHEMA = os.path.join(ROOT, "schema", "gradviz-trace.schema.json")
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
        if detail:
            for line in str(detail).splitlines()[:40]:
                print(f"    {line}")
    sys.stdout.flush()
    return cond


def close(a, b, rel=1e-12, abs_=1e-15):
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


def run(*args, stdin=None, cwd=None, timeout=120):
    """Runs gradviz with args; returns CompletedProcess with text stdout/stderr."""
    return subprocess.run([GRADVIZ, *map(str, args)], input=stdin, capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=timeout)


def tmpdir():
    d = tempfile.mkdtemp(prefix="gradviz-e2e-")
    return d


def trace(model, *extra, out=None):
    """Runs gradviz -f json on model and returns (process, parsed trace or None)."""
    out = out or tmpdir()
    p = run("-q", "-f", "json", "-o", out, model, *extra)
    stem = os.path.basename(model)
    if stem.endswith(".grad"):
        stem = stem[:-5]
    path = os.path.join(out, stem + ".json")
    doc = None
    if p.returncode in (0, 4) and os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    return p, doc, path


def write_model(text, name="model.grad"):
    d = tmpdir()
    path = os.path.join(d, name)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    return path


def node_by_name(doc, name):
    for n in doc["nodes"]:
        if n["name"] == name:
            return n
    raise KeyError(name)


@atexit.register
def _summary():
    print(f"# {_passed} passed, {_failed} failed")
    if _failed:
        os._exit(1)
