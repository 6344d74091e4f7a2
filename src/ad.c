/* ad: forward pass, reverse-mode backward pass with step records, and the central-difference
 * gradient check. The graph is a tape (ids are topological), so the forward pass is one loop
 * up the ids and the backward pass one loop down them. */
#include "ad.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Operand values of op node n, literals included, in slot order. */
static void gather_args(const Graph *g, const Node *n, const double *value, double *a)
{
    for (int i = 0; i < n->nargs; i++)
        a[i] = n->args[i].is_lit ? g->lits[n->args[i].ref] : value[g->edges[n->args[i].ref].from];
}

/* Evaluates op nodes first..end-1 over `value` (leaves in that range take their init). */
static void forward_range(const Graph *g, double *value, uint32_t first, uint32_t end)
{
    for (uint32_t i = first; i < end; i++) {
        const Node *n = &g->nodes[i];
        if (n->kind != NODE_OP) {
            value[i] = n->init;
            continue;
        }
        double a[OP_MAX_ARITY];
        gather_args(g, n, value, a);
        value[i] = op_forward((Op)n->op, a);
    }
}

void ad_forward(const Graph *g, double *value) { forward_range(g, value, 0, g->nnodes); }

void ad_forward_tape(const Graph *g, double *value, double *local)
{
    /* the local derivatives are taken right after each value, while its operands are in
     * cache: the backward sweep then only multiplies and adds */
    for (uint32_t i = 0; i < g->nnodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->kind != NODE_OP) {
            value[i] = n->init;
            continue;
        }
        double a[OP_MAX_ARITY], d[OP_MAX_ARITY];
        gather_args(g, n, value, a);
        double y = op_forward((Op)n->op, a);
        value[i] = y;
        op_local((Op)n->op, a, y, d);
        for (uint32_t e = n->in_first; e < n->in_first + n->nedges; e++)
            local[e] = d[g->edges[e].slot];
    }
}


double ad_chain_nan(const Trace *t, uint32_t e, double in)
{
    const Graph *g = t->g;
    const Edge *ed = &g->edges[e];
    if (t->local[e] != 0) /* NaN or a NaN operand */
        return in * t->local[e];
    const Node *n = &g->nodes[ed->to];
    double a[OP_MAX_ARITY];
    gather_args(g, n, t->value, a);
    return op_switched_off((Op)n->op, a, ed->slot) ? 0.0 : in * t->local[e];
}

void ad_backward(Trace *t)
{
    const Graph *g = t->g;
    uint32_t nn = g->nnodes;
    memset(t->grad, 0, nn * sizeof *t->grad);
    memset(t->reach, 0, nn);
    t->nbwd = 0;

    /* Nodes after the primary output cannot reach it: their edges carry no gradient. */
    for (uint32_t i = t->primary + 1; i < nn; i++) {
        t->bwd_step[i] = UINT32_MAX;
        const Node *n = &g->nodes[i];
        if (n->kind != NODE_OP)
            continue;
        for (uint32_t e = n->in_first; e < n->in_first + n->nedges; e++)
            t->egrad[e] = t->accum[e] = 0;
    }

    t->reach[t->primary] = 1;
    t->grad[t->primary] = 1.0;
    for (uint32_t k = t->primary + 1; k-- > 0;) {
        const Node *n = &g->nodes[k];
        t->bwd_step[k] = UINT32_MAX;
        if (n->kind != NODE_OP)
            continue;
        uint32_t e0 = n->in_first, e1 = n->in_first + n->nedges;
        if (!t->reach[k]) {
            for (uint32_t e = e0; e < e1; e++)
                t->egrad[e] = t->accum[e] = 0;
            continue;
        }
        t->bwd_step[k] = t->nbwd;
        t->bwd[t->nbwd++] = k;
        double dout = t->grad[k]; /* complete: every consumer has a larger id */
        for (uint32_t e = e0; e < e1; e++) {
            uint32_t from = g->edges[e].from;
            t->reach[from] = 1;
            double contrib = ad_chain(t, e, dout);
            t->egrad[e] = contrib;
            if (t->is_const[from]) {
                t->accum[e] = 0;
                continue;
            }
            t->grad[from] += contrib; /* the sum over paths */
            t->accum[e] = t->grad[from];
        }
    }
}

/* Counts nodes with a non-finite value or gradient (const gradients do not exist). */
static uint32_t count_nonfinite(const Trace *t)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < t->g->nnodes; i++)
        n += !isfinite(t->value[i]) || (!t->is_const[i] && !isfinite(t->grad[i]));
    return n;
}

