/* dotgraph: the annotated drawing, built with cgraph.
 *
 * Look (SPEC §5, after shared/look/fanout-sketch.dot). Leaves are rounded boxes: a small kind
 * tag, "name = value", and "∂L/∂name = gradient" beneath (const leaves grey, no gradient). Op
 * nodes are ellipses: the operator symbol, "name = value" (or just the value), the gradient.
 * The primary output has a double border and a light fill. Each edge label reads, top to
 * bottom, the forward value (green), the local derivative (grey, with its rule when the rule
 * is short: "∂ = y = −0.5") and, after an arrow pointing back, the gradient contribution (red).
 * dot always puts an edge label wholly on one side of its edge, so "values over, gradients
 * under" becomes "value first, gradient last, next to the edge", with a light line (dot's
 * `decorate`) tying the label to its edge; xlabels and head/tail labels were tried and land on
 * other edges.
 *
 * Dense graphs (see "layout cost" below: many edges spanning many ranks, as when x feeds every
 * step of a long chain) are drawn in a cheaper style that dot lays out in a fraction of the
 * time: straight edges, node positions left at dot's first feasible placement, and the labels
 * of edges that span several ranks as external labels (xlabel) on a white ground at their
 * edge's middle. Graphs too dense even for that are refused (dotgraph_layout_ok).
 *
 * Fan-out nodes get a purple border and their sum over paths "∂L/∂x = a + b = c". Nodes the
 * primary output does not depend on are grey; non-finite values get a red dashed border and a
 * ⚠ line. In a --steps frame the active node and its in-edges are amber, the numbers computed
 * in the step have an amber background, gradients not yet computed read "?", and the panel
 * above the graph writes the step's chain-rule products out with numbers. Frames are laid out
 * at the final drawing's positions (DotPins), so they line up as slides.
 *
 * Forward mode (issue 5, DotOpts.jac->tangents): each node gains its tangent ∂v/∂x and each
 * edge the tangent flowing along it, in blue, with the arrow pointing along the rank
 * direction. Forward frames hide the gradients, grey what does not depend on x, show tangents
 * not yet computed as "?", and write ∂v/∂x = Σ ∂v/∂u · ∂u/∂x out with numbers. The Jacobian
 * table (and with --via J_f · J_g = J_h) is a node of its own after the outputs.
 *
 * Labels are HTML-like; cell ids (see dotgraph.h) let the HTML report rewrite numbers in the
 * SVG. Every text is DejaVu Sans, the font the PDF embeds. */
#include "dotgraph.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "strconv.h"

/* Longest rule (in characters) written on an edge: "∂ = cos(x) = 0.07074". Longer rules, like
 * σ(z)(1 − σ(z)), would widen every edge label; the --steps panel always shows them. */
#define EDGE_RULE_MAX 10
/* Longest expression written for an unnamed node in a formula: "∂L/∂(w1·x1)". Deeper
 * operands become "…". */
#define EXPR_MAX 30

typedef struct Ctx {
    const Trace *t;
    const Graph *g;
    const DotOpts *o;
    Agraph_t *ag;
    Buf b;             /* the label being built */
    bool final;        /* the finished pass, not a frame */
    uint32_t frame;    /* the step shown, if !final */
    uint32_t active;   /* the node of that step; UINT32_MAX if final */
    const char *L;     /* name of the primary output */
    const char *back;  /* the arrow gradients flow along: against the rank direction */
    char alias[8];     /* a frame's name for an unnamed active node ("u"), or "" */
    /* issue 5: the forward-mode sweep and the Jacobian */
    const JacResults *jr; /* o->jac, or NULL */
    const TangentSweep *ts; /* tangents drawn (the finished drawing, forward frames), or NULL */
    bool fwd;          /* a forward-mode frame: frame indexes ts->steps */
    uint32_t *fstep;   /* with ts: node -> its index in ts->steps, UINT32_MAX if none; owned */
    const char *X;     /* name of ts->leaf */
    const char *ahead; /* the arrow tangents flow along: with the rank direction */
    const uint32_t *rank; /* the estimated dot rank of each node (layout cost); owned by dotgraph_build */
    bool dense;        /* the dense style (DotCost.dense) */
} Ctx;

/* ---- cgraph wrappers: cgraph takes char * everywhere; the casts live here. ---- */

static void set(void *obj, const char *key, const char *value)
{
    agsafeset(obj, (char *)key, (char *)value, "");
}

/* Sets an HTML-like label. Spaces that open a text run (right after a tag) become no-break
 * spaces: Graphviz places every run of a line at its own x in SVG, and browsers drop a
 * <text>'s leading spaces, which would glue "x1" to "= 0.5". */
static void set_html(Ctx *c, void *obj, const char *key, const char *html)
{
    Buf fixed = {0};
    const char *p = html;
    for (const char *q; (q = strstr(p, "> ")) != NULL; p = q) {
        buf_append(&fixed, p, (size_t)(q - p) + 1);
        for (q++; *q == ' '; q++)
            buf_puts(&fixed, "&#160;");
    }
    buf_puts(&fixed, p);
    c->b.oom |= fixed.oom;
    char *s = agstrdup_html(c->ag, fixed.data ? fixed.data : (char *)"");
    agsafeset(obj, (char *)key, s, "");
    agstrfree(c->ag, s);
    buf_free(&fixed);
}

/* ---- text ---- */

/* Appends s with the characters that mean something in an HTML-like label escaped. */
static void put_esc(Buf *b, const char *s) { strconv_put_dot_html(b, s); }

static void put_num(Ctx *c, Buf *b, double v)
{
    char num[FMT_NUM_MAX];
    buf_puts(b, fmt_num(num, v, c->o->precision));
}

/* Characters (code points) in a UTF-8 string. */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* A literal operand as written in an expression: negative ones in parentheses. */
static void put_lit(Ctx *c, Buf *b, double v)
{
    if (v < 0)
        buf_puts(b, "(");
    put_num(c, b, v);
    if (v < 0)
        buf_puts(b, ")");
}

/* Precedence of node id in a written expression: 1 + −, 2 · /, 3 unary −, 4 ^, 5 an atom (a
 * name or a function call). A named node is written by its name unless `expand`. */
static int expr_prec(const Graph *g, uint32_t id, bool expand)
{
    const Node *n = &g->nodes[id];
    if (n->kind != NODE_OP || (n->name && !expand))
        return 5;
    switch ((Op)n->op) {
    case OP_ADD: case OP_SUB: return 1;
    case OP_MUL: case OP_DIV: return 2;
    case OP_NEG: return 3;
    case OP_POW: return 4;
    default: return 5;
    }
}

static void put_expr(Ctx *c, Buf *b, uint32_t id, int depth, bool expand);

/* Operand `slot` of op node n (precedence pp) inside an expression. */
static void put_operand(Ctx *c, Buf *b, const Node *n, int slot, int depth, int pp, bool infix)
{
    if (n->args[slot].is_lit) {
        put_lit(c, b, graph_lit(c->g, n, slot));
        return;
    }
    uint32_t from = c->g->edges[n->args[slot].ref].from;
    int cp = expr_prec(c->g, from, false);
    bool paren = false;
    if (infix && pp == 3) /* unary minus */
        paren = cp <= 3;
    else if (infix)
        paren = cp < pp || (cp == pp && (slot == 1) != (n->op == OP_POW)) || (cp == 3 && (slot == 1 || pp > 1));
    if (paren)
        buf_puts(b, "(");
    put_expr(c, b, from, depth, false);
    if (paren)
        buf_puts(b, ")");
}

/* Writes node id as an expression over named nodes and literals: "w1·x1 + w2·x2",
 * "(y − target)²", "σ(z)". Operands deeper than `depth` are "…". */
static void put_expr(Ctx *c, Buf *b, uint32_t id, int depth, bool expand)
{
    const Graph *g = c->g;
    const Node *n = &g->nodes[id];
    if (n->kind != NODE_OP || (n->name && !expand)) {
        buf_puts(b, n->name);
        return;
    }
    if (depth <= 0) {
        buf_puts(b, "…");
        return;
    }
    Op op = (Op)n->op;
    int pp = expr_prec(g, id, true);
    switch (op) {
    case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV: case OP_POW: {
        put_operand(c, b, n, 0, depth - 1, pp, true);
        if (op == OP_POW && n->args[1].is_lit && (graph_lit(g, n, 1) == 2 || graph_lit(g, n, 1) == 3)) {
            buf_puts(b, graph_lit(g, n, 1) == 2 ? "²" : "³");
            return;
        }
        static const char *const infix[] = {[OP_ADD] = " + ", [OP_SUB] = " − ", [OP_MUL] = "·",
                                            [OP_DIV] = "/", [OP_POW] = "^"};
        buf_puts(b, infix[op]);
        put_operand(c, b, n, 1, depth - 1, pp, true);
        return;
    }
    case OP_NEG:
        buf_puts(b, "−");
        put_operand(c, b, n, 0, depth - 1, pp, true);
        return;
    case OP_SQRT:
        buf_puts(b, "√");
        put_operand(c, b, n, 0, depth - 1, 4, true);
        return;
    case OP_ABS:
        buf_puts(b, "|");
        put_operand(c, b, n, 0, depth - 1, 0, false);
        buf_puts(b, "|");
        return;
    default:
        buf_puts(b, op_info(op)->symbol);
        buf_puts(b, "(");
        for (int i = 0; i < n->nargs; i++) {
            if (i)
                buf_puts(b, ", ");
            put_operand(c, b, n, i, depth - 1, 0, false);
        }
        buf_puts(b, ")");
    }
}

/* The expression of node id, cut to about EXPR_MAX characters by writing deep operands as
 * "…". Appended (unescaped) to b. */
static void put_short_expr(Ctx *c, Buf *b, uint32_t id, bool expand)
{
    static const int depths[] = {8, 4, 3, 2, 1};
    for (size_t i = 0; i < sizeof depths / sizeof depths[0]; i++) {
        Buf e = {0};
        put_expr(c, &e, id, depths[i], expand);
        bool fits = !e.data || utf8_chars(e.data) <= EXPR_MAX || depths[i] == 1;
        if (fits && e.data)
            buf_puts(b, e.data);
        b->oom |= e.oom;
        buf_free(&e);
        if (fits)
            return;
    }
}

/* How node id is called after a ∂: its name, or its expression in parentheses. Unescaped. */
static void put_dname(Ctx *c, Buf *b, uint32_t id)
{
    const Node *n = &c->g->nodes[id];
    if (n->name || (id == c->active && c->alias[0])) {
        buf_puts(b, n->name ? n->name : c->alias);
        return;
    }
    buf_puts(b, "(");
    put_short_expr(c, b, id, false);
    buf_puts(b, ")");
}

