/* tracejson: writes the trace document of SPEC §4. Each record (node, edge, step) is built as
 * a small cJSON object, printed unformatted, written and freed, so memory does not grow with
 * the graph (a whole cJSON tree costs ~1.3 KB per node). Doubles are formatted by numfmt and
 * added as raw items, not by cJSON: cJSON 1.7.15 keeps its %.15g text whenever it reads back
 * within one DBL_EPSILON relative, which loses the last bit of about half of all computed
 * values (-0.05062372918794239 came out as -0.0506237291879424); numfmt writes the shortest
 * text that reads back exactly, and faster than printf.
 * Non-finite numbers are written as null with a marker key beside them ("nonfinite",
 * "grad_nonfinite", ...; see schema/gradviz-trace.schema.json).
 * The blocks of issue 5 (jacobian, forward_mode, modes; JacResults) follow the core document.
 * Their matrices can be large and are written number by number without cJSON. */
#include "tracejson.h"

#include <cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "fmt.h"
#include "numfmt.h"
#include "strconv.h"

typedef struct Writer {
    FILE *f;
    bool ok;
    char *pbuf;   /* owned: reused print buffer for records (cJSON_PrintPreallocated) */
    size_t pcap;
} Writer;

/* Every key in the trace is a string literal: cJSON's *CS add keeps the pointer instead of
 * copying it, one malloc and free less per field (millions on a big trace). */
static void obj_add(cJSON *o, const char *key, cJSON *item) { cJSON_AddItemToObjectCS(o, key, item); }
static void obj_add_null(cJSON *o, const char *key) { obj_add(o, key, cJSON_CreateNull()); }
static void obj_add_str(cJSON *o, const char *key, const char *s) { obj_add(o, key, cJSON_CreateString(s)); }
static void obj_add_bool(cJSON *o, const char *key, bool b) { obj_add(o, key, cJSON_CreateBool(b)); }
static cJSON *obj_add_array(cJSON *o, const char *key)
{
    cJSON *a = cJSON_CreateArray();
    obj_add(o, key, a);
    return a;
}
static cJSON *obj_add_object(cJSON *o, const char *key)
{
    cJSON *a = cJSON_CreateObject();
    obj_add(o, key, a);
    return a;
}


static void put(Writer *w, const char *s)
{
    if (w->ok && fputs(s, w->f) == EOF)
        w->ok = false;
}

/* Prints obj (which may be NULL after an OOM) and frees it. Records are printed into one
 * reused buffer, grown when cJSON says it is too small, instead of a fresh allocation and
 * its reallocations per record. */
static void put_obj(Writer *w, cJSON *obj)
{
    if (!obj) {
        w->ok = false;
        return;
    }
    for (;;) {
        /* cJSON_PrintPreallocated wants 5 bytes of slack for numbers it does not need here */
        if (w->pcap && cJSON_PrintPreallocated(obj, w->pbuf, (int)w->pcap, 0)) {
            put(w, w->pbuf);
            break;
        }
        size_t cap = w->pcap ? w->pcap * 2 : 4096;
        char *nb = cap <= INT32_MAX ? realloc(w->pbuf, cap) : NULL;
        if (!nb) {
            w->ok = false;
            break;
        }
        w->pbuf = nb;
        w->pcap = cap;
    }
    cJSON_Delete(obj);
}

/* A JSON number for the finite double v that parses back to exactly v. NULL on OOM. */
static cJSON *num_item(double v)
{
    char buf[NUMFMT_MAX];
    numfmt_double(buf, v);
    return cJSON_CreateRaw(buf);
}

/* An unsigned integer (ids, counts, lines). cJSON_CreateNumber would print it through
 * printf("%1.15g") and read it back with sscanf: a third of the time of a big trace. */
static cJSON *uint_item(uint64_t v)
{
    char buf[NUMFMT_MAX];
    numfmt_uint(buf, v);
    return cJSON_CreateRaw(buf);
}

static void add_uint(cJSON *o, const char *key, uint64_t v) { obj_add(o, key, uint_item(v)); }

