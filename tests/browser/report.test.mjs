#!/usr/bin/env node
// Browser test of the HTML report (issue 4), in Debian's Chromium through playwright-core.
//
//   node tests/browser/report.test.mjs [--shots DIR] [--chromium PATH] REPORT.html [TRACE.json] ...
//
// Each REPORT.html is loaded from file:// and checked against the JSON trace embedded in it
// (<script id="trace">); if a .json follows it on the command line, or a file with the same stem
// and .json sits next to it (out/neuron/neuron.json), the embedded trace must equal it. Checks:
// no console errors; clicking Next k times highlights the node of backward[k-1] (the page opens
// before the backward pass) and shows each gradient formatted as the trace says, "?" for those
// not known yet; a fan-out sum appears exactly when its last term arrives; the title renders as
// text; keys, toggles, details, and that label links never navigate. Issue 5: the Jacobian tables
// show the trace's matrices; the mode switch offers every input and param; the page's forward-mode
// tangents for each equal a sweep computed here from the trace's local derivatives and the
// Jacobian's column; and with the trace's own forward_mode, choosing its leaf and clicking Next
// k times highlights forward_mode.steps[k-1].node and shows its tangent as the trace has it.
// --shots DIR writes screenshots (light and dark, several steps). Prints one line per check and, last,
// "N passed, N failed"; exits 1 if any check failed, 2 on a usage error.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
let shots = null;
let chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const reports = [];
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--shots') shots = resolve(argv[++i]);
  else if (a === '--chromium') chromiumPath = argv[++i];
  else if (a.endsWith('.json') && reports.length) reports[reports.length - 1].json = resolve(a);
  else if (a.endsWith('.html')) reports.push({ html: resolve(a), json: null });
  else { console.error(`report.test: unexpected argument '${a}'`); process.exit(2); }
}
if (!reports.length) {
  console.error('usage: node report.test.mjs [--shots DIR] [--chromium PATH] REPORT.html [TRACE.json] ...');
  process.exit(2);
}
for (const r of reports) {
  if (!existsSync(r.html)) { console.error(`report.test: no such file ${r.html}`); process.exit(2); }
  if (!r.json) {
    const sib = r.html.replace(/\.html$/, '.json');
    if (existsSync(sib)) r.json = sib;
  }
}

let passed = 0, failed = 0;
function check(ok, what, detail) {
  if (ok) { passed++; console.log(`ok   ${what}`); }
  else { failed++; console.log(`FAIL ${what}${detail ? ': ' + detail : ''}`); }
  return ok;
}

// Expected step semantics, computed from the trace alone (independently of the page).
function model(trace) {
  const nodes = new Map(trace.nodes.map((n) => [n.id, n]));
  const edges = new Map(trace.edges.map((e) => [e.id, e]));
  const stepOf = new Map(trace.backward.map((b, i) => [b.node, i]));
  const primary = trace.outputs[0];
  const ready = (id) => {
    const n = nodes.get(id);
    if (n.kind === 'const') return null;
    if (id === primary) return 0;
    let r = -Infinity;
    for (const e of trace.edges) if (e.from === id && stepOf.has(e.to)) r = Math.max(r, stepOf.get(e.to));
    return r; // -Infinity: the output does not depend on it (gradient 0, shown from the start)
  };
  const edgeStep = (e) => (nodes.get(e.from).kind === 'const' ? null : stepOf.has(e.to) ? stepOf.get(e.to) : -Infinity);
  return { nodes, edges, stepOf, primary, ready, edgeStep };
}

// Per depth (the longest path from a node to the primary output, in edges): how many non-const
// nodes have a finite gradient, their mean and largest |gradient|. Independent of gradviz's
// flow_profile: a memoised walk over the trace's edges.
function flowLevels(trace) {
  const out = new Map();
  for (const e of trace.edges) {
    if (!out.has(e.from)) out.set(e.from, []);
    out.get(e.from).push(e.to);
  }
  const primary = trace.outputs[0];
  const memo = new Map();
  const depth = (id) => {
    // iterative post-order: models can be deep
    const stack = [id];
    while (stack.length) {
      const n = stack[stack.length - 1];
      if (memo.has(n)) { stack.pop(); continue; }
      const next = (out.get(n) ?? []).filter((t) => !memo.has(t));
      if (next.length) { stack.push(...next); continue; }
      let best = n === primary ? 0 : null;
      for (const t of out.get(n) ?? []) {
        const d = memo.get(t);
        if (d !== null && (best === null || d + 1 > best)) best = d + 1;
      }
      memo.set(n, best);
      stack.pop();
    }
    return memo.get(id);
  };
  const levels = [];
  for (const n of trace.nodes) {
    const d = depth(n.id);
    if (d === null || n.kind === 'const') continue;
    while (levels.length <= d) levels.push({ n: 0, sum: 0, max: 0, mean: 0 });
    if (n.grad === null) continue; // non-finite: left out
    const m = Math.abs(n.grad);
    levels[d].n++;
    levels[d].sum += m;
    levels[d].max = Math.max(levels[d].max, m);
  }
  for (const l of levels) l.mean = l.n ? l.sum / l.n : 0;
  return levels;
}

