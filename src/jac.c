/* jac: Jacobians by reverse and forward mode, the cut factorisation and the mode comparison.
 * Every sweep reuses the local derivatives ad_run stored per edge, so a sweep is pure
 * multiply-adds over the tape: down the ids from one output (reverse), or up the ids from one
 * leaf (forward). */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "jac.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NONE UINT32_MAX

static bool is_diff_leaf(const Node *n) { return n->kind == NODE_INPUT || n->kind == NODE_PARAM; }

static bool oom(Err *err) { return err_set(err, ERR_IO, "out of memory"); }

void jac_free(Jacobian *J)
{
    if (!J)
        return;
    free(J->rows);
    free(J->cols);
    free(J->d);
    memset(J, 0, sizeof *J);
}

uint32_t jac_leaves(const Graph *g, uint32_t *out, uint32_t cap)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < g->nnodes; i++)
        if (is_diff_leaf(&g->nodes[i])) {
            if (n < cap)
                out[n] = i;
            n++;
        }
    return n;
}

/* Allocates J for rows × cols (ids copied), refusing more than JAC_MAX_ENTRIES. `what` names
 * the matrix in the message. */
static bool jac_alloc(Jacobian *J, const uint32_t *rows, uint32_t nrows, const uint32_t *cols, uint32_t ncols,
                      const char *what, Err *err)
{
    memset(J, 0, sizeof *J);
    uint64_t entries = (uint64_t)nrows * ncols;
    if (entries > JAC_MAX_ENTRIES)
        return err_set(err, ERR_USAGE,
                       "%s would have %u × %u = %.3g entries (%.3g MB); gradviz computes Jacobians of up to %u "
                       "entries (%u MiB)",
                       what, nrows, ncols, (double)entries, (double)entries * 8 / 1e6, JAC_MAX_ENTRIES,
                       (unsigned)((uint64_t)JAC_MAX_ENTRIES * 8 >> 20));
    J->rows = malloc((nrows ? nrows : 1) * sizeof *J->rows);
    J->cols = malloc((ncols ? ncols : 1) * sizeof *J->cols);
    J->d = calloc(entries ? entries : 1, sizeof *J->d);
    if (!J->rows || !J->cols || !J->d) {
        jac_free(J);
        return oom(err);
    }
    J->nrows = nrows;
    J->ncols = ncols;
    if (nrows)
        memcpy(J->rows, rows, nrows * sizeof *rows);
    if (ncols)
        memcpy(J->cols, cols, ncols * sizeof *cols);
    return true;
}

/* Refuses `sweeps` sweeps over the whole graph when they exceed JAC_MAX_WORK. */
static bool check_work(const Graph *g, uint64_t sweeps, const char *what, Err *err)
{
    double per = (double)g->nnodes + (double)g->nedges;
    double work = (double)sweeps * per;
    if (work <= JAC_MAX_WORK)
        return true;
    return err_set(err, ERR_USAGE,
                   "%s needs %llu sweeps over %.3g nodes and edges each (%.3g in all); the limit is %.3g", what,
                   (unsigned long long)sweeps, per, work, JAC_MAX_WORK);
}

/* ---- sweeps ---- */

typedef struct SweepCount {
    double nodes, edges;
} SweepCount;

/* Backward sweep from node o: adj[k] = ∂o/∂k for k <= o, summed over the paths whose every
 * consumer reaches o, in the order ad_backward sums (so the primary's sweep reproduces t->grad
 * bit for bit). Nodes with stop[k] set keep their adjoint but pass nothing on (stop may be
 * NULL). Only adj[0..o] and reach[0..o] are written: read entries above o as 0. */
static void sweep_reverse(const Trace *t, uint32_t o, const uint8_t *stop, double *adj, uint8_t *reach,
                          SweepCount *c)
{
    const Graph *g = t->g;
    memset(adj, 0, ((size_t)o + 1) * sizeof *adj);
    memset(reach, 0, (size_t)o + 1);
    adj[o] = 1.0;
    reach[o] = 1;
    for (uint32_t k = o + 1; k-- > 0;) {
        const Node *n = &g->nodes[k];
        if (!reach[k] || n->kind != NODE_OP || (stop && stop[k]))
            continue;
        double dout = adj[k]; /* complete: every consumer has a larger id */
        c->nodes += 1;
        c->edges += n->nedges;
        /* consts collect an adjoint too, which nothing reads: testing each operand's kind
         * here would read the node array at random and cost more than the sweep itself */
        for (uint32_t e = n->in_first; e < n->in_first + n->nedges; e++) {
            uint32_t from = g->edges[e].from;
            reach[from] = 1;
            adj[from] += ad_chain(t, e, dout);
        }
    }
}

