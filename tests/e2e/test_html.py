"""The HTML report (issue 4), end to end: gradviz -f html,json,dot on every example, a model with
a hostile title and comments (CRLF line ends), and a --check model. First what the page embeds,
read back with Python's own HTML parser, JSON and base64 against the files gradviz writes beside
it and the model text; then --template; then every report in Chromium through
tests/browser/report.test.mjs, whose "ok"/"FAIL" lines become checks here (the gradient-by-depth
chart's paths against the trace's gradients among them; the Jacobian card and the forward-mode
replay of jacobian.grad --mode both --via u1,u2,u3 --wrt x2). Last, `gradviz flow -f html` (skipped
until main.c dispatches `gradviz flow`): the page's table against stdout's.

GRADVIZ_SHOTS=DIR also writes the browser test's screenshots to DIR."""
import base64
import glob
import html.parser
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(__file__))
from harness import ROOT, check, run, tmpdir, write_model  # noqa: E402

TEMPLATES = os.path.join(ROOT, "templates")
BROWSER = os.path.join(ROOT, "tests", "browser")


class Page(html.parser.HTMLParser):
    """What the checks need from a report: text of <title> and <h1> (entities decoded, child
    elements counted), every <script> with its attributes and raw text, a few attributes."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.stack, self.scripts, self.ids = [], [], {}
        self.title = self.h1 = ""
        self.h1_children = 0
        self.generator = self.precision = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "h1" in self.stack:
            self.h1_children += 1
        if tag == "script":
            self.scripts.append([a, ""])
        if tag == "meta" and a.get("name") == "generator":
            self.generator = a.get("content")
        if tag == "html":
            self.precision = a.get("data-precision")
        if "id" in a:
            self.ids[a["id"]] = a
        if tag not in ("meta", "link", "input", "br", "img", "path", "polygon", "ellipse", "polyline"):
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in self.stack:
            while self.stack and self.stack.pop() != tag:
                pass

    def handle_data(self, data):
        if self.stack and self.stack[-1] == "script":
            self.scripts[-1][1] += data
        if "title" in self.stack and "svg" not in self.stack:
            self.title += data
        if "h1" in self.stack:
            self.h1 += data

    def script(self, sid):
        for a, text in self.scripts:
            if a.get("id") == sid:
                return text
        return None


def loads(text):
    """json.loads, or None when text is missing or not JSON (a broken page fails a check)."""
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


def data_url(page, aid, mime):
    href = page.ids.get(aid, {}).get("href", "")
    prefix = f"data:{mime};base64,"
    if not href.startswith(prefix):
        return None
    try:
        return base64.b64decode(href[len(prefix):], validate=True)
    except ValueError:
        return None


def model_lines(path):
    """The model's lines as an editor shows them: LF or CRLF, a final line end starts no line."""
    with open(path, "rb") as f:
        text = f.read().decode("utf-8")
    if text.endswith("\n"):
        text = text[:-1]
    return [ln[:-1] if ln.endswith("\r") else ln for ln in text.split("\n")] if text else []


def model_title(path, stem):
    with open(path, encoding="utf-8", newline="") as f:
        m = re.search(r'^\s*model\s+"([^"]*)"', f.read(), re.M)
    return m.group(1) if m else stem


def listing(d):
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def render(model, out, *extra):
    p = run("-q", "-f", "html,json,dot", "-o", out, *extra, model)
    stem = os.path.splitext(os.path.basename(model))[0]
    return p, os.path.join(out, stem + ".html")