/* "∂num/∂den" with both names escaped, into the label. */
static void put_partial(Ctx *c, uint32_t num, uint32_t den)
{
    Buf nm = {0};
    buf_puts(&nm, "∂");
    if (num == c->t->primary)
        buf_puts(&nm, c->L);
    else
        put_dname(c, &nm, num);
    buf_puts(&nm, "/∂");
    put_dname(c, &nm, den);
    if (nm.data)
        put_esc(&c->b, nm.data);
    c->b.oom |= nm.oom;
    buf_free(&nm);
}

/* Operand `slot` of node n as it appears in a rule: names and atoms bare, other expressions
 * and negative literals in parentheses. `brief`: at most two levels of an unnamed operation,
 * deeper ones "…" (edge labels drop such rules, and a million-edge DOT file must not spend
 * its time printing expressions). */
static void put_rule_operand(Ctx *c, Buf *b, const Node *n, int slot, bool brief, bool enclosed)
{
    if (n->args[slot].is_lit) {
        put_lit(c, b, graph_lit(c->g, n, slot));
        return;
    }
    uint32_t from = c->g->edges[n->args[slot].ref].from;
    bool paren = !enclosed && expr_prec(c->g, from, false) < 5;
    if (paren)
        buf_puts(b, "(");
    if (brief)
        put_expr(c, b, from, 2, false);
    else
        put_short_expr(c, b, from, false);
    if (paren)
        buf_puts(b, ")");
}

/* The right-hand side of the local-derivative rule of node id for operand `slot`, with the
 * rule's a and b replaced by the operands as written: "x1" for ∂(a·b)/∂b = a in w1*x1.
 * Appended unescaped to b. */
static void put_rule_rhs(Ctx *c, Buf *b, uint32_t id, uint32_t slot, bool brief)
{
    const Node *n = &c->g->nodes[id];
    if (n->op == OP_POW && slot == 0 && n->args[1].is_lit) {
        double k = graph_lit(c->g, n, 1);
        if (k == 2 || k == 3) { /* b·a^(b−1) with b = 2 or 3: "2·x", "3·x²" */
            buf_puts(b, k == 2 ? "2·" : "3·");
            put_rule_operand(c, b, n, 0, brief, false);
            if (k == 3)
                buf_puts(b, "²");
            return;
        }
    }
    const char *rule = op_info((Op)n->op)->rule[slot];
    const char *rhs = rule ? strstr(rule, " = ") : NULL;
    if (!rhs)
        return;
    for (const char *p = rhs + 3; *p; p++) {
        bool letter_before = p > rhs + 3 && ((p[-1] | 0x20) >= 'a' && (p[-1] | 0x20) <= 'z');
        bool letter_after = (p[1] | 0x20) >= 'a' && (p[1] | 0x20) <= 'z';
        if ((*p == 'a' || *p == 'b') && !letter_before && !letter_after && *p - 'a' < n->nargs)
            put_rule_operand(c, b, n, *p - 'a', brief, p[-1] == '(' && p[1] == ')');
        else
            buf_append(b, p, 1);
    }
}

/* ---- what a frame knows ---- */

/* Node n depends on the sweep's leaf (its tangent is not 0 by construction). */
static bool depends(const Ctx *c, uint32_t n)
{
    return n == c->ts->leaf || c->fstep[n] != UINT32_MAX;
}

/* Node n's tangent is known in this frame: always in the finished drawing; in a forward
 * frame once its step is done (0 from the start for a node that does not depend on the leaf). */
static bool tan_known(const Ctx *c, uint32_t n)
{
    return !c->fwd || c->fstep[n] == UINT32_MAX || c->fstep[n] <= c->frame;
}

static bool is_output(const Ctx *c, uint32_t n)
{
    for (uint32_t i = 0; i < c->g->noutputs; i++)
        if (c->g->outputs[i] == n)
            return true;
    return false;
}

/* Greyed out: backward (and the finished drawing), a node the primary output does not depend
 * on; forward frames, a node that does not depend on the sweep's leaf. Never const leaves,
 * which have their own look. */
static bool node_muted(const Ctx *c, uint32_t n)
{
    if (c->g->nodes[n].kind == NODE_CONST)
        return false;
    return c->fwd ? !depends(c, n) : !c->t->reach[n];
}

static bool edge_muted(const Ctx *c, uint32_t e)
{
    const Edge *ed = &c->g->edges[e];
    return c->fwd ? !depends(c, ed->from) : !c->t->reach[ed->to];
}

static bool grad_known(const Ctx *c, uint32_t n)
{
    return c->final || trace_grad_ready(c->t, n) <= c->frame;
}

static bool edge_known(const Ctx *c, uint32_t e)
{
    uint32_t to = c->g->edges[e].to;
    return c->final || !c->t->reach[to] || c->t->bwd_step[to] <= c->frame;
}

/* The contribution along e was computed in this frame's step. */
static bool edge_new(const Ctx *c, uint32_t e)
{
    return !c->final && c->g->edges[e].to == c->active;
}

/* Node n received a contribution in this frame's step. */
static bool node_new(const Ctx *c, uint32_t n)
{
    if (c->final)
        return false;
    const Node *a = &c->g->nodes[c->active];
    for (uint32_t e = a->in_first; e < a->in_first + a->nedges; e++)
        if (c->g->edges[e].from == n)
            return true;
    return false;
}

/* A fan-out node, marked as one: gradients from its out-edges add. Forward frames show no
 * gradients, so no fan-out marks either. */
static bool is_fanout(const Ctx *c, uint32_t n)
{
    return !c->fwd && graph_out_count(c->g, n) >= 2 && c->g->nodes[n].kind != NODE_CONST;
}

static bool node_nonfinite(const Trace *t, uint32_t n)
{
    return !isfinite(t->value[n]) || (t->g->nodes[n].kind != NODE_CONST && !isfinite(t->grad[n]));
}

static bool edge_nonfinite(const Trace *t, uint32_t e)
{
    const Edge *ed = &t->g->edges[e];
    return !isfinite(t->value[ed->from]) || !isfinite(t->local[e]) ||
           (t->g->nodes[ed->from].kind != NODE_CONST && !isfinite(t->egrad[e]));
}

/* ---- label cells ---- */

/* Node labels are two-column tables (name | "= value" on the value line, so that the report's
 * value toggle hides the value but not the name); every other row spans both columns. */
#define ROW "<tr><td colspan=\"2\">"

/* Opens a row and a cell with an id ("n5-grad") the HTML report can find in the SVG. Node
 * cells span both columns; edge labels have one. */
static void cell_open(Ctx *c, char kind, uint32_t id, const char *part, bool fresh)
{
    /* the id first: tests find cells by `<td id="..."` */
    buf_printf(&c->b, "<tr><td id=\"%c%u-%s\"%s", kind, id, part, kind == 'n' ? " colspan=\"2\"" : "");
    if (c->o->cell_anchors)
        buf_printf(&c->b, " href=\"#%c%u-%s\"", kind, id, part);
    if (fresh)
        buf_puts(&c->b, " bgcolor=\"" COLOR_NEW_FILL "\"");
    buf_puts(&c->b, ">");
}

static void put_unknown(Ctx *c)
{
    buf_puts(&c->b, "<font color=\"" COLOR_MUTED "\">?</font>");
}

/* A small grey line of text (kind tags, notes). */
static void put_tag_row(Ctx *c, const char *color, const char *text)
{
    buf_printf(&c->b, ROW "<font point-size=\"9\" color=\"%s\">", color);
    put_esc(&c->b, text);
    buf_puts(&c->b, "</font></td></tr>");
}

static void put_nonfinite_row(Ctx *c, uint32_t id)
{
    const Trace *t = c->t;
    const char *what = !isfinite(t->value[id]) ? "value" : "gradient";
    double v = !isfinite(t->value[id]) ? t->value[id] : t->grad[id];
    char num[FMT_NUM_MAX];
    buf_printf(&c->b, ROW "<font point-size=\"10\" color=\"" COLOR_GRAD "\"><b>⚠ %s is %s</b></font></td></tr>",
               what, fmt_num(num, v, c->o->precision));
}

/* The value line: the name (bold, its own cell) and the value cell "= value", or the value
 * cell alone. The number is the cell's last run. */
static void put_val_cell(Ctx *c, uint32_t id, bool muted)
{
    const Node *n = &c->g->nodes[id];
    const char *text = muted ? COLOR_MUTED : COLOR_TEXT;
    if (n->name) {
        buf_printf(&c->b, "<tr><td align=\"right\"><font color=\"%s\"><b>", text);
        put_esc(&c->b, n->name);
        buf_printf(&c->b, "</b></font></td><td id=\"n%u-val\" align=\"left\"", id);
        if (c->o->cell_anchors)
            buf_printf(&c->b, " href=\"#n%u-val\"", id);
        buf_printf(&c->b, "><font color=\"%s\">&#8201;= </font>", text); /* thin space: the cell gap adds the rest */
    } else {
        cell_open(c, 'n', id, "val", false);
    }
    buf_printf(&c->b, "<font color=\"%s\">", muted ? COLOR_MUTED : COLOR_VALUE);
    put_num(c, &c->b, c->t->value[id]);
    buf_puts(&c->b, "</font></td></tr>");
}

/* The rest of a gradient or tangent cell, in `color`: "∂num/∂den = v" (names escaped; the
 * "∂num/∂den = " only when num is given, v only when known, "?" until it is), and the cell's
 * end. */
static void put_value_rest(Ctx *c, const char *color, const char *num, const char *den, bool known, double v)
{
    if (num || known) {
        buf_printf(&c->b, "<font color=\"%s\">", color);
        if (num) {
            buf_puts(&c->b, "∂");
            put_esc(&c->b, num);
            buf_puts(&c->b, "/∂");
            put_esc(&c->b, den);
            buf_puts(&c->b, " = ");
        }
        if (known)
            put_num(c, &c->b, v);
        buf_puts(&c->b, "</font>");
    }
    if (!known)
        put_unknown(c);
    buf_puts(&c->b, "</td></tr>");
}

/* The gradient cell: "∂L/∂name = g" for a leaf (the answer a student looks for), the bare
 * number for an op node (its name is on the value line; the colour says what it is) except
 * the primary output's "∂L/∂L = 1"; "?" until known. */
static void put_grad_cell(Ctx *c, uint32_t id, bool muted)
{
    const Node *n = &c->g->nodes[id];
    bool known = grad_known(c, id);
    bool named = n->name && (node_is_leaf(n) || id == c->t->primary);
    cell_open(c, 'n', id, "grad", known && node_new(c, id));
    put_value_rest(c, muted ? COLOR_MUTED : COLOR_GRAD, named ? c->L : NULL, n->name, known, c->t->grad[id]);
}