static double adj_at(const double *adj, uint32_t o, uint32_t k) { return k <= o ? adj[k] : 0.0; }

/* Forward sweep with tangent e_leaf up to node `end`: tan[n] = ∂n/∂leaf for leaf <= n <= end,
 * dep[n] = 1 if n depends on the leaf. Nodes below the leaf cannot depend on it (ids are
 * topological), so nothing below it is read or written. etan (may be NULL) receives each
 * visited in-edge's tangent. */
static void sweep_forward(const Trace *t, uint32_t leaf, uint32_t end, double *tan, uint8_t *dep, double *etan)
{
    const Graph *g = t->g;
    tan[leaf] = 1.0;
    dep[leaf] = 1;
    for (uint32_t k = leaf + 1; k <= end; k++) {
        const Node *n = &g->nodes[k];
        if (n->kind != NODE_OP) {
            tan[k] = 0.0;
            dep[k] = 0;
            continue;
        }
        double s = 0.0;
        uint8_t d = 0;
        for (uint32_t e = n->in_first; e < n->in_first + n->nedges; e++) {
            uint32_t from = g->edges[e].from;
            double v = 0.0;
            if (from >= leaf && dep[from]) {
                v = ad_chain(t, e, tan[from]);
                s += v;
                d = 1;
            }
            if (etan)
                etan[e] = v;
        }
        tan[k] = s;
        dep[k] = d;
    }
}

static uint32_t max_output(const Graph *g)
{
    uint32_t m = 0;
    for (uint32_t i = 0; i < g->noutputs; i++)
        if (g->outputs[i] > m)
            m = g->outputs[i];
    return m;
}

/* ---- full Jacobians ---- */

/* Allocates the outputs × leaves Jacobian and the per-node scratch (adj nnodes doubles,
 * flags nnodes bytes). */
static bool full_alloc(const Trace *t, Jacobian *J, double **scratch, uint8_t **flags, Err *err)
{
    const Graph *g = t->g;
    *scratch = NULL;
    *flags = NULL;
    uint32_t nleaves = jac_leaves(g, NULL, 0);
    uint32_t *leaves = malloc((nleaves ? nleaves : 1) * sizeof *leaves);
    if (!leaves)
        return oom(err);
    jac_leaves(g, leaves, nleaves);
    bool ok = jac_alloc(J, g->outputs, g->noutputs, leaves, nleaves, "the Jacobian of the outputs", err);
    free(leaves);
    if (!ok)
        return false;
    *scratch = malloc((size_t)g->nnodes * sizeof **scratch);
    *flags = malloc(g->nnodes);
    if (!*scratch || !*flags) {
        free(*scratch);
        free(*flags);
        jac_free(J);
        return oom(err);
    }
    return true;
}

bool jac_reverse(const Trace *t, Jacobian *J, Err *err)
{
    memset(J, 0, sizeof *J);
    double *adj;
    uint8_t *reach;
    if (!check_work(t->g, t->g->noutputs, "reverse mode", err) || !full_alloc(t, J, &adj, &reach, err))
        return false;
    SweepCount c = {0, 0};
    for (uint32_t i = 0; i < J->nrows; i++) {
        uint32_t o = J->rows[i];
        sweep_reverse(t, o, NULL, adj, reach, &c);
        for (uint32_t j = 0; j < J->ncols; j++)
            J->d[(size_t)i * J->ncols + j] = adj_at(adj, o, J->cols[j]);
    }
    free(adj);
    free(reach);
    return true;
}

bool jac_forward(const Trace *t, Jacobian *J, Err *err)
{
    memset(J, 0, sizeof *J);
    double *tan;
    uint8_t *dep;
    uint32_t nleaves = jac_leaves(t->g, NULL, 0);
    if (!check_work(t->g, nleaves, "forward mode", err) || !full_alloc(t, J, &tan, &dep, err))
        return false;
    uint32_t end = max_output(t->g);
    for (uint32_t j = 0; j < J->ncols; j++) {
        uint32_t leaf = J->cols[j];
        if (leaf > end)
            continue; /* no output depends on it: the column stays 0 */
        sweep_forward(t, leaf, end, tan, dep, NULL);
        for (uint32_t i = 0; i < J->nrows; i++) {
            uint32_t o = J->rows[i];
            J->d[(size_t)i * J->ncols + j] = o >= leaf && dep[o] ? tan[o] : 0.0;
        }
    }
    free(tan);
    free(dep);
    return true;
}

void jac_tangents_free(TangentSweep *s)
{
    if (!s)
        return;
    free(s->node);
    free(s->edge);
    free(s->steps);
    memset(s, 0, sizeof *s);
}