def check_report(name, model, p, page_path, precision="4"):
    """Everything the page embeds, against the files written beside it and the model text."""
    stem = os.path.splitext(os.path.basename(model))[0]
    if not check(f"{name}: exit 0, quiet stderr (no sanitizer report)", p.returncode == 0 and p.stderr == "",
                 (p.returncode, p.stderr[-2000:])):
        return False
    if not check(f"{name}: writes {stem}.html", os.path.isfile(page_path), listing(os.path.dirname(page_path))):
        return False
    with open(page_path, encoding="utf-8") as f:
        text = f.read()
    with open(page_path[:-5] + ".json", "rb") as f:
        json_bytes = f.read()
    with open(page_path[:-5] + ".dot", "rb") as f:
        dot_bytes = f.read()
    page = Page(text)
    doc = json.loads(json_bytes)

    raw = page.script("trace")
    check(f"{name}: <script id=trace> holds the JSON trace of -f json",
          loads(raw) == doc, (raw or "")[:200])
    check(f"{name}: embedded JSON has no '<' (written as \\u003c)", raw is not None and "<" not in raw)
    check(f"{name}: JSON download is the .json file byte for byte",
          data_url(page, "gv-dl-json", "application/json") == json_bytes)
    check(f"{name}: DOT download is the .dot file byte for byte",
          data_url(page, "gv-dl-dot", "text/vnd.graphviz") == dot_bytes)
    src = page.script("source")
    want_lines = model_lines(model)
    check(f"{name}: <script id=source> holds the model's {len(want_lines)} lines",
          src is not None and "<" not in src and loads(src) == want_lines,
          f"{(src or '')[:300]}\nwant {want_lines[:5]}")
    title = model_title(model, stem)
    check(f"{name}: <h1> and <title> show the title as text",
          page.h1 == title and page.h1_children == 0 and page.title.startswith(title),
          (page.h1[:200], page.h1_children, page.title[:200]))
    check(f"{name}: exactly the template's 3 <script> elements", len(page.scripts) == 3, len(page.scripts))
    check(f"{name}: data-precision is {precision}", page.precision == precision, page.precision)
    svg_at = text.find("<svg")
    check(f"{name}: inline SVG without XML prolog or DOCTYPE",
          svg_at > 0 and "<?xml" not in text and "<!DOCTYPE svg" not in text)
    ids = set(re.findall(r'<g id="([ne]\d+)" class="(?:node|edge)"', text))
    want_ids = {f"n{n['id']}" for n in doc["nodes"]} | {f"e{e['id']}" for e in doc["edges"]}
    check(f"{name}: SVG has g#n<ID> / g#e<ID> for every node and edge", ids == want_ids,
          sorted(want_ids ^ ids)[:10])
    missing = [f"a_n{n['id']}-val" for n in doc["nodes"] if f"a_n{n['id']}-val" not in page.ids]
    missing += [f"a_e{e['id']}-val" for e in doc["edges"] if f"a_e{e['id']}-val" not in page.ids]
    check(f"{name}: SVG label cells carry ids (a_n<ID>-val, a_e<ID>-val)", not missing, missing[:10])
    if "{{" not in title:  # the hostile model checks its own
        check(f"{name}: no placeholder left unfilled", not re.search(r"\{\{[A-Z_]+\}\}", text))
    check_flow_chart(name, text, doc)
    return True


def check_flow_chart(name, text, doc):
    """The gradient-by-depth chart ({{FLOW_SVG}}): one inline <svg class="gradviz-flowchart"> in
    the #gv-flow panel, well-formed XML, with the legend of both series naming the output."""
    at = text.find('id="gv-flow"')
    start = text.find("<svg", at) if at >= 0 else -1
    end = text.find("</svg>", start) + len("</svg>") if start >= 0 else -1
    one = (text.count('class="gradviz-flowchart"') == 1 and start >= 0
           and 'class="gradviz-flowchart"' in text[start:start + 200])
    if not check(f"{name}: one gradient-by-depth chart in the #gv-flow panel", one,
                 text[at:at + 200] if at >= 0 else "no #gv-flow"):
        return
    try:
        root = ET.fromstring(text[start:end])
    except ET.ParseError as e:
        check(f"{name}: the chart is well-formed XML", False, e)
        return
    texts = ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]
    L = doc["nodes"][doc["outputs"][0]]["name"]
    check(f"{name}: the chart is well-formed XML with both series in its legend",
          f"mean |∂{L}/∂node| at each depth" in texts and f"largest |∂{L}/∂node| at each depth" in texts, texts[-6:])


work = tmpdir()
reports = []  # (html, json) for the browser

# ---- every example ----
for model in sorted(glob.glob(os.path.join(ROOT, "examples", "*.grad"))):
    stem = os.path.splitext(os.path.basename(model))[0]
    out = os.path.join(work, stem)
    p, page_path = render(model, out)
    if check_report(f"examples/{stem}.grad", model, p, page_path):
        reports.append(page_path)