/* A fan-out node's sum over paths, one run: "∂L/∂x = a + (−b) + ? = ?". Terms in out-edge
 * order (the order of the trace's fanout.terms). */
static void put_sum_cell(Ctx *c, uint32_t id, bool muted)
{
    const Trace *t = c->t;
    const Graph *g = c->g;
    cell_open(c, 'n', id, "sum", node_new(c, id));
    buf_printf(&c->b, "<font color=\"%s\">∂%s/∂", muted ? COLOR_MUTED : COLOR_GRAD, c->L);
    put_esc(&c->b, g->nodes[id].name ? g->nodes[id].name : "·");
    buf_puts(&c->b, " = ");
    for (uint32_t k = g->out_first[id]; k < g->out_first[id + 1]; k++) {
        uint32_t e = g->out_edges[k];
        if (k > g->out_first[id])
            buf_puts(&c->b, " + ");
        if (!edge_known(c, e))
            buf_puts(&c->b, "?");
        else if (k > g->out_first[id])
            put_lit(c, &c->b, t->egrad[e]);
        else
            put_num(c, &c->b, t->egrad[e]);
    }
    buf_puts(&c->b, " = ");
    if (grad_known(c, id))
        put_num(c, &c->b, t->grad[id]);
    else
        buf_puts(&c->b, "?");
    buf_puts(&c->b, "</font></td></tr>");
}

/* Gradient line(s) of a node, and the fan-out note. */
static void put_grad_rows(Ctx *c, uint32_t id, bool muted)
{
    if (is_fanout(c, id) && id != c->t->primary) {
        put_sum_cell(c, id, muted);
        char note[64];
        snprintf(note, sizeof note, "fan-out: %u paths, gradients add", graph_out_count(c->g, id));
        put_tag_row(c, muted ? COLOR_MUTED : COLOR_FANOUT, note);
    } else {
        put_grad_cell(c, id, muted);
    }
}

/* The tangent cell (forward mode): "∂name/∂x = t" where the sweep starts (the leaves: 1 for its
 * leaf, 0 for the others) and where it ends (the outputs, whose tangents are a column of the
 * Jacobian), the bare number elsewhere, mirroring the gradient cells; "?" until known. */
static void put_tan_cell(Ctx *c, uint32_t id)
{
    const Node *n = &c->g->nodes[id];
    bool known = tan_known(c, id);
    bool named = n->name && (node_is_leaf(n) || is_output(c, id));
    cell_open(c, 'n', id, "tan", known && c->fwd && id == c->active);
    put_value_rest(c, depends(c, id) ? COLOR_TANGENT : COLOR_MUTED, named ? n->name : NULL, c->X, known,
                   c->ts->node[id]);
}

/* ---- nodes ---- */

static void set_node_style(Ctx *c, Agnode_t *an, uint32_t id)
{
    const Trace *t = c->t;
    const Node *n = &c->g->nodes[id];
    bool leaf = node_is_leaf(n);
    bool bad = node_nonfinite(t, id);
    bool active = id == c->active;
    const char *color = COLOR_TEXT, *fill = NULL, *pen = "1.2";
    if (n->kind == NODE_PARAM)
        color = COLOR_PARAM;
    if (n->kind == NODE_CONST) {
        color = COLOR_MUTED;
        fill = COLOR_CONST;
    }
    if (id == t->primary) {
        fill = COLOR_OUTPUT_FILL;
        pen = "1.5";
    }
    if (node_muted(c, id))
        color = COLOR_MUTED;
    if (is_fanout(c, id) && t->reach[id]) {
        color = COLOR_FANOUT;
        pen = "2.2";
    }
    if (bad) {
        color = COLOR_GRAD;
        fill = COLOR_BAD_FILL;
        pen = "2";
    }
    if (active) {
        color = COLOR_ACTIVE;
        fill = COLOR_ACTIVE_FILL;
        pen = "3";
    }
    char style[48];
    snprintf(style, sizeof style, "%s%s%s", leaf ? "rounded," : "", fill ? "filled," : "", bad ? "dashed," : "");
    size_t sl = strlen(style);
    if (sl)
        style[sl - 1] = '\0';
    set(an, "shape", leaf ? "box" : "ellipse");
    if (style[0])
        set(an, "style", style);
    set(an, "color", color);
    if (fill)
        set(an, "fillcolor", fill);
    set(an, "penwidth", pen);
    if (id == t->primary)
        set(an, "peripheries", "2");
    if (!leaf)
        set(an, "margin", "0.05,0.03");
}

/* The rows below a node's heading — value, then gradient (backward frames) and tangent
 * (forward mode), which a constant has neither of — and the end of its label and its style. */
static void end_node(Ctx *c, Agnode_t *an, uint32_t id, bool muted)
{
    bool cnst = c->g->nodes[id].kind == NODE_CONST;
    put_val_cell(c, id, muted);
    if (!cnst && !c->fwd)
        put_grad_rows(c, id, muted);
    if (!cnst && c->ts)
        put_tan_cell(c, id);
    buf_puts(&c->b, "</table>");
    set_html(c, an, "label", c->b.data ? c->b.data : "");
    set_node_style(c, an, id);
}

static void build_leaf(Ctx *c, Agnode_t *an, uint32_t id)
{
    const Trace *t = c->t;
    const Node *n = &c->g->nodes[id];
    bool muted = node_muted(c, id);
    c->b.len = 0;
    buf_puts(&c->b, "<table border=\"0\" cellborder=\"0\" cellspacing=\"0\" cellpadding=\"1\">");
    if (node_nonfinite(t, id))
        put_nonfinite_row(c, id);
    char tag[64];
    /* a forward frame greys the leaves other than the sweep's, without a note: their tangent
     * cell says ∂x2/∂x1 = 0 */
    snprintf(tag, sizeof tag, "%s%s",
             n->kind == NODE_CONST ? (c->fwd ? "const" : "const · no gradient") : node_kind_name((NodeKind)n->kind),
             muted && !c->fwd ? " · not used by " : c->fwd && id == c->ts->leaf ? " · the sweep starts here" : "");
    if (muted && !c->fwd) {
        size_t l = strlen(tag);
        snprintf(tag + l, sizeof tag - l, "%s", c->L);
    }
    put_tag_row(c, n->kind == NODE_PARAM && !muted ? COLOR_PARAM : COLOR_LOCAL, tag);
    end_node(c, an, id, muted);
}

static void build_op(Ctx *c, Agnode_t *an, uint32_t id)
{
    const Trace *t = c->t;
    const Graph *g = c->g;
    bool muted = node_muted(c, id);
    bool output = is_output(c, id);
    c->b.len = 0;
    buf_puts(&c->b, "<table border=\"0\" cellborder=\"0\" cellspacing=\"0\" cellpadding=\"1\">");
    if (node_nonfinite(t, id))
        put_nonfinite_row(c, id);
    if (output || muted) {
        char tag[64];
        snprintf(tag, sizeof tag, "%s%s%s", output ? "output" : "", output && muted ? " · " : "",
                 muted ? (c->fwd ? "does not depend on " : "not used by ") : "");
        if (muted) {
            size_t l = strlen(tag);
            snprintf(tag + l, sizeof tag - l, "%s", c->fwd ? c->X : c->L);
        }
        put_tag_row(c, COLOR_LOCAL, tag);
    }
    Buf sym = {0};
    fmt_node_symbol(&sym, g, id, c->o->precision);
    buf_printf(&c->b, ROW "<font point-size=\"17\" color=\"%s\">", muted ? COLOR_MUTED : COLOR_TEXT);
    put_esc(&c->b, sym.data ? sym.data : "?");
    buf_puts(&c->b, "</font></td></tr>");
    c->b.oom |= sym.oom;
    buf_free(&sym);
    end_node(c, an, id, muted);
}

/* ---- edges ---- */

static void build_edge(Ctx *c, Agedge_t *ae, uint32_t e)
{
    const Trace *t = c->t;
    const Edge *ed = &c->g->edges[e];
    bool from_const = c->g->nodes[ed->from].kind == NODE_CONST;
    bool muted = edge_muted(c, e);
    /* dense style: a long edge's label is an xlabel, which adds no virtual node to the layout;
     * dot places it at the edge's middle, often on another edge, hence the white ground */
    bool xlabel = c->dense && c->rank[ed->to] - c->rank[ed->from] > 1;
    char num[FMT_NUM_MAX];
    c->b.len = 0;
    buf_printf(&c->b, "<table border=\"0\" cellborder=\"0\" cellspacing=\"0\" cellpadding=\"0\"%s>",
               xlabel ? " bgcolor=\"white\"" : "");
    cell_open(c, 'e', e, "val", false);
    buf_printf(&c->b, "<font color=\"%s\">", muted ? COLOR_MUTED : COLOR_VALUE);
    put_num(c, &c->b, t->value[ed->from]);
    buf_puts(&c->b, "</font></td></tr>");

    cell_open(c, 'e', e, "local", false);
    buf_puts(&c->b, "<font point-size=\"9\" color=\"" COLOR_LOCAL "\">∂ = ");
    Buf rule = {0};
    put_rule_rhs(c, &rule, ed->to, ed->slot, true);
    fmt_num(num, t->local[e], c->o->precision);
    if (rule.data && strcmp(rule.data, num) != 0 && utf8_chars(rule.data) <= EDGE_RULE_MAX && !strstr(rule.data, "…")) {
        put_esc(&c->b, rule.data);
        buf_puts(&c->b, " = ");
    }
    c->b.oom |= rule.oom;
    buf_free(&rule);
    buf_puts(&c->b, num);
    buf_puts(&c->b, "</font></td></tr>");

    if (!from_const && !c->fwd) {
        bool known = edge_known(c, e);
        cell_open(c, 'e', e, "grad", known && edge_new(c, e));
        const char *col = muted ? COLOR_MUTED : COLOR_GRAD;
        buf_printf(&c->b, "<font point-size=\"9\" color=\"%s\">%s </font>", col, c->back);
        if (known) {
            buf_printf(&c->b, "<font color=\"%s\">", col);
            put_num(c, &c->b, t->egrad[e]);
            buf_puts(&c->b, "</font>");
        } else {
            put_unknown(c);
        }
        buf_puts(&c->b, "</td></tr>");
    }
    if (c->ts) {
        /* the tangent is computed at the consumer's step, as the consumer's tangent sums them */
        bool known = tan_known(c, ed->to);
        cell_open(c, 'e', e, "tan", known && ed->to == c->active);
        const char *col = depends(c, ed->from) ? COLOR_TANGENT : COLOR_MUTED;
        buf_printf(&c->b, "<font point-size=\"9\" color=\"%s\">%s </font>", col, c->ahead);
        if (known) {
            buf_printf(&c->b, "<font color=\"%s\">", col);
            put_num(c, &c->b, c->ts->edge[e]);
            buf_puts(&c->b, "</font>");
        } else {
            put_unknown(c);
        }
        buf_puts(&c->b, "</td></tr>");
    }
    buf_puts(&c->b, "</table>");
    set_html(c, ae, xlabel ? "xlabel" : "label", c->b.data ? c->b.data : "");

    if (edge_nonfinite(t, e)) {
        set(ae, "color", COLOR_GRAD);
        set(ae, "style", "dashed");
    } else if (muted) {
        set(ae, "color", COLOR_MUTED_EDGE);
    } else if (from_const) {
        set(ae, "color", COLOR_MUTED);
    }
    if (ed->to == c->active) {
        set(ae, "color", COLOR_ACTIVE);
        set(ae, "penwidth", "2.5");
    }
}

