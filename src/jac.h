/* jac: Jacobians of all outputs with respect to all inputs and params, by reverse mode (one
 * backward sweep per output, each a row) and by forward mode (one tangent sweep per leaf, each
 * a column); the factorisation through a cut of named nodes (the lecture's J_h = J_f · J_g);
 * and the comparison of the two modes' cost. A pass beside ad: it reads a Trace after ad_run
 * (values and every edge's local derivative) and never changes it.
 *
 * Both modes sum over the same paths: an entry ∂out/∂leaf is the sum, over every path from
 * the leaf to the output, of the product of the local derivatives along it. A sweep only
 * follows edges that lie on such paths (reverse: consumers from which the output is reachable;
 * forward: operands that depend on the leaf), so a non-finite local derivative off every path
 * cannot turn an entry into NaN in one mode and not in the other.
 *
 * Rows and columns are node ids, so a vector-valued extension keeps this API and widens each
 * id to its element count. */
#ifndef GRADVIZ_JAC_H
#define GRADVIZ_JAC_H

#include "ad.h"

/* Largest Jacobian (rows × columns doubles) any function here allocates: 2^24 entries, 128 MiB.
 * One output of the 1000,500,500,1 MLP against its 752,501 inputs and params is 6 MB; the
 * same for 1000 outputs would be 6 GB, which is refused with ERR_USAGE before allocating. */
#define JAC_MAX_ENTRIES (1u << 24)

/* Largest work jac_reverse, jac_forward and jac_via accept: sweeps × (nodes + edges) each
 * sweep may touch (for jac_via also the multiplications of J_f · J_g). 4e9 is some seconds
 * (a sweep of the 2.25M-node MLP 1000,500,500,1 touches 5.3e6 and takes about 0.06 s); above
 * it they fail with ERR_USAGE (jac_compare estimates such runs from a sample instead). */
#define JAC_MAX_WORK 4e9

/* A dense Jacobian d[i*ncols + j] = ∂rows[i]/∂cols[j]. Every pointer is owned (malloc). */
typedef struct Jacobian {
    uint32_t nrows, ncols;
    uint32_t *rows;  /* owned: row node ids */
    uint32_t *cols;  /* owned: column node ids */
    double *d;       /* owned: nrows × ncols, row-major */
} Jacobian;

/* Frees J's arrays and zeroes it; jac_free(NULL) and freeing a zeroed Jacobian are no-ops. */
void jac_free(Jacobian *J);
static inline double jac_at(const Jacobian *J, uint32_t i, uint32_t j) { return J->d[(size_t)i * J->ncols + j]; }

/* The input and param leaves of g in id order (the Jacobian's columns), consts excluded.
 * Writes up to `cap` ids to `out` (out may be NULL with cap 0) and returns how many there are. */
uint32_t jac_leaves(const Graph *g, uint32_t *out, uint32_t cap);

/* The full Jacobian by reverse mode: rows g->outputs (primary first), columns jac_leaves.
 * Row i is one backward sweep from output i; the primary's row equals t->grad on the leaves
 * exactly (same order of summation). Fills *J (which the caller frees with jac_free).
 * false with err set: ERR_USAGE above JAC_MAX_ENTRIES or JAC_MAX_WORK, ERR_IO on OOM; *J is
 * then zeroed. */
bool jac_reverse(const Trace *t, Jacobian *J, Err *err);
/* The same Jacobian by forward mode: column j is one tangent sweep with tangent e_j. Same
 * ownership and failures as jac_reverse. */
bool jac_forward(const Trace *t, Jacobian *J, Err *err);

/* One forward-mode sweep for one leaf, as the --steps frames show it. */
typedef struct TangentSweep {
    uint32_t leaf;     /* the input or param the tangents are taken with respect to */
    double *node;      /* owned, nnodes: ∂node/∂leaf (1 at the leaf, 0 where it does not depend on it) */
    double *edge;      /* owned, nedges: local · node[from], the tangent flowing forward along
                        * the edge; 0 when `from` does not depend on the leaf */
    uint32_t *steps;   /* owned: the op nodes that depend on the leaf, increasing id: the order
                        * in which the sweep completes their tangents (one frame each) */
    uint32_t nsteps;
} TangentSweep;