# ---- forward mode and a cut (issue 5): the Jacobian card holds J, J_f and J_g, and the mode
# switch replays the trace's own forward_mode sweep (x2, not the default first input) ----
jmodel = os.path.join(ROOT, "examples", "jacobian.grad")
p, page_path = render(jmodel, os.path.join(work, "jacobian-both"), "--mode", "both", "--via", "u1,u2,u3", "--wrt", "x2")
if check_report("jacobian --mode both --via u1,u2,u3 --wrt x2", jmodel, p, page_path):
    reports.append(page_path)
    doc = loads(Page(open(page_path, encoding="utf-8").read()).script("trace")) or {}
    check("jacobian --mode both: the embedded trace has forward_mode for x2 and the cut",
          doc.get("forward_mode", {}).get("wrt") == 1 and "via" in doc.get("jacobian", {}), list(doc))

# ---- --reproducible: the mode comparison counted, not timed ("timed": false); the browser test
# checks the table has no time columns and says the timings were omitted ----
p, page_path = render(jmodel, os.path.join(work, "jacobian-repro"), "--reproducible")
if check_report("jacobian --reproducible", jmodel, p, page_path):
    reports.append(page_path)
    doc = loads(Page(open(page_path, encoding="utf-8").read()).script("trace")) or {}
    check("jacobian --reproducible: the embedded trace's modes block is untimed",
          doc.get("modes", {}).get("timed") is False and "budget_seconds" not in doc.get("modes", {}), doc.get("modes"))

# ---- a hostile model: markup, comment openers and placeholders in its title and comments ----
HOSTILE_TITLE = "</script><script>alert(1)</script> & <b>bold?</b> <!-- --> ]]> ' {{JS}} {{TITLE}}"
hostile = write_model(
    f'model "{HOSTILE_TITLE}"\r\n'
    "# </script><script>alert(2)</script> <!-- {{SVG}} \\ \"quoted\" \t tab, ∂σ, \u2028 separator\r\n"
    "input x = 0.5   # </style> <img src=x onerror=alert(3)>\r\n"
    "param w = -2\r\n"
    "loss L = sigmoid(w*x) * x   # x fans out\r\n", name="hostile.grad")
p, page_path = render(hostile, os.path.join(work, "hostile"))
if check_report("hostile model", hostile, p, page_path):
    reports.append(page_path)
    with open(page_path, encoding="utf-8") as f:
        text = f.read()
    check("hostile model: the title's markup is escaped in the page",
          "<script>alert(1)" not in text and "&lt;/script&gt;&lt;script&gt;alert(1)" in text)
    # One pass: a placeholder inside the title is written as text, never expanded.
    check("hostile model: '{{JS}}' in the title stays text", "&#39; {{JS}} {{TITLE}}</h1>" in text)

# ---- --check, --precision, no title ----
p, page_path = render(os.path.join(ROOT, "examples", "fanout.grad"), os.path.join(work, "check"), "--check")
if check_report("fanout --check", os.path.join(ROOT, "examples", "fanout.grad"), p, page_path):
    reports.append(page_path)
    doc = loads(Page(open(page_path, encoding="utf-8").read()).script("trace")) or {}
    check("fanout --check: the embedded trace has its check", len(doc.get("check", {}).get("wrt", [])) == 2)

# NaN and infinities (null plus markers in the trace), a const, and a second output the primary
# does not depend on (its gradients are 0 from the start).
nonfinite = write_model(
    'model "Non-finite values"\n'
    "input a = -1\n"
    "input b = 0\n"
    "const k = 2\n"
    "c = log(a)            # NaN\n"
    "d = 1/b               # inf, and the gradient of b is -inf\n"
    "loss e = c + d + a*k\n"
    "output u = b*k + 1    # e does not depend on this one\n", name="nonfinite.grad")
p, page_path = render(nonfinite, os.path.join(work, "nonfinite"))
if check_report("non-finite model", nonfinite, p, page_path):
    reports.append(page_path)

untitled = write_model("input a = 3\nb = a*a + 1\n", name="untitled.grad")
p, page_path = render(untitled, os.path.join(work, "untitled"), "--precision", "7")
check_report("untitled model --precision 7", untitled, p, page_path, precision="7")