/* ---- the panel above the graph: title, step, legend ----
 * One text line per table row: Graphviz stretches a table nested in a wider cell across it,
 * which spreads columns apart, so the panel has no nested tables. */

/* Starts a panel line of `size` points. */
static void line_open(Ctx *c, int size)
{
    buf_printf(&c->b, "<tr><td><font point-size=\"%d\" color=\"" COLOR_TEXT "\">", size);
}
#define LINE_END "</font></td></tr>"

/* A legend item: a coloured sample, then the words. Separated from the previous one. */
static void legend_item(Ctx *c, bool *first, const char *sample_color, const char *sample, const char *words)
{
    if (!*first)
        buf_puts(&c->b, "      ");
    *first = false;
    buf_printf(&c->b, "<font color=\"%s\">%s</font> ", sample_color, sample);
    put_esc(&c->b, words);
}

static void put_legend(Ctx *c)
{
    const Trace *t = c->t;
    const Graph *g = c->g;
    bool fan = false, consts = false, unused = false, bad = t->nonfinite > 0, first = true;
    for (uint32_t i = 0; i < g->nnodes; i++) {
        fan |= is_fanout(c, i) && t->reach[i];
        consts |= g->nodes[i].kind == NODE_CONST;
        unused |= node_muted(c, i) && (!c->fwd || !node_is_leaf(&g->nodes[i]));
    }
    char s[160], arrow[32];
    line_open(c, 11);
    legend_item(c, &first, COLOR_VALUE, "0.5", "value (forward)");
    legend_item(c, &first, COLOR_LOCAL, "∂ = 0.3", "local derivative ∂out/∂in");
    if (!c->fwd) {
        snprintf(arrow, sizeof arrow, "%s −0.1", c->back);
        snprintf(s, sizeof s, "gradient ∂%s/∂· (backward)", c->L);
        legend_item(c, &first, COLOR_GRAD, arrow, s);
    }
    if (c->ts) {
        Buf w = {0};
        buf_printf(&w, "tangent ∂·/∂%s (forward mode)", c->X);
        snprintf(arrow, sizeof arrow, "%s 0.2", c->ahead);
        legend_item(c, &first, COLOR_TANGENT, arrow, w.data ? w.data : "");
        c->b.oom |= w.oom;
        buf_free(&w);
    }
    buf_puts(&c->b, LINE_END);

    first = true;
    line_open(c, 11);
    if (c->fwd) {
        Buf w = {0};
        buf_printf(&w, "∂%s/∂%s = 1 starts the forward sweep; a node's tangent sums its in-edges' tangents",
                   c->X, c->X);
        legend_item(c, &first, COLOR_TANGENT, "1", w.data ? w.data : "");
        c->b.oom |= w.oom;
        buf_free(&w);
    } else {
        snprintf(s, sizeof s, "output: ∂%s/∂%s = 1 starts the backward pass", c->L, c->L);
        legend_item(c, &first, COLOR_TEXT, "◎", s);
    }
    if (fan)
        legend_item(c, &first, COLOR_FANOUT, "<b>▢</b>", "fan-out: gradients from all paths add");
    if (consts)
        legend_item(c, &first, COLOR_MUTED, "▣", c->fwd ? "const: tangent 0" : "const: no gradient");
    if (unused) {
        Buf w = {0};
        if (c->fwd)
            buf_printf(&w, "does not depend on %s: tangent 0", c->X);
        else
            buf_printf(&w, "not used by %s: gradient 0", c->L);
        legend_item(c, &first, COLOR_MUTED, "▢", w.data ? w.data : "");
        c->b.oom |= w.oom;
        buf_free(&w);
    }
    if (bad)
        legend_item(c, &first, COLOR_GRAD, "⚠", "NaN or ∞ (dashed border)");
    if (!c->final) {
        buf_puts(&c->b, LINE_END);
        first = true;
        line_open(c, 11);
        legend_item(c, &first, COLOR_ACTIVE, "●", "this step");
        legend_item(c, &first, COLOR_ACTIVE, "▮", "computed in this step");
        legend_item(c, &first, COLOR_MUTED, "?", "not computed yet");
    }
    buf_puts(&c->b, LINE_END);
}

/* How many of n's out-edges have delivered their contribution once edge e (an in-edge of the
 * active node) has: earlier steps, unreachable consumers (0 from the start), and the active
 * node's edges up to e. */
static uint32_t terms_arrived(const Ctx *c, uint32_t n, uint32_t e)
{
    const Graph *g = c->g;
    uint32_t got = 0;
    for (uint32_t k = g->out_first[n]; k < g->out_first[n + 1]; k++) {
        uint32_t f = g->out_edges[k], to = g->edges[f].to;
        got += !c->t->reach[to] || c->t->bwd_step[to] < c->frame || (to == c->active && f <= e);
    }
    return got;
}

/* "∂L/∂x" for node id, escaped, in the label. */
static void put_dL(Ctx *c, uint32_t id)
{
    Buf nm = {0};
    buf_printf(&nm, "∂%s/∂", c->L);
    if (id == c->t->primary)
        buf_puts(&nm, c->L);
    else
        put_dname(c, &nm, id);
    if (nm.data)
        put_esc(&c->b, nm.data);
    c->b.oom |= nm.oom;
    buf_free(&nm);
}

/* The chain rule along one in-edge e of the active node a, with numbers:
 *   ∂L/∂z = ∂L/∂y · ∂y/∂z = (−0.405)(0.25) = −0.1012      ∂y/∂z = σ(z)(1 − σ(z))
 * A fan-out operand accumulates: "∂L/∂x += …", and the running sum follows. */
static void put_step_edge(Ctx *c, uint32_t a, uint32_t e)
{
    const Trace *t = c->t;
    const Edge *ed = &c->g->edges[e];
    uint32_t from = ed->from;
    line_open(c, 13);
    if (c->g->nodes[from].kind == NODE_CONST) {
        Buf nm = {0};
        put_dname(c, &nm, from);
        buf_puts(&c->b, "<b>");
        put_esc(&c->b, nm.data ? nm.data : "");
        buf_puts(&c->b, "</b> is a constant: it gets no gradient");
        c->b.oom |= nm.oom;
        buf_free(&nm);
        buf_puts(&c->b, LINE_END);
        return;
    }
    bool fan = is_fanout(c, from);
    buf_puts(&c->b, "<font color=\"" COLOR_GRAD "\">");
    put_dL(c, from);
    buf_printf(&c->b, "</font> %s <font color=\"" COLOR_GRAD "\">", fan ? "+=" : "=");
    put_dL(c, a);
    buf_puts(&c->b, "</font> · <font color=\"" COLOR_LOCAL "\">");
    put_partial(c, a, from);
    buf_puts(&c->b, "</font> = (<font color=\"" COLOR_GRAD "\">");
    put_num(c, &c->b, t->grad[a]);
    buf_puts(&c->b, "</font>)(<font color=\"" COLOR_LOCAL "\">");
    put_num(c, &c->b, t->local[e]);
    buf_puts(&c->b, "</font>) = <font color=\"" COLOR_GRAD "\"><b>");
    put_num(c, &c->b, t->egrad[e]);
    buf_puts(&c->b, "</b></font>");
    /* why the local derivative is what it is */
    Buf rule = {0};
    char num[FMT_NUM_MAX];
    put_rule_rhs(c, &rule, a, ed->slot, false);
    if (rule.data && strcmp(rule.data, fmt_num(num, t->local[e], c->o->precision)) != 0) {
        buf_puts(&c->b, "      <font point-size=\"11\" color=\"" COLOR_LOCAL "\">");
        put_partial(c, a, from);
        buf_puts(&c->b, " = ");
        put_esc(&c->b, rule.data);
        buf_puts(&c->b, "</font>");
    }
    c->b.oom |= rule.oom;
    buf_free(&rule);
    /* where the sum over paths stands */
    if (fan) {
        uint32_t got = terms_arrived(c, from, e), all = graph_out_count(c->g, from);
        buf_printf(&c->b, "      <font point-size=\"11\" color=\"" COLOR_FANOUT "\">%s: ",
                   got == all ? "sum complete" : "sum so far");
        put_dL(c, from);
        buf_puts(&c->b, " = ");
        put_num(c, &c->b, t->accum[e]);
        buf_printf(&c->b, " (%u of %u paths)</font>", got, all);
    }
    buf_puts(&c->b, LINE_END);
}

/* The heading of a step frame's panel, in bold: "<dir> step k of n:  name = expression" for
 * the active node (the name, or the alias, when it has one). */
static void put_panel_head(Ctx *c, const char *dir, uint32_t nsteps)
{
    const Node *n = &c->g->nodes[c->active];
    buf_printf(&c->b, "<tr><td><font point-size=\"15\" color=\"" COLOR_ACTIVE "\"><b>%s step %u of %u:  ", dir,
               c->frame + 1, nsteps);
    Buf def = {0};
    if (n->name || c->alias[0]) {
        buf_puts(&def, n->name ? n->name : c->alias);
        buf_puts(&def, " = ");
    }
    put_short_expr(c, &def, c->active, true);
    put_esc(&c->b, def.data ? def.data : "");
    c->b.oom |= def.oom;
    buf_free(&def);
    buf_puts(&c->b, "</b>" LINE_END);
}

/* The frame's step: which node, its gradient, and one chain-rule line per in-edge. Always
 * OP_MAX_ARITY chain lines (blank ones pad) so that every frame's panel has the same height
 * and the frames, pinned to one layout, line up exactly. */
