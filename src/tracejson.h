/* tracejson: the JSON trace document (SPEC §4, schema/gradviz-trace.schema.json). Both the
 * json emitter and the HTML report (which embeds it) write it through this one function.
 * Records are built one at a time with cJSON and streamed, so memory stays flat in the size
 * of the graph. */
#ifndef GRADVIZ_TRACEJSON_H
#define GRADVIZ_TRACEJSON_H

#include "jac.h"

/* How the Jacobian was asked to be computed (--mode). */
typedef enum SweepMode { SWEEP_REVERSE, SWEEP_FORWARD, SWEEP_BOTH } SweepMode;

/* What a run computed beside the Trace for issue 5 (jac): the sources of the optional
 * `jacobian`, `modes` and `forward_mode` blocks and of the per-node and per-edge `tangent`.
 * Every pointer may be NULL, and then its block or field is left out. All borrowed; main.c
 * owns them. The drawn formats read the same struct (EmitOpts.jac). */
typedef struct JacResults {
    SweepMode mode;
    const Jacobian *jac;          /* all outputs × all inputs and params: by reverse mode (forward
                                   * mode for SWEEP_FORWARD); NULL when skipped as too large */
    const Jacobian *jac_fwd;      /* SWEEP_BOTH: the same Jacobian by forward mode */
    double fwd_max_abs_diff;      /* SWEEP_BOTH: max |jac - jac_fwd| over the entries (entries equal
                                   * or both NaN count as 0; NaN when only one of a pair is NaN) */
    const JacCheck *jcheck;       /* --check with several outputs: jac against central differences */
    const ViaResult *via;         /* --via: the factorisation J_h = J_f · J_g through the cut */
    const ModeStats *modes;       /* the comparison of the two modes' cost */
    const TangentSweep *tangents; /* SWEEP_FORWARD or SWEEP_BOTH: the tangent sweep for --wrt */
} JacResults;

/* Writes the trace document to f. `jr` (may be NULL) adds the issue-5 blocks. `source` is
 * model.source (the path as given). false with err set (ERR_IO) on a write error or OOM. */
bool tracejson_write(const Trace *t, const JacResults *jr, const char *source, FILE *f, Err *err);

#endif