/* Adds key: v, or key: null plus marker: "nan"/"inf"/"-inf" for a non-finite v. */
static void add_num(cJSON *o, const char *key, double v, const char *marker)
{
    const char *nf = fmt_nonfinite(v);
    if (!nf) {
        obj_add(o, key, num_item(v));
        return;
    }
    obj_add_null(o, key);
    if (marker)
        obj_add_str(o, marker, nf);
}

static void add_opt_str(cJSON *o, const char *key, const char *s)
{
    if (s)
        obj_add_str(o, key, s);
    else
        obj_add_null(o, key);
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
    add_uint(o, "id", id);
    add_opt_str(o, "name", n->name);
    obj_add_str(o, "kind", node_kind_name((NodeKind)n->kind));
    if (n->kind == NODE_OP) {
        obj_add_str(o, "op", op_info((Op)n->op)->name);
        Buf b = {0};
        fmt_node_symbol(&b, g, id, 4);
        obj_add_str(o, "label", b.data ? b.data : "");
        buf_free(&b);
        cJSON *args = obj_add_array(o, "args");
        for (int i = 0; i < n->nargs; i++) {
            cJSON *a = cJSON_CreateObject();
            if (n->args[i].is_lit)
                add_num(a, "const", graph_lit(g, n, i), "nonfinite");
            else
                add_uint(a, "node", g->edges[n->args[i].ref].from);
            cJSON_AddItemToArray(args, a);
        }
    }
    add_num(o, "value", t->value[id], "nonfinite");
    if (n->kind == NODE_CONST)
        obj_add_null(o, "grad");
    else
        add_num(o, "grad", t->grad[id], "grad_nonfinite");
    add_uint(o, "line", node_line(t, id));
    return o;
}

static cJSON *edge_record(const Trace *t, uint32_t e)
{
    const Graph *g = t->g;
    const Edge *ed = &g->edges[e];
    cJSON *o = cJSON_CreateObject();
    add_uint(o, "id", e);
    add_uint(o, "from", ed->from);
    add_uint(o, "to", ed->to);
    add_uint(o, "slot", ed->slot);
    add_num(o, "value", t->value[ed->from], "value_nonfinite");
    add_num(o, "local", t->local[e], "local_nonfinite");
    if (g->nodes[ed->from].kind == NODE_CONST)
        obj_add_null(o, "grad");
    else
        add_num(o, "grad", t->egrad[e], "grad_nonfinite");
    obj_add_str(o, "rule", op_info((Op)g->nodes[ed->to].op)->rule[ed->slot]);
    return o;
}

