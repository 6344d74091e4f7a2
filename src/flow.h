/* flow: gradient flow through depth, measured two ways.
 *
 * The experiment (`gradviz flow`) is the lecture's: a chain of N activations whose
 * pre-activations z_k are drawn from N(0, 1); the gradient starts at 1 and is multiplied by
 * each layer's local derivative (σ'(z) ≤ 0.25, 1 − tanh²(z) ≤ 1, or 1{z > 0} ∈ {0, 1}); over
 * many seeded trials, the mean |gradient| after each layer shows it vanish. The local
 * derivatives are the operator table's own rules (ops.h), so the experiment and the engine
 * cannot disagree.
 *
 * The profile applies the same question to any model: group the nodes of a Trace by depth
 * (the longest path, in edges, from the node to the primary output) and report the mean and
 * largest |∂L/∂node| at each depth.
 *
 * Nothing here prints: results are written as text or JSON to a FILE* or Buf the caller gives. */
#ifndef GRADVIZ_FLOW_H
#define GRADVIZ_FLOW_H

#include "ad.h"

/* ---- Activations of the experiment ---- */
typedef enum FlowAct { FLOW_SIGMOID, FLOW_TANH, FLOW_RELU, FLOW_ACT_COUNT } FlowAct;

/* "sigmoid", "tanh", "relu". */
const char *flow_act_name(FlowAct a);
/* Parses name[0..len). false if it is not an activation's name. */
bool flow_act_parse(const char *name, size_t len, FlowAct *a);
/* The local derivative f'(z), computed by the operator table's rule for the activation. */
double flow_act_local(FlowAct a, double z);
/* sup over z of f'(z): 0.25 for sigmoid, 1 for tanh and relu. A chain of n layers can never
 * keep more than bound^n of its gradient. */
double flow_act_bound(FlowAct a);
/* E[f'(z)] for z ~ N(0, 1), by quadrature: ≈ 0.2066 (sigmoid), 0.6057 (tanh), 0.5 (relu).
 * The factors of the layers are independent, so the expected gradient after n layers is this
 * to the n-th power. */
double flow_act_expected(FlowAct a);

/* ---- The experiment ---- */

/* Limits of the command line (the run costs layers × trials normal draws). */
#define FLOW_MAX_LAYERS 10000u
#define FLOW_MAX_TRIALS 10000000u
#define FLOW_MAX_WORK   200000000ull /* layers × trials: ~20 s at ~10 million a second */

typedef struct FlowExperiment {
    /* inputs, set by the caller */
    uint32_t layers;           /* N >= 1 */
    uint32_t trials;           /* >= 1 */
    uint64_t seed;
    FlowAct acts[FLOW_ACT_COUNT];
    uint32_t nacts;            /* 1..FLOW_ACT_COUNT, no repeats */
    /* results, filled by flow_run; owned (malloc), indexed [a * layers + k] for acts[a] and
     * the gradient after k + 1 layers */
    double *mean;              /* mean over trials of |gradient|; 0 if below the smallest double */
    double *log10_mean;        /* log10 of that mean, kept even where the mean underflows
                                * (0.2066^1000 ≈ 1e-685); -INFINITY when every trial is 0 */
    uint32_t *nonzero;         /* trials in which no layer's derivative was exactly 0 */
} FlowExperiment;

/* Runs the experiment. Trial t draws its z_1, z_2, ... from its own stream, seeded from
 * (seed, t), and every activation sees the same z's; so the same seed gives the same table,
 * an activation's column does not depend on which others are run, and the first k rows do
 * not depend on N. false with ERR_USAGE for out-of-range inputs, ERR_IO on OOM. */
bool flow_run(FlowExperiment *x, Err *err);
/* Frees the results (not the struct); a zeroed or freed experiment is a no-op. */
void flow_experiment_free(FlowExperiment *x);
/* Mean |gradient| of acts[a] after `layer` layers (1..layers); 1 for layer 0. */
double flow_mean(const FlowExperiment *x, uint32_t a, uint32_t layer);
/* Its log10 (0 for layer 0). */
double flow_log10_mean(const FlowExperiment *x, uint32_t a, uint32_t layer);

/* The table of the lecture: five rows or so (every 10th layer for N = 50; every 1, 2, 5, 10,
 * 20, 50, ...-th layer so that about five rows show, and layer N), one column of mean |gradient|
 * per activation, the bound 0.25^n, then what each factor is worth on average. Numbers have
 * five significant digits, also below the range of doubles; an exact 0 prints as 0.
 * Returns false if writing to f fails. */
bool flow_write_table(const FlowExperiment *x, FILE *f);
/* Splits 10^lg into m × 10^e with m in [1, 10) such that "%.4f" of m never prints 10.0000,
 * for numbers beyond the range of doubles too (lg = -684.6 gives 2.5119 × 10^-685). false for
 * lg = -INFINITY, an exact 0, which has no such form; lg must not be NaN. The table's numbers
 * on stdout, in the PDF and in the HTML page all come from it. */
bool flow_sci_parts(double lg, double *m, int *e);
/* The table's row step: its rows are every step-th layer and the last one, step the smallest
 * of 1, 2, 5, 10, 20, 50, ... that is at least layers / 5 (about five rows). The PDF and HTML
 * pages use it too, so they show the same rows as stdout. */
uint32_t flow_table_step(uint32_t layers);
/* The flow.json document ("format": "gradviz-flow", "version": 1): the settings, then per
 * activation its bound, expected factor, and the mean, log10_mean (null for an exact 0) and
 * nonzero arrays (element k = after k + 1 layers). Numbers round-trip. Appended to b (check
 * b->oom). */
void flow_experiment_json(const FlowExperiment *x, Buf *b);

/* ---- The per-depth profile of a model ---- */

typedef struct FlowLevel {
    uint32_t nodes;     /* non-const nodes at this depth whose gradient is finite */
    uint32_t nonfinite; /* non-const nodes at this depth whose gradient is NaN or infinite;
                         * they are left out of mean and max */
    double mean, max;   /* of |∂L/∂node| over the `nodes` nodes; 0 when nodes == 0 */
} FlowLevel;

typedef struct FlowProfile {
    uint32_t *depth;    /* per node: longest path to the primary output in edges, or
                         * UINT32_MAX if the primary is not reachable from it; owned */
    uint32_t nnodes;
    FlowLevel *levels;  /* levels[d], d in [0, nlevels): the deepest non-const node sets
                         * nlevels; owned */
    uint32_t nlevels;
} FlowProfile;

/* Computes the profile of t (one reverse pass over the ids, then one pass over the nodes).
 * const nodes get a depth but are not counted. false with ERR_IO on OOM. */
bool flow_profile(const Trace *t, FlowProfile *p, Err *err);
/* Frees the profile's arrays; a zeroed or freed profile is a no-op. */
void flow_profile_free(FlowProfile *p);
/* The `flow` block of the JSON trace, an object:
 *   {"depth": "longest path to the primary output, in edges",
 *    "levels": [{"depth": 0, "nodes": 1, "nonfinite": 0, "mean": 1, "max": 1}, ...]}
 * mean and max are null when a level has no finite gradient. Appended to b (check b->oom). */
void flow_profile_json(const FlowProfile *p, Buf *b);

#endif
