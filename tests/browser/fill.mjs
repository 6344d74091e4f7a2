#!/usr/bin/env node
// Dev-only: fills templates/report.html from a fixture, doing what emit_html will do in C, so
// the front-end can be developed and tested before the engine exists.
//
//   node tests/browser/fill.mjs FIXTURE_DIR STEM OUT.html [--precision N] [--templates DIR]
//
// reads FIXTURE_DIR/STEM.{json,svg,dot,grad}. Placeholders and their escaping are those listed
// in templates/README.md.
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  if (i < 0) return def;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const precision = Number(opt('--precision', '4'));
const templates = resolve(opt('--templates', join(here, '..', '..', 'templates')));
if (args.length !== 3) {
  console.error('usage: node fill.mjs FIXTURE_DIR STEM OUT.html [--precision N] [--templates DIR]');
  process.exit(2);
}
const [dir, stem, out] = args;

const escHtml = (s) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
// JSON inside <script type="application/json">: '<' can never start "</script" or "<!--".
const jsonInScript = (text) => text.replace(/</g, '\\u003c');
const dataUrl = (mime, buf) => `data:${mime};base64,${Buffer.from(buf).toString('base64')}`;

const traceText = readFileSync(join(dir, `${stem}.json`), 'utf8');
const trace = JSON.parse(traceText);
const svgText = readFileSync(join(dir, `${stem}.svg`), 'utf8');
const dot = readFileSync(join(dir, `${stem}.dot`));
// The gradient-by-depth chart is drawn by gradviz (flowchart_svg): take it from the fixture
// folder when it is there (gradviz -f html writes it inside the report only).
const flowPath = join(dir, `${stem}.flow.svg`);
const flowSvg = existsSync(flowPath) ? readFileSync(flowPath, 'utf8') : '';
const lines = readFileSync(join(dir, `${stem}.grad`), 'utf8').replace(/\r?\n$/, '').split(/\r?\n/);
const css = readFileSync(join(templates, 'report.css'), 'utf8');
const js = readFileSync(join(templates, 'report.js'), 'utf8');
const html = readFileSync(join(templates, 'report.html'), 'utf8');

// What C must also guarantee: the inlined CSS/JS cannot close their elements early.
if (/<\/style/i.test(css)) throw new Error('report.css contains </style');
if (/<\/script|<!--/i.test(js)) throw new Error('report.js contains </script or <!--');

const svgStart = svgText.indexOf('<svg');
if (svgStart < 0) throw new Error('no <svg in ' + stem + '.svg');

const values = {
  TITLE: escHtml(trace.model.title ?? stem),
  CSS: css,
  JS: js,
  SVG: svgText.slice(svgStart),
  TRACE_JSON: jsonInScript(traceText.trim()),
  SOURCE_JSON: jsonInScript(JSON.stringify(lines)),
  PRECISION: String(precision),
  VERSION: 'dev',
  DOT_DATAURL: dataUrl('text/vnd.graphviz', dot),
  JSON_DATAURL: dataUrl('application/json', traceText),
  FLOW_SVG: flowSvg.slice(Math.max(0, flowSvg.indexOf('<svg'))),
};
// One pass over the template only: inserted text is never rescanned.
const page = html.replace(/\{\{([A-Z_]+)\}\}/g, (m, name) => {
  if (!(name in values)) throw new Error('unknown placeholder ' + m);
  return values[name];
});
mkdirSync(dirname(resolve(out)), { recursive: true });
writeFileSync(out, page);
console.log(`wrote ${out} (${page.length} bytes)`);
