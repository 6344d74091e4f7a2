/* emit: the emitter contract. One row per output format in one table (emit.c); no emitter
 * calls another. What several emitters share lives below them: fmt (number and label text),
 * dotgraph (the cgraph drawing every drawn format starts from), tracejson (the JSON document).
 *
 * An emitter writes `path` through the atomic output layer (outfile), so a failure leaves no
 * partial file. `--steps` frames are extra files (DOT/SVG) or extra pages (PDF) written by the
 * same emitter. */
#ifndef GRADVIZ_EMIT_H
#define GRADVIZ_EMIT_H

#include <graphviz/gvc.h>

#include "ad.h"
#include "outfile.h"
#include "tracejson.h"

/* Largest graph (nodes) that a format needing a Graphviz layout accepts. Layout time grows
 * superlinearly: ~0.1 s at 1,000 chain nodes, 3-7 s at 1,000 MLP nodes, minutes at 3,000
 * (measured, see README). 2,000 keeps an MLP layout under about half a minute. */
#define EMIT_LAYOUT_MAX_NODES 2000u

typedef struct EmitOpts {
    int precision;        /* significant digits in labels (--precision, default 4) */
    bool rankdir_tb;      /* --rankdir TB; default LR */
    bool steps;           /* --steps: also one frame per backward step */
    const char *paper;    /* "a4" or "letter" (PDF) */
    const char *template_dir; /* --template DIR for html, or NULL for the built-in one */
    const char *model_path;   /* as given on the command line (trace model.source) */
    const char *stem;     /* model file stem: output names are <stem>.<ext> */
    bool verbose;
    /* Jacobians, the forward-mode tangent sweep and the mode comparison (issue 5): the
     * `jacobian`, `forward_mode` and `modes` blocks of the JSON trace and whatever the drawn
     * formats show of them. Borrowed; may be NULL, and so may each of its pointers (modes is
     * only filled when json, html or pdf is written, or with -v; with --reproducible it is
     * counted, not timed: modes->timed is false). */
    const JacResults *jac;
    /* The one Graphviz context of the process, created by the caller when a chosen format
     * needs a layout (NULL otherwise). One per process, not one per emitter: Graphviz's
     * pango text-layout plugin keeps a pointer into the first context's font data, so a
     * second context after the first was freed reads freed memory (seen under ASan). */
    GVC_t *gvc;
} EmitOpts;

typedef struct Emitter {
    const char *name;     /* format name in -f: "dot", "svg", ... */
    const char *ext;      /* file extension */
    bool needs_layout;    /* refuses graphs above EMIT_LAYOUT_MAX_NODES */
    /* Writes the format into `dir` (main file dir/<stem>.<ext>, plus step frames), staging
     * every file in `out` (committed by the caller when all emitters succeeded). */
    bool (*write)(const Trace *t, const EmitOpts *o, OutSet *out, const char *dir, Err *err);
} Emitter;

/* The emitter called name[0..len), or NULL. */
const Emitter *emit_find(const char *name, size_t len);
/* All emitters, in the order of SPEC §3; *n receives the count. */
const Emitter *emit_all(size_t *n);

/* Emitter entry points (one file each). */
bool emit_dot(const Trace *t, const EmitOpts *o, OutSet *out, const char *dir, Err *err);
bool emit_svg(const Trace *t, const EmitOpts *o, OutSet *out, const char *dir, Err *err);
bool emit_png(const Trace *t, const EmitOpts *o, OutSet *out, const char *dir, Err *err);
bool emit_json(const Trace *t, const EmitOpts *o, OutSet *out, const char *dir, Err *err);
bool emit_pdf(const Trace *t, const EmitOpts *o, OutSet *out, const char *dir, Err *err);
bool emit_html(const Trace *t, const EmitOpts *o, OutSet *out, const char *dir, Err *err);

#endif
