/* dotgraph: the annotated drawing, built with cgraph.
 *
 * Look (SPEC §5, after shared/look/fanout-sketch.dot): leaves are rounded boxes with name,
 * value and gradient; op nodes are ellipses with the operator symbol, the name if any, the
 * value (green) and the gradient (red); the primary output has a double border. Each edge
 * label reads, top to bottom, the forward value (green), the local derivative (grey) and the
 * gradient contribution (red). Fan-out nodes get a purple border and their sum over paths.
 * In a --steps frame the active node and its in-edges are highlighted in amber and every
 * gradient not yet computed reads "?". */
#include "dotgraph.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"

typedef struct Ctx {
    const Trace *t;
    const DotOpts *o;
    Agraph_t *g;
    Buf b;       /* scratch for labels */
    bool final;  /* the finished pass, not a frame */
} Ctx;

/* cgraph takes char * everywhere; the one cast lives here. */
static void set(void *obj, const char *key, const char *value)
{
    agsafeset(obj, (char *)key, (char *)value, "");
}

static void set_html(Ctx *c, void *obj, const char *key, const char *html)
{
    char *s = agstrdup_html(c->g, (char *)html);
    agsafeset(obj, (char *)key, s, "");
    agstrfree(c->g, s);
}

/* Appends s with the characters that mean something in an HTML-like label escaped. */
static void put_esc(Buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': buf_puts(b, "&amp;"); break;
        case '<': buf_puts(b, "&lt;"); break;
        case '>': buf_puts(b, "&gt;"); break;
        case '"': buf_puts(b, "&quot;"); break;
        case '\'': buf_puts(b, "&#39;"); break;
        default: buf_append(b, s, 1);
        }
    }
}

static void put_num(Ctx *c, double v)
{
    char num[FMT_NUM_MAX];
    buf_puts(&c->b, fmt_num(num, v, c->o->precision));
}

/* Opens a table cell with an id ("n5-grad") the HTML report can find in the SVG. */
static void cell_open(Ctx *c, char kind, uint32_t id, const char *part)
{
    buf_printf(&c->b, "<tr><td id=\"%c%u-%s\"", kind, id, part);
    if (c->o->cell_anchors)
        buf_printf(&c->b, " href=\"#%c%u-%s\"", kind, id, part);
    buf_puts(&c->b, ">");
}

static bool grad_known(const Ctx *c, uint32_t n)
{
    return c->final || trace_grad_ready(c->t, n) <= c->o->frame;
}

static bool edge_grad_known(const Ctx *c, uint32_t e)
{
    uint32_t to = c->t->g->edges[e].to;
    return c->final || !c->t->reach[to] || c->t->bwd_step[to] <= c->o->frame;
}

static bool nonfinite_node(const Trace *t, uint32_t n)
{
    return !isfinite(t->value[n]) || (t->g->nodes[n].kind != NODE_CONST && !isfinite(t->grad[n]));
}

/* "∂L/∂x = a + b = c" (or "∂L/∂x = c") in red; "?" for what is not computed yet. */
static void put_grad_cell(Ctx *c, uint32_t id, bool with_name)
{
    const Trace *t = c->t;
    const Graph *g = t->g;
    const Node *n = &g->nodes[id];
    uint32_t nout = graph_out_count(g, id);
    bool fan = nout >= 2;
    cell_open(c, 'n', id, "grad");
    buf_puts(&c->b, "<font color=\"" COLOR_GRAD "\">");
    if (with_name) {
        buf_printf(&c->b, "∂%s/∂", fmt_output_name(t));
        put_esc(&c->b, n->name ? n->name : "·");
        buf_puts(&c->b, " = ");
    }
    if (fan && id != t->primary) {
        for (uint32_t k = g->out_first[id]; k < g->out_first[id + 1]; k++) {
            uint32_t e = g->out_edges[k];
            if (k > g->out_first[id])
                buf_puts(&c->b, t->egrad[e] < 0 && edge_grad_known(c, e) ? " " : " + ");
            if (edge_grad_known(c, e))
                put_num(c, t->egrad[e]);
            else
                buf_puts(&c->b, "?");
        }
        buf_puts(&c->b, " = ");
    }
    if (grad_known(c, id))
        put_num(c, t->grad[id]);
    else
        buf_puts(&c->b, "?");
    buf_puts(&c->b, "</font></td></tr>");
    if (fan)
        buf_printf(&c->b, "<tr><td><font point-size=\"8\" color=\"" COLOR_FANOUT "\">fan-out: %u paths, gradients add</font></td></tr>", nout);
}

