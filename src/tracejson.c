/* tracejson: writes the trace document of SPEC §4. Each record (node, edge, step) is built as
 * a small cJSON object, printed unformatted, written and freed, so memory does not grow with
 * the graph (a whole cJSON tree costs ~1.3 KB per node). Doubles are formatted by numfmt and
 * added as raw items, not by cJSON: cJSON 1.7.15 keeps its %.15g text whenever it reads back
 * within one DBL_EPSILON relative, which loses the last bit of about half of all computed
 * values (-0.05062372918794239 came out as -0.0506237291879424); numfmt writes the shortest
 * text that reads back exactly, and faster than printf.
 * Non-finite numbers are written as null with a marker key beside them ("nonfinite",
 * "grad_nonfinite", ...; see schema/gradviz-trace.schema.json). */
#include "tracejson.h"

#include <cJSON.h>
#include <math.h>
#include <string.h>

#include "fmt.h"
#include "numfmt.h"

typedef struct Writer {
    FILE *f;
    bool ok;
} Writer;

static void put(Writer *w, const char *s)
{
    if (w->ok && fputs(s, w->f) == EOF)
        w->ok = false;
}

/* Prints obj (which may be NULL after an OOM) and frees it. */
static void put_obj(Writer *w, cJSON *obj)
{
    char *s = obj ? cJSON_PrintUnformatted(obj) : NULL;
    if (!s)
        w->ok = false;
    else
        put(w, s);
    cJSON_free(s);
    cJSON_Delete(obj);
}

/* A JSON number for the finite double v that parses back to exactly v. NULL on OOM. */
static cJSON *num_item(double v)
{
    char buf[NUMFMT_MAX];
    numfmt_double(buf, v);
    return cJSON_CreateRaw(buf);
}

/* Adds key: v, or key: null plus marker: "nan"/"inf"/"-inf" for a non-finite v. */
static void add_num(cJSON *o, const char *key, double v, const char *marker)
{
    const char *nf = fmt_nonfinite(v);
    if (!nf) {
        cJSON_AddItemToObject(o, key, num_item(v));
        return;
    }
    cJSON_AddNullToObject(o, key);
    if (marker)
        cJSON_AddStringToObject(o, marker, nf);
}

static void add_opt_str(cJSON *o, const char *key, const char *s)
{
    if (s)
        cJSON_AddStringToObject(o, key, s);
    else
        cJSON_AddNullToObject(o, key);
}

static uint32_t node_line(const Trace *t, uint32_t id)
{
    uint32_t line, col;
    source_line_col(t->src, t->g->nodes[id].span.off, &line, &col);
    return line;
}

static cJSON *node_record(const Trace *t, uint32_t id)
{
    const Graph *g = t->g;
    const Node *n = &g->nodes[id];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", id);
    add_opt_str(o, "name", n->name);
    cJSON_AddStringToObject(o, "kind", node_kind_name((NodeKind)n->kind));
    if (n->kind == NODE_OP) {
        cJSON_AddStringToObject(o, "op", op_info((Op)n->op)->name);
        Buf b = {0};
        fmt_node_symbol(&b, g, id, 4);
        cJSON_AddStringToObject(o, "label", b.data ? b.data : "");
        buf_free(&b);
        cJSON *args = cJSON_AddArrayToObject(o, "args");
        for (int i = 0; i < n->nargs; i++) {
            cJSON *a = cJSON_CreateObject();
            if (n->args[i].is_lit)
                add_num(a, "const", graph_lit(g, n, i), "nonfinite");
            else
                cJSON_AddNumberToObject(a, "node", g->edges[n->args[i].ref].from);
            cJSON_AddItemToArray(args, a);
        }
    }
    add_num(o, "value", t->value[id], "nonfinite");
    if (n->kind == NODE_CONST)
        cJSON_AddNullToObject(o, "grad");
    else
        add_num(o, "grad", t->grad[id], "grad_nonfinite");
    cJSON_AddNumberToObject(o, "line", node_line(t, id));
    return o;
}

