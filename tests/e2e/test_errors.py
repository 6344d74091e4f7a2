"""Model errors and warnings through the real binary.

Errors: a table of bad model files, each with the line and column of the offending token worked
out by hand (1-based, columns count bytes), the message it must say, and the width of the token
the caret underline must cover. gradviz must exit 1, print `FILE:LINE:COL: error: MESSAGE` as
the first line of stderr, then the source line and a `^~~~` line under the token, and write
no files.

Warnings: NaN and infinities are reported naming the node and its line; the run still exits 0
and writes its outputs, the JSON marks the numbers (null + nonfinite) and validates, the DOT
marks the node."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import invariants  # noqa: E402
from harness import GRADVIZ, check, schema_errors, tmpdir  # noqa: E402

# (name, model bytes, line, col, message regex, caret width in characters or None, note regex or None)
ERRORS = [
    ("misspelt function", b"input x = 1\ny = sigmod(x)\n", 2, 5,
     r"unknown function 'sigmod' \(did you mean 'sigmoid'\?\)", 6, None),
    ("misspelt function, transposed", b"input x = 1\ny = softpuls(x) + 1\n", 2, 5,
     r"unknown function 'softpuls' \(did you mean 'softplus'\?\)", 8, None),
    ("two letters swapped: the swap, not a deletion", b"input x = 1\ny = tahn(x)\n", 2, 5,
     r"unknown function 'tahn' \(did you mean 'tanh'\?\)", 4, None),
    ("two letters swapped in a short name", b"input x = 1\ny = sni(x)\n", 2, 5,
     r"unknown function 'sni' \(did you mean 'sin'\?\)", 3, None),
    ("misspelt function, wrong case", b"input x = 1\ny = Exp(x)\n", 2, 5,
     r"unknown function 'Exp' \(did you mean 'exp'\?\)", 3, None),
    ("unknown function", b"input x = 1\ny = 2*frobnicate(x)\n", 2, 7, r"unknown function 'frobnicate'$", 10, None),
    ("misspelt name", b"input weight = 1\ny = wieght*2\n", 2, 5,
     r"undefined name 'wieght' \(did you mean 'weight'\?\)", 6, None),
    ("misspelt name, transposed", b"input alpha = 1\ninput beta = 2\ny = beta*alpah\n", 3, 10,
     r"undefined name 'alpah' \(did you mean 'alpha'\?\)", 5, None),
    ("undefined name", b"input x = 1\ny = x*qqqqq\n", 2, 7, r"undefined name 'qqqqq'$", 5, None),
    ("name used before it is defined", b"input x = 1\ny = x*z\nz = x*2\n", 2, 7, r"undefined name 'z'", 1, None),
    ("operand missing at end of line", b"input x = 1\ny = x +\n", 2, 8, r"expected an expression", 1, None),
    ("two operators", b"input x = 1\ny = x ** 2\n", 2, 8, r"expected an expression, found '\*'", 1, None),
    ("extra ')'", b"input x = 1\ny = (x + 1))\n", 2, 12, r"expected end of line, found '\)'", 1, None),
    ("unclosed '('", b"input x = 1\ny = (x + 1\n", 2, 11, r"expected '\)'", 1, None),
    ("alias", b"input x = 1\ny = x\n", 2, 5, r"'y = x' only gives 'x' another name", 1, r"use 'x' directly"),
    ("all-literal assignment", b"k = 2*3\n", 1, 5, r"'k' has a constant value", 3, r"const k = 6"),
    ("name defined twice", b"input x = 1\ninput x = 2\ny = x*2\n", 2, 7, r"'x' is already defined", 1,
     r"line 1"),
    ("assignment defined twice", b"input x = 1\ny = x*2\ny = x*3\n", 3, 1, r"'y' is already defined", 1, r"line 2"),
    ("stray character", b"input x = 1\n  y = x $ 2\n", 2, 9, r"unexpected character '\$'", 1, None),
    ("number glued to a name", b"input x = 1\ny = 3x\n", 2, 5, r"malformed number '3x'", 2, r"3\*x"),
    ("unicode minus", "input x = 1\ny = x \u2212 2\n".encode(), 2, 7, r"U\+2212", 1, None),
    ("wrong arity", b"input x = 1\ny = pow(x)\n", 2, 5, r"pow takes 2 arguments, got 1", 6, None),
    ("too many arguments", b"input x = 1\ny = exp(x, x)\n", 2, 5, r"exp takes 1 argument, got 2", 9, None),
    ("function used as a value", b"input x = 1\ny = sin + x\n", 2, 5, r"'sin' is a function", 3, None),
    ("keyword as a name", b"input output = 1\n", 1, 7, r"'output' is a keyword", 6, None),
    ("function name assigned", b"input x = 1\nsin = x*2\n", 2, 1, r"'sin' is a function name", 3, None),
    ("leaf given an expression", b"input x = 1\nconst c = x\n", 2, 11, r"value of const 'c' must be a number", 1,
     None),
    ("unknown statement", b"input x = 1\nfoo bar\n", 2, 1, r"unknown statement 'foo'", 3, None),
    ("title twice", b'model "a"\nmodel "b"\ninput x = 1\ny = x*2\n', 2, 1, r"title is given twice", 5, None),
    ("unterminated string", b'model "abc\ninput x = 1\ny = x*2\n', 1, 7, r"unterminated string", 4, None),
    ("number too large", b"input x = 1e999\ny = x*2\n", 1, 11, r"number out of range", 5, None),
    ("invalid UTF-8 in a comment", b"input x = 1 # \xff\ny = x*2\n", 1, 15, r"invalid UTF-8", 1, None),
    ("invalid UTF-8 after a multibyte character", "y = x # caf\u00e9 ".encode() + b"\xfe\n", 1, 15,
     r"invalid UTF-8", 1, None),
    ("NUL byte", b"input x = 1\ny = x\x00*2\n", 2, 6, r"NUL byte", 1, None),
    ("CRLF line endings", b"input x = 1\r\ny = x +* 2\r\n", 2, 8, r"expected an expression, found '\*'", 1, None),
    ("tab before the error", b"input x = 1\n\ty = x +* 2\n", 2, 9, r"expected an expression, found '\*'", 1, None),
    ("nested too deep", b"input x = 1\ny = " + b"(" * 300 + b"x" + b")" * 300 + b"\n", 2, 4 + 257,
     r"nested deeper than \d+ levels", 1, None),
    ("hexadecimal number", b"input x = 0x1F\ny = x*2\n", 1, 11, r"malformed number '0x1F'", 4,
     r"numbers are decimal: write 0x1F as 31"),
    ("exponent sign without digits", b"input x = 1e+\ny = x*2\n", 1, 11, r"malformed number '1e\+'", 3, None),
    ("control character in the title", b'model "a\x07b"\ninput x = 1\ny = x*2\n', 1, 9,
     r"control character 0x07 in a string", 1, None),
    ("escape character in the title", b'model "\x1b[31mred"\ninput x = 1\ny = x*2\n', 1, 8,
     r"control character 0x1B in a string", 1, None),
    ("name of 257 bytes", b"input " + b"a" * 257 + b" = 1\ny = x*2\n", 1, 7, r"name longer than 256 bytes", 257,
     None),
    ("title of 1025 bytes", b'model "' + b"t" * 1025 + b'"\ninput x = 1\ny = x*2\n', 1, 7,
     r"string longer than 1024 bytes", 1027, None),
    ("line too long", b"input x = 1\ny = x" + b" + x" * 300000 + b"\n", 2, (1 << 20) + 1, r"line longer than", 1, None),
]


def run_bytes(model_path, out):
    p = subprocess.run([GRADVIZ, "-o", out, "-f", "dot,json", model_path], capture_output=True, timeout=60)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "surrogateescape")


def caret_line(src_line, col, width):
    """What the underline must be: the source line's characters before the column turned into
    spaces (tabs kept, one column per UTF-8 character), then ^ and width-1 tildes."""
    prefix = src_line[:col - 1].decode("utf-8", "replace")
    return "".join("\t" if c == "\t" else " " for c in prefix) + "^" + "~" * (width - 1)


d = tmpdir()
for name, text, line, col, msg, width, note in ERRORS:
    path = os.path.join(d, "bad.grad")
    with open(path, "wb") as f:
        f.write(text)
    out = os.path.join(tmpdir(), "o")
    rc, stdout, err = run_bytes(path, out)
    lines = err.split("\n")
    check(f"{name}: exit 1", rc == 1, (rc, err[:300]))
    m = re.match(r"(.*?):(\d+):(\d+): error: (.*)$", lines[0])
    check(f"{name}: first line is FILE:{line}:{col}: error: ...",
          m is not None and m.group(1) == path and (int(m.group(2)), int(m.group(3))) == (line, col), lines[0][:200])
    check(f"{name}: message", m is not None and re.search(msg, m.group(4)) is not None, lines[0][:200])
    if len(lines) >= 3:
        src = text.split(b"\n")[line - 1].rstrip(b"\r")
        if len(src) < 100:
            shown = lines[1].encode("utf-8", "surrogateescape")
            # bytes that are not printable UTF-8 are shown as '?' (no terminal escapes)
            want = b"    " + re.sub(rb"[\x00-\x08\x0a-\x1f\x7f]", b"?", src).decode("utf-8", "replace") \
                .replace("\ufffd", "?").encode()
            check(f"{name}: the source line is shown", shown == want, (shown, want))
            if width is not None:
                check(f"{name}: the caret underlines the token", lines[2] == "    " + caret_line(src, col, width),
                      f"{lines[2]!r}\nwant {'    ' + caret_line(src, col, width)!r}")
        else:  # long lines are shown cut around the column; the caret still sits under it
            check(f"{name}: a long line is shown shortened with a caret", len(lines[1]) <= 200 and "^" in lines[2],
                  lines[1][:100])
    else:
        check(f"{name}: the source line and caret are shown", False, err)
    if note:
        check(f"{name}: note", any(re.match(r"note: .*" + note, ln) for ln in lines[1:]), err)
    check(f"{name}: no file written", not os.path.exists(out), os.listdir(out) if os.path.exists(out) else "")
    check(f"{name}: nothing on stdout", stdout == b"")

# The column of the '(' in the message (it once printed 4294967290).
with open(os.path.join(d, "paren.grad"), "wb") as f:
    f.write(b"input x = 1\ny = (x + 1\n")
rc, _, err = run_bytes(os.path.join(d, "paren.grad"), tmpdir())
check("unclosed '(': the message names the column of the '(' (5)", "the '(' at column 5" in err, err.split("\n")[0])

# A model with no output has no single place to point at; it still fails with exit 1.
with open(os.path.join(d, "noout.grad"), "wb") as f:
    f.write(b"input x = 1\nparam w = 2\n")
rc, _, err = run_bytes(os.path.join(d, "noout.grad"), tmpdir())
check("no output: exit 1, 'FILE...: error: ... no output'", rc == 1 and
      re.match(re.escape(os.path.join(d, "noout.grad")) + r"(:\d+:\d+)?: error: .*no output", err), err)
for name, text in (("empty file", b""), ("only comments", b"# nothing here\n\n")):
    with open(os.path.join(d, "empty.grad"), "wb") as f:
        f.write(text)
    rc, _, err = run_bytes(os.path.join(d, "empty.grad"), tmpdir())
    check(f"{name}: exit 1 (no output)", rc == 1 and "no output" in err, (rc, err))

# ---- warnings: NaN and infinities ----
# (name, model, the node the warning must name, its line, its value marker, a finite version)
WARN = [
    ("log(0)", "input x = 0\ny = log(x)\nz = y*2\n", "y", 2, "-inf", "input x = 1\ny = log(x)\nz = y*2\n"),
    ("1/0 through a zero input", "input z = 0\ny = 1/z\nw = y + z\n", "y", 2, "inf",
     "input z = 2\ny = 1/z\nw = y + z\n"),
    ("exp(1000)", "input a = 1000\nparam b = 1\ny = exp(a)*b\n", None, 3, "inf",
     "input a = 1\nparam b = 1\ny = exp(a)*b\n"),
    ("sqrt(-1)", "input x = -1\ny = sqrt(x) + x\n", None, 2, "nan", "input x = 4\ny = sqrt(x) + x\n"),
]
for name, text, node, line, marker, finite in WARN:
    dd = tmpdir()
    model = os.path.join(dd, "w.grad")
    with open(model, "w") as f:
        f.write(text)
    out = os.path.join(dd, "o")
    p = subprocess.run([GRADVIZ, "-f", "dot,json", "-o", out, model], capture_output=True, text=True)
    check(f"warning {name}: exit 0", p.returncode == 0, p.stderr)
    warns = [ln for ln in p.stderr.split("\n") if ": warning: " in ln]
    located = [w for w in warns if w.startswith(f"{model}:{line}:")]
    check(f"warning {name}: a warning located on line {line}", located, p.stderr)
    if node:
        check(f"warning {name}: names node '{node}'", any(f"'{node}'" in w for w in located), p.stderr)
    check(f"warning {name}: no error", " error: " not in p.stderr, p.stderr)
    files = sorted(os.listdir(out)) if os.path.isdir(out) else []
    if not check(f"warning {name}: outputs still written", files == ["w.dot", "w.json"], files):
        continue
    jpath = os.path.join(out, "w.json")
    errs = schema_errors(jpath)
    check(f"warning {name}: the JSON validates", not errs, "\n".join(errs[:5]))
    import json
    with open(jpath, encoding="utf-8") as f:
        doc = json.load(f)
    marked = [n for n in doc["nodes"] if n.get("nonfinite") == marker and n["value"] is None]
    check(f"warning {name}: a node value is null with nonfinite: {marker}", marked, doc["nodes"])
    invariants.run_all(check, f"warning {name}", doc)
    # the DOT marks the non-finite node: its label shows the value, and its attributes differ
    # from the same node in a finite run of the same model
    dot = open(os.path.join(out, "w.dot"), encoding="utf-8").read()
    sym = {"inf": "∞", "-inf": "−∞", "nan": "NaN"}[marker]
    fout = os.path.join(dd, "f")
    with open(os.path.join(dd, "w2.grad"), "w") as f:
        f.write(finite)
    subprocess.run([GRADVIZ, "-q", "-f", "dot", "-o", fout, os.path.join(dd, "w2.grad")], check=True)
    fdot = open(os.path.join(fout, "w2.dot"), encoding="utf-8").read()
    for n in marked:
        nid = n["id"]

        def attrs(dot_text):
            m = re.search(r"\n\t\S[^\n]*\t\[((?:[^\]]|\](?!;))*?\bid=n%d\b(?:[^\]]|\](?!;))*)\];" % nid, dot_text)
            if not m:
                return None, None
            block = m.group(1)
            label = re.search(r"label=<(.*)>,?\s*(?:\w+=|$)", block, re.S)
            return re.sub(r"label=<.*?</table>>", "", block, flags=re.S), (label.group(1) if label else "")
        a_bad, l_bad = attrs(dot)
        a_ok, _ = attrs(fdot)
        check(f"warning {name}: DOT label of node {nid} shows {sym}", l_bad is not None and
              re.search(r"id=\"n%d-val\".*?%s" % (nid, re.escape(sym)), l_bad) is not None, l_bad)
        check(f"warning {name}: DOT marks node {nid} (attributes differ from a finite run)",
              a_bad is not None and a_ok is not None and a_bad != a_ok, (a_bad, a_ok))
    # -q silences warnings (errors only) but still writes
    q = subprocess.run([GRADVIZ, "-q", "-f", "json", "-o", os.path.join(dd, "q"), model], capture_output=True, text=True)
    check(f"warning {name}: -q prints nothing and exits 0", q.returncode == 0 and q.stderr == "", q.stderr)
