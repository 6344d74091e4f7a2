/* gradviz HTML report: behaviour. The page is a viewer of the JSON trace (SPEC §4) embedded in
 * <script id="trace">: every number, name and step comes from it. The drawing is Graphviz's own
 * SVG; the page finds nodes (g#n<ID>), edges (g#e<ID>) and label cells (g#a_n<ID>-grad, ...,
 * see templates/README.md) by id, rewrites the gradient cells for the current backward step and
 * highlights the active node. Model-derived strings are only ever inserted as text
 * (textContent / text nodes), never as markup. No network, no external resources. */
(function () {
  'use strict';

  /* ---- numbers: C's printf("%.*g"), then '-' -> U+2212 --------------------------------- */

  var f64 = new DataView(new ArrayBuffer(8));

  /* The exact decimal expansion of a finite x > 0: x = digits × 10^e10. A double is a
   * dyadic rational m·2^e, so its decimal expansion is finite: m·5^-e × 10^e for e < 0. */
  function exactDecimal(x) {
    f64.setFloat64(0, x);
    var hi = f64.getUint32(0), lo = f64.getUint32(4);
    var be = (hi >>> 20) & 0x7ff;
    var m = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
    var e2;
    if (be === 0) { e2 = -1074; } else { m |= 1n << 52n; e2 = be - 1075; }
    if (e2 >= 0) return { digits: (m << BigInt(e2)).toString(), e10: 0 };
    return { digits: (m * (5n ** BigInt(-e2))).toString(), e10: e2 };
  }

  function stripZeros(s) {
    if (s.indexOf('.') < 0) return s;
    s = s.replace(/0+$/, '');
    return s.charAt(s.length - 1) === '.' ? s.slice(0, -1) : s;
  }

  /* The text of src/fmt.c's fmt_num: C's snprintf("%.*g", p, v) (glibc: the exact value, round
   * half to even; %g drops trailing zeros) with every '-' replaced by '−' (U+2212), exponent
   * included ("1e−05"); p clamped to 1..17; −0 as "0"; "NaN", "∞", "−∞". */
  function fmtG(v, p) {
    p = p >= 1 ? Math.min(Math.floor(p), 17) : 1; /* as fmt_num: 1 to 17 digits */
    if (typeof v !== 'number' || Number.isNaN(v)) return 'NaN';
    if (v === Infinity) return '∞';
    if (v === -Infinity) return '−∞';
    if (v === 0) return '0'; /* −0 reads as 0 on a diagram (fmt_num) */
    var sign = v < 0 ? '−' : '';
    var ex = exactDecimal(Math.abs(v));
    var d = ex.digits;
    var X = d.length - 1 + ex.e10; /* decimal exponent of the first digit */
    if (d.length > p) {
      var keep = d.slice(0, p), rest = d.slice(p), up;
      if (rest.charAt(0) > '5') up = true;
      else if (rest.charAt(0) < '5') up = false;
      else up = /[1-9]/.test(rest.slice(1)) || (keep.charCodeAt(p - 1) & 1) === 1;
      d = keep;
      if (up) {
        d = (BigInt(keep) + 1n).toString();
        if (d.length > p) { d = d.slice(0, p); X += 1; }
      }
    } else {
      d = d + '0'.repeat(p - d.length);
    }
    var s;
    if (X < p && X >= -4) {
      s = X >= 0 ? d.slice(0, X + 1) + '.' + d.slice(X + 1) : '0.' + '0'.repeat(-X - 1) + d;
      s = stripZeros(s);
    } else {
      var ax = Math.abs(X);
      s = stripZeros(d.charAt(0) + '.' + d.slice(1)) + 'e' + (X < 0 ? '−' : '+') + (ax < 10 ? '0' : '') + ax;
    }
    return sign + s;
  }

  /* ---- data -------------------------------------------------------------------------------- */

  function readJSON(id) {
    var el = document.getElementById(id);
    if (!el) return undefined;
    var text = el.textContent.trim();
    if (text === '' || /^\{\{/.test(text)) return undefined; /* unfilled placeholder */
    return JSON.parse(text);
  }

  var trace;
  try {
    trace = readJSON('trace');
  } catch (err) {
    trace = undefined;
  }
  if (!trace || !Array.isArray(trace.nodes)) {
    var box = document.getElementById('gv-explain');
    if (box) box.textContent = 'This report has no readable trace: its embedded JSON is missing or damaged.';
    console.error('gradviz: no readable trace in <script id="trace">');
    return;
  }
  var source = [];
  try { source = readJSON('source') || []; } catch (err) { source = []; }
  if (!Array.isArray(source)) source = [];

  var precision = parseInt(document.documentElement.getAttribute('data-precision'), 10);
  if (!(precision >= 1 && precision <= 40)) precision = 4;

  function fmt(v) { return fmtG(v, precision); }
  var NONFINITE = { nan: 'NaN', inf: '∞', '-inf': '−∞' };
  /* A trace number: null means non-finite or absent. The record holding field F marks a
   * non-finite F with F_nonfinite ("grad_nonfinite", "local_nonfinite", ...), except a value,
   * whose marker is plain "nonfinite" on nodes (and "value_nonfinite" on edges); see the schema. */
  function num(v, rec, field) {
    if (typeof v === 'number') return fmt(v);
    field = field || 'value';
    var m = rec ? rec[field + '_nonfinite'] || (field === 'value' ? rec.nonfinite : undefined) : undefined;
    return NONFINITE[m] || '—';
  }

  var nodes = new Map(), edges = new Map(), inEdges = new Map(), outEdges = new Map();
  trace.nodes.forEach(function (n) { nodes.set(n.id, n); inEdges.set(n.id, []); outEdges.set(n.id, []); });
  (trace.edges || []).forEach(function (e) {
    edges.set(e.id, e);
    if (inEdges.has(e.to)) inEdges.get(e.to).push(e);
    if (outEdges.has(e.from)) outEdges.get(e.from).push(e);
  });
  inEdges.forEach(function (l) { l.sort(function (a, b) { return a.slot - b.slot; }); });
  outEdges.forEach(function (l) { l.sort(function (a, b) { return a.id - b.id; }); });

  var outputs = Array.isArray(trace.outputs) ? trace.outputs : [];
  var primary = outputs.length ? outputs[0] : undefined;
  var backward = Array.isArray(trace.backward) ? trace.backward : [];
  var N = backward.length;
  var stepOf = new Map();           /* op node -> its backward step */
  var contrib = new Map();          /* edge id -> {local, grad, accum} from its backward step */
  backward.forEach(function (b, i) {
    stepOf.set(b.node, i);
    (b.edges || []).forEach(function (c) { contrib.set(c.edge, c); });
  });
  var fanout = new Map();
  (trace.fanout || []).forEach(function (f) { fanout.set(f.node, f); });

  function isConst(id) { var n = nodes.get(id); return !!n && n.kind === 'const'; }
  function reachable(id) {
    if (id === primary || stepOf.has(id)) return true;
    var n = nodes.get(id);
    if (!n || n.kind === 'op') return false;
    return outEdges.get(id).some(function (e) { return e.to === primary || stepOf.has(e.to); });
  }
  /* Step at which edge e's contribution is known: its consumer's step. -Infinity when the
   * consumer cannot reach the output (the contribution is 0 from the start); null for edges
   * from const nodes (no gradient). */
  function edgeStep(e) {
    if (isConst(e.from)) return null;
    return stepOf.has(e.to) ? stepOf.get(e.to) : -Infinity;
  }
  /* Step at which ∂L/∂node is complete: 0 for the primary output, the last step of a reachable
   * consumer otherwise; -Infinity for a node the output does not depend on (its gradient is 0);
   * null for const nodes. */
  var readyMemo = new Map();
  function readyStep(id) {
    if (readyMemo.has(id)) return readyMemo.get(id);
    var r;
    if (isConst(id)) r = null;
    else if (id === primary) r = 0;
    else if (!reachable(id)) r = -Infinity;
    else {
      r = -Infinity;
      outEdges.get(id).forEach(function (e) { if (stepOf.has(e.to)) r = Math.max(r, stepOf.get(e.to)); });
    }
    readyMemo.set(id, r);
    return r;
  }
  function known(r, s) { return r !== null && r <= s; }

  /* ---- forward mode: the tangents of any input, from the trace's local derivatives ----------- */

  /* A trace number as a double: null with its marker is NaN or ±Infinity (see num). */
  var NF_VALUE = { nan: NaN, inf: Infinity, '-inf': -Infinity };
  function real(v, rec, field) {
    if (typeof v === 'number') return v;
    var m = rec ? rec[field + '_nonfinite'] || (field === 'value' ? rec.nonfinite : undefined) : undefined;
    return Object.prototype.hasOwnProperty.call(NF_VALUE, m) ? NF_VALUE[m] : NaN;
  }
  function byId(a, b) { return a - b; }
  /* The Jacobian's columns: every input and param, in id order (consts have no derivative). */
  var leafIds = trace.nodes.filter(function (n) { return n.kind === 'input' || n.kind === 'param'; })
    .map(function (n) { return n.id; }).sort(byId);
  var nodeOrder = trace.nodes.map(function (n) { return n.id; }).sort(byId);
  var sweepMemo = new Map();
  /* One forward-mode sweep with tangent 1 on `leaf` and 0 on every other leaf, the way jac.c's
   * jac_tangents does it (so the numbers are the same doubles): the nodes in id order, which is
   * evaluation order; an op node's tangent is the sum over its in-edges, in slot order, of
   * local × the operand's tangent, counting only operands that depend on the leaf (a non-finite
   * local derivative off every path then cannot turn a tangent into NaN). `steps` are the op
   * nodes that depend on the leaf: one step each, in the order the sweep completes them. */
  function sweep(leaf) {
    if (sweepMemo.has(leaf)) return sweepMemo.get(leaf);
    var tan = new Map(), etan = new Map(), dep = new Set([leaf]), steps = [], at = new Map();
    nodeOrder.forEach(function (id) {
      var n = nodes.get(id);
      if (id === leaf) { tan.set(id, 1); return; }
      tan.set(id, 0);
      if (n.kind !== 'op' || id < leaf) return;
      var s = 0, d = false;
      inEdges.get(id).forEach(function (e) {
        var v = 0;
        if (dep.has(e.from)) { v = real(e.local, e, 'local') * tan.get(e.from); s += v; d = true; }
        etan.set(e.id, v);
      });
      tan.set(id, s);
      if (d) { dep.add(id); at.set(id, steps.length); steps.push(id); }
    });
    var r = { leaf: leaf, tan: tan, etan: etan, dep: dep, steps: steps, stepOf: at };
    sweepMemo.set(leaf, r);
    return r;
  }
  function edgeTan(sw, id) { return sw.etan.has(id) ? sw.etan.get(id) : 0; }

  /* The trace's own forward-mode sweep (--mode forward|both, one --wrt leaf) must be what this
   * page computes: every node's and edge's tangent and the order of the steps. A difference is
   * reported on the console (the browser test fails on it) and in window.gradviz. */
  var traceSweep = trace.forward_mode && nodes.has(trace.forward_mode.wrt) ? trace.forward_mode : null;
  var sweepMismatch = null;
  (function verifySweep() {
    if (!traceSweep) return;
    var sw = sweep(traceSweep.wrt), bad = [];
    var same = function (a, b) { return a === b || (Number.isNaN(a) && Number.isNaN(b)); };
    trace.nodes.forEach(function (n) {
      if ('tangent' in n && !same(real(n.tangent, n, 'tangent'), sw.tan.get(n.id))) bad.push('n' + n.id);
    });
    (trace.edges || []).forEach(function (e) {
      if ('tangent' in e && !same(real(e.tangent, e, 'tangent'), edgeTan(sw, e.id))) bad.push('e' + e.id);
    });
    var order = (traceSweep.steps || []).map(function (st) { return st.node; });
    if (order.join(',') !== sw.steps.join(',')) bad.push('steps');
    sweepMismatch = bad;
    if (bad.length) {
      console.warn('gradviz: the forward-mode tangents computed here differ from the trace\'s forward_mode at ' +
        bad.slice(0, 6).join(', '));
    }
  })();

  /* ---- names and expressions ---------------------------------------------------------------- */

  var INFIX = { add: [' + ', 1], sub: [' − ', 1], mul: ['·', 2], div: ['/', 2], pow: ['^', 4] };
  var FUNC_NAME = { sigmoid: 'σ' };
  var MAX_EXPR = 24; /* longer expressions are called "#id" in formulas */
  var exprMemo = new Map();

  function litText(v) { return fmt(v); }
  function argInfo(a) {
    if (a && typeof a.node === 'number') return exprInfo(a.node, true);
    var v = a ? a.const : NaN;
    return { text: litText(v), prec: v < 0 ? 3 : 9 };
  }
  function paren(info, need) { return need ? '(' + info.text + ')' : info.text; }
  /* The operation of node id written with its operands ("σ(z)", "w1·x1"). With useName, a
   * named node is just its name. prec: 1 (+ −), 2 (· /), 3 (unary −), 4 (^), 9 (atom). */
  function exprInfo(id, useName) {
    var n = nodes.get(id);
    if (!n) return { text: '#' + id, prec: 9 };
    if (useName && n.name) return { text: n.name, prec: 9 };
    if (n.kind !== 'op') return { text: n.name || '#' + id, prec: 9 };
    var key = id + (useName ? 'n' : 'd');
    if (exprMemo.has(key)) return exprMemo.get(key);
    exprMemo.set(key, { text: '#' + id, prec: 9 }); /* guards against a malformed cyclic trace */
    var args = (n.args || []).map(argInfo), r;
    var inf = INFIX[n.op];
    if (inf && args.length === 2) {
      var p = inf[1], a = args[0], b = args[1];
      var needA = n.op === 'pow' ? a.prec <= p : a.prec < p;
      var needB = n.op === 'pow' ? b.prec < 3 : (b.prec < p || (b.prec === p && (n.op === 'sub' || n.op === 'div')));
      r = { text: paren(a, needA) + inf[0] + paren(b, needB), prec: p };
    } else if (n.op === 'neg' && args.length === 1) {
      r = { text: '−' + paren(args[0], args[0].prec < 3), prec: 3 };
    } else {
      var fname = FUNC_NAME[n.op] || n.op || n.label || '?';
      r = { text: fname + '(' + args.map(function (x) { return x.text; }).join(', ') + ')', prec: 9 };
    }
    if (r.text.length > MAX_EXPR && useName) r = { text: '#' + id, prec: 9 };
    exprMemo.set(key, r);
    return r;
  }
  /* Short human name: the node's name, else its expression if short, else "#id". */
  function nodeName(id) { return exprInfo(id, true).text; }
  /* The name inside ∂L/∂…: parenthesised unless it is a single name. */
  function dName(id) {
    var t = nodeName(id);
    return /^[A-Za-z_][A-Za-z0-9_]*$|^#\d+$/.test(t) ? t : '(' + t + ')';
  }
  /* "y = σ(z)" for a named op node, "w1·x1" for an unnamed one, "x1" for a leaf. */
  function nodeTitle(id) {
    var n = nodes.get(id);
    if (!n) return '#' + id;
    if (n.kind !== 'op') return n.name || '#' + id;
    var d = exprInfo(id, false).text;
    return n.name ? n.name + ' = ' + d : d;
  }
  var outName = primary !== undefined ? nodeName(primary) : 'L';
  function dL(id) { return '∂' + outName + '/∂' + dName(id); }

  /* ---- DOM helpers (text only) ---------------------------------------------------------------- */

  function el(tag, cls, children) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (children !== undefined) append(e, children);
    return e;
  }
  function append(parent, c) {
    if (c === null || c === undefined || c === false) return parent;
    if (Array.isArray(c)) { c.forEach(function (x) { append(parent, x); }); return parent; }
    parent.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    return parent;
  }
  function numSpan(kind, text) { return el('span', 'n-' + kind, text); }
  function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); return e; }
  var $ = function (id) { return document.getElementById(id); };

  /* ---- the SVG ---------------------------------------------------------------------------------- */

  var graphWrap = $('gv-graph');
  var svg = graphWrap ? graphWrap.querySelector('svg') : null;
  var nodeEls = new Map(), edgeEls = new Map();
  var cells = { n: new Map(), e: new Map() };  /* id -> {grad, val, local, sum, tan} cell records */
  /* The drawing has tangent cells of its own (n<ID>-tan, e<ID>-tan: a trace with forward_mode);
   * forward mode then writes the chosen leaf's tangents there, else in the gradient cells. */
  var tanCells = false;
  var natural = { w: 0, h: 0 };

  /* Cell links (Graphviz writes HREF cells as <a xlink:href="#n5-grad">) must never navigate. */
  if (graphWrap) {
    graphWrap.addEventListener('click', function (ev) {
      var a = ev.target && ev.target.closest ? ev.target.closest('a') : null;
      if (a && graphWrap.contains(a)) ev.preventDefault();
    });
  }

  function lengthPx(attr) {
    var m = /^([0-9.]+)(pt|px)?$/.exec(attr || '');
    if (!m) return 0;
    return parseFloat(m[1]) * (m[2] === 'pt' ? 96 / 72 : 1);
  }

  function setupSvg() {
    if (!svg) return;
    natural.w = lengthPx(svg.getAttribute('width'));
    natural.h = lengthPx(svg.getAttribute('height'));
    var vb = svg.viewBox && svg.viewBox.baseVal;
    if ((!natural.w || !natural.h) && vb && vb.width) { natural.w = vb.width * 4 / 3; natural.h = vb.height * 4 / 3; }
    svg.removeAttribute('width');
    svg.removeAttribute('height');
    svg.setAttribute('role', 'group');
    svg.setAttribute('aria-label', 'Computational graph of ' + (trace.model && trace.model.title ? trace.model.title : 'the model'));

    Array.prototype.forEach.call(svg.querySelectorAll('g.node'), function (g) {
      var m = /^n(\d+)$/.exec(g.id);
      if (!m) return;
      var id = Number(m[1]);
      if (!nodes.has(id)) return;
      nodeEls.set(id, g);
      /* The node's outline: its first shape outside the label cells (a node with a tooltip
       * has it inside <g id="a_n5"><a>); a double border is two ellipses. */
      var shapes = Array.prototype.filter.call(g.querySelectorAll('ellipse, polygon, path'), function (x) {
        var a = x.parentNode.closest ? x.parentNode.closest('g[id^="a_"]') : null;
        return !a || !g.contains(a) || a.id === 'a_' + g.id;
      });
      if (shapes.length) {
        shapes[0].classList.add('gv-shape');
        for (var si = 1; si < shapes.length && shapes[0].tagName === 'ellipse' && shapes[si].tagName === 'ellipse' &&
             shapes[si].parentNode === shapes[0].parentNode; si++) shapes[si].classList.add('gv-shape');
      }
      var t = g.querySelector(':scope > title');
      if (t) t.textContent = nodeTitle(id);
      g.setAttribute('tabindex', '0');
      g.setAttribute('role', 'button');
      g.setAttribute('focusable', 'true');
      var n = nodes.get(id);
      if (n.nonfinite || n.value === null) g.classList.add('gv-nonfinite');
      g.addEventListener('mouseenter', function () { setHover({ type: 'node', id: id }); });
      g.addEventListener('mouseleave', function () { setHover(null); });
      g.addEventListener('focus', function () { setHover({ type: 'node', id: id }); });
      g.addEventListener('blur', function () { setHover(null); });
      g.addEventListener('click', function (ev) { ev.preventDefault(); toggleSelect({ type: 'node', id: id }); });
      g.addEventListener('keydown', function (ev) {
        if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); ev.stopPropagation(); toggleSelect({ type: 'node', id: id }); }
      });
    });
    Array.prototype.forEach.call(svg.querySelectorAll('g.edge'), function (g) {
      var m = /^e(\d+)$/.exec(g.id);
      if (!m) return;
      var id = Number(m[1]);
      var e = edges.get(id);
      if (!e) return;
      edgeEls.set(id, g);
      var t = g.querySelector(':scope > title');
      if (t) t.textContent = nodeName(e.from) + ' → ' + nodeName(e.to);
      g.style.cursor = 'pointer';
      var path = g.querySelector('path');
      if (path) {
        var hit = path.cloneNode(false);
        hit.removeAttribute('stroke-dasharray');
        hit.setAttribute('class', 'gv-hit');
        path.parentNode.insertBefore(hit, path);
      }
      g.addEventListener('mouseenter', function () { setHover({ type: 'edge', id: id }); });
      g.addEventListener('mouseleave', function () { setHover(null); });
      g.addEventListener('click', function (ev) { ev.preventDefault(); toggleSelect({ type: 'edge', id: id }); });
    });
    /* Label cells: g#a_<n|e><ID>-<role>; the number is in the last <text> of the cell. */
    Array.prototype.forEach.call(svg.querySelectorAll('g[id^="a_"]'), function (g) {
      var m = /^a_([ne])(\d+)-(grad|val|local|sum|tan)$/.exec(g.id);
      if (!m) return;
      Array.prototype.slice.call(g.querySelectorAll('a')).forEach(function (a) {
        while (a.firstChild) a.parentNode.insertBefore(a.firstChild, a);
        a.parentNode.removeChild(a);
      });
      var texts = g.querySelectorAll('text');
      if (!texts.length) return;
      var text = texts[texts.length - 1];
      var orig = text.textContent, id = Number(m[2]);
      /* A sum over paths ("∂f/∂x = a + b = c"): in a -sum cell, or in the -grad cell of a
       * fan-out node when it reads "… = … = …". The page rebuilds the part after the first "= ". */
      var isSum = m[1] === 'n' && (m[3] === 'sum' ||
        (m[3] === 'grad' && fanout.has(id) && orig.split('= ').length >= 3));
      var cut = isSum ? orig.indexOf('= ') : orig.lastIndexOf('= ');
      var rec = {
        g: g, text: text, orig: orig, shown: orig, sum: isSum,
        prefix: cut >= 0 ? orig.slice(0, cut + 2) : '',
        anchor: text.getAttribute('text-anchor'), x: text.getAttribute('x'), cx: null,
        /* a number that follows another run on its line ("← 1.5") stays where it starts;
         * one alone on its line is re-centred when its text changes */
        inline: Array.prototype.some.call(texts, function (o) { return o !== text && o.getAttribute('y') === text.getAttribute('y'); }),
        /* an edge's "← " ("↑ " top to bottom) before its contribution: forward mode turns it round */
        arrow: texts.length >= 2 && /^[←↑]$/.test(texts[texts.length - 2].textContent.trim()) ? texts[texts.length - 2] : null
      };
      if (rec.arrow) rec.arrowOrig = rec.arrow.textContent;
      var map = cells[m[1]];
      if (!map.has(id)) map.set(id, {});
      map.get(id)[m[3]] = rec;
      if (m[3] === 'tan') tanCells = true;
    });
  }

  /* The values toggle hides each value's number; a name in the same cell ("x1 = 0.5") stays,
   * without its "=". */
  function showValues(on) {
    [cells.n, cells.e].forEach(function (map) {
      map.forEach(function (c) {
        var rec = c.val;
        if (!rec) return;
        rec.text.style.visibility = on ? '' : 'hidden';
        Array.prototype.forEach.call(rec.g.querySelectorAll('text'), function (t) {
          if (t === rec.text) return;
          if (t.gvOrig === undefined) {
            if (!/=\s*$/.test(t.textContent)) return;
            t.gvOrig = t.textContent;
          }
          t.textContent = on ? t.gvOrig : t.gvOrig.replace(/\s*=\s*$/, '');
        });
      });
    });
  }

  function setCellText(rec, s, unknown, fresh) {
    if (s !== rec.shown) {
      if (s === rec.orig) {
        if (rec.anchor === null) rec.text.removeAttribute('text-anchor'); else rec.text.setAttribute('text-anchor', rec.anchor);
        if (rec.x !== null) rec.text.setAttribute('x', rec.x);
      } else if (!rec.inline) {
        if (rec.cx === null) {
          try { var b = rec.text.getBBox(); rec.cx = b.x + b.width / 2; } catch (err) { rec.cx = NaN; }
        }
        if (!Number.isNaN(rec.cx) && (rec.cx !== 0 || rec.text.getAttribute('x') === null)) {
          rec.text.setAttribute('text-anchor', 'middle');
          rec.text.setAttribute('x', String(rec.cx));
        }
      }
      rec.text.textContent = s;
      rec.shown = s;
      rec.hlFor = null;
    }
    rec.text.classList.toggle('gv-unknown', !!unknown);
    rec.text.classList.toggle('gv-new', !!fresh);
    /* Just revealed: a highlighter mark behind the text (bold would change its width). */
    if (fresh && rec.hlFor !== s) {
      try {
        var bb = rec.text.getBBox();
        if (!rec.hl) {
          rec.hl = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
          rec.hl.setAttribute('class', 'gv-hl');
          rec.hl.setAttribute('rx', '3');
          rec.text.parentNode.insertBefore(rec.hl, rec.text);
        }
        rec.hl.setAttribute('x', String(bb.x - 2));
        rec.hl.setAttribute('y', String(bb.y - 0.5));
        rec.hl.setAttribute('width', String(bb.width + 4));
        rec.hl.setAttribute('height', String(bb.height + 1));
        rec.hlFor = s;
      } catch (err) { rec.hlFor = null; }
    }
    if (rec.hl) rec.hl.style.display = fresh ? '' : 'none';
  }

  /* ---- state ------------------------------------------------------------------------------------ */

  /* mode: 'reverse' steps through the backward pass, 'forward' through the forward-mode sweep
   * of the leaf `wrt`; step counts from -1 (before the first step) in either. */
  var state = { step: -1, playing: false, timer: 0, selected: null, hover: null, zoom: 1, fit: true,
    mode: 'reverse', wrt: traceSweep ? traceSweep.wrt : leafIds[0] };
  function forward() { return state.mode === 'forward' && state.wrt !== undefined; }
  function fw() { return sweep(state.wrt); }
  /* Steps in the current mode, and the node completed at step s (null before the first). */
  function stepCount() { return forward() ? fw().steps.length : N; }
  function activeAt(s) { return s < 0 ? null : forward() ? fw().steps[s] : backward[s].node; }
  /* Step at which a tangent is known in the sweep sw: a node's at its own step, an edge's at its
   * consumer's; whatever does not depend on the leaf is 0 from the start, as is the leaf's 1. */
  function tanReady(sw, id) { return sw.stepOf.has(id) ? sw.stepOf.get(id) : -Infinity; }
  function edgeTanReady(sw, e) { return sw.stepOf.has(e.to) ? sw.stepOf.get(e.to) : -Infinity; }
  function wrtName() { return nodeName(state.wrt); }
  /* "∂v/∂x1" with v's name, or "∂(x1·x2)/∂x1". */
  function dX(id) { return '∂' + dName(id) + '/∂' + dName(state.wrt); }

  function sumParts(f, s) {
    var all = true;
    var parts = f.edges.map(function (eid, i) {
      var e = edges.get(eid);
      var k = e ? edgeStep(e) : null;
      var ok = k !== null && k <= s;
      if (!ok) all = false;
      return { edge: eid, known: ok, text: ok ? num(f.terms[i], e, 'grad') : '?', at: k };
    });
    return { parts: parts, all: all };
  }

  /* Where each term sits in the SVG's own sum text ("a + (−b) + c = s" after the prefix), so a
   * partial sum keeps the drawing's separators and brackets: [{start, end}] per term (brackets
   * included), or null if a term cannot be found (then the page writes "a + b + …" itself). */
  function sumSpans(rec, f) {
    if (rec.spans !== undefined) return rec.spans;
    var body = rec.orig.slice(rec.prefix.length);
    var end = body.lastIndexOf(' = ');
    var spans = [], at = 0;
    for (var i = 0; end >= 0 && i < f.edges.length; i++) {
      var t = num(f.terms[i], edges.get(f.edges[i]), 'grad');
      var k = at - 1;
      do {
        k = body.indexOf(t, k + 1);
      } while (k >= 0 && k < end && (/[0-9.]/.test(body.charAt(k - 1)) || /[0-9.e]/.test(body.charAt(k + t.length))));
      if (k < 0 || k + t.length > end) { spans = null; break; }
      var a = k, b = k + t.length;
      if (body.charAt(a - 1) === '(' && body.charAt(b) === ')') { a--; b++; }
      spans.push({ start: a, end: b });
      at = b;
    }
    rec.spans = end >= 0 && spans && spans.length === f.edges.length ? { body: body, end: end, list: spans } : null;
    return rec.spans;
  }
  /* The sum with "?" for terms not known at this step, and "= ?". */
  function partialSum(rec, f, parts) {
    var sp = sumSpans(rec, f);
    if (!sp) {
      return rec.prefix + parts.map(function (p) { return p.text; }).join(' + ') + ' = ?';
    }
    var out = '', at = 0;
    sp.list.forEach(function (span, i) {
      out += sp.body.slice(at, span.start) + (parts[i].known ? sp.body.slice(span.start, span.end) : '?');
      at = span.end;
    });
    return rec.prefix + out + sp.body.slice(at, sp.end) + ' = ?';
  }

  function renderSvg(s) {
    var fwd = forward(), sw = fwd ? fw() : null;
    /* in forward mode, the cells that show the tangents */
    var tanRole = function (c, rec) { return fwd && (tanCells ? rec === c.tan : rec !== c.tan); };
    cells.n.forEach(function (c, id) {
      var r = readyStep(id);
      [c.grad, c.sum, c.tan].forEach(function (rec) {
        if (!rec) return;
        var isTan = tanRole(c, rec);
        rec.text.classList.toggle('gv-tan', isTan);
        if (isTan) {
          /* the node's tangent, "∂u2/∂x1 = 2" where the cell names what it holds
           * ("∂y1/∂x1 = …"), the bare number where it does not */
          var n = nodes.get(id), rt = tanReady(sw, id), kt = rt <= s;
          var pre = rec.prefix ? '∂' + (n.name || '·') + '/∂' + wrtName() + ' = ' : '';
          setCellText(rec, pre + (kt ? fmt(sw.tan.get(id)) : '?'), !kt, rt === s);
          return;
        }
        /* the drawing's own text: a tangent cell outside forward mode, the gradients in it */
        if (rec === c.tan || fwd) { setCellText(rec, rec.orig, false, false); return; }
        var k = known(r, s) || r === null;
        var f = fanout.get(id);
        if (k || !rec.sum || !f) {
          setCellText(rec, k ? rec.orig : rec.prefix + '?', !k, r === s);
          return;
        }
        var sp = sumParts(f, s);
        var fresh = sp.parts.some(function (p) { return p.at === s; });
        setCellText(rec, partialSum(rec, f, sp.parts), true, fresh);
      });
    });
    cells.e.forEach(function (c, id) {
      var e = edges.get(id);
      [c.grad, c.tan].forEach(function (rec) {
        if (!rec) return;
        var isTan = tanRole(c, rec);
        rec.text.classList.toggle('gv-tan', isTan);
        if (rec.arrow) {
          rec.arrow.textContent = isTan ? rec.arrowOrig.replace('←', '→').replace('↑', '↓') : rec.arrowOrig;
          rec.arrow.classList.toggle('gv-tan', isTan);
        }
        if (isTan) {
          /* the tangent the edge carries forward: local × its operand's tangent */
          var kt = e ? edgeTanReady(sw, e) : -Infinity;
          setCellText(rec, kt <= s ? fmt(edgeTan(sw, id)) : '?', kt > s, kt === s);
          return;
        }
        if (rec === c.tan || fwd) { setCellText(rec, rec.orig, false, false); return; }
        var k = e ? edgeStep(e) : null;
        var ok = k === null || k <= s;
        setCellText(rec, ok ? rec.orig : rec.prefix + '?', !ok, k === s);
      });
    });
    var active = activeAt(s);
    nodeEls.forEach(function (g, id) {
      g.classList.toggle('gv-active', id === active);
      /* forward mode: what does not depend on the leaf takes no part in the sweep */
      g.classList.toggle('gv-indep', fwd && !sw.dep.has(id));
      var sel = state.selected && state.selected.type === 'node' && state.selected.id === id;
      g.classList.toggle('gv-selected', !!sel);
      g.setAttribute('aria-pressed', sel ? 'true' : 'false');
      g.setAttribute('aria-label', nodeAria(id, s));
    });
    edgeEls.forEach(function (g, id) {
      var e = edges.get(id);
      g.classList.toggle('gv-in', active !== null && e.to === active);
      if (fwd) {
        var kt = edgeTanReady(sw, e);
        g.classList.remove('gv-flowed');
        g.classList.toggle('gv-tflowed', sw.dep.has(e.from) && kt >= 0 && kt < s);
        g.classList.toggle('gv-indep', !sw.dep.has(e.from));
        return;
      }
      var k = edgeStep(e);
      g.classList.remove('gv-tflowed');
      g.classList.remove('gv-indep');
      g.classList.toggle('gv-flowed', k !== null && k >= 0 && k < s);
    });
  }


  function gradText(id, s) {
    var n = nodes.get(id), r = readyStep(id);
    if (r === null) return '—';
    return known(r, s) ? num(n.grad, n, 'grad') : '?';
  }
  function nodeAria(id, s) {
    var n = nodes.get(id);
    var parts = [nodeTitle(id) + ',', n.kind === 'op' ? 'operation' : n.kind + ','];
    parts.push('value ' + num(n.value, n) + ',');
    if (forward()) {
      if (!isConst(id)) parts.push('tangent ' + dX(id) + ' ' + tanText(id, s));
    } else if (!isConst(id)) parts.push('gradient ' + gradText(id, s));
    if (s >= 0 && activeAt(s) === id) parts.push('(active step)');
    return parts.join(' ');
  }
  /* A node's tangent at forward step s: the number once its step is done, "?" before, "—" for
   * a const (no derivative). */
  function tanText(id, s) {
    if (isConst(id)) return '—';
    var sw = fw();
    return tanReady(sw, id) <= s ? fmt(sw.tan.get(id)) : '?';
  }

  /* ---- the step panel ----------------------------------------------------------------------------- */

  var explain = $('gv-explain');

  function stepTag(text) { return el('span', 'step-tag', text); }
  /* A formula "a = b = c": each side stays on one line; lines break only after '='. */
  function formula(cls, sides, firstOp) {
    var box = el('div', 'formula' + (cls ? ' ' + cls : ''));
    sides.forEach(function (side, i) {
      if (i) append(box, [el('span', 'eq', i === 1 && firstOp ? firstOp : '='), document.createTextNode('\u200b')]);
      append(box, el('span', 'seg', side));
    });
    return box;
  }

  /* The forward-mode step panel: the tangent of the node completed at step s as the sum over
   * its operands u of ∂v/∂u · ∂u/∂x, written out with the numbers. */
  function renderExplainFwd(s) {
    var sw = fw(), M = sw.steps.length, X = wrtName();
    var plural = function (k, w) { return k + ' ' + w + (k === 1 ? '' : 's'); };
    if (s < 0) {
      append(explain, [
        el('h3', null, [stepTag('Start'), 'Forward mode: tangents with respect to ', el('b', 'sym', X)]),
        el('p', null, ['Every node v gets a ', numSpan('tan', 'tangent ∂v/∂' + X), ': how fast v changes as ', X,
          ' changes. The sweep starts with ', numSpan('tan', dX(state.wrt) + ' = 1'), ' and 0 on every other input and param,',
          ' then visits the ', plural(M, 'operation'), ' that depend on ', X, ' in evaluation order, each adding up',
          ' its local derivatives times its operands\' tangents:']),
        formula('tan', ['∂v/∂' + X, 'Σ ∂v/∂u · ∂u/∂' + X]),
        el('p', 'muted', ['One sweep gives the derivative of every output with respect to ', X,
          ': a column of the Jacobian. The whole Jacobian takes one forward sweep per input and param (' + leafIds.length +
          ') or one backward sweep per output (' + outputs.length + ').']),
        el('p', 'muted', 'Press Next (→) to begin.')
      ]);
      return;
    }
    var id = sw.steps[s], n = nodes.get(id) || {};
    append(explain, el('h3', null, [stepTag('Step ' + (s + 1) + ' / ' + M), el('span', 'sym', nodeTitle(id)),
      !n.name ? el('span', 'muted', '#' + id) : null]));
    var ins = inEdges.get(id).filter(function (e) { return !isConst(e.from); });
    var symb = [], nums = [];
    ins.forEach(function (e, i) {
      symb.push((i ? ' + ' : '') + '∂' + dName(id) + '/∂' + dName(e.from) + ' · ' + dX(e.from));
      nums.push([i ? ' + ' : '', '(', numSpan('local', num(e.local, e, 'local')), ')(',
        numSpan(sw.dep.has(e.from) ? 'tan' : 'unknown', fmt(sw.tan.get(e.from))), ')']);
    });
    append(explain, formula('tan', [dX(id), symb.join(''), nums, numSpan('tan', fmt(sw.tan.get(id)))]));
    ins.forEach(function (e) {
      var from = e.from, box = el('div', 'contrib');
      append(box, el('div', 'contrib-h', ['→ from ', el('span', 'sym', nodeName(from)),
        el('span', 'muted', ' (operand ' + (e.slot + 1) + ')')]));
      if (e.rule) append(box, el('div', 'rule', e.rule));
      var note;
      if (!sw.dep.has(from)) {
        note = nodeName(from) + ' does not depend on ' + X + ': its tangent is 0, so this edge carries 0.';
      } else if (from === state.wrt) {
        note = nodeName(from) + ' is the input itself: ' + dX(from) + ' = 1.';
      } else {
        note = dX(from) + ' was completed at step ' + (sw.stepOf.get(from) + 1) + '.';
      }
      append(box, formula('tan', ['∂' + dName(id) + '/∂' + dName(from) + ' · ' + dX(from),
        ['(', numSpan('local', num(e.local, e, 'local')), ')(', numSpan('tan', fmt(sw.tan.get(from))), ')'],
        numSpan('tan', fmt(edgeTan(sw, e.id)))]));
      append(box, el('p', 'note', note));
      append(explain, box);
    });
    var oi = outputs.indexOf(id);
    if (oi >= 0) {
      var msg = [el('span', 'done-badge', '✓ output'), ': ', dX(id), ' = ', numSpan('tan', fmt(sw.tan.get(id))),
        ' is the entry (' + nodeName(id) + ', ' + X + ') of the Jacobian.'];
      if (id === primary && nodes.has(state.wrt)) {
        var w = nodes.get(state.wrt);
        msg.push(' The backward pass finds the same number as the gradient of ' + X + ': ',
          numSpan('grad', dL(state.wrt) + ' = ' + num(w.grad, w, 'grad')), '.');
      }
      append(explain, el('p', 'note', msg));
    }
  }

  function renderExplain(s) {
    clear(explain);
    if (forward()) { renderExplainFwd(s); return; }
    if (s < 0) {
      append(explain, [
        el('h3', null, [stepTag('Start'), 'Forward pass done']),
        el('p', null, ['Every node shows its ', numSpan('val', 'value'),
          '. No gradient is known yet: they show ', numSpan('unknown', '?'), '.']),
        primary !== undefined ? el('p', null, ['The backward pass starts at the output ', el('b', 'sym', outName),
          ' with ', numSpan('grad', dL(primary) + ' = 1'), ', then visits the ', String(N),
          ' operation' + (N === 1 ? '' : 's'), ' in reverse order, each sending its gradient back to its inputs through the chain rule.']) : null,
        el('p', 'muted', 'Press Next (→) to begin.')
      ]);
      return;
    }
    var b = backward[s], id = b.node, n = nodes.get(id) || {};
    append(explain, el('h3', null, [stepTag('Step ' + (s + 1) + ' / ' + N), el('span', 'sym', nodeTitle(id)),
      !n.name ? el('span', 'muted', '#' + id) : null]));

    /* The active node's gradient: where it came from. */
    if (id === primary) {
      append(explain, formula('', [dL(id), numSpan('grad', num(b.grad, b, 'grad'))]));
      append(explain, el('p', 'muted', 'The output: its gradient with respect to itself is 1. Backprop starts here.'));
    } else if (fanout.has(id)) {
      var f = fanout.get(id), sp = sumParts(f, s);
      append(explain, formula('sum', [dL(id), joinTerms(sp.parts), numSpan('grad', num(b.grad, b, 'grad'))]));
      append(explain, el('p', 'muted', nodeName(id) + ' is used ' + f.edges.length +
        ' times: its gradient is the sum over paths, complete at step ' + (readyStep(id) + 1) + '.'));
    } else {
      var outs = outEdges.get(id).filter(function (e) { return stepOf.has(e.to); });
      var via = outs.length === 1 ? outs[0] : null;
      append(explain, formula('', [dL(id), numSpan('grad', num(b.grad, b, 'grad'))]));
      if (via) append(explain, el('p', 'muted', 'Received from ' + nodeName(via.to) + ' at step ' + (stepOf.get(via.to) + 1) + '.'));
    }

    var ins = b.edges || [];
    if (ins.length) {
      append(explain, el('p', null, el('b', null, 'Chain rule to ' + (ins.length === 1 ? 'its input' : 'its ' + ins.length + ' inputs') + ':')));
    }
    ins.forEach(function (c) {
      var e = edges.get(c.edge);
      if (!e) return;
      var from = e.from, box = el('div', 'contrib');
      var head = el('div', 'contrib-h', ['→ ', el('span', 'sym', nodeName(from)),
        el('span', 'muted', ' (operand ' + (e.slot + 1) + ')')]);
      append(box, head);
      if (e.rule) append(box, el('div', 'rule', e.rule));
      var local = numSpan('local', num(c.local, c, 'local'));
      if (isConst(from)) {
        append(box, formula('', ['∂' + dName(id) + '/∂' + dName(from), local]));
        append(box, el('p', 'note', nodeName(from) + ' is a constant: no gradient flows to it.'));
        append(explain, box);
        return;
      }
      var fo = fanout.get(from);
      /* A fan-out operand accumulates: its gradient is a sum of such terms. */
      append(box, formula('', [dL(from), dL(id) + ' · ∂' + dName(id) + '/∂' + dName(from),
        ['(', numSpan('grad', num(b.grad, b, 'grad')), ')(', local, ')'], numSpan('grad', num(c.grad, c, 'grad'))], fo ? '+=' : null));
      if (fo) {
        var sp2 = sumParts(fo, s);
        append(box, formula('sum', [dL(from), joinTerms(sp2.parts),
          sp2.all ? numSpan('grad', num(fo.grad, fo, 'grad')) : numSpan('unknown', '?')]));
        var got = sp2.parts.filter(function (p) { return p.known; }).length;
        append(box, el('p', 'note', sp2.all
          ? [el('span', 'done-badge', '✓ complete'), ': all ' + fo.edges.length + ' terms have arrived (sum over paths).']
          : got + ' of ' + fo.edges.length + ' terms so far; running sum ' + num(c.accum, c, 'accum') + '.'));
      } else if (readyStep(from) === s) {
        append(box, el('p', 'note', [el('span', 'done-badge', '✓ complete'),
          nodes.get(from) && nodes.get(from).kind !== 'op'
            ? ': ' + nodeName(from) + ' is a' + (nodes.get(from).kind === 'input' ? 'n ' : ' ') + nodes.get(from).kind + ' leaf.'
            : (stepOf.has(from) ? ': ' + nodeName(from) + ' is processed at step ' + (stepOf.get(from) + 1) + '.' : '.')]));
      }
      append(explain, box);
    });
  }

  /* t1 + t2 + …; may wrap after a '+' even inside a formula side. */
  function joinTerms(parts) {
    var out = el('span', 'terms');
    parts.forEach(function (p, i) {
      if (i) append(out, [' ', el('span', 'eq', '+'), ' ']);
      append(out, numSpan(p.known ? 'grad' : 'unknown', p.text));
    });
    return out;
  }

  /* ---- details ------------------------------------------------------------------------------------ */

  var detailsBox = $('gv-details');

  function dlRow(dl, term, value) {
    append(dl, el('dt', null, term));
    append(dl, el('dd', null, value));
  }
  function sourceLine(line) {
    if (typeof line !== 'number') return null;
    var text = source[line - 1];
    return ['line ' + line, typeof text === 'string' ? [' ', el('code', 'src', text.trim())] : null];
  }

  function renderDetails() {
    var what = state.hover || state.selected;
    clear(detailsBox);
    if (!what) {
      append(detailsBox, el('p', 'muted', 'Hover or click a node in the graph, or a name in the tables.'));
      return;
    }
    /* forward mode: the gradients as the finished backward pass has them, and the tangents as
     * far as the sweep has come */
    var fwd = forward(), s = fwd ? N - 1 : state.step, dl = el('dl');
    var tanRow = function (label, ready, value) {
      if (!fwd) return;
      dlRow(dl, label, ready <= state.step ? numSpan('tan', fmt(value))
        : [numSpan('unknown', '?'), el('span', 'muted', ' (forward step ' + (ready + 1) + ')')]);
    };
    if (what.type === 'edge') {
      var e = edges.get(what.id);
      if (!e) return;
      append(detailsBox, el('div', 'd-head', [el('span', 'd-name', nodeName(e.from) + ' → ' + nodeName(e.to)),
        el('span', 'badge', 'edge #' + e.id)]));
      dlRow(dl, 'Operand', 'slot ' + (e.slot + 1) + ' of ' + nodeTitle(e.to));
      dlRow(dl, 'Value', numSpan('val', num(e.value, e)));
      dlRow(dl, 'Local ∂', [numSpan('local', num(e.local, e, 'local')), e.rule ? [' ', el('span', 'muted sym', e.rule)] : null]);
      var k = edgeStep(e);
      dlRow(dl, 'Contribution', k === null ? el('span', 'muted', 'none (from a constant)')
        : (k <= s ? numSpan('grad', num(e.grad, e, 'grad')) : [numSpan('unknown', '?'), el('span', 'muted', ' (sent at step ' + (k + 1) + ')')]));
      if (fwd) tanRow('Tangent carried', edgeTanReady(fw(), e), edgeTan(fw(), e.id));
      append(detailsBox, dl);
      return;
    }
    var id = what.id, n = nodes.get(id);
    if (!n) return;
    var badges = [el('span', 'badge', n.kind === 'op' ? 'operation' : n.kind)];
    if (id === primary) badges.push(el('span', 'badge', 'output'));
    else if (outputs.indexOf(id) >= 0) badges.push(el('span', 'badge', 'output (not primary)'));
    if (fanout.has(id)) badges.push(el('span', 'badge fanout', 'fan-out ×' + fanout.get(id).edges.length));
    if (n.nonfinite) badges.push(el('span', 'badge warn', 'non-finite'));
    append(detailsBox, el('div', 'd-head', [el('span', 'd-name', nodeTitle(id))].concat(badges)));
    if (n.kind === 'op') dlRow(dl, 'Operation', [el('b', 'sym', n.label || n.op || '?'), el('span', 'muted', ' ' + (n.op || ''))]);
    dlRow(dl, 'Value', numSpan('val', num(n.value, n)));
    var r = readyStep(id);
    var g;
    if (r === null) g = el('span', 'muted', 'none: constants have no gradient');
    else if (r === -Infinity) g = [numSpan('grad', num(n.grad, n, 'grad')), el('span', 'muted', ' (' + outName + ' does not depend on it)')];
    else if (r <= s) g = numSpan('grad', num(n.grad, n, 'grad'));
    else g = [numSpan('unknown', '?'), el('span', 'muted', ' (complete at step ' + (r + 1) + ')')];
    dlRow(dl, r === null ? 'Gradient' : dL(id), g);
    if (fanout.has(id) && r !== null && r <= s) {
      var sp = sumParts(fanout.get(id), s);
      dlRow(dl, 'Sum over paths', joinTerms(sp.parts));
    }
    if (fwd && !isConst(id)) tanRow(dX(id), tanReady(fw(), id), fw().tan.get(id));
    var ins = inEdges.get(id);
    if (n.kind === 'op' && ins.length) {
      dlRow(dl, 'Inputs', ins.map(function (e, i) {
        return [i ? ', ' : '', el('span', 'sym', nodeName(e.from)), ' ', el('span', 'muted', '(∂ '), numSpan('local', num(e.local, e, 'local')), el('span', 'muted', ')')];
      }));
    }
    var outs = outEdges.get(id);
    if (outs.length) dlRow(dl, 'Used by', outs.map(function (e, i) { return [i ? ', ' : '', el('span', 'sym', nodeName(e.to))]; }));
    if (stepOf.has(id)) dlRow(dl, 'Backward step', String(stepOf.get(id) + 1) + ' of ' + N);
    if (fwd && fw().stepOf.has(id)) dlRow(dl, 'Forward step', String(fw().stepOf.get(id) + 1) + ' of ' + fw().steps.length);
    var src = sourceLine(n.line);
    if (src) dlRow(dl, 'Source', src);
    append(detailsBox, dl);
  }

  function setHover(what) {
    var prev = state.hover;
    if (prev && prev.type === 'node' && nodeEls.has(prev.id)) nodeEls.get(prev.id).classList.remove('gv-hover');
    if (what && what.type === 'node' && nodeEls.has(what.id)) nodeEls.get(what.id).classList.add('gv-hover');
    state.hover = what;
    renderDetails();
  }
  function toggleSelect(what) {
    var same = state.selected && state.selected.type === what.type && state.selected.id === what.id;
    state.selected = same ? null : what;
    renderSelection();
  }
  function renderSelection() {
    renderDetails();
    var sel = state.selected && state.selected.type === 'node' ? state.selected.id : null;
    nodeEls.forEach(function (g, id) {
      g.classList.toggle('gv-selected', id === sel);
      g.setAttribute('aria-pressed', id === sel ? 'true' : 'false');
    });
    nodeRows.forEach(function (tr, id) { tr.classList.toggle('is-selected', id === sel); });
    var line = sel !== null && nodes.get(sel) ? nodes.get(sel).line : null;
    sourceItems.forEach(function (li, i) { li.classList.toggle('is-selected', line === i + 1); });
  }

  /* ---- source ------------------------------------------------------------------------------------- */

  var sourceItems = [];
  function setupSource() {
    var card = $('gv-source-card'), list = $('gv-source');
    if (!card || !list) return;
    if (!source.length) { card.hidden = true; return; }
    if (trace.model && typeof trace.model.source === 'string') $('gv-source-path').textContent = trace.model.source;
    source.forEach(function (line) {
      line = String(line);
      var cut = commentStart(line);
      var li = el('li', null, cut >= 0 ? [line.slice(0, cut), el('span', 'cm', line.slice(cut))] : line);
      if (line === '') li.textContent = ' ';
      sourceItems.push(list.appendChild(li));
    });
  }
  function commentStart(line) {
    var inStr = false;
    for (var i = 0; i < line.length; i++) {
      var ch = line.charAt(i);
      if (ch === '"') inStr = !inStr;
      else if (ch === '#' && !inStr) return i;
    }
    return -1;
  }

  /* ---- tables ------------------------------------------------------------------------------------- */

  var nodeRows = new Map(), nodeGradCells = new Map(), nodeStepCells = new Map();
  /* Column heads that name what the column holds in the current mode. */
  var tableHeads = {};
  /* Cells that follow the step like the drawing: an edge's contribution, a fan-out term, a sum. */
  var edgeGradCells = new Map(), fanoutCells = [];

  function th(text, cls) { var t = el('th', cls, text); t.setAttribute('scope', 'col'); return t; }
  function td(content, cls) { return el('td', cls, content); }
  function nodeButton(id) {
    var b = el('button', 'linkish', nodeName(id));
    b.type = 'button';
    b.setAttribute('aria-label', 'Show ' + nodeTitle(id) + ' in the graph');
    b.addEventListener('click', function () {
      state.selected = { type: 'node', id: id };
      renderSelection();
      var g = nodeEls.get(id);
      if (g && g.scrollIntoView) g.scrollIntoView({ block: 'nearest', inline: 'nearest', behavior: 'smooth' });
    });
    return b;
  }

  function setupTables() {
    var t = $('gv-nodes');
    if (t) {
      tableHeads.grad = th('', 'num');
      tableHeads.step = th('', 'num');
      var head = el('thead', null, el('tr', null, [th('#', 'num'), th('Node'), th('Kind'), th('Op'),
        th('Value', 'num'), tableHeads.grad, th('Line', 'num'), tableHeads.step]));
      var body = el('tbody');
      trace.nodes.forEach(function (n) {
        var gcell = td('', 'num n-grad'), scell = td('', 'num muted');
        nodeGradCells.set(n.id, gcell);
        nodeStepCells.set(n.id, scell);
        var tr = el('tr', null, [td(String(n.id), 'num muted'), td(nodeButton(n.id)), td(n.kind),
          td(n.kind === 'op' ? el('span', 'sym', n.label || n.op) : '', null),
          td(num(n.value, n), 'num n-val'), gcell,
          td(typeof n.line === 'number' ? String(n.line) : '', 'num muted'), scell]);
        nodeRows.set(n.id, tr);
        body.appendChild(tr);
      });
      append(t, [el('caption', 'sr-only', 'Every node, its value and its gradient'), head, body]);
    }
    var et = $('gv-edges');
    if (et) {
      var ebody = el('tbody');
      (trace.edges || []).forEach(function (e) {
        ebody.appendChild(el('tr', null, [td(String(e.id), 'num muted'),
          td([nodeButton(e.from), ' → ', nodeButton(e.to)]), td(String(e.slot + 1), 'num muted'),
          td(num(e.value, e), 'num n-val'), td(num(e.local, e, 'local'), 'num n-local'),
          edgeGradCell(e), td(e.rule || '', 'sym')]));
      });
      tableHeads.contrib = th('', 'num');
      append(et, [el('caption', 'sr-only', 'Every edge'), el('thead', null, el('tr', null, [th('#', 'num'), th('From → to'),
        th('Slot', 'num'), th('Value', 'num'), th('Local ∂', 'num'), tableHeads.contrib, th('Rule')])), ebody]);
    }
    var ft = $('gv-fanout');
    if (ft) {
      if (!fanout.size) {
        $('gv-fanout-sec').removeAttribute('open');
        append(ft, el('tbody', null, el('tr', null, td('No node is used more than once, so no gradient is a sum over paths.', 'muted'))));
      } else {
        var fbody = el('tbody');
        fanout.forEach(function (f, id) {
          var spans = [];
          var terms = f.edges.map(function (eid, i) {
            var e = edges.get(eid);
            spans.push(numSpan('grad', num(f.terms[i], e, 'grad')));
            return [i ? el('span', 'eq muted', ' + ') : '', spans[i],
              el('span', 'muted', ' (via ' + (e ? nodeName(e.to) : '#' + eid) + ')')];
          });
          var sum = td(num(f.grad, f, 'grad'), 'num n-grad');
          fanoutCells.push({ id: id, f: f, terms: spans, sum: sum });
          fbody.appendChild(el('tr', null, [td(nodeButton(id)), td(String(f.edges.length), 'num'),
            td(terms, 'terms'), sum]));
        });
        append(ft, [el('caption', 'sr-only', 'Nodes used more than once and their sums over paths'),
          el('thead', null, el('tr', null, [th('Node'), th('Paths', 'num'), th('Terms (one per use)'), th('Sum', 'num')])), fbody]);
      }
    }
    var check = trace.check;
    var ct = $('gv-check');
    if (check && ct && Array.isArray(check.wrt)) {
      $('gv-check-sec').hidden = false;
      var allOk = true, cbody = el('tbody');
      check.wrt.forEach(function (w) {
        var ok = checkPassed(check, w);
        if (!ok) allOk = false;
        var tr = el('tr', ok ? 'pass' : 'fail', [td(nodeButton(w.node)),
          td(num(w.analytic, w, 'analytic'), 'num'), td(num(w.numeric, w, 'numeric'), 'num'),
          td(num(w.abs_error, w, 'abs_error'), 'num'),
          td(num(w.rel_error, w, 'rel_error'), 'num'), td(ok ? '✓ pass' : '✗ fail', 'result')]);
        cbody.appendChild(tr);
      });
      if (typeof check.passed === 'boolean') allOk = check.passed;
      append(ct, [el('caption', 'sr-only', 'Numeric gradient check'),
        el('thead', null, el('tr', null, [th('Leaf'), th('Analytic', 'num'), th('Numeric', 'num'),
          th('Abs. error', 'num'), th('Rel. error', 'num'), th('Result')])), cbody]);
      var summary = $('gv-check-summary'), tol = check.tolerance || {};
      append(summary, [el('span', 'result-pill ' + (allOk ? 'pass' : 'fail'), allOk ? '✓ all passed' : '✗ failed'),
        ' ', (check.method || 'numeric') + (typeof check.eps === 'number' ? ', ε = ' + fmt(check.eps) : '') +
        (typeof check.max_rel_error === 'number' ? '; largest relative error ' + fmt(check.max_rel_error) : '') +
        (typeof tol.rel === 'number' ? '; tolerance ' + fmt(tol.rel) + ' relative' : '') +
        (typeof tol.abs === 'number' ? ' or ' + fmt(tol.abs) + ' absolute' : '') + '.']);
    }
  }

  /* An entry's own verdict (the schema requires it), else the trace's tolerances, else 1e-4. */
  function checkPassed(check, w) {
    if (typeof w.passed === 'boolean') return w.passed;
    if (typeof w.rel_error !== 'number') return false;
    var tol = check.tolerance || {};
    if (typeof tol.rel === 'number') {
      return w.rel_error <= tol.rel || (typeof tol.abs === 'number' && typeof w.abs_error === 'number' && w.abs_error <= tol.abs);
    }
    return w.rel_error <= 1e-4;
  }

  function edgeGradCell(e) {
    var cell = td('', 'num n-grad');
    edgeGradCells.set(e.id, cell);
    return cell;
  }
  function setKnown(cell, text) {
    cell.textContent = text;
    cell.classList.toggle('n-unknown', text === '?');
  }

  /* The tables follow the step: in forward mode the gradient and contribution columns hold the
   * tangents instead, and the fan-out sums are shown finished. */
  function renderTables(s) {
    var active = activeAt(s), fwd = forward(), sw = fwd ? fw() : null;
    if (tableHeads.grad) tableHeads.grad.textContent = fwd ? 'Tangent ∂·/∂' + wrtName() : 'Gradient ∂' + outName + '/∂·';
    if (tableHeads.step) tableHeads.step.textContent = fwd ? 'Fwd step' : 'Step';
    if (tableHeads.contrib) tableHeads.contrib.textContent = fwd ? 'Tangent carried' : 'Contribution';
    nodeRows.forEach(function (tr, id) { tr.classList.toggle('is-active', id === active); });
    nodeGradCells.forEach(function (cell, id) {
      cell.className = 'num ' + (fwd ? 'n-tan' : 'n-grad');
      setKnown(cell, fwd ? tanText(id, s) : gradText(id, s));
    });
    nodeStepCells.forEach(function (cell, id) {
      var st = fwd ? sw.stepOf.get(id) : stepOf.get(id);
      cell.textContent = st === undefined ? '' : String(st + 1);
    });
    edgeGradCells.forEach(function (cell, id) {
      var e = edges.get(id);
      cell.className = 'num ' + (fwd ? 'n-tan' : 'n-grad');
      if (fwd) {
        setKnown(cell, edgeTanReady(sw, e) <= s ? fmt(edgeTan(sw, id)) : '?');
        return;
      }
      var k = edgeStep(e);
      setKnown(cell, k === null ? '—' : k <= s ? num(e.grad, e, 'grad') : '?');
    });
    var rs = fwd ? N - 1 : s;
    fanoutCells.forEach(function (c) {
      sumParts(c.f, rs).parts.forEach(function (p, i) { setKnown(c.terms[i], p.text); });
      setKnown(c.sum, gradText(c.id, rs));
    });
    renderJacobian(s);
  }

  /* ---- the Jacobian card --------------------------------------------------------------------- */

  var jac = trace.jacobian && Array.isArray(trace.jacobian.rows) && Array.isArray(trace.jacobian.cols) ? trace.jacobian : null;
  var JAC_MAX_ROWS = 40, JAC_MAX_COLS = 24; /* a bigger matrix shows an excerpt; the JSON has it all */
  var jacCells = []; /* {td, row (node id), col (node id)} of the main table, for highlighting */

  /* Entry (i, j) of matrix `name` of `holder` (jacobian.values, via.f, ...) as text: a number, or
   * a null's marker from <name>_nonfinite (schema). */
  function matText(holder, name, i, j) {
    var row = holder[name] && holder[name][i];
    var v = row ? row[j] : undefined;
    if (typeof v === 'number') return fmt(v);
    var marks = holder[name + '_nonfinite'] || [];
    for (var k = 0; k < marks.length; k++) {
      if (marks[k].row === i && marks[k].col === j) return NONFINITE[marks[k].value] || '—';
    }
    return '—';
  }
  function refName(r) { return r && typeof r.name === 'string' ? r.name : r && nodes.has(r.id) ? nodeName(r.id) : '?'; }
  function withSub(base, s) { return [base, el('sub', null, s)]; }

  /* A matrix as a table: the corner names it, column heads and row heads name the nodes.
   * opts: {id, corner, rows, cols, holder, name, primaryRow, replay (column heads start the
   * forward sweep of their leaf), main (cells recorded for highlighting)}. */
  function matrixTable(o) {
    var nr = Math.min(o.rows.length, JAC_MAX_ROWS), nc = Math.min(o.cols.length, JAC_MAX_COLS);
    var t = el('table', 'data matrix');
    t.id = o.id;
    var heads = [el('th', 'corner', o.corner)];
    for (var j = 0; j < nc; j++) {
      var c = o.cols[j], h;
      if (o.replay && leafIds.indexOf(c.id) >= 0) {
        h = el('button', 'linkish', refName(c));
        h.type = 'button';
        h.title = 'Replay the forward-mode sweep for ' + refName(c) + ': it computes this column';
        h.addEventListener('click', (function (id) { return function () { setMode('forward', id); }; })(c.id));
      } else {
        h = refName(c);
      }
      var hc = th(h, 'num' + (j === 0 ? ' first' : '') + (j === nc - 1 ? ' last' : ''));
      if (c.kind === 'param') hc.classList.add('param');
      heads.push(hc);
    }
    if (nc < o.cols.length) heads.push(th('…', 'num'));
    var body = el('tbody');
    for (var i = 0; i < nr; i++) {
      var r = o.rows[i], rh = el('th', 'rowhead', refName(r));
      rh.setAttribute('scope', 'row');
      var tr = el('tr', r.id === o.primaryRow ? 'primary' : null, [rh]);
      for (var k = 0; k < nc; k++) {
        var cell = td(matText(o.holder, o.name, i, k), 'num' + (k === 0 ? ' first' : '') + (k === nc - 1 ? ' last' : ''));
        cell.setAttribute('data-row', String(i));
        cell.setAttribute('data-col', String(k));
        if (o.main) jacCells.push({ td: cell, row: r.id, col: o.cols[k].id });
        tr.appendChild(cell);
      }
      if (nc < o.cols.length) tr.appendChild(td('…', 'num muted'));
      body.appendChild(tr);
    }
    append(t, [el('thead', null, el('tr', null, heads)), body]);
    var box = el('div', 'matrix-box', el('div', 'table-wrap', t));
    if (nr < o.rows.length || nc < o.cols.length) {
      append(box, el('p', 'note muted', 'Showing ' + nr + ' of ' + o.rows.length + ' rows and ' + nc + ' of ' +
        o.cols.length + ' columns; the JSON trace has them all.'));
    }
    return box;
  }

  /* "140 ns", "3.2 ms": %.3g of the right unit (the formatter is C's). */
  function seconds(v) {
    if (typeof v !== 'number' || !(v >= 0)) return '—';
    if (v < 1e-6) return fmtG(v * 1e9, 3) + ' ns';
    if (v < 1e-3) return fmtG(v * 1e6, 3) + ' µs';
    if (v < 1) return fmtG(v * 1e3, 3) + ' ms';
    return fmtG(v, 3) + ' s';
  }
  function count(v) { return typeof v === 'number' ? Math.round(v).toLocaleString('en-US') : '—'; }

  /* The mode comparison. A trace written with --reproducible (or SOURCE_DATE_EPOCH) has
   * "timed": false and no seconds, budget or ratio: the table then drops the time columns, puts
   * the ratio of multiply-adds in the last one and says the timings were left out. */
  function modesTable(m) {
    var timed = m.timed !== false;
    var what = { jacobian: 'Jacobian', gradient_inputs: '∂' + outName + '/∂inputs', gradient_inputs_params: '∂' + outName + '/∂(inputs, params)' };
    var t = el('table', 'data modes');
    t.id = 'gv-modes';
    if (!timed) t.setAttribute('data-timed', 'false');
    var span = timed ? 3 : 2;
    var group = function (text) { var g = th(text, 'group'); g.colSpan = span; return g; };
    var h1 = el('tr', null, [th(''), th(''), group('Reverse mode'), group('Forward mode'), th('')]);
    var costHeads = function () {
      return timed ? [th('Sweeps', 'num'), th('Multiply-adds', 'num'), th('Time', 'num')]
        : [th('Sweeps', 'num'), th('Multiply-adds', 'num')];
    };
    var h2 = el('tr', null, [th('Task'), th('Size', 'num')].concat(costHeads(), costHeads(),
      [th(timed ? 'Time ratio' : 'Multiply-add ratio', 'num')]));
    var body = el('tbody'), est = false;
    (m.tasks || []).forEach(function (k) {
      var cost = function (c) {
        var mark = c && c.estimated ? '~' : '';
        if (c && c.estimated) est = true;
        var cells = [td(c ? count(c.sweeps) : '—', 'num sweeps'), td(c ? mark + count(c.edges) : '—', 'num')];
        if (timed) cells.push(td(c ? mark + seconds(c.seconds) : '—', 'num'));
        return cells;
      };
      var anyEst = (k.reverse && k.reverse.estimated) || (k.forward && k.forward.estimated);
      var ratio = '—';
      if (timed && typeof k.ratio === 'number') {
        ratio = (anyEst ? '~' : '') + fmtG(k.ratio, 3) + '×';
      } else if (!timed && k.reverse && k.forward && k.reverse.edges > 0) {
        ratio = (anyEst ? '~' : '') + fmtG(k.forward.edges / k.reverse.edges, 3) + '×';
      }
      var tr = el('tr', null, [td(what[k.task] || k.task, 'sym'), td(k.rows + ' × ' + k.cols, 'num'),
        cost(k.reverse), cost(k.forward), td(ratio, 'num ratio')]);
      tr.setAttribute('data-task', k.task);
      body.appendChild(tr);
    });
    append(t, [el('caption', 'sr-only', 'Reverse mode against forward mode'), el('thead', null, [h1, h2]), body]);
    var text = 'Sweeps: reverse mode one per output, forward mode one per input or param. ' +
      'Multiply-adds: one per edge a sweep follows (local derivative × the derivative it carries), the elementary ' +
      'operations. ';
    var notes = [];
    if (timed) {
      notes.push(el('p', 'note muted', text + 'Times are measured when the report was made (the local derivatives, ' +
        'computed once by the forward pass, are not counted) and vary a little from run to run; the time ratio is ' +
        'forward over reverse.'));
    } else {
      notes.push(el('p', 'note muted', text + 'The ratio is of multiply-adds, forward over reverse.'));
      var omitted = el('p', 'note muted', [el('b', null, 'Timings omitted (--reproducible or SOURCE_DATE_EPOCH):'),
        ' times vary from run to run, so this report was made without measuring any, and the same model gives the same file every time.']);
      omitted.id = 'gv-modes-untimed';
      notes.push(omitted);
    }
    if (est) {
      notes.push(el('p', 'note muted', timed
        ? '~ estimated: running every sweep would have taken over ' + fmtG(m.budget_seconds, 3) +
          ' s, so an evenly spread sample of them was timed and the rest extrapolated.'
        : '~ estimated: counting every reverse sweep would have taken too long, so an evenly spread sample of them ' +
          'was counted and the rest extrapolated.'));
    }
    return el('div', 'matrix-box', [el('div', 'table-wrap', t)].concat(notes));
  }

  function setupJacobian() {
    var box = $('gv-jac');
    if (!box) return;
    var m = trace.modes;
    if (!jac && !m) { $('gv-jac-card').hidden = true; return; }
    clear(box);
    var via = jac && jac.via && Array.isArray(jac.via.cut) ? jac.via : null;
    append(box, el('p', null, ['The Jacobian holds the derivative of every output (a row) with respect to every input and ',
      'param (a column). Reverse mode computes it a row at a time, one backward sweep per output; forward mode a column ',
      'at a time, one sweep per input. The row of ', el('b', 'sym', outName), ' is the gradient the backward pass shows. ',
      'Click a column\'s name to replay the forward sweep that computes it.']));
    if (jac) {
      append(box, matrixTable({ id: 'gv-jac-J', corner: via ? withSub('J', 'h') : 'J', rows: jac.rows, cols: jac.cols,
        holder: jac, name: 'values', primaryRow: primary, replay: true, main: true }));
      var facts = [];
      if (jac.mode === 'both') {
        facts.push(['Computed both ways: max |reverse − forward| = ', el('b', null, num(jac.forward_max_abs_diff, jac, 'forward_max_abs_diff')), '.']);
      } else {
        facts.push('Computed by ' + (jac.mode === 'forward' ? 'forward' : 'reverse') + ' mode.');
      }
      if (jac.check) {
        var c = jac.check;
        facts.push([' ', el('span', 'result-pill ' + (c.passed ? 'pass' : 'fail'), c.passed ? '✓ central differences agree' : '✗ central differences disagree'),
          ' largest relative error ' + num(c.max_rel_error, c, 'max_rel_error') + '.']);
      }
      if (sweepMismatch && sweepMismatch.length) {
        facts.push([' ', el('span', 'result-pill fail', '✗ the forward sweep of this page differs from the trace at ' + sweepMismatch.slice(0, 4).join(', '))]);
      }
      append(box, el('p', 'note', facts));
    }
    if (via) {
      append(box, el('h3', 'jac-h', ['Through the cut ', el('span', 'sym', via.cut.map(refName).join(', ')), ': ',
        el('span', 'sym', [withSub('J', 'h'), ' = ', withSub('J', 'f'), ' · ', withSub('J', 'g')])]));
      append(box, el('p', null, ['Every path from an input to an output passes through the cut, so the chain rule factorises ',
        'the Jacobian: ', el('b', 'sym', withSub('J', 'f')), ' holds ∂output/∂cut (partials along the paths that meet no other cut ',
        'node), ', el('b', 'sym', withSub('J', 'g')), ' holds ∂cut/∂input.']));
      append(box, el('div', 'matrix-row', [
        matrixTable({ id: 'gv-jac-f', corner: withSub('J', 'f'), rows: jac.rows, cols: via.cut, holder: via, name: 'f' }),
        el('span', 'matrix-dot', '·'),
        matrixTable({ id: 'gv-jac-g', corner: withSub('J', 'g'), rows: via.cut, cols: jac.cols, holder: via, name: 'g' })]));
      append(box, el('p', 'note', [el('span', 'result-pill ' + (via.agree ? 'pass' : 'fail'),
        [withSub('J', 'f'), ' · ', withSub('J', 'g'), via.agree ? ' = ' : ' ≠ ', withSub('J', 'h')]),
        ' max |difference| ' + num(via.max_abs_diff, via, 'max_abs_diff') + ' (relative ' +
        num(via.max_rel_diff, via, 'max_rel_diff') + ')' + (via.agree ? ', equal to rounding.' : '.')]));
    }
    if (m) {
      append(box, el('h3', 'jac-h', 'Reverse mode against forward mode'));
      append(box, el('p', 'lecture', [el('b', null, 'Reverse mode needs 1 sweep for many inputs and one output; forward mode needs one per input.'),
        ' A backward sweep from one output yields its derivative with respect to every input at once, a forward sweep the ',
        'derivatives of every output with respect to one input. So the gradient of a loss of many parameters costs reverse ',
        'mode one sweep, and forward mode wins only for few inputs and many outputs.']));
      append(box, modesTable(m));
    }
  }

  /* Forward mode: the column being replayed, and each output's entry once its tangent is in. */
  function renderJacobian(s) {
    var fwd = forward(), sw = fwd ? fw() : null;
    jacCells.forEach(function (c) {
      var col = fwd && c.col === state.wrt;
      c.td.classList.toggle('is-col', col);
      c.td.classList.toggle('is-done', col && tanReady(sw, c.row) <= s);
      c.td.classList.toggle('is-new', col && tanReady(sw, c.row) === s);
    });
  }

  /* ---- the mode switch ------------------------------------------------------------------------- */

  function setMode(mode, leaf) {
    if (leaf !== undefined && leafIds.indexOf(leaf) >= 0) state.wrt = leaf;
    state.mode = mode === 'forward' && leafIds.length ? 'forward' : 'reverse';
    setPlaying(false);
    syncModeUi();
    state.step = -1;
    render();
  }
  /* The switch, headings, toggle and legend that name the current mode. */
  function syncModeUi() {
    var fwd = forward();
    var rev = $('gv-mode-rev'), fb = $('gv-mode-fwd'), box = $('gv-mode-fwd-box'), sel = $('gv-wrt');
    if (rev) { rev.setAttribute('aria-pressed', String(!fwd)); rev.classList.toggle('on', !fwd); }
    if (fb) fb.setAttribute('aria-pressed', String(fwd));
    if (box) box.classList.toggle('on', fwd);
    if (sel && state.wrt !== undefined) sel.value = String(state.wrt);
    var h = $('gv-steps-h');
    if (h) h.textContent = fwd ? 'Forward mode: tangents ∂·/∂' + wrtName() : 'Backward pass';
    var gt = $('gv-show-grad-text');
    if (gt) {
      /* the toggle hides every gradient and tangent cell of the drawing */
      gt.textContent = tanCells ? 'Gradients, tangents' : fwd ? 'Tangents' : 'Gradients';
      gt.parentNode.classList.toggle('fwd', fwd);
    }
    var chipT = document.querySelector('.chip-tan'), chipG = document.querySelector('.chip-grad');
    if (chipT) chipT.hidden = !fwd;
    if (chipG) chipG.hidden = fwd;
    if (graphWrap) graphWrap.classList.toggle('mode-fwd', fwd);
  }

  function setupMode() {
    var sw = $('gv-mode'), sel = $('gv-wrt');
    if (!sw) return;
    if (!leafIds.length) { sw.hidden = true; return; }
    if (sel) {
      leafIds.forEach(function (id) {
        var o = el('option', null, nodeName(id) + (nodes.get(id).kind === 'param' ? ' (param)' : ''));
        o.value = String(id);
        sel.appendChild(o);
      });
      sel.value = String(state.wrt);
      sel.addEventListener('change', function () { setMode('forward', Number(sel.value)); });
    }
    syncModeUi();
    var rev = $('gv-mode-rev'), fb = $('gv-mode-fwd');
    if (rev) rev.addEventListener('click', function () { if (forward()) setMode('reverse'); });
    if (fb) fb.addEventListener('click', function () { if (!forward()) setMode('forward'); });
  }

  /* ---- controls ----------------------------------------------------------------------------------- */

  var slider = $('gv-slider'), counter = $('gv-counter');
  var btn = { first: $('gv-first'), prev: $('gv-prev'), play: $('gv-play'), next: $('gv-next'), last: $('gv-last') };

  function go(s) {
    s = Math.max(-1, Math.min(stepCount() - 1, s | 0));
    state.step = s;
    render();
  }

  function render() {
    var s = state.step;
    renderSvg(s);
    renderExplain(s);
    renderTables(s);
    renderDetails();
    var active = activeAt(s), M = stepCount();
    if (active !== null) followNode(active);
    var line = active !== null && nodes.get(active) ? nodes.get(active).line : null;
    sourceItems.forEach(function (li, i) { li.classList.toggle('is-active', line === i + 1); });
    if (slider) {
      slider.max = String(Math.max(M - 1, -1));
      slider.value = String(s);
      slider.setAttribute('aria-label', forward() ? 'Forward-mode step' : 'Backward step');
      slider.setAttribute('aria-valuetext', s < 0 ? (forward() ? 'before the forward sweep' : 'before the backward pass')
        : 'step ' + (s + 1) + ' of ' + M);
    }
    if (counter) counter.textContent = s < 0 ? 'Start' : 'Step ' + (s + 1) + ' / ' + M;
    if (btn.first) btn.first.disabled = s <= -1;
    if (btn.prev) btn.prev.disabled = s <= -1;
    if (btn.next) btn.next.disabled = s >= M - 1;
    if (btn.last) btn.last.disabled = s >= M - 1;
  }

  function setPlaying(on) {
    state.playing = on;
    if (state.timer) { clearInterval(state.timer); state.timer = 0; }
    if (on) {
      if (state.step >= stepCount() - 1) go(-1);
      state.timer = setInterval(function () {
        if (state.step >= stepCount() - 1) { setPlaying(false); return; }
        go(state.step + 1);
      }, 1600);
    }
    if (btn.play) {
      var ip = btn.play.querySelector('.i-play'), ipa = btn.play.querySelector('.i-pause');
      if (ip && ipa) { ip.hidden = on; ipa.hidden = !on; } else btn.play.textContent = on ? '⏸' : '▶';
      btn.play.setAttribute('aria-label', on ? 'Pause' : 'Play');
    }
  }
  function stepBy(d) { setPlaying(false); go(state.step + d); }

  function setupControls() {
    if (slider) {
      slider.min = '-1';
      slider.max = String(Math.max(stepCount() - 1, -1));
      slider.addEventListener('input', function () { setPlaying(false); go(Number(slider.value)); });
    }
    if (btn.first) btn.first.addEventListener('click', function () { setPlaying(false); go(-1); });
    if (btn.prev) btn.prev.addEventListener('click', function () { stepBy(-1); });
    if (btn.next) btn.next.addEventListener('click', function () { stepBy(1); });
    if (btn.last) btn.last.addEventListener('click', function () { setPlaying(false); go(stepCount() - 1); });
    if (btn.play) btn.play.addEventListener('click', function () { setPlaying(!state.playing); });

    [['gv-show-val', 'hide-val'], ['gv-show-local', 'hide-local'], ['gv-show-grad', 'hide-grad']].forEach(function (p) {
      var box = $(p[0]);
      if (!box || !graphWrap) return;
      var apply = function () {
        graphWrap.classList.toggle(p[1], !box.checked);
        if (p[0] === 'gv-show-val') showValues(box.checked);
      };
      box.addEventListener('change', apply);
      apply();
    });

    document.addEventListener('keydown', function (ev) {
      if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.defaultPrevented) return;
      var t = ev.target, tag = t && t.tagName ? t.tagName.toLowerCase() : '';
      /* Keys belong to controls that use them (the slider, text fields); a focused checkbox or
       * button leaves the arrows to the stepper. */
      var typing = tag === 'textarea' || tag === 'select' ||
        (tag === 'input' && ['checkbox', 'radio', 'button', 'submit', 'reset'].indexOf(t.type) < 0);
      var pressable = typing || tag === 'button' || tag === 'a' || tag === 'summary';
      switch (ev.key) {
        case 'ArrowRight': case 'PageDown':
          if (typing) return;
          stepBy(1); break;
        case 'ArrowLeft': case 'PageUp':
          if (typing) return;
          stepBy(-1); break;
        case 'Home':
          if (typing) return;
          setPlaying(false); go(-1); break;
        case 'End':
          if (typing) return;
          setPlaying(false); go(stepCount() - 1); break;
        case ' ': case 'Spacebar':
          if (pressable || (t && t.getAttribute && t.getAttribute('role') === 'button')) return;
          setPlaying(!state.playing); break;
        case 'Escape':
          if (!state.selected) return;
          state.selected = null; renderSelection(); break;
        case '+': case '=': zoomBy(1.25); break;
        case '-': case '_': zoomBy(1 / 1.25); break;
        case '0': setFit(); break;
        default: return;
      }
      ev.preventDefault();
    });
  }

  /* ---- zoom --------------------------------------------------------------------------------------- */

  function setFit() {
    state.fit = true;
    if (!svg || !graphWrap) return;
    graphWrap.classList.add('fit');
    svg.style.width = '';
    svg.style.height = '';
    /* a tiny graph is not blown up past readable-on-a-projector */
    svg.style.maxWidth = natural.w ? (natural.w * 1.6).toFixed(0) + 'px' : '';
    var b = $('gv-zoom-fit');
    if (b) b.setAttribute('aria-pressed', 'true');
  }
  function zoomBy(f) {
    if (!svg || !graphWrap || !natural.w) return;
    if (state.fit) state.zoom = svg.getBoundingClientRect().width / natural.w || 1;
    state.fit = false;
    state.zoom = Math.max(0.1, Math.min(6, state.zoom * f));
    graphWrap.classList.remove('fit');
    svg.style.maxWidth = '';
    svg.style.width = (natural.w * state.zoom).toFixed(1) + 'px';
    svg.style.height = (natural.h * state.zoom).toFixed(1) + 'px';
    var b = $('gv-zoom-fit');
    if (b) b.setAttribute('aria-pressed', 'false');
  }
  function setupZoom() {
    var zi = $('gv-zoom-in'), zo = $('gv-zoom-out'), zf = $('gv-zoom-fit');
    if (zi) zi.addEventListener('click', function () { zoomBy(1.25); });
    if (zo) zo.addEventListener('click', function () { zoomBy(1 / 1.25); });
    if (zf) zf.addEventListener('click', setFit);
    setFit();
    /* A drawing too big to read when fitted opens at a readable size; the view then follows
     * the active node. Graphviz's smallest labels are 9 pt (12 px at 100%): below 70% they are
     * under ~8 px, unreadable on a projector, so open at 90% (11 px) and scroll instead. */
    if (svg && graphWrap && natural.w) {
      var scale = svg.getBoundingClientRect().width / natural.w;
      if (scale > 0 && scale < 0.7) zoomBy(0.9 / scale);
    }
  }
  /* Scrolls the drawing (not the page) so node id is in view, if it is not. */
  function followNode(id) {
    if (state.fit || !graphWrap) return;
    var g = nodeEls.get(id);
    if (!g) return;
    var r = g.getBoundingClientRect(), w = graphWrap.getBoundingClientRect();
    var pad = 40;
    if (r.left >= w.left + pad && r.right <= w.right - pad && r.top >= w.top + pad && r.bottom <= w.bottom - pad) return;
    var reduce = window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;
    graphWrap.scrollTo({
      left: graphWrap.scrollLeft + (r.left + r.width / 2) - (w.left + w.width / 2),
      top: graphWrap.scrollTop + (r.top + r.height / 2) - (w.top + w.height / 2),
      behavior: reduce ? 'auto' : 'smooth'
    });
  }

  /* ---- header, theme, downloads -------------------------------------------------------------------- */

  function setupHeader() {
    var m = trace.model || {};
    var sub = $('gv-subtitle');
    if (sub) {
      var bits = [];
      if (typeof m.source === 'string') bits.push(el('code', null, m.source));
      bits.push(trace.nodes.length + ' nodes');
      bits.push((trace.edges || []).length + ' edges');
      if (primary !== undefined) bits.push('output ' + outName);
      bits.push(N + ' backward step' + (N === 1 ? '' : 's'));
      bits.forEach(function (b, i) { if (i) append(sub, ' · '); append(sub, b); });
    }
    var stem = 'gradviz';
    if (typeof m.source === 'string') {
      var base = m.source.split(/[\\/]/).pop().replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9._-]/g, '_');
      if (base && base !== '.' && base !== '..') stem = base;
    }
    [['gv-dl-json', '.json'], ['gv-dl-dot', '.dot']].forEach(function (p) {
      var a = $(p[0]);
      if (!a) return;
      var href = a.getAttribute('href') || '';
      if (!/^data:/.test(href)) { a.hidden = true; return; }
      a.setAttribute('download', stem + p[1]);
    });
    var theme = $('gv-theme');
    if (theme) {
      var modes = ['auto', 'light', 'dark'];
      var labels = { auto: ['◐ Auto', 'follow the system'], light: ['☀ Light', 'light'], dark: ['☾ Dark', 'dark'] };
      var cur = 'auto';
      try { cur = localStorage.getItem('gradviz-theme') || 'auto'; } catch (err) { cur = 'auto'; }
      if (modes.indexOf(cur) < 0) cur = 'auto';
      var apply = function () {
        if (cur === 'auto') document.documentElement.removeAttribute('data-theme');
        else document.documentElement.setAttribute('data-theme', cur);
        theme.textContent = labels[cur][0];
        theme.setAttribute('aria-label', 'Colour theme: ' + labels[cur][1] + ' (click to change)');
      };
      theme.addEventListener('click', function () {
        cur = modes[(modes.indexOf(cur) + 1) % modes.length];
        try { localStorage.setItem('gradviz-theme', cur); } catch (err) { /* file:// may refuse */ }
        apply();
      });
      apply();
    }
  }

  /* A wide drawing (rankdir LR) spans the page with the panels beneath; a tall one sits beside
   * them. */
  function setupLayout() {
    var lay = $('gv-layout');
    if (!lay || !natural.w || !natural.h) return;
    var wide = natural.w / natural.h >= 1.5;
    lay.classList.toggle('wide', wide);
    lay.classList.toggle('tall', !wide);
  }

  /* ---- start -------------------------------------------------------------------------------------- */

  setupHeader();
  setupSvg();
  setupLayout();
  setupSource();
  setupTables();
  setupJacobian();
  setupControls();
  setupMode();
  setupZoom();
  go(-1);

  /* For tests and curious students: window.gradviz.fmt(x, digits) is the label formatter. */
  window.gradviz = {
    fmt: fmtG,
    precision: precision,
    trace: trace,
    go: function (s) { setPlaying(false); go(s); },
    get step() { return state.step; },
    readyStep: readyStep,
    edgeStep: function (id) { var e = edges.get(id); return e ? edgeStep(e) : null; },
    /* 'reverse' or 'forward'; setMode('forward', leafId) replays the forward sweep of a leaf */
    get mode() { return state.mode; },
    get wrt() { return state.wrt; },
    setMode: function (m, leaf) { setMode(m, leaf); },
    /* The forward-mode sweep of a leaf as this page computes it: {steps: [node ids],
     * node: {id: tangent}, edge: {id: tangent}}; and where it differs from the trace's own
     * forward_mode (null without one, [] when they agree). */
    tangents: function (leaf) {
      if (leafIds.indexOf(leaf) < 0) return null;
      var sw = sweep(leaf), nd = {}, ed = {};
      sw.tan.forEach(function (v, k) { nd[k] = v; });
      (trace.edges || []).forEach(function (e) { ed[e.id] = edgeTan(sw, e.id); });
      return { steps: sw.steps.slice(), node: nd, edge: ed };
    },
    get sweepMismatch() { return sweepMismatch; }
  };
})();