bool jac_tangents(const Trace *t, uint32_t leaf, TangentSweep *s, Err *err)
{
    const Graph *g = t->g;
    memset(s, 0, sizeof *s);
    if (leaf >= g->nnodes || !is_diff_leaf(&g->nodes[leaf]))
        return err_set(err, ERR_USAGE, "forward mode sweeps start at an input or param; node %u is not one", leaf);
    size_t nn = g->nnodes, ne = g->nedges ? g->nedges : 1;
    uint8_t *dep = calloc(nn, 1);
    s->leaf = leaf;
    s->node = calloc(nn, sizeof *s->node);
    s->edge = calloc(ne, sizeof *s->edge);
    s->steps = malloc(nn * sizeof *s->steps);
    if (!dep || !s->node || !s->edge || !s->steps) {
        free(dep);
        jac_tangents_free(s);
        return oom(err);
    }
    sweep_forward(t, leaf, g->nnodes - 1, s->node, dep, s->edge);
    for (uint32_t k = leaf + 1; k < g->nnodes; k++)
        if (dep[k])
            s->steps[s->nsteps++] = k;
    free(dep);
    return true;
}

/* ---- names ---- */

/* The named node nearest to name[0..len) (see suggest_offer), or NULL. */
static const char *suggest(const Graph *g, const char *name, size_t len)
{
    Suggest s;
    suggest_init(&s, name, len);
    s.extend = true;
    for (uint32_t i = 0; i < g->nnodes; i++)
        if (g->nodes[i].name)
            suggest_offer(&s, g->nodes[i].name);
    return s.best;
}

static uint32_t lookup_or_fail(const Graph *g, const char *name, size_t len, const char *opt, Err *err)
{
    uint32_t id = graph_lookup(g, name, len);
    if (id != NONE)
        return id;
    err_set(err, ERR_USAGE, "%s: the model has no node named '%.*s'", opt, (int)len, name);
    const char *s = suggest(g, name, len);
    if (s)
        err_hint(err, "did you mean '%s'?", s);
    return NONE;
}

uint32_t jac_find_leaf(const Graph *g, const char *name, const char *opt, Err *err)
{
    uint32_t id = lookup_or_fail(g, name, strlen(name), opt, err);
    if (id == NONE)
        return NONE;
    const Node *n = &g->nodes[id];
    if (n->kind == NODE_CONST) {
        err_set(err, ERR_USAGE, "%s: '%s' is a const, which has no derivative; name an input or param", opt, name);
        return NONE;
    }
    if (n->kind == NODE_OP) {
        err_set(err, ERR_USAGE, "%s: '%s' is computed, not an input or param", opt, name);
        return NONE;
    }
    return id;
}

bool jac_parse_names(const Graph *g, const char *list, const char *opt, uint32_t **ids, size_t *n, Err *err)
{
    *ids = NULL;
    *n = 0;
    size_t cap = 0;
    const char *p = list;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const char *s = p;
        /* "u1, u2" reads naturally: blanks around a name are not part of it */
        while (len && (*s == ' ' || *s == '\t'))
            s++, len--;
        while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
            len--;
        if (len == 0) {
            free(*ids);
            *ids = NULL;
            *n = 0;
            return err_set(err, ERR_USAGE, "%s needs a comma list of node names, got '%s'", opt, list);
        }
        uint32_t id = lookup_or_fail(g, s, len, opt, err);
        for (size_t i = 0; id != NONE && i < *n; i++)
            if ((*ids)[i] == id) {
                err_set(err, ERR_USAGE, "%s: '%.*s' is listed twice", opt, (int)len, s);
                id = NONE;
            }
        if (id == NONE || !vec_reserve((void **)ids, &cap, *n + 1, sizeof **ids)) {
            if (id != NONE)
                oom(err);
            free(*ids);
            *ids = NULL;
            *n = 0;
            return false;
        }
        (*ids)[(*n)++] = id;
        if (!comma)
            return true;
        p = comma + 1;
    }
}

/* ---- the cut ---- */

void jac_via_free(ViaResult *r)
{
    if (!r)
        return;
    jac_free(&r->f);
    jac_free(&r->g);
    jac_free(&r->prod);
    jac_free(&r->h);
    memset(r, 0, sizeof *r);
}

/* The name of node k in a path: its name, or its operator symbol. */
static void path_name(Buf *b, const Graph *g, uint32_t k)
{
    const Node *n = &g->nodes[k];
    buf_puts(b, n->name ? n->name : op_info((Op)n->op)->symbol);
}