static cJSON *edge_record(const Trace *t, uint32_t e)
{
    const Graph *g = t->g;
    const Edge *ed = &g->edges[e];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", e);
    cJSON_AddNumberToObject(o, "from", ed->from);
    cJSON_AddNumberToObject(o, "to", ed->to);
    cJSON_AddNumberToObject(o, "slot", ed->slot);
    add_num(o, "value", t->value[ed->from], "value_nonfinite");
    add_num(o, "local", t->local[e], "local_nonfinite");
    if (g->nodes[ed->from].kind == NODE_CONST)
        cJSON_AddNullToObject(o, "grad");
    else
        add_num(o, "grad", t->egrad[e], "grad_nonfinite");
    cJSON_AddStringToObject(o, "rule", op_info((Op)g->nodes[ed->to].op)->rule[ed->slot]);
    return o;
}

static cJSON *backward_record(const Trace *t, uint32_t step)
{
    const Graph *g = t->g;
    uint32_t id = t->bwd[step];
    const Node *n = &g->nodes[id];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "step", step);
    cJSON_AddNumberToObject(o, "node", id);
    add_num(o, "grad", t->grad[id], "grad_nonfinite");
    cJSON *edges = cJSON_AddArrayToObject(o, "edges");
    for (uint32_t e = n->in_first; e < n->in_first + n->nedges; e++) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddNumberToObject(r, "edge", e);
        add_num(r, "local", t->local[e], "local_nonfinite");
        bool is_const = g->nodes[g->edges[e].from].kind == NODE_CONST;
        if (is_const) {
            cJSON_AddNullToObject(r, "grad");
            cJSON_AddNullToObject(r, "accum");
        } else {
            add_num(r, "grad", t->egrad[e], "grad_nonfinite");
            add_num(r, "accum", t->accum[e], "accum_nonfinite");
        }
        cJSON_AddItemToArray(edges, r);
    }
    return o;
}

static cJSON *fanout_record(const Trace *t, uint32_t id)
{
    const Graph *g = t->g;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "node", id);
    cJSON *edges = cJSON_AddArrayToObject(o, "edges");
    cJSON *terms = cJSON_AddArrayToObject(o, "terms");
    for (uint32_t k = g->out_first[id]; k < g->out_first[id + 1]; k++) {
        uint32_t e = g->out_edges[k];
        cJSON_AddItemToArray(edges, cJSON_CreateNumber(e));
        cJSON_AddItemToArray(terms, isfinite(t->egrad[e]) ? num_item(t->egrad[e]) : cJSON_CreateNull());
    }
    add_num(o, "grad", t->grad[id], "grad_nonfinite");
    return o;
}

static cJSON *check_record(const Trace *t)
{
    const Check *c = t->check;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "method", "central-difference");
    cJSON_AddItemToObject(o, "eps", num_item(c->eps));
    if (c->nentries) {
        add_num(o, "max_rel_error", c->max_rel_error, "max_rel_error_nonfinite");
        add_num(o, "max_abs_error", c->max_abs_error, "max_abs_error_nonfinite");
    } else {
        cJSON_AddNullToObject(o, "max_rel_error");
        cJSON_AddNullToObject(o, "max_abs_error");
    }
    cJSON *tol = cJSON_AddObjectToObject(o, "tolerance");
    cJSON_AddItemToObject(tol, "rel", num_item(c->rtol));
    cJSON_AddItemToObject(tol, "abs", num_item(c->atol));
    cJSON_AddBoolToObject(o, "passed", c->passed);
    cJSON *wrt = cJSON_AddArrayToObject(o, "wrt");
    for (uint32_t i = 0; i < c->nentries; i++) {
        const CheckEntry *e = &c->entries[i];
        cJSON *r = cJSON_CreateObject();
        cJSON_AddNumberToObject(r, "node", e->node);
        add_opt_str(r, "name", t->g->nodes[e->node].name);
        add_num(r, "analytic", e->analytic, "analytic_nonfinite");
        add_num(r, "numeric", e->numeric, "numeric_nonfinite");
        add_num(r, "abs_error", e->abs_error, "abs_error_nonfinite");
        add_num(r, "rel_error", e->rel_error, "rel_error_nonfinite");
        cJSON_AddBoolToObject(r, "passed", e->passed);
        cJSON_AddItemToArray(wrt, r);
    }
    return o;
}