static void build_leaf(Ctx *c, Agnode_t *an, uint32_t id)
{
    const Trace *t = c->t;
    const Node *n = &t->g->nodes[id];
    bool fan = graph_out_count(t->g, id) >= 2;
    set(an, "shape", "box");
    if (n->kind == NODE_CONST) {
        set(an, "style", "rounded,filled");
        set(an, "fillcolor", COLOR_CONST);
        set(an, "color", "#8c959f");
    } else {
        set(an, "style", "rounded");
        set(an, "color", n->kind == NODE_PARAM ? "#0969da" : "#24292f");
    }
    if (fan && n->kind != NODE_CONST) {
        set(an, "color", COLOR_FANOUT);
        set(an, "penwidth", "2");
    }
    c->b.len = 0;
    buf_puts(&c->b, "<table border=\"0\" cellborder=\"0\" cellspacing=\"1\" cellpadding=\"1\">");
    cell_open(c, 'n', id, "val");
    buf_puts(&c->b, "<b>");
    put_esc(&c->b, n->name);
    buf_puts(&c->b, "</b> = <font color=\"" COLOR_VALUE "\">");
    put_num(c, t->value[id]);
    buf_printf(&c->b, "</font></td></tr><tr><td><font point-size=\"8\" color=\"" COLOR_LOCAL "\">%s</font></td></tr>",
               node_kind_name((NodeKind)n->kind));
    if (n->kind != NODE_CONST)
        put_grad_cell(c, id, true);
    buf_puts(&c->b, "</table>");
    set_html(c, an, "label", c->b.data);
}

static void build_op(Ctx *c, Agnode_t *an, uint32_t id)
{
    const Trace *t = c->t;
    const Node *n = &t->g->nodes[id];
    bool fan = graph_out_count(t->g, id) >= 2;
    set(an, "shape", "ellipse");
    set(an, "margin", "0.04,0.02");
    if (id == t->primary)
        set(an, "peripheries", "2");
    if (!t->reach[id])
        set(an, "color", "#8c959f");
    if (fan) {
        set(an, "color", COLOR_FANOUT);
        set(an, "penwidth", "2");
    }
    c->b.len = 0;
    buf_puts(&c->b, "<table border=\"0\" cellborder=\"0\" cellspacing=\"0\" cellpadding=\"0\"><tr><td><font point-size=\"14\">");
    Buf sym = {0};
    fmt_node_symbol(&sym, t->g, id, c->o->precision);
    put_esc(&c->b, sym.data ? sym.data : "?");
    buf_free(&sym);
    buf_puts(&c->b, "</font>");
    if (n->name) {
        buf_puts(&c->b, " <b>");
        put_esc(&c->b, n->name);
        buf_puts(&c->b, "</b>");
    }
    buf_puts(&c->b, "</td></tr>");
    cell_open(c, 'n', id, "val");
    buf_puts(&c->b, "<font point-size=\"10\" color=\"" COLOR_VALUE "\">");
    put_num(c, t->value[id]);
    buf_puts(&c->b, "</font></td></tr>");
    put_grad_cell(c, id, fan || id == t->primary);
    buf_puts(&c->b, "</table>");
    set_html(c, an, "label", c->b.data);
}

static void build_edge(Ctx *c, Agedge_t *ae, uint32_t e)
{
    const Trace *t = c->t;
    const Edge *ed = &t->g->edges[e];
    bool from_const = t->g->nodes[ed->from].kind == NODE_CONST;
    c->b.len = 0;
    buf_puts(&c->b, "<table border=\"0\" cellborder=\"0\" cellspacing=\"0\" cellpadding=\"0\">");
    cell_open(c, 'e', e, "val");
    buf_puts(&c->b, "<font color=\"" COLOR_VALUE "\">");
    put_num(c, t->value[ed->from]);
    buf_puts(&c->b, "</font></td></tr>");
    cell_open(c, 'e', e, "local");
    buf_puts(&c->b, "<font point-size=\"8\" color=\"" COLOR_LOCAL "\">∂ ");
    put_num(c, t->local[e]);
    buf_puts(&c->b, "</font></td></tr>");
    if (!from_const) {
        cell_open(c, 'e', e, "grad");
        buf_puts(&c->b, "<font color=\"" COLOR_GRAD "\">");
        if (edge_grad_known(c, e))
            put_num(c, t->egrad[e]);
        else
            buf_puts(&c->b, "?");
        buf_puts(&c->b, "</font></td></tr>");
    }
    buf_puts(&c->b, "</table>");
    set_html(c, ae, "label", c->b.data);
    if (!t->reach[ed->to])
        set(ae, "color", "#d0d7de");
}