/* Longest path written out in full; longer ones show their first and last PATH_SHOW / 2 nodes. */
#define PATH_SHOW 10

/* Finds a path from an input or param to an output that meets no cut node; if there is one,
 * sets err naming it and returns false. pred is nnodes scratch. */
static bool check_separates(const Trace *t, const uint8_t *incut, uint32_t *pred, Err *err)
{
    const Graph *g = t->g;
    uint32_t end = max_output(g);
    /* pred[k]: the operand through which a cut-free path from a leaf reaches k; k itself for a
     * leaf; NONE if no such path */
    for (uint32_t k = 0; k <= end; k++) {
        const Node *n = &g->nodes[k];
        pred[k] = NONE;
        if (incut[k])
            continue;
        if (is_diff_leaf(n)) {
            pred[k] = k;
            continue;
        }
        for (uint32_t e = n->in_first; n->kind == NODE_OP && e < n->in_first + n->nedges; e++)
            if (pred[g->edges[e].from] != NONE) {
                pred[k] = g->edges[e].from;
                break;
            }
    }
    for (uint32_t i = 0; i < g->noutputs; i++) {
        uint32_t o = g->outputs[i];
        if (pred[o] == NONE)
            continue;
        /* walk back to the leaf, collecting the path in reverse */
        uint32_t len = 1;
        for (uint32_t k = o; pred[k] != k; k = pred[k])
            len++;
        uint32_t *path = malloc(len * sizeof *path);
        if (!path)
            return oom(err);
        uint32_t k = o;
        for (uint32_t j = len; j-- > 0; k = pred[k])
            path[j] = k;
        Buf b = {0};
        for (uint32_t j = 0; j < len; j++) {
            if (len > PATH_SHOW && j == PATH_SHOW / 2) {
                buf_printf(&b, " -> ... (%u more nodes)", len - PATH_SHOW);
                j = len - PATH_SHOW / 2 - 1;
                continue;
            }
            if (j)
                buf_puts(&b, " -> ");
            path_name(&b, g, path[j]);
        }
        free(path);
        if (b.oom) {
            buf_free(&b);
            return oom(err);
        }
        err_set(err, ERR_USAGE, "the cut does not separate the inputs and params from the outputs: the path %s "
                                "passes through none of its nodes", b.data);
        err_hint(err, "every path from an input or param to an output must pass through a node of the cut");
        buf_free(&b);
        return false;
    }
    return true;
}

/* Fills r for a validated cut. adj/reach are nnodes scratch. */
static bool via_compute(const Trace *t, const uint32_t *cut, uint32_t ncut, const uint8_t *incut, double *adj,
                        uint8_t *reach, ViaResult *r, Err *err)
{
    const Graph *g = t->g;
    if (!jac_reverse(t, &r->h, err))
        return false;
    const uint32_t *leaves = r->h.cols;
    uint32_t nleaves = r->h.ncols, nout = g->noutputs;
    if (!jac_alloc(&r->f, g->outputs, nout, cut, ncut, "the Jacobian of the outputs w.r.t. the cut", err) ||
        !jac_alloc(&r->g, cut, ncut, leaves, nleaves, "the Jacobian of the cut", err) ||
        !jac_alloc(&r->prod, g->outputs, nout, leaves, nleaves, "the product J_f · J_g", err))
        return false;
    SweepCount c = {0, 0};
    /* J_g: total derivatives, one plain backward sweep per cut node */
    for (uint32_t k = 0; k < ncut; k++) {
        double *row = r->g.d + (size_t)k * nleaves;
        if (is_diff_leaf(&g->nodes[cut[k]])) {
            for (uint32_t j = 0; j < nleaves; j++)
                row[j] = leaves[j] == cut[k] ? 1.0 : 0.0;
            continue;
        }
        sweep_reverse(t, cut[k], NULL, adj, reach, &c);
        for (uint32_t j = 0; j < nleaves; j++)
            row[j] = adj_at(adj, cut[k], leaves[j]);
    }
    /* J_f: partials, one backward sweep per output that stops at the cut, so each path is
     * credited to the last cut node on it */
    for (uint32_t i = 0; i < nout; i++) {
        uint32_t o = g->outputs[i];
        sweep_reverse(t, o, incut, adj, reach, &c);
        for (uint32_t k = 0; k < ncut; k++)
            r->f.d[(size_t)i * ncut + k] = cut[k] <= o && reach[cut[k]] ? adj[cut[k]] : 0.0;
    }
    /* the product, and how far it is from J_h */
    double work = (double)nout * ncut * nleaves;
    if (work > JAC_MAX_WORK)
        return err_set(err, ERR_USAGE, "the product J_f · J_g would take %.3g multiplications; the limit is %.3g", work,
                       JAC_MAX_WORK);
    r->agree = true;
    for (uint32_t i = 0; i < nout; i++)
        for (uint32_t j = 0; j < nleaves; j++) {
            double s = 0, mag = 0;
            for (uint32_t k = 0; k < ncut; k++) {
                double term = r->f.d[(size_t)i * ncut + k] * r->g.d[(size_t)k * nleaves + j];
                s += term;
                mag += fabs(term);
            }
            r->prod.d[(size_t)i * nleaves + j] = s;
            double h = r->h.d[(size_t)i * nleaves + j];
            double diff = fabs(s - h), scale = fmax(fabs(s), fabs(h));
            double rel = scale > 0 ? diff / scale : (diff == 0 ? 0 : NAN);
            /* rounding grows with the terms summed, not with their (possibly cancelling) sum */
            bool ok = diff <= 1e-12 + 1e-9 * fmax(mag, fabs(h));
            r->agree = r->agree && ok;
            if (!isnan(r->max_abs_diff) && !(diff <= r->max_abs_diff))
                r->max_abs_diff = diff;
            if (!isnan(r->max_rel_diff) && !(rel <= r->max_rel_diff))
                r->max_rel_diff = rel;
        }
    return true;
}