/* Writes `"key": [` then each record from make(t, i) for i in [0, n) that `want` accepts. */
static void put_array(Writer *w, const char *key, const Trace *t, uint32_t n,
                      cJSON *(*make)(const Trace *, uint32_t), bool (*want)(const Trace *, uint32_t))
{
    put(w, ",\n\"");
    put(w, key);
    put(w, "\": [");
    bool first = true;
    for (uint32_t i = 0; i < n && w->ok; i++) {
        if (want && !want(t, i))
            continue;
        put(w, first ? "\n  " : ",\n  ");
        first = false;
        put_obj(w, make(t, i));
    }
    put(w, first ? "]" : "\n]");
}

static bool is_op(const Trace *t, uint32_t i) { return t->g->nodes[i].kind == NODE_OP; }

static cJSON *forward_record(const Trace *t, uint32_t id)
{
    /* op nodes in id order are the evaluation order; the step is the count of ops before id,
     * passed in through the id of the record as the caller counts them */
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "node", id);
    add_num(o, "value", t->value[id], "nonfinite");
    return o;
}

static bool is_fanout(const Trace *t, uint32_t i)
{
    return t->g->nodes[i].kind != NODE_CONST && graph_out_count(t->g, i) >= 2;
}

bool tracejson_write(const Trace *t, const char *source, FILE *f, Err *err)
{
    Writer w = {f, true};
    const Graph *g = t->g;
    cJSON *head = cJSON_CreateObject();
    cJSON_AddStringToObject(head, "format", "gradviz-trace");
    cJSON_AddNumberToObject(head, "version", 1);
    cJSON *model = cJSON_AddObjectToObject(head, "model");
    add_opt_str(model, "title", g->title);
    cJSON_AddStringToObject(model, "source", source);
    cJSON *outs = cJSON_AddArrayToObject(head, "outputs");
    for (uint32_t i = 0; i < g->noutputs; i++)
        cJSON_AddItemToArray(outs, cJSON_CreateNumber(g->outputs[i]));
    /* print the head object without its closing brace, then stream the arrays after it */
    char *s = cJSON_PrintUnformatted(head);
    cJSON_Delete(head);
    if (!s)
        return err_set(err, ERR_IO, "out of memory");
    s[strlen(s) - 1] = '\0';
    put(&w, s);
    cJSON_free(s);

    put_array(&w, "nodes", t, g->nnodes, node_record, NULL);
    put_array(&w, "edges", t, g->nedges, edge_record, NULL);
    /* forward: op nodes in evaluation order, numbered from 0 */
    put(&w, ",\n\"forward\": [");
    uint32_t step = 0;
    for (uint32_t i = 0; i < g->nnodes && w.ok; i++) {
        if (!is_op(t, i))
            continue;
        put(&w, step ? ",\n  " : "\n  ");
        cJSON *o = forward_record(t, i);
        cJSON_AddItemToObjectCS(o, "step", cJSON_CreateNumber(step++));
        put_obj(&w, o);
    }
    put(&w, step ? "\n]" : "]");
    put_array(&w, "backward", t, t->nbwd, backward_record, NULL);
    put_array(&w, "fanout", t, g->nnodes, fanout_record, is_fanout);
    if (t->check) {
        put(&w, ",\n\"check\": ");
        put_obj(&w, check_record(t));
    }
    put(&w, "\n}\n");
    if (!w.ok)
        return err_set(err, ERR_IO, "writing the JSON trace failed");
    return true;
}