# ---- the page's fixed parts ----
version = run("--version").stdout.split()[1]
neuron_html = os.path.join(work, "neuron", "neuron.html")
if os.path.isfile(neuron_html):
    with open(neuron_html, encoding="utf-8") as f:
        text = f.read()
    page = Page(text)
    check("generator meta names the version of --version", page.generator == f"gradviz {version}", page.generator)
    with open(os.path.join(TEMPLATES, "report.css"), encoding="utf-8") as f:
        css = f.read()
    with open(os.path.join(TEMPLATES, "report.js"), encoding="utf-8") as f:
        js = f.read()
    check("built-in templates are templates/report.css and report.js as they are now", css in text and js in text)

out = tmpdir()
p = run("-q", "-o", out, os.path.join(ROOT, "examples", "neuron.grad"))
check("html is in the default format list", p.returncode == 0 and "neuron.html" in listing(out), (p.stderr, listing(out)))

# ---- --template DIR ----
def template_dir(edit=None, drop=None):
    d = os.path.join(tmpdir(), "tpl")
    shutil.copytree(TEMPLATES, d)
    if drop:
        os.remove(os.path.join(d, drop))
    if edit:
        name, fn = edit
        with open(os.path.join(d, name), encoding="utf-8") as f:
            t = fn(f.read())
        with open(os.path.join(d, name), "w", encoding="utf-8") as f:
            f.write(t)
    return d


neuron = os.path.join(ROOT, "examples", "neuron.grad")
d = template_dir(edit=("report.html", lambda t: t.replace("<body>", '<body>\n<p id="custom-marker">custom {{TITLE}}</p>')))
out = tmpdir()
p = run("-q", "-f", "html", "--template", d, "-o", out, neuron)
ok = p.returncode == 0 and os.path.isfile(os.path.join(out, "neuron.html"))
text = open(os.path.join(out, "neuron.html"), encoding="utf-8").read() if ok else ""
check("--template DIR: its report.html is used, placeholders filled",
      '<p id="custom-marker">custom Single sigmoid neuron</p>' in text, (p.returncode, p.stderr))

BAD = [
    ("a missing report.js", dict(drop="report.js"), "report.js"),
    ("a missing directory", None, "no-such-dir"),
    ("report.js containing </script>", dict(edit=("report.js", lambda t: t + "\n// </SCRIPT>\n")), "</script"),
    ("report.js containing <!--", dict(edit=("report.js", lambda t: t + "\n// <!--\n")), "<!--"),
    ("report.css containing </style>", dict(edit=("report.css", lambda t: t + "\n/* </Style> */\n")), "</style"),
    ("report.html with an unknown placeholder", dict(edit=("report.html", lambda t: t + "{{NOPE}}")), "{{NOPE}}"),
]
for what, kw, needle in BAD:
    d = template_dir(**kw) if kw is not None else os.path.join(tmpdir(), "no-such-dir")
    out = tmpdir()
    p = run("-f", "json,html", "--template", d, "-o", out, neuron)
    check(f"--template with {what}: exit 3, says so, writes nothing (not even the json)",
          p.returncode == 3 and needle in p.stderr and "error" in p.stderr and listing(out) == [],
          (p.returncode, p.stderr, listing(out)))

# ---- in the browser ----
node = shutil.which("node")
chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
have_pw = os.path.isdir(os.path.join(BROWSER, "node_modules", "playwright-core"))
if check("browser test can run (node, /usr/bin/chromium, tests/browser/node_modules: tests/setup.sh)",
         node and os.path.exists(chromium) and have_pw, (node, chromium, have_pw)) and reports:
    args = [node, os.path.join(BROWSER, "report.test.mjs")]
    if os.environ.get("GRADVIZ_SHOTS"):
        args += ["--shots", os.environ["GRADVIZ_SHOTS"]]
    for r in reports:
        args += [r, r[:-5] + ".json"]
    t0 = time.monotonic()
    try:
        b = subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=ROOT)
        lines, rc, tail = b.stdout.splitlines(), b.returncode, b.stderr
    except subprocess.TimeoutExpired as e:
        lines, rc, tail = (e.stdout or b"").decode(errors="replace").splitlines(), -1, "timed out after 300 s"
    print(f"# browser test: {len(reports)} reports in {time.monotonic() - t0:.1f} s")
    seen = fails = 0
    summary = None
    for line in lines:
        if line.startswith("ok   "):
            seen += 1
            check(f"browser: {line[5:]}", True)
        elif line.startswith("FAIL "):
            seen += 1
            fails += 1
            # "FAIL neuron.html: what: detail" ("FAIL what: detail" for checks of no one report)
            parts = line[5:].split(": ")
            k = 2 if parts[0].endswith(".html") else 1
            check(f"browser: {': '.join(parts[:k])}", False, ": ".join(parts[k:]))
        elif re.fullmatch(r"\d+ passed, \d+ failed", line):
            summary = line
    want = f"{seen - fails} passed, {fails} failed"
    check("browser: the test ran to its summary line, agreeing with its checks", summary == want and
          (rc == 0) == (fails == 0) and seen > 10 * len(reports), f"rc {rc}, summary {summary!r}, want {want!r}\n{tail[-1500:]}")