bool jac_via(const Trace *t, const uint32_t *cut, size_t ncut, ViaResult *r, Err *err)
{
    const Graph *g = t->g;
    memset(r, 0, sizeof *r);
    if (ncut == 0)
        return err_set(err, ERR_USAGE, "the cut is empty: name the nodes that separate the inputs from the outputs");
    if (ncut > g->nnodes)
        return err_set(err, ERR_USAGE, "the cut lists %zu nodes; the model has %u", ncut, g->nnodes);
    uint8_t *incut = calloc(g->nnodes, 1);
    double *adj = malloc((size_t)g->nnodes * sizeof *adj);
    uint8_t *reach = malloc(g->nnodes);
    uint32_t *pred = malloc((size_t)g->nnodes * sizeof *pred);
    bool ok = incut && adj && reach && pred;
    if (!ok)
        oom(err);
    for (size_t k = 0; ok && k < ncut; k++) {
        uint32_t id = cut[k];
        if (id >= g->nnodes) {
            ok = err_set(err, ERR_USAGE, "the cut names node %u; the model has %u nodes", id, g->nnodes);
        } else if (incut[id]) {
            if (g->nodes[id].name)
                ok = err_set(err, ERR_USAGE, "the cut lists '%s' twice", g->nodes[id].name);
            else
                ok = err_set(err, ERR_USAGE, "the cut lists node %u twice", id);
        } else if (g->nodes[id].kind == NODE_CONST) {
            ok = err_set(err, ERR_USAGE, "the cut names the const '%s', which carries no derivative",
                         g->nodes[id].name);
        }
        if (ok)
            incut[id] = 1;
    }
    ok = ok && check_work(g, g->noutputs * 2 + ncut, "the cut factorisation", err) &&
         check_separates(t, incut, pred, err) && via_compute(t, cut, (uint32_t)ncut, incut, adj, reach, r, err);
    free(incut);
    free(adj);
    free(reach);
    free(pred);
    if (!ok)
        jac_via_free(r);
    return ok;
}

/* ---- mode comparison ---- */

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct Bench {
    const Trace *t;
    double *buf;      /* nnodes: adjoints or tangents */
    uint8_t *flags;   /* nnodes: reach or dep */
    uint32_t *opc;    /* nnodes + 1: op nodes with id < k */
    uint32_t *edc;    /* nnodes + 1: in-edges of op nodes with id < k */
    double budget, min_sample;
    bool timed;       /* false: count the sweeps without reading the clock (jac_compare_counts) */
} Bench;

/* A step coprime to n near n/φ, so that visiting i·step mod n spreads the first sweeps of a
 * sample over the whole list (forward sweeps from early leaves cost more than from late ones). */
static uint32_t spread_step(uint32_t n)
{
    if (n <= 2)
        return 1;
    uint32_t s = (uint32_t)(n * 0.6180339887);
    for (;; s++) {
        uint32_t a = s, b = n;
        while (b) {
            uint32_t r = a % b;
            a = b;
            b = r;
        }
        if (a == 1)
            return s;
    }
}

/* Counts the reverse sweeps from ids[0..n) without timing them (jac_compare_counts): every
 * sweep while their work stays within JAC_COUNT_WORK, else an evenly spread sample of them,
 * in the order bench_run times them, stopped at that much work and scaled up by the work the
 * rest would cover. The sample depends on the graph alone, so the counts are reproducible. */