/* Runs the tangent sweep of `leaf` over the whole graph. false with err set: ERR_USAGE if leaf
 * is not an input or param, ERR_IO on OOM (then *s is zeroed). Free with jac_tangents_free. */
bool jac_tangents(const Trace *t, uint32_t leaf, TangentSweep *s, Err *err);
/* Frees s's arrays and zeroes it; NULL is a no-op. */
void jac_tangents_free(TangentSweep *s);

/* The input or param called `name` (for --wrt), or UINT32_MAX with ERR_USAGE: unknown name
 * (with a did-you-mean hint), or a node that is not an input or param. `opt` names the option
 * in the message ("--wrt"). */
uint32_t jac_find_leaf(const Graph *g, const char *name, const char *opt, Err *err);
/* Splits a comma list of node names ("u1,u2,u3") into ids, in the order given. *ids is malloc'd
 * (caller frees) and *n set. false with ERR_USAGE for an empty list or empty name, an unknown
 * name (did-you-mean hint), or a name listed twice; ERR_IO on OOM. `opt` as above. */
bool jac_parse_names(const Graph *g, const char *list, const char *opt, uint32_t **ids, size_t *n, Err *err);

/* The factorisation of J_h = ∂outputs/∂leaves through a cut. */
typedef struct ViaResult {
    Jacobian f;        /* ∂outputs/∂cut as partials: each output→cut entry sums only the paths
                        * that meet no other cut node after leaving that cut node */
    Jacobian g;        /* ∂cut/∂leaves: total derivatives (1 on its own column for a leaf in the cut) */
    Jacobian prod;     /* f · g, rows outputs, columns leaves */
    Jacobian h;        /* the full Jacobian by reverse mode, for comparison */
    double max_abs_diff;  /* max |prod - h| over all entries */
    double max_rel_diff;  /* max |prod - h| / max(|prod|, |h|), 0 where both are 0 */
    bool agree;           /* every entry within 1e-9 relative or 1e-12 absolute (NaN never agrees) */
} ViaResult;

/* Factorises the Jacobian through the cut nodes cut[0..ncut), in the order given (the columns
 * of f and rows of g). Every path from an input or param to an output must pass through a cut
 * node (a leaf or an output may itself be a cut node). Fills *r (free with jac_via_free).
 * false with err set, *r zeroed: ERR_USAGE if ncut is 0, an id is out of range or repeated, a
 * cut node is a const, or the cut does not separate (the message names one bypassing path as
 * "x1 -> × -> y"); also the failures of jac_reverse. */
bool jac_via(const Trace *t, const uint32_t *cut, size_t ncut, ViaResult *r, Err *err);
void jac_via_free(ViaResult *r);

/* The cost of one mode for one task. Sweep counts are exact; the operation counts and seconds
 * are exact for the sweeps that ran and extrapolated for the rest when `estimated`. */
typedef struct ModeCost {
    uint64_t sweeps;     /* sweeps the task needs in this mode */
    uint64_t timed;      /* sweeps actually run (< sweeps when estimated): timed by jac_compare,
                          * only counted by jac_compare_counts */
    double nodes;        /* op nodes whose derivative the sweeps compute, summed over all sweeps */
    double edges;        /* edges followed (one multiply-add each), summed over all sweeps */
    double seconds;      /* time of all the sweeps (locals precomputed by ad_run, not counted);
                          * 0 from jac_compare_counts */
    bool estimated;      /* seconds (and reverse counts) scaled up from `timed` sweeps, because
                          * running them all would have exceeded the time budget (for
                          * jac_compare_counts: the work limit JAC_COUNT_WORK) */
} ModeCost;

typedef enum ModeTaskKind {
    MODE_JACOBIAN,      /* every output w.r.t. every input and param */
    MODE_GRAD_INPUTS,   /* the primary output w.r.t. the inputs */
    MODE_GRAD_LEAVES,   /* the primary output w.r.t. the inputs and params */
    MODE_NTASKS
} ModeTaskKind;