# ---- `gradviz flow -f html`: a small self-contained page with the chart and the table ----
class FlowPage(html.parser.HTMLParser):
    """The cells of <table id="flow-table"> (header row first), the <svg> elements and any src/href."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.rows, self.cell, self.in_table, self.svgs, self.links = [], None, False, 0, []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and a.get("id") == "flow-table":
            self.in_table = True
        elif self.in_table and tag == "tr":
            self.rows.append([])
        elif self.in_table and tag in ("td", "th"):
            self.cell = ""
        if tag == "svg":
            self.svgs += 1
        self.links += [v for k, v in attrs if k in ("src", "href")]

    def handle_endtag(self, tag):
        if tag == "table":
            self.in_table = False
        elif self.in_table and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(self.cell.strip())
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


UNSUP = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")


def cell_number(c):
    """"1.4485 × 10⁻⁷" -> 1.4485e-07, "0" -> 0.0; None for anything else."""
    if c == "0":
        return 0.0
    m = re.fullmatch(r"(\d+\.\d+)(?: × 10([⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+))?", c)
    return float(m.group(1) + ("e" + m.group(2).translate(UNSUP) if m.group(2) else "")) if m else None


def same_cell(page, stdout):
    """A page cell and stdout's: the same number (both have 5 digits), or the same text."""
    try:
        return cell_number(page) == float(stdout)
    except ValueError:
        return page == stdout


probe = run("flow", "--help")
if probe.returncode != 0 or "--layers" not in probe.stdout:
    print("ok - skipped: `gradviz flow` is not dispatched by main yet (flow.html)")
else:
    out = tmpdir()
    p = run("flow", "--layers", 50, "--trials", 100, "--seed", 42, "-f", "html", "-q", "-o", out)
    page_path = os.path.join(out, "flow.html")
    if check("flow -f html: exit 0, writes flow.html only", p.returncode == 0 and listing(out) == ["flow.html"],
             (p.returncode, p.stderr, listing(out))):
        with open(page_path, encoding="utf-8") as f:
            text = f.read()
        fp = FlowPage(text)
        check("flow.html: one inline chart, nothing loaded from elsewhere",
              fp.svgs == 1 and 'class="gradviz-flowchart"' in text and not fp.links and "<script" not in text,
              (fp.svgs, fp.links))
        check("flow.html: generator names the version of --version",
              f'<meta name="generator" content="gradviz {run("--version").stdout.split()[1]}">' in text)
        want = {}
        for line in p.stdout.splitlines():
            m = re.match(r"^\s*(\d+)\s+(.*)$", line)
            if m:
                want[int(m.group(1))] = m.group(2).split()
        head, body = (fp.rows[0], fp.rows[1:]) if fp.rows else ([], [])
        check("flow.html: table header",
              head == ["layer n", "sigmoid", "tanh", "relu", "bound 0.25ⁿ", "relu non-zero"], head)
        got = {int(r[0]): r[1:] for r in body if r and r[0].isdigit()}
        check("flow.html: the table has stdout's rows (layers 10..50)",
              sorted(got) == sorted(want) == [10, 20, 30, 40, 50], (sorted(got), sorted(want)))
        check("flow.html: every cell equals stdout's",
              got and all(len(got[k]) == len(want[k]) and all(same_cell(a, b) for a, b in zip(got[k], want[k]))
                          for k in got), {k: (got[k], want.get(k)) for k in list(got)[:2]})
        check("flow.html: bound column is 0.25^n (closed form)",
              got and all(math.isclose(cell_number(got[k][3]) or 0, 0.25 ** k, rel_tol=1e-4) for k in got), got)