static void count_reverse(const Bench *b, const uint32_t *ids, uint32_t n, double total_work, ModeCost *c)
{
    uint32_t step = spread_step(n);
    SweepCount cnt = {0, 0};
    double work_done = 0;
    uint64_t counted = 0;
    for (uint64_t k = 0; k < n; k++) {
        uint32_t id = ids[(uint32_t)((k * step) % n)];
        sweep_reverse(b->t, id, NULL, b->buf, b->flags, &cnt);
        work_done += (double)id + 1 + b->edc[id + 1];
        counted++;
        if (counted < n && total_work > JAC_COUNT_WORK && work_done >= JAC_COUNT_WORK)
            break;
    }
    double scale = counted < n ? total_work / work_done : 1.0;
    c->timed = counted;
    c->estimated = counted < n;
    c->nodes = cnt.nodes * scale;
    c->edges = cnt.edges * scale;
}

/* Runs (or samples) the sweeps of one mode over ids[0..n): forward sweeps from each leaf up to
 * `end`, or reverse sweeps from each output. Fills c. Work per sweep, for the extrapolation,
 * is the nodes and in-edges it may touch. Untimed (b->timed false), forward sweeps are not run
 * at all (their counts follow from the graph) and reverse sweeps only counted. */
static void bench_run(const Bench *b, bool forward, const uint32_t *ids, uint32_t n, uint32_t end, ModeCost *c)
{
    memset(c, 0, sizeof *c);
    c->sweeps = n;
    if (n == 0)
        return;
    double total_work = 0, exact_nodes = 0, exact_edges = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t lo = forward ? ids[i] : 0, hi = forward ? end : ids[i];
        if (forward && lo > end)
            continue;
        total_work += (double)(hi - lo + 1) + (b->edc[hi + 1] - b->edc[lo]);
        if (forward) { /* the op nodes above the leaf up to end, all their in-edges */
            exact_nodes += b->opc[hi + 1] - b->opc[lo + 1];
            exact_edges += b->edc[hi + 1] - b->edc[lo + 1];
        }
    }
    if (!b->timed) {
        if (forward) {
            c->timed = n;
            c->nodes = exact_nodes;
            c->edges = exact_edges;
        } else {
            count_reverse(b, ids, n, total_work, c);
        }
        return;
    }
    uint32_t step = spread_step(n);
    double work_done = 0, elapsed = 0;
    int reps = 0;
    SweepCount cnt = {0, 0};
    uint64_t timed = 0;
    /* an untimed first sweep faults in the scratch pages and warms the caches, as the many
     * sweeps of the other mode warm them for each other */
    if (forward && ids[0] <= end)
        sweep_forward(b->t, ids[0], end, b->buf, b->flags, NULL);
    else if (!forward)
        sweep_reverse(b->t, ids[0], NULL, b->buf, b->flags, &cnt);
    cnt.nodes = cnt.edges = 0;
    double start = now_seconds();
    /* one pass over every sweep, stopped early when the projection exceeds the budget; then
     * repeated while the passes took under 20 ms in all, so small models measure above the
     * clock's resolution, and up to 3 passes while they fit in the minimum sample time, so a
     * single big sweep (reverse mode on a big model) is not one noisy reading */
    do {
        cnt.nodes = cnt.edges = 0;
        timed = 0;
        work_done = 0;
        for (uint64_t k = 0; k < n; k++) {
            uint32_t id = ids[(uint32_t)((k * step) % n)];
            if (forward) {
                if (id <= end) {
                    sweep_forward(b->t, id, end, b->buf, b->flags, NULL);
                    work_done += (double)(end - id + 1) + (b->edc[end + 1] - b->edc[id]);
                }
            } else {
                sweep_reverse(b->t, id, NULL, b->buf, b->flags, &cnt);
                work_done += (double)id + 1 + b->edc[id + 1];
            }
            timed++;
            elapsed = now_seconds() - start;
            if (reps == 0 && timed < n && elapsed >= b->min_sample && work_done > 0 &&
                elapsed * total_work / work_done > b->budget)
                break;
        }
        reps++;
    } while (timed == n && reps < 100000 &&
             (elapsed < 0.02 || (reps < 3 && elapsed / reps * (reps + 1) <= b->min_sample)));
    c->timed = timed;
    if (timed < n) {
        c->estimated = true;
        c->seconds = elapsed * total_work / work_done;
    } else {
        c->seconds = elapsed / reps;
    }
    if (forward) {
        c->nodes = exact_nodes;
        c->edges = exact_edges;
    } else {
        double scale = timed < n ? total_work / work_done : 1.0;
        c->nodes = cnt.nodes * scale;
        c->edges = cnt.edges * scale;
    }
}