static cJSON *backward_record(const Trace *t, uint32_t step)
{
    const Graph *g = t->g;
    uint32_t id = t->bwd[step];
    const Node *n = &g->nodes[id];
    cJSON *o = cJSON_CreateObject();
    add_uint(o, "step", step);
    add_uint(o, "node", id);
    add_num(o, "grad", t->grad[id], "grad_nonfinite");
    cJSON *edges = obj_add_array(o, "edges");
    for (uint32_t e = n->in_first; e < n->in_first + n->nedges; e++) {
        cJSON *r = cJSON_CreateObject();
        add_uint(r, "edge", e);
        add_num(r, "local", t->local[e], "local_nonfinite");
        bool is_const = g->nodes[g->edges[e].from].kind == NODE_CONST;
        if (is_const) {
            obj_add_null(r, "grad");
            obj_add_null(r, "accum");
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
    add_uint(o, "node", id);
    cJSON *edges = obj_add_array(o, "edges");
    cJSON *terms = obj_add_array(o, "terms");
    for (uint32_t k = g->out_first[id]; k < g->out_first[id + 1]; k++) {
        uint32_t e = g->out_edges[k];
        cJSON_AddItemToArray(edges, uint_item(e));
        cJSON_AddItemToArray(terms, isfinite(t->egrad[e]) ? num_item(t->egrad[e]) : cJSON_CreateNull());
    }
    add_num(o, "grad", t->grad[id], "grad_nonfinite");
    return o;
}

static cJSON *check_record(const Trace *t)
{
    const Check *c = t->check;
    cJSON *o = cJSON_CreateObject();
    obj_add_str(o, "method", "central-difference");
    obj_add(o, "eps", num_item(c->eps));
    if (c->nentries) {
        add_num(o, "max_rel_error", c->max_rel_error, "max_rel_error_nonfinite");
        add_num(o, "max_abs_error", c->max_abs_error, "max_abs_error_nonfinite");
    } else {
        obj_add_null(o, "max_rel_error");
        obj_add_null(o, "max_abs_error");
    }
    cJSON *tol = obj_add_object(o, "tolerance");
    obj_add(tol, "rel", num_item(c->rtol));
    obj_add(tol, "abs", num_item(c->atol));
    obj_add_bool(o, "passed", c->passed);
    cJSON *wrt = obj_add_array(o, "wrt");
    for (uint32_t i = 0; i < c->nentries; i++) {
        const CheckEntry *e = &c->entries[i];
        cJSON *r = cJSON_CreateObject();
        add_uint(r, "node", e->node);
        add_opt_str(r, "name", t->g->nodes[e->node].name);
        add_num(r, "analytic", e->analytic, "analytic_nonfinite");
        add_num(r, "numeric", e->numeric, "numeric_nonfinite");
        add_num(r, "abs_error", e->abs_error, "abs_error_nonfinite");
        add_num(r, "rel_error", e->rel_error, "rel_error_nonfinite");
        obj_add_bool(r, "passed", e->passed);
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
    add_uint(o, "node", id);
    add_num(o, "value", t->value[id], "nonfinite");
    return o;
}

static bool is_fanout(const Trace *t, uint32_t i)
{
    return t->g->nodes[i].kind != NODE_CONST && graph_out_count(t->g, i) >= 2;
}

/* ---- issue 5: the jacobian, forward_mode and modes blocks ----
 * A Jacobian may hold up to JAC_MAX_ENTRIES numbers and a tangent sweep one step per node,
 * so these are written straight to the file, number by number, never as one cJSON tree. */

/* Writes a number (shortest round trip) or null for a non-finite one (the caller writes the
 * marker where the format has one). */
static void put_num(Writer *w, double v)
{
    char buf[STRCONV_NUM_MAX];
    put(w, strconv_json_num(buf, v));
}

static void put_uint(Writer *w, uint64_t v)
{
    char buf[NUMFMT_MAX];
    numfmt_uint(buf, v);
    put(w, buf);
}

/* `"key": v` preceded by a comma, plus `"key_nonfinite": "nan"` when v is not finite. */
static void put_field(Writer *w, const char *key, double v)
{
    put(w, ",\"");
    put(w, key);
    put(w, "\":");
    put_num(w, v);
    const char *nf = fmt_nonfinite(v);
    if (nf) {
        put(w, ",\"");
        put(w, key);
        put(w, "_nonfinite\":\"");
        put(w, nf);
        put(w, "\"");
    }
}

/* A node's name as a JSON string, or null. Names are identifiers (SPEC §2: [A-Za-z_]
 * [A-Za-z0-9_]*), which need no escaping. */
static void put_name(Writer *w, const Graph *g, uint32_t id)
{
    const char *name = g->nodes[id].name;
    if (!name) {
        put(w, "null");
        return;
    }
    put(w, "\"");
    put(w, name);
    put(w, "\"");
}

/* `"key": [{"id":..,"name":..(,"kind":..)}, ...]`, one per line when there are many. */
static void put_id_list(Writer *w, const Graph *g, const char *key, const uint32_t *ids, uint32_t n, bool kind)
{
    put(w, "\"");
    put(w, key);
    put(w, "\":[");
    for (uint32_t i = 0; i < n && w->ok; i++) {
        put(w, i == 0 ? "" : ",");
        if (n > 8)
            put(w, "\n  ");
        put(w, "{\"id\":");
        put_uint(w, ids[i]);
        put(w, ",\"name\":");
        put_name(w, g, ids[i]);
        if (kind) {
            put(w, ",\"kind\":\"");
            put(w, node_kind_name((NodeKind)g->nodes[ids[i]].kind));
            put(w, "\"");
        }
        put(w, "}");
    }
    put(w, "]");
}

/* Numbers per line inside a long matrix row, so the file stays readable in an editor. */
#define ROW_WRAP 16

/* `,"key": [[row 0], [row 1], ...]` for the row-major nrows × ncols matrix d, then, if any
 * entry is not finite, `,"key_nonfinite": [{"row": i, "col": j, "value": "nan"}, ...]`
 * listing every null entry (a matrix has no room for a marker beside each number). */
static void put_matrix(Writer *w, const char *key, const double *d, uint32_t nrows, uint32_t ncols)
{
    put(w, ",\n\"");
    put(w, key);
    put(w, "\":[");
    bool any_nonfinite = false;
    for (uint32_t i = 0; i < nrows && w->ok; i++) {
        put(w, i ? ",\n  [" : "\n  [");
        const double *row = d + (size_t)i * ncols;
        for (uint32_t j = 0; j < ncols; j++) {
            if (j)
                put(w, j % ROW_WRAP ? "," : ",\n   ");
            put_num(w, row[j]);
            any_nonfinite = any_nonfinite || !isfinite(row[j]);
        }
        put(w, "]");
    }
    put(w, nrows ? "\n]" : "]");
    if (!any_nonfinite)
        return;
    put(w, ",\n\"");
    put(w, key);
    put(w, "_nonfinite\":[");
    bool first = true;
    for (uint32_t i = 0; i < nrows && w->ok; i++)
        for (uint32_t j = 0; j < ncols; j++) {
            const char *nf = fmt_nonfinite(d[(size_t)i * ncols + j]);
            if (!nf)
                continue;
            put(w, first ? "\n  {\"row\":" : ",\n  {\"row\":");
            first = false;
            put_uint(w, i);
            put(w, ",\"col\":");
            put_uint(w, j);
            put(w, ",\"value\":\"");
            put(w, nf);
            put(w, "\"}");
        }
    put(w, "\n]");
}

static void put_jac_check(Writer *w, const Jacobian *J, const JacCheck *c)
{
    put(w, ",\n\"check\":{\"method\":\"central-difference\"");
    put_field(w, "eps", c->eps);
    put(w, ",\"tolerance\":{\"rel\":");
    put_num(w, c->rtol);
    put(w, ",\"abs\":");
    put_num(w, c->atol);
    put(w, "}");
    put_matrix(w, "numeric", c->numeric, J->nrows, J->ncols);
    put(w, ",\n\"failed\":");
    put_uint(w, c->nfailed);
    put_field(w, "max_abs_error", c->max_abs_error);
    put_field(w, "max_rel_error", c->max_rel_error);
    if ((size_t)J->nrows * J->ncols > 0) {
        put(w, ",\"worst\":{\"row\":");
        put_uint(w, c->worst_row);
        put(w, ",\"col\":");
        put_uint(w, c->worst_col);
        put(w, "}");
    }
    put(w, c->passed ? ",\"passed\":true}" : ",\"passed\":false}");
}

static void put_via(Writer *w, const Graph *g, const ViaResult *v)
{
    put(w, ",\n\"via\":{");
    put_id_list(w, g, "cut", v->f.cols, v->f.ncols, false);
    put_matrix(w, "f", v->f.d, v->f.nrows, v->f.ncols);
    put_matrix(w, "g", v->g.d, v->g.nrows, v->g.ncols);
    put_matrix(w, "product", v->prod.d, v->prod.nrows, v->prod.ncols);
    put_field(w, "max_abs_diff", v->max_abs_diff);
    put_field(w, "max_rel_diff", v->max_rel_diff);
    put(w, v->agree ? ",\"agree\":true}" : ",\"agree\":false}");
}

static const char *const MODE_NAMES[] = {"reverse", "forward", "both"};

static void put_jacobian(Writer *w, const Trace *t, const JacResults *jr)
{
    const Jacobian *J = jr->jac;
    const Graph *g = t->g;
    put(w, ",\n\"jacobian\":{\"mode\":\"");
    put(w, MODE_NAMES[jr->mode]);
    put(w, "\",\n");
    put_id_list(w, g, "rows", J->rows, J->nrows, false);
    put(w, ",\n");
    put_id_list(w, g, "cols", J->cols, J->ncols, true);
    put_matrix(w, "values", J->d, J->nrows, J->ncols);
    if (jr->jac_fwd)
        put_field(w, "forward_max_abs_diff", jr->fwd_max_abs_diff);
    if (jr->jcheck)
        put_jac_check(w, J, jr->jcheck);
    if (jr->via)
        put_via(w, g, jr->via);
    put(w, "\n}");
}

/* An untimed comparison (jac_compare_counts, --reproducible) leaves out every measured field,
 * timed_sweeps and seconds, so the bytes depend on the model alone. */
static void put_cost(Writer *w, const char *key, const ModeCost *c, bool timed)
{
    put(w, ",\"");
    put(w, key);
    put(w, "\":{\"sweeps\":");
    put_uint(w, c->sweeps);
    if (timed) {
        put(w, ",\"timed_sweeps\":");
        put_uint(w, c->timed);
    }
    put_field(w, "nodes", c->nodes);
    put_field(w, "edges", c->edges);
    if (timed)
        put_field(w, "seconds", c->seconds);
    put(w, c->estimated ? ",\"estimated\":true}" : ",\"estimated\":false}");
}

/* Timed: budget_seconds, and per task each mode's seconds and the ratio. Untimed: "timed":
 * false in their place (the schema's two shapes of the block). */
static void put_modes(Writer *w, const ModeStats *s)
{
    if (s->timed) {
        put(w, ",\n\"modes\":{\"budget_seconds\":");
        put_num(w, s->budget);
    } else {
        put(w, ",\n\"modes\":{\"timed\":false");
    }
    put(w, ",\"outputs\":");
    put_uint(w, s->noutputs);
    put(w, ",\"inputs\":");
    put_uint(w, s->ninputs);
    put(w, ",\"params\":");
    put_uint(w, s->nparams);
    put(w, ",\"tasks\":[");
    for (int k = 0; k < MODE_NTASKS; k++) {
        const ModeTask *m = &s->task[k];
        put(w, k ? ",\n  {\"task\":\"" : "\n  {\"task\":\"");
        put(w, m->name);
        put(w, "\",\"rows\":");
        put_uint(w, m->nrows);
        put(w, ",\"cols\":");
        put_uint(w, m->ncols);
        put_cost(w, "reverse", &m->reverse, s->timed);
        put_cost(w, "forward", &m->forward, s->timed);
        if (s->timed) {
            /* no ratio when the reverse sweeps took no measurable time */
            put(w, ",\"ratio\":");
            if (m->reverse.seconds > 0 && isfinite(m->ratio))
                put_num(w, m->ratio);
            else
                put(w, "null");
        }
        put(w, "}");
    }
    put(w, "\n]}");
}

static void put_forward_mode(Writer *w, const Trace *t, const TangentSweep *s)
{
    const Graph *g = t->g;
    put(w, ",\n\"forward_mode\":{\"wrt\":");
    put_uint(w, s->leaf);
    put(w, ",\"steps\":[");
    for (uint32_t i = 0; i < s->nsteps && w->ok; i++) {
        uint32_t id = s->steps[i];
        const Node *n = &g->nodes[id];
        put(w, i ? ",\n  {\"step\":" : "\n  {\"step\":");
        put_uint(w, i);
        put(w, ",\"node\":");
        put_uint(w, id);
        put_field(w, "tangent", s->node[id]);
        put(w, ",\"edges\":[");
        for (uint32_t e = n->in_first; e < n->in_first + n->nedges; e++) {
            put(w, e == n->in_first ? "{\"edge\":" : ",{\"edge\":");
            put_uint(w, e);
            put_field(w, "tangent", s->edge[e]);
            put(w, "}");
        }
        put(w, "]}");
    }
    put(w, s->nsteps ? "\n]}" : "]}");
}

bool tracejson_write(const Trace *t, const JacResults *jr, const char *source, FILE *f, Err *err)
{
    Writer w = {.f = f, .ok = true};
    const Graph *g = t->g;
    const TangentSweep *ts = jr ? jr->tangents : NULL;
    cJSON *head = cJSON_CreateObject();
    obj_add_str(head, "format", "gradviz-trace");
    add_uint(head, "version", 1);
    cJSON *model = obj_add_object(head, "model");
    add_opt_str(model, "title", g->title);
    obj_add_str(model, "source", source);
    cJSON *outs = obj_add_array(head, "outputs");
    for (uint32_t i = 0; i < g->noutputs; i++)
        cJSON_AddItemToArray(outs, uint_item(g->outputs[i]));
    /* print the head object without its closing brace, then stream the arrays after it */
    char *s = cJSON_PrintUnformatted(head);
    cJSON_Delete(head);
    if (!s)
        return err_set(err, ERR_IO, "out of memory");
    s[strlen(s) - 1] = '\0';
    put(&w, s);
    cJSON_free(s);

    /* nodes and edges, with the forward-mode tangent when there is a sweep */
    put(&w, ",\n\"nodes\": [");
    for (uint32_t i = 0; i < g->nnodes && w.ok; i++) {
        put(&w, i ? ",\n  " : "\n  ");
        cJSON *o = node_record(t, i);
        if (ts)
            add_num(o, "tangent", ts->node[i], "tangent_nonfinite");
        put_obj(&w, o);
    }
    put(&w, g->nnodes ? "\n]" : "]");
    put(&w, ",\n\"edges\": [");
    for (uint32_t e = 0; e < g->nedges && w.ok; e++) {
        put(&w, e ? ",\n  " : "\n  ");
        cJSON *o = edge_record(t, e);
        if (ts)
            add_num(o, "tangent", ts->edge[e], "tangent_nonfinite");
        put_obj(&w, o);
    }
    put(&w, g->nedges ? "\n]" : "]");
    /* forward: op nodes in evaluation order, numbered from 0 */
    put(&w, ",\n\"forward\": [");
    uint32_t step = 0;
    for (uint32_t i = 0; i < g->nnodes && w.ok; i++) {
        if (!is_op(t, i))
            continue;
        put(&w, step ? ",\n  " : "\n  ");
        cJSON *o = forward_record(t, i);
        obj_add(o, "step", uint_item(step++));
        put_obj(&w, o);
    }
    put(&w, step ? "\n]" : "]");
    put_array(&w, "backward", t, t->nbwd, backward_record, NULL);
    put_array(&w, "fanout", t, g->nnodes, fanout_record, is_fanout);
    if (t->check) {
        put(&w, ",\n\"check\": ");
        put_obj(&w, check_record(t));
    }
    if (jr && jr->jac)
        put_jacobian(&w, t, jr);
    if (ts)
        put_forward_mode(&w, t, ts);
    if (jr && jr->modes)
        put_modes(&w, jr->modes);
    /* the per-depth gradient profile (issue 6): one reverse pass, one level per depth */
    FlowProfile fp = {0};
    if (w.ok && flow_profile(t, &fp, err)) {
        Buf b = {0};
        flow_profile_json(&fp, &b);
        if (b.oom || !b.data)
            w.ok = false;
        else {
            put(&w, ",\n\"flow\": ");
            put(&w, b.data);
        }
        buf_free(&b);
    } else if (!err_ok(err)) {
        w.ok = false;
    }
    flow_profile_free(&fp);
    put(&w, "\n}\n");
    free(w.pbuf);
    if (!w.ok)
        return err_set(err, ERR_IO, "writing the JSON trace failed");
    return true;
}