static void put_step_panel(Ctx *c)
{
    const Trace *t = c->t;
    uint32_t a = c->active;
    const Node *n = &c->g->nodes[a];
    put_panel_head(c, "Backward", t->nbwd);
    line_open(c, 13);
    buf_puts(&c->b, "<font color=\"" COLOR_GRAD "\">");
    put_dL(c, a);
    buf_puts(&c->b, " = ");
    put_num(c, &c->b, t->grad[a]);
    if (a == t->primary)
        buf_puts(&c->b, "</font>: the backward pass starts at the output. The chain rule passes it to each input:");
    else
        buf_puts(&c->b, "</font> is complete. The chain rule passes it to each input:");
    buf_puts(&c->b, LINE_END);
    for (uint32_t e = n->in_first; e < n->in_first + n->nedges; e++)
        put_step_edge(c, a, e);
    for (uint32_t k = n->nedges; k < OP_MAX_ARITY; k++) {
        line_open(c, 13);
        buf_puts(&c->b, " " LINE_END);
    }
}

/* "∂num/∂X" (X the sweep's leaf), escaped, in the label: num by name or short expression. */
static void put_dX(Ctx *c, uint32_t num)
{
    Buf nm = {0};
    buf_puts(&nm, "∂");
    put_dname(c, &nm, num);
    buf_printf(&nm, "/∂%s", c->X);
    if (nm.data)
        put_esc(&c->b, nm.data);
    c->b.oom |= nm.oom;
    buf_free(&nm);
}

/* The forward-mode frame's step: which node, and its tangent as the sum over its operands u of
 * ∂v/∂u · ∂u/∂x, symbolically, with numbers, and one line per operand with the local rule.
 * Always 2 + OP_MAX_ARITY lines so that the frames, pinned to one layout, line up. */
static void put_fwd_panel(Ctx *c)
{
    const Trace *t = c->t;
    const TangentSweep *ts = c->ts;
    uint32_t a = c->active;
    const Node *n = &c->g->nodes[a];
    put_panel_head(c, "Forward", ts->nsteps);

    /* the sum over the operands, with a dummy operand name the model does not use */
    static const char *const dummies[] = {"u", "a", "p", "r", "k"};
    const char *u = "u";
    for (size_t i = 0; i < sizeof dummies / sizeof dummies[0]; i++) {
        if (graph_lookup(c->g, dummies[i], strlen(dummies[i])) == UINT32_MAX && strcmp(dummies[i], c->alias) != 0) {
            u = dummies[i];
            break;
        }
    }
    line_open(c, 13);
    buf_puts(&c->b, "<font color=\"" COLOR_TANGENT "\">");
    put_dX(c, a);
    buf_puts(&c->b, "</font> = Σ<font point-size=\"9\">");
    buf_puts(&c->b, u);
    buf_puts(&c->b, "</font> <font color=\"" COLOR_LOCAL "\">∂");
    Buf nm = {0};
    put_dname(c, &nm, a);
    put_esc(&c->b, nm.data ? nm.data : "");
    buf_printf(&c->b, "/∂%s</font> · <font color=\"" COLOR_TANGENT "\">∂%s/∂", u, u);
    put_esc(&c->b, c->X);
    buf_puts(&c->b, "</font> = ");
    for (uint32_t e = n->in_first; e < n->in_first + n->nedges; e++) {
        uint32_t from = c->g->edges[e].from;
        if (e > n->in_first)
            buf_puts(&c->b, " + ");
        buf_puts(&c->b, "(<font color=\"" COLOR_LOCAL "\">");
        put_num(c, &c->b, t->local[e]);
        buf_puts(&c->b, "</font>)(<font color=\"" COLOR_TANGENT "\">");
        put_num(c, &c->b, ts->node[from]);
        buf_puts(&c->b, "</font>)");
    }
    buf_puts(&c->b, " = <font color=\"" COLOR_TANGENT "\"><b>");
    put_num(c, &c->b, ts->node[a]);
    buf_puts(&c->b, "</b></font>" LINE_END);
    c->b.oom |= nm.oom;
    buf_free(&nm);

    /* one line per operand: the local derivative's rule and the operand's tangent */
    char num[FMT_NUM_MAX];
    for (uint32_t e = n->in_first; e < n->in_first + n->nedges; e++) {
        const Edge *ed = &c->g->edges[e];
        uint32_t from = ed->from;
        line_open(c, 12);
        buf_printf(&c->b, "%s = ", u);
        Buf on = {0};
        put_dname(c, &on, from);
        put_esc(&c->b, on.data ? on.data : "");
        c->b.oom |= on.oom;
        buf_free(&on);
        buf_puts(&c->b, ":   <font color=\"" COLOR_LOCAL "\">");
        put_partial(c, a, from);
        Buf rule = {0};
        put_rule_rhs(c, &rule, a, ed->slot, false);
        fmt_num(num, t->local[e], c->o->precision);
        if (rule.data && strcmp(rule.data, num) != 0) {
            buf_puts(&c->b, " = ");
            put_esc(&c->b, rule.data);
        }
        c->b.oom |= rule.oom;
        buf_free(&rule);
        buf_printf(&c->b, " = %s</font>   <font color=\"%s\">", num,
                   depends(c, from) ? COLOR_TANGENT : COLOR_MUTED);
        put_dX(c, from);
        buf_puts(&c->b, " = ");
        put_num(c, &c->b, ts->node[from]);
        if (c->g->nodes[from].kind == NODE_CONST)
            buf_puts(&c->b, " (a constant)");
        else if (!depends(c, from))
            buf_printf(&c->b, " (does not depend on %s)", c->X);
        buf_puts(&c->b, "</font>   → <font color=\"" COLOR_TANGENT "\">");
        put_num(c, &c->b, ts->edge[e]);
        buf_puts(&c->b, "</font>" LINE_END);
    }
    for (uint32_t k = n->nedges; k < OP_MAX_ARITY; k++) {
        line_open(c, 12);
        buf_puts(&c->b, " " LINE_END);
    }
}

static void build_title(Ctx *c)
{
    const Trace *t = c->t;
    const Graph *g = c->g;
    c->b.len = 0;
    buf_puts(&c->b, "<table border=\"0\" cellborder=\"0\" cellspacing=\"0\" cellpadding=\"2\">");
    const char *title = g->title;
    /* an empty or blank title (model "") is no title: Graphviz rejects an empty <b></b> */
    if (title && title[strspn(title, " \t")] == '\0')
        title = NULL;
    if (!title && t->src && t->src->path) {
        const char *slash = strrchr(t->src->path, '/');
        title = slash ? slash + 1 : t->src->path;
    }
    if (title) {
        buf_puts(&c->b, "<tr><td><font point-size=\"20\" color=\"" COLOR_TEXT "\"><b>");
        put_esc(&c->b, title);
        buf_puts(&c->b, "</b></font></td></tr>");
    }
    if (c->fwd) {
        put_fwd_panel(c);
        buf_puts(&c->b, "<tr><td><font point-size=\"5\"> </font></td></tr>");
    } else if (!c->final) {
        put_step_panel(c);
        buf_puts(&c->b, "<tr><td><font point-size=\"5\"> </font></td></tr>");
    }
    put_legend(c);
    buf_puts(&c->b, "<tr><td> </td></tr></table>");
    set_html(c, c->ag, "label", c->b.data ? c->b.data : "");
}

/* ---- the Jacobian table ----
 * One node of its own beside the graph (rank=sink: after the outputs), so that it takes its
 * natural size: a table nested in the graph label would be stretched to the legend's width.
 * Inside, matrices side by side sit in cells of their own width; only the short note lines
 * below them span the table. */

bool dotgraph_draws_jacobian(const Trace *t, const JacResults *jr)
{
    if (!jr || (!jr->jac && !jr->via))
        return false;
    return t->g->noutputs > 1 || jr->mode != SWEEP_REVERSE || jr->via != NULL;
}

/* Whether an r × k matrix is drawn as it is (1), transposed (2), or not at all (0). */
static int mat_fit(uint32_t r, uint32_t k)
{
    if (r <= DOTGRAPH_JAC_MAX_ROWS && k <= DOTGRAPH_JAC_MAX_COLS)
        return 1;
    if (k <= DOTGRAPH_JAC_MAX_ROWS && r <= DOTGRAPH_JAC_MAX_COLS)
        return 2;
    return 0;
}

/* The name of node id, escaped, in a small font: a row name of J (an output) in the gradient's
 * colour when it is hl_row, a column name of J (a leaf) in the tangent's when it is hl_col. */
static void put_mat_name(Ctx *c, uint32_t id, bool j_row, uint32_t hl_row, uint32_t hl_col)
{
    const char *color = j_row ? (id == hl_row ? COLOR_GRAD : COLOR_LOCAL) : (id == hl_col ? COLOR_TANGENT : COLOR_LOCAL);
    Buf nm = {0};
    put_dname(c, &nm, id);
    buf_printf(&c->b, "<font point-size=\"10\" color=\"%s\">", color);
    put_esc(&c->b, nm.data ? nm.data : "");
    buf_puts(&c->b, "</font>");
    c->b.oom |= nm.oom;
    buf_free(&nm);
}

/* Matrix J as a nested table: an optional caption, the column names, one row per matrix row
 * (its name, then the numbers, framed like a matrix). Cells jac-<kind>-<i>-<j> with J's own
 * indices, also when `transpose` draws Jᵀ. The names of row hl_row (the primary output: its
 * row is the gradient drawn at the leaves) and of column hl_col (the sweep's leaf: its column
 * is the tangents drawn at the outputs) are coloured (UINT32_MAX: none). `rows` ≥ the rows
 * drawn: blank rows fill up to it, so matrices side by side have one height and are not
 * stretched. */