static ModeCost cost_sum(const ModeCost *a, const ModeCost *b)
{
    ModeCost c = {.sweeps = a->sweeps + b->sweeps, .timed = a->timed + b->timed, .nodes = a->nodes + b->nodes,
                  .edges = a->edges + b->edges, .seconds = a->seconds + b->seconds,
                  .estimated = a->estimated || b->estimated};
    return c;
}

/* jac_compare (timed) and jac_compare_counts (not timed: budget 0, no seconds). */
static bool compare(const Trace *t, double budget, bool timed, ModeStats *s, Err *err)
{
    const Graph *g = t->g;
    memset(s, 0, sizeof *s);
    if (!timed)
        budget = 0;
    else if (budget <= 0)
        budget = JAC_COMPARE_BUDGET;
    size_t nn = g->nnodes;
    Bench b = {.t = t, .budget = budget, .min_sample = fmin(0.5, budget / 10), .timed = timed};
    b.buf = malloc(nn * sizeof *b.buf);
    b.flags = malloc(nn);
    b.opc = malloc((nn + 1) * sizeof *b.opc);
    b.edc = malloc((nn + 1) * sizeof *b.edc);
    uint32_t nleaves = jac_leaves(g, NULL, 0);
    uint32_t *ins = malloc((nleaves ? nleaves : 1) * sizeof *ins);
    uint32_t *pars = malloc((nleaves ? nleaves : 1) * sizeof *pars);
    uint32_t *all = malloc((nleaves ? nleaves : 1) * sizeof *all);
    if (!b.buf || !b.flags || !b.opc || !b.edc || !ins || !pars || !all) {
        free(b.buf);
        free(b.flags);
        free(b.opc);
        free(b.edc);
        free(ins);
        free(pars);
        free(all);
        return oom(err);
    }
    b.opc[0] = b.edc[0] = 0;
    for (uint32_t k = 0; k < g->nnodes; k++) {
        bool op = g->nodes[k].kind == NODE_OP;
        b.opc[k + 1] = b.opc[k] + op;
        b.edc[k + 1] = b.edc[k] + (op ? g->nodes[k].nedges : 0);
    }
    jac_leaves(g, all, nleaves);
    for (uint32_t i = 0; i < nleaves; i++) {
        if (g->nodes[all[i]].kind == NODE_INPUT)
            ins[s->ninputs++] = all[i];
        else
            pars[s->nparams++] = all[i];
    }
    s->noutputs = g->noutputs;
    s->timed = timed;
    s->budget = budget;
    uint32_t primary = t->primary, last = max_output(g);

    ModeCost rev_primary, rev_all, fwd_in, fwd_par, fwd_grad, fwd_all;
    bench_run(&b, false, &primary, 1, 0, &rev_primary);
    if (g->noutputs == 1)
        rev_all = rev_primary;
    else
        bench_run(&b, false, g->outputs, g->noutputs, 0, &rev_all);
    bench_run(&b, true, ins, s->ninputs, primary, &fwd_in);
    /* the params' sweeps get what the inputs' left of the task's budget */
    b.budget = fmax(budget - fwd_in.seconds, 0);
    bench_run(&b, true, pars, s->nparams, primary, &fwd_par);
    b.budget = budget;
    fwd_grad = cost_sum(&fwd_in, &fwd_par);
    if (last == primary)
        fwd_all = fwd_grad;
    else
        bench_run(&b, true, all, nleaves, last, &fwd_all);

    static const char *const names[MODE_NTASKS] = {"jacobian", "gradient_inputs", "gradient_inputs_params"};
    uint32_t nrows[MODE_NTASKS] = {g->noutputs, 1, 1}, ncols[MODE_NTASKS] = {nleaves, s->ninputs, nleaves};
    const ModeCost *rev[MODE_NTASKS] = {&rev_all, &rev_primary, &rev_primary};
    const ModeCost *fwd[MODE_NTASKS] = {&fwd_all, &fwd_in, &fwd_grad};
    for (int k = 0; k < MODE_NTASKS; k++) {
        ModeTask *m = &s->task[k];
        m->name = names[k];
        m->nrows = nrows[k];
        m->ncols = ncols[k];
        m->reverse = *rev[k];
        m->forward = *fwd[k];
        m->ratio = m->reverse.seconds > 0 ? m->forward.seconds / m->reverse.seconds : 0;
    }
    free(b.buf);
    free(b.flags);
    free(b.opc);
    free(b.edc);
    free(ins);
    free(pars);
    free(all);
    return true;
}