Trace *ad_run(const Graph *g, const Source *src, Err *err)
{
    Trace *t = calloc(1, sizeof *t);
    if (!t) {
        err_set(err, ERR_IO, "out of memory");
        return NULL;
    }
    t->g = g;
    t->src = src;
    t->primary = g->outputs[0];
    size_t nn = g->nnodes ? g->nnodes : 1, ne = g->nedges ? g->nedges : 1;
    t->value = malloc(nn * sizeof *t->value);
    t->grad = malloc(nn * sizeof *t->grad);
    t->reach = malloc(nn);
    t->is_const = malloc(nn);
    t->bwd = malloc(nn * sizeof *t->bwd);
    t->bwd_step = malloc(nn * sizeof *t->bwd_step);
    t->local = calloc(ne, sizeof *t->local);
    t->egrad = malloc(ne * sizeof *t->egrad);
    t->accum = malloc(ne * sizeof *t->accum);
    if (!t->value || !t->grad || !t->reach || !t->is_const || !t->bwd || !t->bwd_step || !t->local || !t->egrad || !t->accum) {
        trace_free(t);
        err_set(err, ERR_IO, "out of memory");
        return NULL;
    }
    for (uint32_t i = 0; i < g->nnodes; i++)
        t->is_const[i] = g->nodes[i].kind == NODE_CONST;
    ad_forward_tape(g, t->value, t->local);
    ad_backward(t);
    t->nonfinite = count_nonfinite(t);
    return t;
}

void trace_free(Trace *t)
{
    if (!t)
        return;
    free(t->value);
    free(t->grad);
    free(t->reach);
    free(t->is_const);
    free(t->bwd);
    free(t->bwd_step);
    free(t->local);
    free(t->egrad);
    free(t->accum);
    if (t->check)
        free(t->check->entries);
    free(t->check);
    free(t);
}

uint32_t trace_grad_ready(const Trace *t, uint32_t n)
{
    const Graph *g = t->g;
    if (n == t->primary || !t->reach[n])
        return 0;
    uint32_t ready = 0;
    for (uint32_t k = g->out_first[n]; k < g->out_first[n + 1]; k++) {
        uint32_t to = g->edges[g->out_edges[k]].to;
        if (t->reach[to] && t->bwd_step[to] > ready)
            ready = t->bwd_step[to];
    }
    return ready;
}

/* Default budget for --check: leaves × nodes evaluated twice each. 2e8 is a few seconds. */
#define CHECK_BUDGET 2e8

bool ad_check(Trace *t, double budget, Err *err)
{
    const Graph *g = t->g;
    uint32_t nleaves = 0;
    for (uint32_t i = 0; i < g->nnodes; i++)
        nleaves += g->nodes[i].kind == NODE_INPUT || g->nodes[i].kind == NODE_PARAM;
    if (budget <= 0)
        budget = CHECK_BUDGET;
    /* only nodes up to the primary output are re-evaluated */
    double work = (double)nleaves * (double)(t->primary + 1);
    if (work > budget)
        return err_set(err, ERR_USAGE,
                       "--check on this model would evaluate %.3g nodes (%u inputs and params × %u nodes); "
                       "the limit is %.3g",
                       work, nleaves, t->primary + 1, budget);
    Check *c = calloc(1, sizeof *c);
    uint32_t end = t->primary + 1; /* nodes after the primary output do not affect it */
    double *v = malloc((size_t)end * sizeof *v);
    if (!c || !v || !(c->entries = calloc(nleaves ? nleaves : 1, sizeof *c->entries))) {
        if (c)
            free(c->entries);
        free(c);
        free(v);
        return err_set(err, ERR_IO, "out of memory");
    }
    /* h = eps·max(1,|x|) with eps = cbrt(DBL_EPSILON) balances the truncation error O(h²) of
     * central differences against the rounding error O(DBL_EPSILON/h). */
    c->eps = cbrt(DBL_EPSILON);
    c->rtol = 1e-5;
    c->atol = 1e-7;
    c->passed = true;
    memcpy(v, t->value, (size_t)end * sizeof *v);
    for (uint32_t i = 0; i < g->nnodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->kind != NODE_INPUT && n->kind != NODE_PARAM)
            continue;
        double x = t->value[i], h = c->eps * (fabs(x) > 1 ? fabs(x) : 1);
        double lp = 0, lm = 0;
        if (i < end) {
            /* only nodes after leaf i change; v[0..i) stays equal to t->value */
            v[i] = x + h;
            forward_range(g, v, i + 1, end);
            lp = v[t->primary];
            v[i] = x - h;
            forward_range(g, v, i + 1, end);
            lm = v[t->primary];
            memcpy(v + i, t->value + i, (size_t)(end - i) * sizeof *v);
        }
        CheckEntry *e = &c->entries[c->nentries++];
        e->node = i;
        e->analytic = t->grad[i];
        e->numeric = (lp - lm) / (2 * h);
        e->abs_error = fabs(e->analytic - e->numeric);
        double scale = fmax(fabs(e->analytic), fabs(e->numeric));
        e->rel_error = scale > 0 ? e->abs_error / scale : (e->abs_error == 0 ? 0 : NAN);
        e->passed = e->abs_error <= c->atol || e->rel_error <= c->rtol;
        c->passed = c->passed && e->passed;
        /* a NaN error is the worst and stays */
        if (!isnan(c->max_rel_error) && !(e->rel_error <= c->max_rel_error))
            c->max_rel_error = e->rel_error;
        if (!isnan(c->max_abs_error) && !(e->abs_error <= c->max_abs_error))
            c->max_abs_error = e->abs_error;
    }
    free(v);
    if (t->check) /* a second run replaces the first */
        free(t->check->entries);
    free(t->check);
    t->check = c;
    return true;
}