static void put_matrix(Ctx *c, const char *caption, const Jacobian *J, char kind, bool transpose, uint32_t hl_row,
                       uint32_t hl_col, uint32_t rows)
{
    uint32_t R = transpose ? J->ncols : J->nrows, K = transpose ? J->nrows : J->ncols;
    buf_puts(&c->b, "<table border=\"0\" cellborder=\"0\" cellspacing=\"0\" cellpadding=\"3\">");
    if (caption)
        buf_printf(&c->b, "<tr><td colspan=\"%u\"><font point-size=\"12\" color=\"" COLOR_TEXT "\">%s</font></td></tr>",
                   K + 1, caption);
    buf_puts(&c->b, "<tr><td></td>");
    for (uint32_t j = 0; j < K; j++) {
        buf_puts(&c->b, "<td>");
        put_mat_name(c, transpose ? J->rows[j] : J->cols[j], transpose, hl_row, hl_col);
        buf_puts(&c->b, "</td>");
    }
    buf_puts(&c->b, "</tr>");
    for (uint32_t i = 0; i < R; i++) {
        buf_puts(&c->b, "<tr><td align=\"right\">");
        put_mat_name(c, transpose ? J->cols[i] : J->rows[i], !transpose, hl_row, hl_col);
        buf_puts(&c->b, "</td>");
        for (uint32_t j = 0; j < K; j++) {
            uint32_t ri = transpose ? j : i, cj = transpose ? i : j;
            char sides[5];
            size_t ns = 0;
            if (j == 0) sides[ns++] = 'L';
            if (j == K - 1) sides[ns++] = 'R';
            if (i == 0) sides[ns++] = 'T';
            if (i == R - 1) sides[ns++] = 'B';
            sides[ns] = '\0';
            buf_printf(&c->b, "<td id=\"jac-%c-%u-%u\"", kind, ri, cj);
            if (c->o->cell_anchors)
                buf_printf(&c->b, " href=\"#jac-%c-%u-%u\"", kind, ri, cj);
            if (ns)
                buf_printf(&c->b, " border=\"1\" sides=\"%s\" color=\"" COLOR_MUTED "\"", sides);
            buf_puts(&c->b, "><font point-size=\"11\" color=\"" COLOR_TEXT "\">");
            put_num(c, &c->b, jac_at(J, ri, cj));
            buf_puts(&c->b, "</font></td>");
        }
        buf_puts(&c->b, "</tr>");
    }
    for (uint32_t i = R; i < rows; i++)
        buf_printf(&c->b, "<tr><td colspan=\"%u\"><font point-size=\"11\"> </font></td></tr>", K + 1);
    buf_puts(&c->b, "</table>");
}

/* A note line under the matrices, spanning the table's `span` columns. Opens the font. */
static void note_open(Ctx *c, uint32_t span, const char *color)
{
    buf_printf(&c->b, "<tr><td colspan=\"%u\"><font point-size=\"10\" color=\"%s\">", span, color);
}

/* "✓ max |difference| 4.4e−16" or "✗ ..." for a comparison of two computations. */
static void put_agreement(Ctx *c, bool agree, double diff)
{
    buf_printf(&c->b, "<font color=\"%s\"><b>%s</b></font>  max |diff| = ", agree ? COLOR_OK : COLOR_GRAD,
               agree ? "✓" : "✗");
    put_num(c, &c->b, diff);
}

/* max(1, max |entry|) over the finite entries: the scale of "agrees to rounding". */
static double jac_scale(const Jacobian *J)
{
    double m = 1;
    for (size_t k = 0; k < (size_t)J->nrows * J->ncols; k++)
        if (isfinite(J->d[k]))
            m = fmax(m, fabs(J->d[k]));
    return m;
}

/* "a, b, c" for node names (for the title), escaped. */
static void put_name_list(Ctx *c, const uint32_t *ids, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            buf_puts(&c->b, ", ");
        Buf nm = {0};
        put_dname(c, &nm, ids[i]);
        put_esc(&c->b, nm.data ? nm.data : "");
        c->b.oom |= nm.oom;
        buf_free(&nm);
    }
}

static void build_jacobian(Ctx *c, Agnode_t *an)
{
    const JacResults *jr = c->jr;
    const ViaResult *via = jr->via;
    const Jacobian *J = jr->jac ? jr->jac : &via->h;
    const TangentSweep *ts = jr->tangents;
    uint32_t hl_row = c->t->primary;
    uint32_t hl_col = ts ? ts->leaf : UINT32_MAX;
    /* with --via the equation J_f · J_g = J_h, when all three fit as they are */
    bool eq = via && mat_fit(via->f.nrows, via->f.ncols) == 1 && mat_fit(via->g.nrows, via->g.ncols) == 1 &&
              mat_fit(J->nrows, J->ncols) == 1;
    int fit = mat_fit(J->nrows, J->ncols);
    uint32_t span = eq ? 5 : 1;
    c->b.len = 0;
    buf_puts(&c->b, "<table border=\"0\" cellborder=\"0\" cellspacing=\"0\" cellpadding=\"2\">");
    buf_printf(&c->b, "<tr><td colspan=\"%u\"><font point-size=\"13\" color=\"" COLOR_TEXT "\"><b>Jacobian</b> ", span);
    if (J->nrows <= 4 && J->ncols <= 4) {
        buf_puts(&c->b, J->nrows > 1 ? "∂(" : "∂");
        put_name_list(c, J->rows, J->nrows);
        buf_puts(&c->b, J->nrows > 1 ? ")" : "");
        buf_puts(&c->b, J->ncols > 1 ? "/∂(" : "/∂");
        put_name_list(c, J->cols, J->ncols);
        buf_puts(&c->b, J->ncols > 1 ? ")" : "");
    } else {
        buf_printf(&c->b, "(%u × %u)", J->nrows, J->ncols);
    }
    buf_puts(&c->b, "</font></td></tr><tr>");
    if (eq) {
        uint32_t rows = via->g.nrows > J->nrows ? via->g.nrows : J->nrows;
        buf_puts(&c->b, "<td valign=\"top\">");
        put_matrix(c, "J<sub>f</sub>", &via->f, 'f', false, UINT32_MAX, UINT32_MAX, rows);
        buf_puts(&c->b, "</td><td><font point-size=\"16\" color=\"" COLOR_TEXT "\">·</font></td><td valign=\"top\">");
        put_matrix(c, "J<sub>g</sub>", &via->g, 'g', false, UINT32_MAX, hl_col, rows);
        buf_puts(&c->b, "</td><td><font point-size=\"16\" color=\"" COLOR_TEXT "\">=</font></td><td valign=\"top\">");
        put_matrix(c, "J<sub>h</sub>", J, 'h', false, hl_row, hl_col, rows);
        buf_puts(&c->b, "</td>");
    } else if (fit) {
        buf_puts(&c->b, "<td>");
        put_matrix(c, fit == 2 ? "transposed: a column per output" : NULL, J, 'h', fit == 2, hl_row, hl_col, 0);
        buf_puts(&c->b, "</td>");
    } else {
        buf_puts(&c->b, "<td><font point-size=\"11\" color=\"" COLOR_LOCAL "\">too large to draw: see the JSON trace"
                        "</font></td>");
    }
    buf_puts(&c->b, "</tr>");

    if (via) {
        note_open(c, span, COLOR_TEXT);
        buf_puts(&c->b, "J<sub>f</sub> · J<sub>g</sub> = J<sub>h</sub>  ");
        put_agreement(c, via->agree, via->max_abs_diff);
        buf_puts(&c->b, LINE_END);
        if (eq) {
            note_open(c, span, COLOR_LOCAL);
            buf_puts(&c->b, "J<sub>f</sub>: the outputs w.r.t. the cut (partials)" LINE_END);
            note_open(c, span, COLOR_LOCAL);
            buf_puts(&c->b, "J<sub>g</sub>: the cut w.r.t. inputs and params" LINE_END);
        }
    }
    /* how it was computed: reverse mode a row per sweep, forward mode a column per sweep */
    if (!jr->jac || jr->mode != SWEEP_FORWARD) {
        note_open(c, span, COLOR_LOCAL);
        buf_printf(&c->b, "reverse mode: %u sweep%s, a row each" LINE_END, J->nrows, J->nrows == 1 ? "" : "s");
    }
    if (jr->jac && (jr->mode == SWEEP_FORWARD || jr->jac_fwd)) {
        note_open(c, span, COLOR_LOCAL);
        buf_printf(&c->b, "forward mode: %u sweep%s, a column each" LINE_END, J->ncols, J->ncols == 1 ? "" : "s");
    }
    if (jr->jac_fwd) {
        note_open(c, span, COLOR_TEXT);
        buf_puts(&c->b, "reverse = forward  ");
        put_agreement(c, jr->fwd_max_abs_diff <= 1e-9 * jac_scale(J), jr->fwd_max_abs_diff);
        buf_puts(&c->b, LINE_END);
    }
    /* the row and the column the drawing shows (names coloured in the matrix) */
    if (fit) {
        note_open(c, span, COLOR_GRAD);
        put_name_list(c, &hl_row, 1);
        buf_printf(&c->b, ": the gradient ∂%s/∂· at the leaves" LINE_END, c->L);
    }
    if (fit && hl_col != UINT32_MAX) {
        note_open(c, span, COLOR_TANGENT);
        put_name_list(c, &hl_col, 1);
        buf_puts(&c->b, ": the tangents ∂·/∂");
        put_name_list(c, &hl_col, 1);
        buf_puts(&c->b, " at the outputs" LINE_END);
    }
    buf_puts(&c->b, "</table>");
    set_html(c, an, "label", c->b.data ? c->b.data : "");
    set(an, "shape", "box");
    set(an, "style", "rounded");
    set(an, "color", COLOR_MUTED_EDGE);
    set(an, "margin", "0.12,0.08");
    set(an, "id", "jacobian");
}

/* ---- layout cost ----
 * dot draws an edge from rank r to rank r + k through k − 1 virtual nodes, and edge labels
 * double the ranks (each label is a virtual node between two ranks). A node whose consumers
 * lie many ranks apart — x used at every step of a long chain, a weight shared by every step
 * of a recurrence — makes their number grow with the square of the graph, and dot's
 * positioning (network simplex) and spline routing grow faster still: `y = x + x + … + x`
 * with 50 terms took 3–7 s, with 100 terms minutes. So the cost is estimated before the
 * layout, from ranks guessed the way dot's ranking places nodes: each node as early as its
 * operands allow, then each node whose out-edges weigh more than its in-edges (leaves
 * always) moved to just before its first consumer. */

/* The weight dot_build gives an edge: chains of operations pull harder than leaves. */
static uint32_t edge_weight(const Graph *g, uint32_t e)
{
    return g->nodes[g->edges[e].from].kind == NODE_OP ? 3 : 1;
}

/* Estimated ranks into rank[0 .. g->nnodes). Node ids are a topological order. */
static void estimate_ranks(const Graph *g, uint32_t *rank)
{
    for (uint32_t i = 0; i < g->nnodes; i++) {
        const Node *n = &g->nodes[i];
        rank[i] = 0;
        for (uint32_t e = n->in_first; e < n->in_first + n->nedges; e++)
            if (rank[g->edges[e].from] + 1 > rank[i])
                rank[i] = rank[g->edges[e].from] + 1;
    }
    /* consumers first, so a node sees where its consumers have moved */
    for (uint32_t i = g->nnodes; i-- > 0;) {
        const Node *n = &g->nodes[i];
        uint32_t first = UINT32_MAX, w_in = 0, w_out = 0;
        for (uint32_t k = g->out_first[i]; k < g->out_first[i + 1]; k++) {
            uint32_t e = g->out_edges[k];
            w_out += edge_weight(g, e);
            if (rank[g->edges[e].to] < first)
                first = rank[g->edges[e].to];
        }
        for (uint32_t e = n->in_first; e < n->in_first + n->nedges; e++)
            w_in += edge_weight(g, e);
        if (w_out > w_in) /* then first − 1 ≥ rank[i]: consumers only ever move later */
            rank[i] = first - 1;
    }
}