bool jac_compare(const Trace *t, double budget, ModeStats *s, Err *err) { return compare(t, budget, true, s, err); }

bool jac_compare_counts(const Trace *t, ModeStats *s, Err *err) { return compare(t, 0, false, s, err); }

/* ---- central differences ---- */

/* Re-evaluates nodes first..end over v (leaves keep v's values: the caller perturbs one). */
static void eval_range(const Graph *g, double *v, uint32_t first, uint32_t end)
{
    for (uint32_t k = first; k <= end; k++) {
        const Node *n = &g->nodes[k];
        if (n->kind != NODE_OP)
            continue;
        double a[OP_MAX_ARITY];
        for (int i = 0; i < n->nargs; i++)
            a[i] = n->args[i].is_lit ? g->lits[n->args[i].ref] : v[g->edges[n->args[i].ref].from];
        v[k] = op_forward((Op)n->op, a);
    }
}

void jac_check_free(JacCheck *c)
{
    if (!c)
        return;
    free(c->numeric);
    memset(c, 0, sizeof *c);
}

JacCheckEntry jac_check_entry(const Jacobian *J, const JacCheck *c, uint32_t i, uint32_t j)
{
    JacCheckEntry e = {.analytic = jac_at(J, i, j), .numeric = c->numeric[(size_t)i * J->ncols + j]};
    e.abs_error = fabs(e.analytic - e.numeric);
    double scale = fmax(fabs(e.analytic), fabs(e.numeric));
    e.rel_error = scale > 0 ? e.abs_error / scale : (e.abs_error == 0 ? 0 : NAN);
    e.passed = e.abs_error <= c->atol || e.rel_error <= c->rtol;
    return e;
}

bool jac_check(const Trace *t, const Jacobian *J, double budget, JacCheck *c, Err *err)
{
    const Graph *g = t->g;
    memset(c, 0, sizeof *c);
    uint32_t end = max_output(g);
    if (budget <= 0)
        budget = 2e8;
    double work = (double)J->ncols * (end + 1);
    if (work > budget)
        return err_set(err, ERR_USAGE,
                       "--check on this Jacobian would evaluate %.3g nodes (%u inputs and params × %u nodes); the "
                       "limit is %.3g",
                       work, J->ncols, end + 1, budget);
    double *v = malloc(((size_t)end + 1) * sizeof *v);
    c->numeric = calloc((size_t)J->nrows * J->ncols + 1, sizeof *c->numeric);
    if (!v || !c->numeric) {
        free(v);
        jac_check_free(c);
        return oom(err);
    }
    /* the step balances truncation O(h²) against rounding O(DBL_EPSILON/h), as in ad_check */
    c->eps = cbrt(DBL_EPSILON);
    c->rtol = 1e-5;
    c->atol = 1e-7;
    c->passed = true;
    memcpy(v, t->value, ((size_t)end + 1) * sizeof *v);
    double worst = -1;
    for (uint32_t j = 0; j < J->ncols; j++) {
        uint32_t leaf = J->cols[j];
        if (leaf > end)
            continue; /* no output depends on it: numeric 0 */
        double x = t->value[leaf], h = c->eps * (fabs(x) > 1 ? fabs(x) : 1);
        v[leaf] = x + h;
        eval_range(g, v, leaf + 1, end);
        for (uint32_t i = 0; i < J->nrows; i++)
            c->numeric[(size_t)i * J->ncols + j] = v[J->rows[i]];
        v[leaf] = x - h;
        eval_range(g, v, leaf + 1, end);
        for (uint32_t i = 0; i < J->nrows; i++) {
            double *num = &c->numeric[(size_t)i * J->ncols + j];
            *num = (*num - v[J->rows[i]]) / (2 * h);
        }
        memcpy(v + leaf, t->value + leaf, ((size_t)end + 1 - leaf) * sizeof *v);
    }
    for (uint32_t i = 0; i < J->nrows; i++)
        for (uint32_t j = 0; j < J->ncols; j++) {
            JacCheckEntry en = jac_check_entry(J, c, i, j);
            double abs_err = en.abs_error, rel = en.rel_error;
            bool ok = en.passed;
            if (!ok) {
                c->passed = false;
                c->nfailed++;
            }
            if (!isnan(c->max_abs_error) && !(abs_err <= c->max_abs_error))
                c->max_abs_error = abs_err;
            if (!isnan(c->max_rel_error) && !(rel <= c->max_rel_error))
                c->max_rel_error = rel;
            double r = isnan(rel) ? INFINITY : rel;
            if (r > worst) {
                worst = r;
                c->worst_row = i;
                c->worst_col = j;
            }
        }
    free(v);
    return true;
}