/* Graph label: the title, the legend, and in a frame the chain-rule products of the step. */
static void build_title(Ctx *c)
{
    const Trace *t = c->t;
    const Graph *g = t->g;
    const char *L = fmt_output_name(t);
    c->b.len = 0;
    buf_puts(&c->b, "<table border=\"0\" cellspacing=\"2\" cellpadding=\"0\">");
    if (g->title) {
        buf_puts(&c->b, "<tr><td><font point-size=\"16\"><b>");
        put_esc(&c->b, g->title);
        buf_puts(&c->b, "</b></font></td></tr>");
    }
    buf_puts(&c->b, "<tr><td><font point-size=\"10\"><font color=\"" COLOR_VALUE "\">■ forward value</font>   "
                    "<font color=\"" COLOR_LOCAL "\">■ ∂ local derivative</font>   <font color=\"" COLOR_GRAD "\">■ gradient ∂");
    put_esc(&c->b, L);
    buf_puts(&c->b, "/∂·</font>   <font color=\"" COLOR_FANOUT "\">■ fan-out: gradients add over paths</font>"
                    "</font></td></tr>");
    if (!c->final) {
        uint32_t id = t->bwd[c->o->frame];
        const Node *n = &g->nodes[id];
        buf_printf(&c->b, "<tr><td><font point-size=\"11\" color=\"" COLOR_ACTIVE "\"><b>backward step %u of %u</b></font></td></tr>",
                   c->o->frame + 1, t->nbwd);
        Buf nm = {0};
        fmt_node_name(&nm, g, id, c->o->precision);
        for (uint32_t e = n->in_first; e < n->in_first + n->nedges; e++) {
            const Node *from = &g->nodes[g->edges[e].from];
            Buf fn = {0};
            fmt_node_name(&fn, g, g->edges[e].from, c->o->precision);
            buf_puts(&c->b, "<tr><td><font point-size=\"10\">");
            if (from->kind == NODE_CONST) {
                put_esc(&c->b, fn.data);
                buf_puts(&c->b, " is a constant: no gradient");
            } else {
                buf_printf(&c->b, "∂%s/∂", L);
                put_esc(&c->b, fn.data);
                buf_printf(&c->b, " += ∂%s/∂", L);
                put_esc(&c->b, nm.data);
                buf_puts(&c->b, " · ∂");
                put_esc(&c->b, nm.data);
                buf_puts(&c->b, "/∂");
                put_esc(&c->b, fn.data);
                buf_puts(&c->b, " = (<font color=\"" COLOR_GRAD "\">");
                put_num(c, t->grad[id]);
                buf_puts(&c->b, "</font>)(<font color=\"" COLOR_LOCAL "\">");
                put_num(c, t->local[e]);
                buf_puts(&c->b, "</font>) = <font color=\"" COLOR_GRAD "\">");
                put_num(c, t->egrad[e]);
                buf_puts(&c->b, "</font>");
            }
            buf_puts(&c->b, "</font></td></tr>");
            buf_free(&fn);
        }
        buf_free(&nm);
    }
    buf_puts(&c->b, "</table>");
    set_html(c, c->g, "label", c->b.data);
}