const browser = await chromium.launch({
  executablePath: chromiumPath,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

try {
  let fmtChecked = false;
  const shotStems = new Set();
  for (const r of reports) {
    try {
      await testReport(r);
    } catch (err) {
      check(false, `${basename(r.html)}: test ran to the end`, String(err && err.message ? err.message.split('\n')[0] : err));
    }
  }
  async function testReport(r) {
    const name = basename(r.html);
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1, reducedMotion: 'reduce' });
    // No network at all: the report must be self-contained.
    const requests = [];
    await context.route('**/*', (route) => {
      const u = route.request().url();
      if (u.startsWith('file:') || u.startsWith('data:')) return route.continue();
      requests.push(u);
      return route.abort();
    });
    const page = await context.newPage();
    const errors = [], dialogs = [];
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()}`); });
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
    const url = pathToFileURL(r.html).href;
    await page.goto(url);
    await page.waitForFunction(() => window.gradviz !== undefined, null, { timeout: 5000 }).catch(() => {});

    const trace = await page.evaluate(() => JSON.parse(document.getElementById('trace').textContent));
    if (r.json) check(isDeepStrictEqual(trace, JSON.parse(readFileSync(r.json, 'utf8'))), `${name}: embedded trace equals ${basename(r.json)}`);
    check(await page.evaluate(() => window.gradviz !== undefined), `${name}: script ran`);
    const M = model(trace);
    const N = trace.backward.length;
    const P = await page.evaluate(() => window.gradviz.precision);

    // The page's formatter against C's printf (cases computed with Python's '%', which is C's).
    const casesFile = join(here, 'fixture', 'fmt_cases.json');
    if (!fmtChecked && existsSync(casesFile)) {
      fmtChecked = true;
      const cases = JSON.parse(readFileSync(casesFile, 'utf8'));
      const bad = await page.evaluate((cs) => cs.filter(([v, p, want]) => window.gradviz.fmt(v, p) !== want)
        .map(([v, p, want]) => `${v} %.${p}g: got ${window.gradviz.fmt(v, p)} want ${want}`), cases);
      check(bad.length === 0, `formatter matches C's %.*g on ${cases.length} cases`, bad.slice(0, 5).join('; '));
    }
    const fmt = (v) => page.evaluate(([x, p]) => window.gradviz.fmt(x, p), [v, P]);
    const fmtRec = async (v, rec) => (v === null ? ({ nan: 'NaN', inf: '∞', '-inf': '−∞' })[rec && rec.nonfinite] ?? '—' : fmt(v));

    // Title: text, never markup.
    const title = await page.evaluate(() => {
      const h = document.querySelector('h1');
      return { text: h.textContent, children: h.children.length, doc: document.title,
        scripts: document.scripts.length, bodyB: document.querySelectorAll('h1 b, title b').length };
    });
    if (typeof trace.model.title === 'string') {
      check(title.text === trace.model.title && title.children === 0 && title.bodyB === 0,
        `${name}: title renders as text`, JSON.stringify(title.text));
      check(title.doc.startsWith(trace.model.title), `${name}: <title> is the model title`, JSON.stringify(title.doc));
    }
    check(title.scripts === 3, `${name}: no injected <script> (3 expected)`, String(title.scripts));

    // The gradient-by-depth chart: drawn, one legend entry per series, and each series' data
    // drawn as one polyline (or line) per unbroken run of levels, through the points the
    // trace's own gradients give (depths found here by a longest-path walk).
    const flowPts = await page.evaluate(() => {
      const svg = document.querySelector('#gv-flow svg.gradviz-flowchart');
      if (!svg) return null;
      const r = svg.getBoundingClientRect();
      const series = {};
      for (const el of svg.querySelectorAll('polyline[data-series], line[data-series]')) {
        if (el.getAttribute('stroke-dasharray')) continue; // the dotted drop to zero
        const pts = el.tagName === 'line'
          ? [[+el.getAttribute('x1'), +el.getAttribute('y1')], [+el.getAttribute('x2'), +el.getAttribute('y2')]]
          : el.getAttribute('points').trim().split(/\s+/).map((q) => q.split(',').map(Number));
        (series[el.dataset.series] ??= []).push(pts);
      }
      return { w: r.width, h: r.height, series, texts: Array.from(svg.querySelectorAll('text')).map((t) => t.textContent) };
    });
    if (check(flowPts !== null && flowPts.w > 200 && flowPts.h > 100, `${name}: gradient-by-depth chart is drawn`,
      JSON.stringify(flowPts && [flowPts.w, flowPts.h]))) {
      const levels = flowLevels(trace);
      const why = [];
      const fit = { x: [], y: [] }; // (depth, x) and (log10 value, y) pairs of every drawn point
      for (const [sname, stat] of [['largest', 'max'], ['mean', 'mean']]) {
        const legend = flowPts.texts.filter((t) => t.startsWith(`${sname === 'largest' ? 'largest' : 'mean'} |∂`));
        if (legend.length !== 1) why.push(`${sname}: ${legend.length} legend entries`);
        // unbroken runs of levels with a non-zero finite value
        const runs = [];
        let run = [];
        for (const [d, l] of levels.entries()) {
          const v = l.n ? l[stat] : NaN;
          if (v > 0 && Number.isFinite(v)) run.push([d, Math.log10(v)]);
          else { if (run.length) runs.push(run); run = []; }
        }
        if (run.length) runs.push(run);
        const want = runs.filter((r) => r.length >= 2);
        const got = flowPts.series[sname] ?? [];
        if (got.length !== want.length) why.push(`${sname}: ${got.length} paths, want ${want.length} (one per run of levels)`);
        else {
          for (let i = 0; i < want.length; i++) {
            if (got[i].length !== want[i].length) { why.push(`${sname}: path ${i} has ${got[i].length} points, want ${want[i].length}`); continue; }
            for (let k = 0; k < want[i].length; k++) {
              fit.x.push([want[i][k][0], got[i][k][0]]);
              fit.y.push([want[i][k][1], got[i][k][1]]);
            }
          }
        }
      }
      // x linear in depth, y linear in log10 |∂L/∂node| (down as it falls); coordinates have 2 decimals
      const linear = (pairs, sign) => {
        const lo = pairs.reduce((a, b) => (b[0] < a[0] ? b : a), pairs[0]);
        const hi = pairs.reduce((a, b) => (b[0] > a[0] ? b : a), pairs[0]);
        if (!lo || hi[0] - lo[0] < 1e-9) return true;
        const slope = (hi[1] - lo[1]) / (hi[0] - lo[0]);
        return Math.sign(slope) === sign && pairs.every(([u, v]) => Math.abs(lo[1] + slope * (u - lo[0]) - v) < 0.05);
      };
      if (fit.x.length && !linear(fit.x, 1)) why.push(`points not evenly spaced by depth: ${JSON.stringify(fit.x.slice(0, 6))}`);
      if (fit.y.length && !linear(fit.y, -1)) why.push(`points not on a log scale of the gradients: ${JSON.stringify(fit.y.slice(0, 6))}`);
      check(why.length === 0, `${name}: chart has one path per series through mean and largest |grad| of ${levels.length} depths`,
        why.slice(0, 4).join('; '));
      // Dark theme: the chart's white background takes the card's colour, its lines lighter colours.
      const colours = () => page.evaluate(() => {
        const bg = document.querySelector('#gv-flow svg.gradviz-flowchart rect[fill="#FFFFFF"]');
        const line = document.querySelector('#gv-flow svg.gradviz-flowchart [data-series="mean"]');
        return [bg && getComputedStyle(bg).fill, getComputedStyle(document.getElementById('gv-flow-card')).backgroundColor,
          line && getComputedStyle(line).stroke];
      });
      const light = await colours();
      await page.emulateMedia({ colorScheme: 'dark' });
      const dark = await colours();
      await page.emulateMedia({ colorScheme: null });
      check(light[0] === light[1] && dark[0] === dark[1] && light[0] !== dark[0] && dark[2] && light[2] !== dark[2],
        `${name}: chart follows the light and dark themes`, JSON.stringify({ light, dark }));
    }

    // One round trip per step: the highlighted ids, the panel text and every label cell's text
    // (the last <text> of g#a_<n|e><ID>-<role>).
    const snapshot = () => page.evaluate(() => {
      const cells = {};
      for (const g of document.querySelectorAll('#gv-graph g[id^="a_"]')) {
        const t = g.querySelectorAll('text');
        if (t.length) cells[g.id.slice(2)] = t[t.length - 1].textContent;
      }
      return {
        active: Array.from(document.querySelectorAll('#gv-graph g.node.gv-active')).map((g) => g.id),
        inEdges: Array.from(document.querySelectorAll('#gv-graph g.edge.gv-in')).map((g) => g.id).sort(),
        explain: document.getElementById('gv-explain').textContent,
        counter: document.getElementById('gv-counter').textContent,
        step: window.gradviz.step,
        cells,
      };
    });
    // Every number the checks need, formatted once by the page's formatter (checked above
    // against C's printf).
    const fmtAll = await page.evaluate(([tr, p]) => {
      const f = (v) => (typeof v === 'number' ? window.gradviz.fmt(v, p) : null);
      return {
        node: tr.nodes.map((n) => [n.id, f(n.grad)]),
        value: tr.nodes.map((n) => [n.id, f(n.value)]),
        edge: tr.edges.map((e) => [e.id, f(e.grad)]),
      };
    }, [trace, P]);
    // A null number's marker (schema): F_nonfinite for field F, plain "nonfinite" for a node's value.
    const NF = { nan: 'NaN', inf: '∞', '-inf': '−∞' };
    const nf = (rec, marker) => NF[rec && rec[marker]] ?? '—';
    const nodeGradF = new Map(fmtAll.node.map(([id, t]) => [id, t ?? nf(M.nodes.get(id), 'grad_nonfinite')]));
    const nodeValF = new Map(fmtAll.value.map(([id, t]) => [id, t ?? nf(M.nodes.get(id), 'nonfinite')]));
    const edgeGradF = new Map(fmtAll.edge.map(([id, t]) => [id, t ?? nf(M.edges.get(id), 'grad_nonfinite')]));

    const s0 = await snapshot();
    const cell0 = (cid) => (cid in s0.cells ? s0.cells[cid] : null);
    // The text of a fan-out node's sum over paths: its -sum cell, or its -grad cell when that
    // reads "∂f/∂x = a + b = c" (two '= ').
    const sumCell = (cell, id) => {
      const t = cell(`n${id}-sum`);
      if (t !== null) return t;
      const g = cell(`n${id}-grad`);
      return g !== null && g.split('= ').length >= 3 ? g : null;
    };
    const unknown0 = trace.nodes.filter((n) => M.ready(n.id) !== null && M.ready(n.id) >= 0 && `n${n.id}-grad` in s0.cells)
      .filter((n) => !s0.cells[`n${n.id}-grad`].endsWith('?'));
    check(s0.step === -1 && s0.active.length === 0 && unknown0.length === 0,
      `${name}: opens before the backward pass, gradients '?'`, JSON.stringify(s0.active) + unknown0.map((n) => n.id));

    const fanoutSeen = new Map();
    for (let k = 1; k <= N; k++) {
      await page.click('#gv-next');
      const s = k - 1, b = trace.backward[s];
      const snap = await snapshot();
      const cell = (cid) => (cid in snap.cells ? snap.cells[cid] : null);
      const why = [];
      if (snap.step !== s) why.push(`step ${snap.step}`);
      if (snap.active.length !== 1 || snap.active[0] !== `n${b.node}`) why.push(`active ${JSON.stringify(snap.active)} want n${b.node}`);
      const wantIn = trace.edges.filter((e) => e.to === b.node).map((e) => `e${e.id}`).sort();
      if (!isDeepStrictEqual(snap.inEdges, wantIn)) why.push(`in-edges ${snap.inEdges} want ${wantIn}`);
      if (!snap.counter.includes(`${k} / ${N}`)) why.push(`counter '${snap.counter}'`);
      const g = nodeGradF.get(b.node);
      const shown = cell(`n${b.node}-grad`) ?? cell(`n${b.node}-sum`);
      if (shown !== null && !shown.endsWith(g)) why.push(`active node shows '${shown}' want …${g}`);
      if (!snap.explain.includes(g)) why.push(`panel lacks ${g}`);
      for (const c of b.edges) {
        if (c.grad === null) continue;
        const want = edgeGradF.get(c.edge);
        const t = cell(`e${c.edge}-grad`);
        if (t !== null && !t.endsWith(want)) why.push(`edge e${c.edge} shows '${t}' want …${want}`);
        if (!snap.explain.includes(want)) why.push(`panel lacks contribution ${want}`);
      }
      // Every node: known gradients formatted, the others '?'; every edge likewise.
      for (const n of trace.nodes) {
        const rdy = M.ready(n.id);
        const t = cell(`n${n.id}-grad`);
        if (rdy === null || t === null) continue;
        if (rdy <= s) { if (!t.endsWith(nodeGradF.get(n.id))) why.push(`n${n.id} shows '${t}' want …${nodeGradF.get(n.id)}`); }
        else if (!t.endsWith('?')) why.push(`n${n.id} shows '${t}' before step ${rdy + 1}`);
        const v = cell(`n${n.id}-val`);
        if (v !== null && !v.endsWith(nodeValF.get(n.id))) why.push(`n${n.id} value '${v}' want …${nodeValF.get(n.id)}`);
      }
      for (const e of trace.edges) {
        const es = M.edgeStep(e), t = cell(`e${e.id}-grad`);
        if (es === null || t === null) continue;
        if (es <= s) { if (!t.endsWith(edgeGradF.get(e.id))) why.push(`e${e.id} shows '${t}' want …${edgeGradF.get(e.id)}`); }
        else if (!t.endsWith('?')) why.push(`e${e.id} shows '${t}' before step ${es + 1}`);
      }
      // Fan-out sums: '?' until the last term arrives, then every term and the sum.
      for (const f of trace.fanout) {
        const t = sumCell(cell, f.node);
        if (t === null || f.node === M.primary) continue;
        const rdy = M.ready(f.node);
        if (rdy <= s) {
          const want = nodeGradF.get(f.node);
          const terms = f.edges.map((eid) => edgeGradF.get(eid));
          // "∂L/∂x = a + (−b) + c = s": every term in order, then the sum (separators and
          // brackets are the drawing's choice).
          let at = t.indexOf('= ') + 2, inOrder = at >= 2;
          for (const x of terms) {
            const k = inOrder ? t.indexOf(x, at) : -1;
            if (k < 0) inOrder = false; else at = k + x.length;
          }
          if (!inOrder || !t.endsWith(' = ' + want)) why.push(`sum n${f.node} '${t}' want ${terms.join(' + ')} = ${want}`);
          if (rdy === s) {
            fanoutSeen.set(f.node, true);
            if (!snap.explain.includes(want)) why.push(`panel lacks sum ${want}`);
          }
        } else if (!t.endsWith('?')) why.push(`sum n${f.node} '${t}' complete before step ${rdy + 1}`);
      }
      check(why.length === 0, `${name}: Next ×${k} → step ${k}/${N} highlights n${b.node}, gradient ${g}`, why.slice(0, 6).join('; '));
    }
    for (const f of trace.fanout) {
      if (f.node === M.primary || M.ready(f.node) < 0) continue;
      if (sumCell(cell0, f.node) === null) continue;
      check(fanoutSeen.get(f.node) === true, `${name}: fan-out sum of n${f.node} appears when its last term arrives (step ${M.ready(f.node) + 1})`);
    }

    // ---- Jacobian card and forward mode (issue 5) ----
    // The Jacobian tables: every shown cell is the trace's entry as the page formats numbers.
    if (trace.jacobian) {
      const J = trace.jacobian;
      const mats = [['gv-jac-J', J, 'values']];
      if (J.via) mats.push(['gv-jac-f', J.via, 'f'], ['gv-jac-g', J.via, 'g']);
      for (const [tid, holder, key] of mats) {
        const got = await page.evaluate((id) => {
          const t = document.getElementById(id);
          if (!t) return null;
          return Array.from(t.querySelectorAll('td[data-row]')).map((c) => [+c.dataset.row, +c.dataset.col, c.textContent]);
        }, tid);
        const want = [];
        for (const [i, row] of holder[key].entries()) {
          for (const [j, v] of row.entries()) {
            const mark = (holder[`${key}_nonfinite`] ?? []).find((m) => m.row === i && m.col === j);
            want.push([i, j, v === null ? (NF[mark && mark.value] ?? '—') : await fmt(v)]);
          }
        }
        // an excerpt shows a leading block of rows and columns
        const shown = got ? want.filter(([i, j]) => got.some(([a, b]) => a === i && b === j)) : [];
        check(got !== null && got.length > 0 && isDeepStrictEqual(got, shown) &&
          (got.length === want.length || holder[key].length > 40 || holder[key][0].length > 24),
        `${name}: Jacobian table ${tid} shows the trace's ${key === 'values' ? 'jacobian.values' : 'via.' + key}`,
        JSON.stringify({ got: got && got.slice(0, 6), want: want.slice(0, 6) }));
      }
    }
    // The mode comparison: per task, the trace's sweeps and multiply-adds. A trace with
    // "timed": false (--reproducible, SOURCE_DATE_EPOCH) has no time columns, the ratio of
    // multiply-adds in the last one and a note that the timings were omitted; a timed one shows
    // a time in every cost and no such note. Never a blank cell, NaN or undefined.
    if (trace.modes) {
      const mt = await page.evaluate(() => {
        const t = document.getElementById('gv-modes');
        if (!t) return null;
        const note = document.getElementById('gv-modes-untimed');
        return { heads: Array.from(t.querySelectorAll('thead tr:last-child th')).map((h) => h.textContent),
          rows: Array.from(t.querySelectorAll('tbody tr')).map((r) => [r.dataset.task, Array.from(r.cells).map((c) => c.textContent)]),
          untimed: note ? note.textContent : null, text: t.closest('.matrix-box').textContent };
      });
      const timed = trace.modes.timed !== false;
      const cnt = (v) => Math.round(v).toLocaleString('en-US');
      const why = [];
      if (!mt) why.push('no #gv-modes table');
      else {
        const cost = timed ? ['Sweeps', 'Multiply-adds', 'Time'] : ['Sweeps', 'Multiply-adds'];
        const heads = ['Task', 'Size', ...cost, ...cost, timed ? 'Time ratio' : 'Multiply-add ratio'];
        if (!isDeepStrictEqual(mt.heads, heads)) why.push(`heads ${JSON.stringify(mt.heads)}`);
        trace.modes.tasks.forEach((k, i) => {
          const [task, cells] = mt.rows[i] || [null, []];
          if (task !== k.task) why.push(`row ${i} is ${task}, want ${k.task}`);
          [k.reverse, k.forward].forEach((c, m) => {
            const at = 2 + m * cost.length;
            if (cells[at] !== cnt(c.sweeps)) why.push(`${k.task}: sweeps '${cells[at]}' want ${cnt(c.sweeps)}`);
            if ((cells[at + 1] || '').replace('~', '') !== cnt(c.edges)) why.push(`${k.task}: multiply-adds '${cells[at + 1]}' want ${cnt(c.edges)}`);
            if (timed && !/^~?[0-9.]+ (ns|µs|ms|s)$/.test(cells[at + 2] || '')) why.push(`${k.task}: time '${cells[at + 2]}'`);
          });
          const r = parseFloat((cells[2 + 2 * cost.length] || '').replace(/[~×]/g, ''));
          const want = timed ? k.ratio : k.forward.edges / k.reverse.edges;
          if (typeof want === 'number' && !(Math.abs(r - want) <= 5e-3 * want)) why.push(`${k.task}: ratio '${cells[2 + 2 * cost.length]}' want ${want}`);
        });
        if (/NaN|undefined|null|Infinity/.test(mt.text)) why.push(`shows NaN/undefined: ${mt.text.slice(0, 200)}`);
        if (timed && mt.untimed !== null) why.push('a timed trace says the timings were omitted');
        if (!timed && !/Timings omitted \(--reproducible/.test(mt.untimed || '')) why.push(`untimed note '${mt.untimed}'`);
      }
      check(why.length === 0, `${name}: mode comparison shows the trace's sweeps and multiply-adds${timed ? ' and times' : ', no times, "Timings omitted"'}`,
        why.slice(0, 5).join('; '));
    }

    const leaves = trace.nodes.filter((n) => n.kind === 'input' || n.kind === 'param').map((n) => n.id);
    const sw = await page.evaluate(() => {
      const s = document.getElementById('gv-wrt');
      return { rev: !!document.getElementById('gv-mode-rev'), fwd: !!document.getElementById('gv-mode-fwd'),
        options: s ? Array.from(s.options).map((o) => +o.value) : null };
    });
    check(leaves.length === 0 || (sw.rev && sw.fwd && isDeepStrictEqual(sw.options, leaves)),
      `${name}: mode switch: reverse, forward, and a choice of every input and param`, JSON.stringify(sw));

    // Forward mode, computed here from the trace's local derivatives alone (a sweep in id order,
    // only through operands that depend on the leaf): the page's tangents for every leaf equal
    // these, and the outputs' tangents equal the Jacobian's column of the leaf.
    const real = (v, rec, f) => (typeof v === 'number' ? v : ({ nan: NaN, inf: Infinity, '-inf': -Infinity })[rec[`${f}_nonfinite`]] ?? NaN);
    const mySweep = (leaf) => {
      const tan = new Map([[leaf, 1]]), etan = new Map(), dep = new Set([leaf]), steps = [];
      for (const n of [...trace.nodes].sort((a, b) => a.id - b.id)) {
        if (n.id === leaf) continue;
        let s = 0, d = false;
        if (n.kind === 'op' && n.id > leaf) {
          for (const e of trace.edges.filter((x) => x.to === n.id).sort((a, b) => a.slot - b.slot)) {
            let v = 0;
            if (dep.has(e.from)) { v = real(e.local, e, 'local') * tan.get(e.from); s += v; d = true; }
            etan.set(e.id, v);
          }
        }
        tan.set(n.id, s);
        if (d) { dep.add(n.id); steps.push(n.id); }
      }
      return { tan, etan, steps };
    };
    const same = (a, b) => a === b || (Number.isNaN(a) && Number.isNaN(b));
    const close = (a, b) => same(a, b) || Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
    const whyT = [];
    for (const leaf of leaves.slice(0, 12)) {
      const mine = mySweep(leaf);
      const theirs = await page.evaluate((l) => window.gradviz.tangents(l), leaf);
      if (!theirs) { whyT.push(`no tangents for ${leaf}`); continue; }
      if (!isDeepStrictEqual(theirs.steps, mine.steps)) whyT.push(`leaf ${leaf}: steps ${theirs.steps} want ${mine.steps}`);
      for (const [id, v] of mine.tan) {
        const t = theirs.node[id] ?? NaN;
        if (!same(t, v)) whyT.push(`leaf ${leaf}: n${id} ${t} want ${v}`);
      }
      const J = trace.jacobian, j = J ? J.cols.findIndex((c) => c.id === leaf) : -1;
      if (j >= 0) {
        J.rows.forEach((r, i) => {
          const jv = J.values[i][j];
          if (jv !== null && !close(theirs.node[r.id], jv)) whyT.push(`leaf ${leaf}: output n${r.id} ${theirs.node[r.id]}, Jacobian ${jv}`);
        });
      }
    }
    if (leaves.length) {
      check(whyT.length === 0, `${name}: forward-mode tangents of every input and param (from the locals) = an independent sweep and the Jacobian's columns`,
        whyT.slice(0, 5).join('; '));
    }

    // Stepping in forward mode: with the trace's own forward_mode (--wrt), choosing its leaf
    // replays it, numbers as the trace has them; without, the first input or param, numbers from
    // the sweep above, its first 8 steps (the page then writes the tangents into the gradient cells).
    const fm = trace.forward_mode;
    const plan = fm
      ? { wrt: fm.wrt, steps: fm.steps.map((st) => ({ node: st.node, tangent: real(st.tangent, st, 'tangent'),
        edges: st.edges.map((c) => ({ edge: c.edge, tangent: real(c.tangent, c, 'tangent') })) })) }
      : leaves.length ? (() => {
        const m = mySweep(leaves[0]);
        return { wrt: leaves[0], steps: m.steps.slice(0, 8).map((id) => ({ node: id, tangent: m.tan.get(id),
          edges: trace.edges.filter((e) => e.to === id).map((e) => ({ edge: e.id, tangent: m.etan.get(e.id) })) })) };
      })() : null;
    if (fm) {
      check(isDeepStrictEqual(await page.evaluate(() => window.gradviz.sweepMismatch), []),
        `${name}: the page's forward sweep of ${fm.wrt} is the trace's forward_mode`);
    }
    if (plan) {
      await page.selectOption('#gv-wrt', String(plan.wrt));
      const st0 = await snapshot();
      const m0 = await page.evaluate(() => [window.gradviz.mode, window.gradviz.wrt]);
      check(m0[0] === 'forward' && m0[1] === plan.wrt && st0.step === -1 && st0.active.length === 0 && st0.counter === 'Start',
        `${name}: choosing ${M.nodes.get(plan.wrt).name} switches to forward mode, before its first step`, JSON.stringify([m0, st0.step, st0.counter]));
      const F = fm ? fm.steps.length : mySweep(plan.wrt).steps.length;
      for (let k = 0; k < plan.steps.length; k++) {
        await page.click('#gv-next');
        const st = plan.steps[k], snap = await snapshot();
        const cell = (cid) => (cid in snap.cells ? snap.cells[cid] : null);
        const why = [];
        const want = await fmt(st.tangent);
        if (snap.step !== k) why.push(`step ${snap.step}`);
        if (snap.active.length !== 1 || snap.active[0] !== `n${st.node}`) why.push(`active ${JSON.stringify(snap.active)} want n${st.node}`);
        const wantIn = trace.edges.filter((e) => e.to === st.node).map((e) => `e${e.id}`).sort();
        if (!isDeepStrictEqual(snap.inEdges, wantIn)) why.push(`in-edges ${snap.inEdges} want ${wantIn}`);
        if (!snap.counter.includes(`${k + 1} / ${F}`)) why.push(`counter '${snap.counter}'`);
        // the drawing's tangent cells when it has them (a trace with forward_mode), else the
        // gradient cells the page writes the tangents into
        const shown = cell(`n${st.node}-tan`) ?? cell(`n${st.node}-grad`) ?? cell(`n${st.node}-sum`);
        if (shown === null || !shown.endsWith(want)) why.push(`node shows '${shown}' want …${want}`);
        if (!snap.explain.includes(want)) why.push(`panel lacks ${want}`);
        if (!snap.explain.includes('∂')) why.push('panel has no chain rule');
        for (const c of st.edges) {
          if (M.nodes.get(M.edges.get(c.edge).from).kind === 'const') continue;
          const w = await fmt(c.tangent), t = cell(`e${c.edge}-tan`) ?? cell(`e${c.edge}-grad`);
          if (t !== null && !t.endsWith(w)) why.push(`edge e${c.edge} shows '${t}' want …${w}`);
          if (!snap.explain.includes(w)) why.push(`panel lacks edge tangent ${w}`);
        }
        // nodes whose step is still ahead show '?'
        for (const later of plan.steps.slice(k + 1)) {
          const t = cell(`n${later.node}-tan`) ?? cell(`n${later.node}-grad`) ?? cell(`n${later.node}-sum`);
          if (t !== null && !t.endsWith('?')) why.push(`n${later.node} shows '${t}' before its step`);
        }
        check(why.length === 0, `${name}: forward step ${k + 1}/${F} highlights n${st.node}, tangent ${want}`, why.slice(0, 6).join('; '));
      }
      // back to reverse mode: the drawing's own gradients again
      await page.click('#gv-mode-rev');
      await page.evaluate(() => window.gradviz.go(1e9));
      const back = await snapshot();
      const bad = trace.nodes.filter((n) => M.ready(n.id) !== null && `n${n.id}-grad` in back.cells &&
        !back.cells[`n${n.id}-grad`].endsWith(nodeGradF.get(n.id))).map((n) => n.id);
      check(await page.evaluate(() => window.gradviz.mode) === 'reverse' && back.step === N - 1 && bad.length === 0,
        `${name}: back in reverse mode, the last step shows every gradient again`, JSON.stringify({ step: back.step, bad }));
    }

    // Keyboard: Home, ArrowRight, End.
    await page.focus('body');
    await page.keyboard.press('Home');
    const kh = await page.evaluate(() => window.gradviz.step);
    await page.keyboard.press('ArrowRight');
    const kr = await page.evaluate(() => window.gradviz.step);
    await page.keyboard.press('End');
    const ke = await page.evaluate(() => window.gradviz.step);
    check(kh === -1 && kr === Math.min(0, N - 1) && ke === N - 1, `${name}: keys Home / → / End step`, `${kh} ${kr} ${ke}`);
    await page.keyboard.press('ArrowLeft');
    check(await page.evaluate(() => window.gradviz.step) === Math.max(-1, N - 2), `${name}: key ← steps back`);

    // Label links never navigate.
    const anyCell = await page.evaluate(() => {
      const g = document.querySelector('#gv-graph g[id^="a_"][id$="-grad"] text, #gv-graph g[id^="a_"] text');
      if (!g) return false;
      g.dispatchEvent(new MouseEvent('click', { bubbles: true, cancelable: true }));
      return true;
    });
    if (anyCell) {
      // A real click too, where the first cell can be brought into view.
      await page.click('#gv-graph g[id^="a_"] text', { force: true, timeout: 3000 }).catch(() => {});
    }
    check(page.url() === url, `${name}: label cells do not navigate`, page.url());

    // Toggles hide and show gradients on the drawing.
    const vis = () => page.evaluate(() => {
      const g = document.querySelector('#gv-graph g[id$="-grad"] text');
      return g ? getComputedStyle(g).visibility : 'none';
    });
    await page.click('#gv-show-grad');
    const hidden = await vis();
    await page.click('#gv-show-grad');
    const shownAgain = await vis();
    check(hidden === 'hidden' && shownAgain === 'visible', `${name}: gradient toggle`, `${hidden} ${shownAgain}`);

    // The values toggle hides the numbers of value cells (a name in the same cell stays).
    const valVis = () => page.evaluate(() => {
      const g = document.querySelector('#gv-graph g[id$="-val"]');
      if (!g) return 'none';
      const t = g.querySelectorAll('text');
      return getComputedStyle(t[t.length - 1]).visibility;
    });
    await page.click('#gv-show-val');
    const vHidden = await valVis();
    await page.click('#gv-show-val');
    const vShown = await valVis();
    check((vHidden === 'hidden' && vShown === 'visible') || vHidden === 'none', `${name}: values toggle`, `${vHidden} ${vShown}`);

    // Clicking a node shows its details.
    const leaf = trace.nodes.find((n) => n.kind !== 'op') ?? trace.nodes[0];
    await page.keyboard.press('Escape'); // the label-cell click above may have selected a node
    await page.mouse.move(0, 0);
    await page.click(`#gv-graph g#n${leaf.id}`, { force: true });
    const det = await page.evaluate(() => document.getElementById('gv-details').textContent);
    const lv = await fmtRec(leaf.value, leaf);
    check(det.includes(leaf.name ?? '') && det.includes(lv) && det.includes(leaf.kind === 'op' ? 'operation' : leaf.kind),
      `${name}: clicking node n${leaf.id} shows its details`, det.slice(0, 120));

    // Screenshots.
    if (shots) {
      mkdirSync(shots, { recursive: true });
      // Two reports with one name (fixture and engine neuron.html): prefix the directory.
      let stem = name.replace(/\.html$/, '');
      if (shotStems.has(stem)) stem = `${basename(dirname(r.html))}-${stem}`;
      shotStems.add(stem);
      await page.keyboard.press('Escape');
      await page.evaluate(() => document.activeElement && document.activeElement.blur && document.activeElement.blur());
      await page.mouse.move(0, 0);
      const steps = [...new Set([-1, 0, Math.floor((N - 1) / 2), N - 1])].filter((x) => x < N);
      for (const scheme of ['light', 'dark']) {
        await page.emulateMedia({ colorScheme: scheme });
        for (const st of steps) {
          await page.evaluate((x) => window.gradviz.go(x), st);
          const file = join(shots, `${stem}-${scheme}-step${st + 1}.png`);
          await page.screenshot({ path: file, fullPage: true });
        }
      }
      console.log(`     screenshots of ${name} in ${shots}`);
    }

    check(errors.length === 0, `${name}: no console errors`, errors.join(' | '));
    check(dialogs.length === 0, `${name}: no dialogs (no script injection)`, dialogs.join(' | '));
    check(requests.length === 0, `${name}: no network requests`, requests.join(' '));
    await context.close();
  }
} finally {
  await browser.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
