/* ad: the passes over a finished graph — forward evaluation, the reverse-mode backward pass
 * with a record of every step, and the numeric gradient check by central differences. The
 * result is a Trace: everything the emitters draw or write, and nothing they compute.
 *
 * Values are stored per node in flat arrays (one double each today). A vector-valued
 * extension gives each node an offset and a count into the same arrays. */
#ifndef GRADVIZ_AD_H
#define GRADVIZ_AD_H

#include "graph.h"

typedef struct CheckEntry {
    uint32_t node;        /* an input or param leaf */
    double analytic;      /* ∂L/∂node from the backward pass */
    double numeric;       /* (L(x+h) - L(x-h)) / 2h */
    double abs_error;     /* |analytic - numeric| */
    double rel_error;     /* abs_error / max(|analytic|, |numeric|), 0 when both are 0 */
    bool passed;
} CheckEntry;

typedef struct Check {
    double eps;           /* relative step: h = eps * max(1, |x|) */
    double rtol, atol;    /* an entry passes if abs_error <= atol or rel_error <= rtol */
    CheckEntry *entries;  /* owned by the Trace's arena */
    uint32_t nentries;
    double max_rel_error, max_abs_error;
    bool passed;
} Check;

typedef struct Trace {
    const Graph *g;       /* borrowed */
    const Source *src;    /* borrowed; the model text, for line numbers and source lines */
    uint32_t primary;     /* = g->outputs[0] */
    /* per node (g->nnodes), owned */
    double *value;
    double *grad;         /* ∂primary/∂node; 0 where the primary is unreachable; unused for const */
    uint8_t *reach;       /* 1 if the primary output is reachable from the node */
    /* 1 for const leaves: a compact copy of the node kinds, because the backward pass asks
     * it for every edge and a Node is 56 bytes (a cache miss each on large graphs) */
    uint8_t *is_const;
    /* per edge (g->nedges), owned */
    double *local;        /* ∂(to)/∂(from) at the forward values */
    double *egrad;        /* grad[to] * local: the contribution to grad[from]; 0 if to unreachable */
    double *accum;        /* grad[from] after this contribution was added (backward order) */
    /* backward order: op nodes from which the primary is reachable, primary first; owned */
    uint32_t *bwd;  uint32_t nbwd;
    /* bwd_step[n] = index of node n in bwd, or UINT32_MAX (leaves, unreachable); owned */
    uint32_t *bwd_step;
    uint32_t nonfinite;   /* how many nodes have a non-finite value or gradient */
    Check *check;         /* NULL unless ad_check ran; owned */
} Trace;

/* Allocates a Trace for g and runs the forward and backward passes. Returns NULL with err
 * set on OOM. The graph must have at least one output and be finished. */
Trace *ad_run(const Graph *g, const Source *src, Err *err);
/* Forward pass alone over `value` (nnodes doubles, leaves taken from node init). */
void ad_forward(const Graph *g, double *value);
/* The forward sweep of reverse mode: values, and the local derivative of every edge
 * (`local`, nedges doubles) recorded on the tape as each node is evaluated. */
void ad_forward_tape(const Graph *g, double *value, double *local);
/* Backward pass alone, from the tape t->value and t->local (ad_forward_tape): fills t->grad,
 * egrad, accum, reach, bwd and bwd_step. */
void ad_backward(Trace *t);
/* Edge e's share of `in` (the consumer's gradient, or in forward mode the operand's tangent):
 * in · local[e], except that an edge switched off by a branch (op_switched_off) passes on 0
 * even when `in` is infinite or NaN. Every sweep multiplies through this one rule. */
double ad_chain_nan(const Trace *t, uint32_t e, double in); /* its slow path: a NaN product */
static inline double ad_chain(const Trace *t, uint32_t e, double in)
{
    double v = in * t->local[e];
    return v == v ? v : ad_chain_nan(t, e, in);
}
/* Central-difference check of every input and param; fills t->check (replacing an earlier
 * result). false with err on OOM. `budget` caps leaves × nodes evaluated (0 = default); above
 * it, err is ERR_USAGE and t->check is left as it was. */
bool ad_check(Trace *t, double budget, Err *err);
/* trace_free(NULL) is a no-op. */
void trace_free(Trace *t);

/* Step at which the gradient of node n is complete: every out-edge to a reachable consumer has
 * delivered its contribution. 0 for the primary, and 0 for a node from which the primary is not
 * reachable: its gradient is 0 from the start and never changes (step frames show it as known).
 * Meaningless for const nodes, which have no gradient. */
uint32_t trace_grad_ready(const Trace *t, uint32_t n);

#endif