Agraph_t *dotgraph_build(const Trace *t, const DotOpts *o, Err *err)
{
    const Graph *g = t->g;
    Ctx c = {.t = t, .o = o, .final = o->frame == UINT32_MAX || o->frame >= t->nbwd};
    /* not strict: multi-edges are real here (x*x has two edges from x) */
    c.g = agopen((char *)"gradviz", Agdirected, NULL);
    if (!c.g) {
        err_set(err, ERR_IO, "Graphviz could not create a graph");
        return NULL;
    }
    set(c.g, "rankdir", o->rankdir_tb ? "TB" : "LR");
    set(c.g, "fontname", "DejaVu Sans");
    set(c.g, "fontsize", "11");
    set(c.g, "nodesep", "0.35");
    set(c.g, "ranksep", "0.7");
    set(c.g, "pad", "0.3");
    set(c.g, "labelloc", "t");
    set(c.g, "bgcolor", "white");
    agattr(c.g, AGNODE, (char *)"fontname", (char *)"DejaVu Sans");
    agattr(c.g, AGNODE, (char *)"fontsize", (char *)"11");
    agattr(c.g, AGEDGE, (char *)"fontname", (char *)"DejaVu Sans");
    agattr(c.g, AGEDGE, (char *)"fontsize", (char *)"9");
    agattr(c.g, AGEDGE, (char *)"color", (char *)"#57606a");
    agattr(c.g, AGEDGE, (char *)"arrowsize", (char *)"0.7");

    Agnode_t **an = malloc(((size_t)g->nnodes + 1) * sizeof *an);
    if (!an) {
        agclose(c.g);
        err_set(err, ERR_IO, "out of memory");
        return NULL;
    }
    char key[48];
    for (uint32_t i = 0; i < g->nnodes; i++) {
        const Node *n = &g->nodes[i];
        /* DOT node names: the model's name where there is one; "#5 mul" cannot clash with an
         * identifier */
        if (n->name)
            an[i] = agnode(c.g, (char *)n->name, 1);
        else {
            snprintf(key, sizeof key, "#%u %s", i, op_info((Op)n->op)->name);
            an[i] = agnode(c.g, key, 1);
        }
        snprintf(key, sizeof key, "n%u", i);
        set(an[i], "id", key);
        if (n->kind == NODE_OP)
            build_op(&c, an[i], i);
        else
            build_leaf(&c, an[i], i);
        if (nonfinite_node(t, i)) {
            set(an[i], "color", COLOR_GRAD);
            set(an[i], "style", n->kind == NODE_OP ? "dashed" : "rounded,dashed");
            set(an[i], "tooltip", "non-finite value or gradient");
        }
    }
    for (uint32_t e = 0; e < g->nedges; e++) {
        const Edge *ed = &g->edges[e];
        snprintf(key, sizeof key, "e%u", e);
        Agedge_t *ae = agedge(c.g, an[ed->from], an[ed->to], key, 1);
        set(ae, "id", key);
        build_edge(&c, ae, e);
    }
    if (!c.final) {
        uint32_t id = t->bwd[o->frame];
        const Node *n = &g->nodes[id];
        set(an[id], "style", "filled");
        set(an[id], "fillcolor", "#fff8c5");
        set(an[id], "color", COLOR_ACTIVE);
        set(an[id], "penwidth", "3");
        for (uint32_t e = n->in_first; e < n->in_first + n->nedges; e++) {
            snprintf(key, sizeof key, "e%u", e);
            Agedge_t *ae = agedge(c.g, an[g->edges[e].from], an[id], key, 0);
            set(ae, "color", COLOR_ACTIVE);
            set(ae, "penwidth", "2.5");
        }
    }
    build_title(&c);
    free(an);
    bool oom = c.b.oom;
    buf_free(&c.b);
    if (oom) {
        agclose(c.g);
        err_set(err, ERR_IO, "out of memory");
        return NULL;
    }
    return c.g;
}

void dotgraph_free(Agraph_t *g)
{
    if (g)
        agclose(g);
}

bool dotgraph_render(GVC_t *gvc, Agraph_t *g, const char *format, char **data, size_t *len, Err *err)
{
    if (gvLayout(gvc, g, "dot") != 0)
        return err_set(err, ERR_IO, "Graphviz could not lay out the graph");
    unsigned int n = 0;
    char *out = NULL;
    int rc = gvRenderData(gvc, g, format, &out, &n);
    if (rc != 0 || !out) {
        gvFreeLayout(gvc, g);
        return err_set(err, ERR_IO, "Graphviz could not render %s", format);
    }
    *data = malloc((size_t)n + 1);
    if (*data) {
        memcpy(*data, out, n);
        (*data)[n] = '\0';
        *len = n;
    }
    gvFreeRenderData(out);
    gvFreeLayout(gvc, g);
    if (!*data)
        return err_set(err, ERR_IO, "out of memory");
    return true;
}