typedef struct ModeTask {
    const char *name;    /* "jacobian", "gradient_inputs", "gradient_inputs_params" (static) */
    uint32_t nrows, ncols;
    ModeCost reverse, forward;
    double ratio;        /* forward.seconds / reverse.seconds (0 if reverse took no measurable time) */
} ModeTask;

typedef struct ModeStats {
    uint32_t noutputs, ninputs, nparams;
    bool timed;          /* true from jac_compare; false from jac_compare_counts, which reads no
                          * clock: then every seconds, ratio and the budget are 0 */
    double budget;       /* seconds allowed to the forward (and to the reverse) sweeps of one task */
    ModeTask task[MODE_NTASKS];
} ModeStats;

/* Default time budget of jac_compare: the "~10 s". */
#define JAC_COMPARE_BUDGET 10.0

/* Measures both modes on every task (MODE_*): runs the sweeps each needs and times them; a
 * mode whose sweeps would take longer than `budget` seconds (0: JAC_COMPARE_BUDGET) runs an
 * evenly spread sample for min(0.5 s, budget/10) and is extrapolated by the nodes and edges
 * the remaining sweeps cover (flag `estimated`). Tasks share measurements where their sweeps
 * coincide (the gradient's forward sweeps over inputs are part of those over inputs and
 * params, and the Jacobian's are those when the primary is the last output), so one call
 * takes about `budget` seconds at most, twice that when an output comes after the primary.
 * false with ERR_IO on OOM; s is then zeroed. */
bool jac_compare(const Trace *t, double budget, ModeStats *s, Err *err);

/* Reverse-sweep work (sweeps × (nodes + edges) they may touch) jac_compare_counts counts in
 * full: about 1 s. Above it an evenly spread sample of the sweeps is counted, chosen by the
 * graph alone, and extrapolated (flag `estimated`); only a model with many outputs and
 * millions of nodes gets there. */
#define JAC_COUNT_WORK 1e8

/* The deterministic part of jac_compare, for --reproducible: the same tasks, sweep counts and
 * operation counts, without reading a clock, so the same trace gives the same numbers on
 * every run. Forward-mode counts come from the graph (as jac_compare's); reverse-mode counts
 * from running each reverse sweep once, untimed (the sweeps jac_compare times; a lecture model
 * takes microseconds instead of jac_compare's ~60 ms). s->timed is false; seconds, ratio and
 * budget are 0. false with ERR_IO on OOM; s is then zeroed. */
bool jac_compare_counts(const Trace *t, ModeStats *s, Err *err);

/* The central-difference check of a whole Jacobian (--check with several outputs): for each
 * column, the outputs re-evaluated at leaf ± h with h = eps·max(1, |leaf|), the same step and
 * tolerances as ad_check. */
typedef struct JacCheck {
    double eps, rtol, atol;  /* an entry passes if abs error <= atol or rel error <= rtol */
    double *numeric;         /* owned, J's shape: (out(x+h) - out(x-h)) / 2h */
    double max_abs_error, max_rel_error;  /* NaN if any entry's error is NaN */
    uint32_t worst_row, worst_col;        /* the entry with the largest relative error */
    uint32_t nfailed;
    bool passed;
} JacCheck;

/* Checks J (rows outputs, columns leaves, as jac_reverse/jac_forward give it) against
 * central differences. `budget` caps columns × nodes re-evaluated (0: 2e8, as ad_check);
 * above it ERR_USAGE; ERR_IO on OOM. Free with jac_check_free (NULL is a no-op). */
bool jac_check(const Trace *t, const Jacobian *J, double budget, JacCheck *c, Err *err);
void jac_check_free(JacCheck *c);
/* Entry (i, j) of a finished check: analytic and numeric values, absolute error, relative error
 * (to the larger magnitude; 0 when both are 0, NaN when either is NaN), and whether it passes. */
typedef struct JacCheckEntry {
    double analytic, numeric, abs_error, rel_error;
    bool passed;
} JacCheckEntry;
JacCheckEntry jac_check_entry(const Jacobian *J, const JacCheck *c, uint32_t i, uint32_t j);

#endif
