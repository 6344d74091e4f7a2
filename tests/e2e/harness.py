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


def known_bug(name, cond, detail=""):
    """A check for a bug reported to another module's owner: prints "ok" once it is fixed, and
    a comment (not counted as a failure) until then, so the suite stays green meanwhile.
    Tighten into check() when the fix lands."""
    if cond:
        return check(name, True)
    print(f"# KNOWN BUG (not counted): {name}")
    for line in str(detail).splitlines()[:5]:
        print(f"#     {line}")
    sys.stdout.flush()
    return False


def close(a, b, rel=1e-12, abs_=1e-15):
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


def run(*args, stdin=None, cwd=None, timeout=120):
    """Runs gradviz with args; returns CompletedProcess with text stdout/stderr."""
    return subprocess.run([GRADVIZ, *map(str, args)], input=stdin, capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=timeout)


_tmpdirs = []


def tmpdir():
    """A fresh directory, removed when the test script exits."""
    d = tempfile.mkdtemp(prefix="gradviz-e2e-")
    _tmpdirs.append(d)
    return d


def gen(*args):
    """Runs `gradviz gen ARGS` and returns the model text (asserting success)."""
    p = run("gen", *args)
    if p.returncode != 0:
        raise RuntimeError(f"gen {' '.join(map(str, args))} failed: {p.stderr}")
    return p.stdout


_validator = None


def schema_errors(path):
    """Validates the trace file at path against schema/gradviz-trace.schema.json with
    tests/validate_trace.py's strict loader (no NaN literals, no duplicate keys). Returns a
    list of problems, empty when the file is valid."""
    global _validator
    if os.path.join(ROOT, "tests") not in sys.path:
        sys.path.insert(0, os.path.join(ROOT, "tests"))
    import validate_trace  # noqa: E402
    if _validator is None:
        from jsonschema.validators import validator_for
        schema = validate_trace.load_strict(SCHEMA)
        cls = validator_for(schema)
        cls.check_schema(schema)
        _validator = cls(schema)
    try:
        doc = validate_trace.load_strict(path)
    except (OSError, ValueError) as e:
        return [f"cannot load: {e}"]
    return [f"{validate_trace.json_path(e.absolute_path)}: {validate_trace.describe(e, _validator)}"
            for e in _validator.iter_errors(doc)]


def dot_cells(dot):
    """{cell id: text} for every <td id="..."> in a DOT file's HTML-like labels (n5-val,
    n5-grad, e3-local, ...), tags stripped and entities decoded."""
    import html
    import re
    out = {}
    for m in re.finditer(r'<td id="([ne]\d+-[a-z]+)"[^>]*>(.*?)</td>', dot, re.S):
        out[m.group(1)] = html.unescape(re.sub(r"<[^>]+>", "", m.group(2))).strip()
    return out


def help_formats():
    """(formats the help lists, the default list): read from `gradviz --help`, so tests follow
    the emitters as they land. The default list is every format whose emitter exists."""
    import re
    p = run("--help")
    m = re.search(r"comma list of ([a-z,]+) \(default: ([a-z,]+)\)", p.stdout)
    if not m:
        return [], []
    return m.group(1).split(","), m.group(2).split(",")


def available_formats():
    """Formats gradviz can write now: svg/png/dot/json always (issue 2), pdf/html once the
    default list includes them."""
    listed, default = help_formats()
    return [f for f in listed if f in ("dot", "svg", "png", "json") or f in default]


def trace(model, *extra, out=None):
    """Runs gradviz -f json on model and returns (process, parsed trace or None)."""
    out = out or tmpdir()
    p = run("-q", "-f", "json", "-o", out, model, *extra)
    stem = os.path.splitext(os.path.basename(model))[0]  # gradviz drops any extension
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
    import shutil
    for d in _tmpdirs:
        shutil.rmtree(d, ignore_errors=True)
    print(f"# {_passed} passed, {_failed} failed")
    if _failed:
        os._exit(1)