typedef struct DotCost {
    uint64_t extra;      /* Σ (span − 1) over the edges: ranks crossed beyond one per edge */
    uint64_t segs;       /* nodes + Σ (2·span − 1): dot's nodes, virtual ones included, with labels */
    uint32_t worst;      /* the node whose out-edges cross the most ranks (UINT32_MAX: no edges) */
    uint32_t worst_span; /* the longest of them */
    bool dense;          /* drawn in the dense style: extra > DOTGRAPH_DENSE_EXTRA */
    bool ok;             /* can be laid out: segs ≤ DOTGRAPH_SEGMENTS_MAX */
} DotCost;

/* The cost of g's drawing; fills rank[0 .. g->nnodes) (estimate_ranks). */
static DotCost layout_cost(const Graph *g, uint32_t *rank)
{
    estimate_ranks(g, rank);
    DotCost c = {.segs = g->nnodes, .worst = UINT32_MAX};
    uint64_t worst_sum = 0;
    for (uint32_t i = 0; i < g->nnodes; i++) {
        uint64_t sum = 0;
        uint32_t longest = 0;
        for (uint32_t k = g->out_first[i]; k < g->out_first[i + 1]; k++) {
            uint32_t span = rank[g->edges[g->out_edges[k]].to] - rank[i];
            sum += span;
            longest = span > longest ? span : longest;
            c.extra += span - 1;
            c.segs += 2 * (uint64_t)span - 1;
        }
        if (longest && sum > worst_sum) {
            worst_sum = sum;
            c.worst = i;
            c.worst_span = longest;
        }
    }
    c.dense = c.extra > DOTGRAPH_DENSE_EXTRA;
    c.ok = c.segs <= DOTGRAPH_SEGMENTS_MAX;
    return c;
}

/* Why a graph of cost c is refused, into why[size]. */
static void refusal(const Graph *g, const DotCost *c, char *why, size_t size)
{
    const Node *n = c->worst != UINT32_MAX ? &g->nodes[c->worst] : NULL;
    int len = snprintf(why, size,
                       "its layout would place about %llu nodes and edge segments, more than the %u a "
                       "layout accepts",
                       (unsigned long long)c->segs, DOTGRAPH_SEGMENTS_MAX);
    if (n && len >= 0 && (size_t)len < size)
        snprintf(why + len, size - (size_t)len, " (%s%s%s has %u out-edges reaching up to %u ranks away)",
                 n->name ? "" : "an unnamed ", n->name ? n->name : op_info((Op)n->op)->name,
                 n->name ? "" : " node", graph_out_count(g, c->worst), c->worst_span);
}

bool dotgraph_layout_ok(const Trace *t, char *why, size_t size)
{
    const Graph *g = t->g;
    uint32_t *rank = malloc(((size_t)g->nnodes + 1) * sizeof *rank);
    if (!rank) {
        snprintf(why, size, "out of memory");
        return false;
    }
    DotCost c = layout_cost(g, rank);
    free(rank);
    if (!c.ok)
        refusal(g, &c, why, size);
    return c.ok;
}

/* What the layout needs to know about the drawing, kept with the graph (cgraph record, not
 * written to DOT): a drawing too dense to lay out is refused by dotgraph_layout even when
 * the caller did not ask dotgraph_layout_ok first. */
typedef struct DotRec {
    Agrec_t h;
    bool refused;
    char why[240];
} DotRec;
#define DOT_REC "gradviz"

/* The dot attributes that keep the layout's time in check (see "layout cost"). */
static void set_layout_style(Ctx *c, const DotCost *cost)
{
    const Graph *g = c->g;
    char num[32];
    if (cost->dense) {
        /* network simplex positioning stops at its first feasible solution (nslimit is a
         * factor of the node count; 0 leaves no iterations); nslimit1, the ranking's, stays:
         * without it leaves pile up on rank 0 and the virtual nodes explode */
        set(c->ag, "nslimit", "0");
        /* spline routing threads each edge through the boxes of its virtual nodes; a straight
         * line is drawn from end to end */
        set(c->ag, "splines", "line");
    } else if (cost->segs > DOTGRAPH_NS_FREE) {
        /* a large but sparse graph (a 2,000-node chain or MLP): spend at most about
         * DOTGRAPH_NS_WORK node visits on positioning iterations (each visits every node) */
        double iters = (double)DOTGRAPH_NS_WORK / (double)cost->segs;
        snprintf(num, sizeof num, "%.3g", iters / (double)(g->nnodes + 1));
        set(c->ag, "nslimit", num);
    }
}

/* ---- the graph ---- */

uint32_t dotgraph_frame_count(const Trace *t, const JacResults *jac, bool forward)
{
    if (forward)
        return jac && jac->tangents ? jac->tangents->nsteps : 0;
    return jac && jac->mode == SWEEP_FORWARD ? 0 : t->nbwd;
}

Agraph_t *dotgraph_build(const Trace *t, const DotOpts *o, Err *err)
{
    const Graph *g = t->g;
    const TangentSweep *ts = o->jac ? o->jac->tangents : NULL;
    bool fwd = o->forward && ts && o->frame < ts->nsteps;
    bool final = !fwd && (o->forward || o->frame >= t->nbwd); /* frame UINT32_MAX is past both */
    Ctx c = {
        .t = t, .g = g, .o = o, .final = final, .fwd = fwd,
        .frame = final ? UINT32_MAX : o->frame,
        .active = final ? UINT32_MAX : fwd ? ts->steps[o->frame] : t->bwd[o->frame],
        .L = fmt_output_name(t),
        .back = o->rankdir_tb ? "↑" : "←",
        .ahead = o->rankdir_tb ? "↓" : "→",
        .jr = o->jac,
        .ts = final || fwd ? ts : NULL,
    };
    if (c.ts) {
        c.X = g->nodes[ts->leaf].name;
        c.fstep = malloc(((size_t)g->nnodes + 1) * sizeof *c.fstep);
        if (!c.fstep) {
            err_set(err, ERR_IO, "out of memory");
            return NULL;
        }
        memset(c.fstep, 0xff, ((size_t)g->nnodes + 1) * sizeof *c.fstep);
        for (uint32_t k = 0; k < ts->nsteps; k++)
            c.fstep[ts->steps[k]] = k;
    }
    /* A frame calls an unnamed active node by a short name the model does not use, so that
     * its chain rule reads ∂f/∂u · ∂u/∂x rather than repeating the expression. */
    if (!final && !g->nodes[c.active].name) {
        /* forward frames keep u for the operands in ∂v/∂x = Σ ∂v/∂u · ∂u/∂x */
        static const char *const names[] = {"u", "v", "s", "q", "u0", "u1", "u2"};
        static const char *const fnames[] = {"v", "s", "q", "v0", "v1", "v2"};
        const char *const *list = fwd ? fnames : names;
        size_t n = fwd ? sizeof fnames / sizeof fnames[0] : sizeof names / sizeof names[0];
        for (size_t i = 0; i < n && !c.alias[0]; i++)
            if (graph_lookup(g, list[i], strlen(list[i])) == UINT32_MAX)
                snprintf(c.alias, sizeof c.alias, "%s", list[i]);
    }
    /* not strict: multi-edges are real here (x*x has two edges from x) */
    c.ag = agopen((char *)"gradviz", Agdirected, NULL);
    if (!c.ag) {
        free(c.fstep);
        err_set(err, ERR_IO, "Graphviz could not create a graph");
        return NULL;
    }
    set(c.ag, "rankdir", o->rankdir_tb ? "TB" : "LR");
    set(c.ag, "fontname", "DejaVu Sans");
    set(c.ag, "fontsize", "12");
    set(c.ag, "nodesep", "0.3");
    set(c.ag, "ranksep", o->rankdir_tb ? "0.4" : "0.3");
    set(c.ag, "pad", "0.3");
    set(c.ag, "labelloc", "t");
    set(c.ag, "bgcolor", "white");
    /* nodes drawn over edges, so a label never hides under a passing edge */
    set(c.ag, "outputorder", "edgesfirst");
    agattr(c.ag, AGNODE, (char *)"fontname", (char *)"DejaVu Sans");
    agattr(c.ag, AGNODE, (char *)"fontsize", (char *)"12");
    agattr(c.ag, AGEDGE, (char *)"fontname", (char *)"DejaVu Sans");
    agattr(c.ag, AGEDGE, (char *)"fontsize", (char *)"10");
    agattr(c.ag, AGEDGE, (char *)"color", (char *)"#57606a");
    agattr(c.ag, AGEDGE, (char *)"arrowsize", (char *)"0.7");
    /* a light line ties each label to its edge (labels sit beside edges, never on them);
     * fontcolor only colours that line, the label text has its own colours */
    agattr(c.ag, AGEDGE, (char *)"decorate", (char *)"true");
    agattr(c.ag, AGEDGE, (char *)"fontcolor", (char *)"#afb8c1");

    Agnode_t **an = malloc(((size_t)g->nnodes + 1) * sizeof *an);
    uint32_t *rank = malloc(((size_t)g->nnodes + 1) * sizeof *rank);
    DotRec *rec = agbindrec(c.ag, (char *)DOT_REC, sizeof *rec, false);
    if (!an || !rank || !rec) {
        free(an);
        free(rank);
        free(c.fstep);
        agclose(c.ag);
        err_set(err, ERR_IO, "out of memory");
        return NULL;
    }
    DotCost cost = layout_cost(g, rank);
    c.rank = rank;
    c.dense = cost.dense;
    rec->refused = !cost.ok;
    if (!cost.ok)
        refusal(g, &cost, rec->why, sizeof rec->why);
    set_layout_style(&c, &cost);
    char key[48];
    for (uint32_t i = 0; i < g->nnodes; i++) {
        const Node *n = &g->nodes[i];
        /* DOT node names: the model's name where there is one; "#5 mul" cannot clash with an
         * identifier */
        if (n->name)
            an[i] = agnode(c.ag, (char *)n->name, 1);
        else {
            snprintf(key, sizeof key, "#%u %s", i, op_info((Op)n->op)->name);
            an[i] = agnode(c.ag, key, 1);
        }
        snprintf(key, sizeof key, "n%u", i);
        set(an[i], "id", key);
        if (n->kind == NODE_OP)
            build_op(&c, an[i], i);
        else
            build_leaf(&c, an[i], i);
    }
    for (uint32_t e = 0; e < g->nedges; e++) {
        const Edge *ed = &g->edges[e];
        snprintf(key, sizeof key, "e%u", e);
        Agedge_t *ae = agedge(c.ag, an[ed->from], an[ed->to], key, 1);
        set(ae, "id", key);
        /* keep chains of operations straight; leaves bend towards them */
        if (g->nodes[ed->from].kind == NODE_OP)
            set(ae, "weight", "3");
        build_edge(&c, ae, e);
    }
    build_title(&c);
    if (final && dotgraph_draws_jacobian(t, c.jr)) {
        /* "#jacobian" cannot clash with a model name; on a rank of its own after the outputs */
        Agnode_t *jn = agnode(c.ag, (char *)"#jacobian", 1);
        Agraph_t *sink = agsubg(c.ag, (char *)"jacobian_rank", 1);
        if (jn && sink) {
            set(sink, "rank", "sink");
            agsubnode(sink, jn, 1);
            build_jacobian(&c, jn);
        } else {
            c.b.oom = true;
        }
    }
    free(an);
    free(rank);
    free(c.fstep);
    bool oom = c.b.oom;
    buf_free(&c.b);
    if (oom) {
        agclose(c.ag);
        err_set(err, ERR_IO, "out of memory");
        return NULL;
    }
    return c.ag;
}

void dotgraph_free(Agraph_t *g)
{
    if (g)
        agclose(g);
}

/* ---- rendering ---- */

/* Renders the laid-out g into a malloc'd copy. */
static bool render_data(GVC_t *gvc, Agraph_t *g, const char *format, char **data, size_t *len, Err *err)
{
    unsigned int n = 0;
    char *out = NULL;
    if (gvRenderData(gvc, g, format, &out, &n) != 0 || !out) {
        if (out)
            gvFreeRenderData(out);
        return err_set(err, ERR_IO, "Graphviz could not render %s", format);
    }
    *data = malloc((size_t)n + 1);
    if (*data) {
        memcpy(*data, out, n);
        (*data)[n] = '\0';
        *len = n;
    }
    gvFreeRenderData(out);
    if (!*data)
        return err_set(err, ERR_IO, "out of memory");
    return true;
}

static bool render_laid_out(GVC_t *gvc, Agraph_t *g, const DotPins *pins, const char *format, DotPins **capture,
                            char **data, size_t *len, Err *err);

bool dotgraph_render(GVC_t *gvc, Agraph_t *g, const char *format, char **data, size_t *len, Err *err)
{
    return render_laid_out(gvc, g, NULL, format, NULL, data, len, err);
}

typedef struct Pin {
    char *pos, *a, *b; /* owned (malloc): nodes pos, width, height; edges pos, lp, xlp */
} Pin;

struct DotPins {
    Pin *nodes; uint32_t nnodes; /* owned, indexed by node id */
    Pin *edges; uint32_t nedges; /* owned, indexed by edge id */
    Pin jac;                     /* the Jacobian table node (pos NULL if none) */
    char *bb;                    /* owned: the drawing's bounding box "llx,lly,urx,ury" (points) */
};

/* The Jacobian table node (id "jacobian"). */
static bool is_jac_node(void *obj)
{
    const char *id = agget(obj, (char *)"id");
    return id && strcmp(id, "jacobian") == 0;
}

void dotgraph_pins_free(DotPins *p)
{
    if (!p)
        return;
    for (uint32_t i = 0; i < p->nnodes; i++) {
        free(p->nodes[i].pos); free(p->nodes[i].a); free(p->nodes[i].b);
    }
    for (uint32_t i = 0; i < p->nedges; i++) {
        free(p->edges[i].pos); free(p->edges[i].a); free(p->edges[i].b);
    }
    free(p->jac.pos); free(p->jac.a); free(p->jac.b);
    free(p->bb);
    free(p->nodes);
    free(p->edges);
    free(p);
}

/* The index in "n12" / "e7" (the id attribute every node and edge of the drawing has), or
 * UINT32_MAX. */
static uint32_t obj_index(void *obj, char kind)
{
    const char *id = agget(obj, (char *)"id");
    if (!id || id[0] != kind || id[1] < '0' || id[1] > '9')
        return UINT32_MAX;
    char *end;
    unsigned long v = strtoul(id + 1, &end, 10);
    return *end || v >= UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static char *dup_attr(void *obj, const char *key)
{
    const char *v = agget(obj, (char *)key);
    if (!v)
        v = "";
    size_t n = strlen(v) + 1;
    char *s = malloc(n);
    if (s)
        memcpy(s, v, n);
    return s;
}

/* Rendering to "dot" is what makes gvc attach the layout as attributes (pos, width, height,
 * lp), which are then copied. */
DotPins *dotgraph_pins_capture(GVC_t *gvc, Agraph_t *g, Err *err)
{
    char *dot = NULL;
    size_t len = 0;
    if (!render_data(gvc, g, "dot", &dot, &len, err))
        return NULL;
    free(dot);
    DotPins *p = calloc(1, sizeof *p);
    uint32_t nn = 0, ne = 0;
    for (Agnode_t *n = agfstnode(g); n; n = agnxtnode(g, n)) {
        uint32_t i = obj_index(n, 'n');
        if (i != UINT32_MAX && i + 1 > nn)
            nn = i + 1;
        for (Agedge_t *e = agfstout(g, n); e; e = agnxtout(g, e)) {
            uint32_t k = obj_index(e, 'e');
            if (k != UINT32_MAX && k + 1 > ne)
                ne = k + 1;
        }
    }
    bool ok = p != NULL;
    if (ok) {
        p->nodes = calloc(nn ? nn : 1, sizeof *p->nodes);
        p->edges = calloc(ne ? ne : 1, sizeof *p->edges);
        p->nnodes = nn;
        p->nedges = ne;
        p->bb = dup_attr(g, "bb");
        ok = p->nodes && p->edges && p->bb;
    }
    for (Agnode_t *n = ok ? agfstnode(g) : NULL; n && ok; n = agnxtnode(g, n)) {
        uint32_t i = obj_index(n, 'n');
        if (i != UINT32_MAX || is_jac_node(n)) {
            Pin *q = i != UINT32_MAX ? &p->nodes[i] : &p->jac;
            q->pos = dup_attr(n, "pos");
            q->a = dup_attr(n, "width");
            q->b = dup_attr(n, "height");
            ok = q->pos && q->a && q->b;
        }
        for (Agedge_t *e = agfstout(g, n); e && ok; e = agnxtout(g, e)) {
            uint32_t k = obj_index(e, 'e');
            if (k == UINT32_MAX)
                continue;
            Pin *q = &p->edges[k];
            q->pos = dup_attr(e, "pos");
            q->a = dup_attr(e, "lp");
            q->b = dup_attr(e, "xlp");
            ok = q->pos && q->a && q->b;
        }
    }
    if (!ok) {
        dotgraph_pins_free(p);
        err_set(err, ERR_IO, "out of memory");
        return NULL;
    }
    return p;
}

bool dotgraph_pins_size(const DotPins *p, double *w, double *h)
{
    double llx, lly, urx, ury;
    if (!p || !p->bb || sscanf(p->bb, "%lf,%lf,%lf,%lf", &llx, &lly, &urx, &ury) != 4)
        return false;
    *w = urx - llx;
    *h = ury - lly;
    return *w > 0 && *h > 0;
}

bool dotgraph_layout(GVC_t *gvc, Agraph_t *g, const DotPins *pins, Err *err)
{
    const DotRec *rec = (const DotRec *)aggetrec(g, (char *)DOT_REC, 0);
    if (rec && rec->refused)
        return err_set(err, ERR_USAGE, "this model is too dense for a Graphviz layout: %s (dot and json work at any size)",
                       rec->why);
    if (!pins) {
        if (gvLayout(gvc, g, "dot") != 0)
            return err_set(err, ERR_IO, "Graphviz could not lay out the graph");
        return true;
    }
    for (Agnode_t *n = agfstnode(g); n; n = agnxtnode(g, n)) {
        uint32_t i = obj_index(n, 'n');
        const Pin *q = i < pins->nnodes ? &pins->nodes[i] : is_jac_node(n) ? &pins->jac : NULL;
        if (!q || !q->pos || !q->pos[0])
            return err_set(err, ERR_IO, "a frame does not match the drawing it is pinned to");
        set(n, "pos", q->pos);
        set(n, "width", q->a);
        set(n, "height", q->b);
        for (Agedge_t *e = agfstout(g, n); e; e = agnxtout(g, e)) {
            uint32_t k = obj_index(e, 'e');
            if (k >= pins->nedges || !pins->edges[k].pos)
                return err_set(err, ERR_IO, "a frame does not match the drawing it is pinned to");
            set(e, "pos", pins->edges[k].pos);
            if (pins->edges[k].a[0])
                set(e, "lp", pins->edges[k].a);
            if (pins->edges[k].b[0])
                set(e, "xlp", pins->edges[k].b);
        }
    }
    /* nop2 = neato -n2: nodes, edge splines and edge labels stay where pos and lp put them;
     * only the graph label (the step panel) is placed anew */
    if (gvLayout(gvc, g, "nop2") != 0)
        return err_set(err, ERR_IO, "Graphviz could not lay out the frame");
    return true;
}

static bool render_laid_out(GVC_t *gvc, Agraph_t *g, const DotPins *pins, const char *format, DotPins **capture,
                            char **data, size_t *len, Err *err)
{
    *data = NULL;
    if (capture)
        *capture = NULL;
    if (!dotgraph_layout(gvc, g, pins, err))
        return false;
    bool ok = render_data(gvc, g, format, data, len, err);
    if (ok && capture) {
        *capture = dotgraph_pins_capture(gvc, g, err);
        ok = *capture != NULL;
    }
    gvFreeLayout(gvc, g);
    if (!ok) {
        free(*data);
        *data = NULL;
    }
    return ok;
}

bool dotgraph_render_pins(GVC_t *gvc, Agraph_t *g, const char *format, DotPins **pins, char **data,
                          size_t *len, Err *err)
{
    return render_laid_out(gvc, g, NULL, format, pins, data, len, err);
}

bool dotgraph_render_pinned(GVC_t *gvc, Agraph_t *g, const DotPins *pins, const char *format, char **data,
                            size_t *len, Err *err)
{
    return render_laid_out(gvc, g, pins, format, NULL, data, len, err);
}
