/* dotgraph: builds the annotated drawing of a trace as a cgraph graph. It is the single source
 * of every drawn format: the DOT emitter writes it, the SVG/PNG emitters and the HTML report
 * render it with gvc, and the PDF replays its xdot layout. The caller owns the graph and
 * releases it with dotgraph_free.
 *
 * The drawing's contract with its viewers (HTML report, PDF, tests): node ids "n<ID>", edge ids
 * "e<ID>", and label cells with ids
 *   n<ID>-val   a node's value; the number is the cell's last text run
 *   n<ID>-grad  ∂L/∂node; the last text run is the number or "?" (not for const leaves, nor
 *               for fan-out nodes, which show n<ID>-sum instead)
 *   n<ID>-sum   a fan-out node's sum over paths, one text run "∂L/∂x = t1 + t2 + … = total"
 *               (terms in out-edge order; "?" for terms and total not known yet)
 *   e<ID>-val   the value flowing along the edge (last run: the number)
 *   e<ID>-local the local derivative "∂ = [rule =] number"
 *   e<ID>-grad  the contribution to ∂L/∂(from); last run: the number or "?" (not for edges
 *               from const leaves).
 * With a forward-mode sweep (DotOpts.jac->tangents; --mode forward|both):
 *   n<ID>-tan   the node's tangent ∂node/∂x for the sweep's leaf x; last run: the number or "?"
 *               (not for const leaves; absent in backward frames)
 *   e<ID>-tan   the tangent flowing forward along the edge, local · ∂(from)/∂x; last run: the
 *               number or "?" (absent in backward frames)
 * The Jacobian table (dotgraph_draws_jacobian) is one extra node, DOT name "#jacobian", id
 * "jacobian", drawn in the finished drawing only, whose cells are
 *   jac-h-<i>-<j>  J[i][j] = ∂outputs[i]/∂cols[j] (JacResults.jac, else via->h): rows in
 *                  g->outputs order, columns as Jacobian.cols; the number is the cell's text
 *   jac-f-<i>-<j>, jac-g-<i>-<j>  with --via: J_f and J_g in ViaResult order
 * When a matrix is too large to draw (DOTGRAPH_JAC_MAX_*), it is transposed if that fits
 * (ids keep i = output row, j = column) or replaced by a note. */
#ifndef GRADVIZ_DOTGRAPH_H
#define GRADVIZ_DOTGRAPH_H

#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>
#include "ad.h"
#include "tracejson.h"

/* The colours of the lecture convention, shared by every drawn format. */
#define COLOR_VALUE "#1a7f37"   /* forward values: green */
#define COLOR_LOCAL "#6e7781"   /* local derivatives: neutral grey */
#define COLOR_GRAD  "#cf222e"   /* gradients: red */
#define COLOR_FANOUT "#8250df"  /* fan-out marker: purple */
#define COLOR_ACTIVE "#bf8700"  /* --steps: the active node and its in-edges */
#define COLOR_CONST "#eaeef2"   /* const leaves' fill */
#define COLOR_TEXT "#1f2328"    /* names, symbols, borders of ordinary nodes */
#define COLOR_PARAM "#0969da"   /* border of param leaves */
#define COLOR_MUTED "#8c959f"   /* nodes the primary output does not depend on; pending "?" */
#define COLOR_MUTED_EDGE "#d0d7de"
#define COLOR_ACTIVE_FILL "#fff8c5" /* --steps: the active node's fill */
#define COLOR_NEW_FILL "#ffe9a8"    /* --steps: cells that got their number in this step */
#define COLOR_BAD_FILL "#ffebe9"    /* non-finite nodes' fill (with a red dashed border) */
#define COLOR_OUTPUT_FILL "#f6f8fa" /* the primary output's fill */
#define COLOR_TANGENT "#0550ae"     /* forward-mode tangents: blue (darker than COLOR_PARAM borders) */
#define COLOR_OK "#1a7f37"          /* the Jacobian table's checks that pass */

/* Largest matrix drawn in the Jacobian table (rows × columns, either orientation); larger
 * ones are a note pointing at the JSON trace. 12 columns of 4-digit numbers are ~700 px. */
#define DOTGRAPH_JAC_MAX_COLS 12
#define DOTGRAPH_JAC_MAX_ROWS 24

typedef struct DotOpts {
    int precision;
    bool rankdir_tb;
    /* UINT32_MAX: the finished backward pass. Otherwise the frame after backward step `frame`:
     * the active node and its in-edges highlighted, gradients not yet known shown as "?", and
     * the chain-rule products of the step written out above the graph. */
    uint32_t frame;
    /* Give label cells ids the HTML report can find in the SVG (n<ID>-grad, e<ID>-grad, ...):
     * Graphviz only writes a cell's id into SVG when the cell has an href. */
    bool cell_anchors;
    /* Issue 5: the run's Jacobians and forward-mode sweep (EmitOpts.jac), borrowed; NULL (the
     * default) draws neither. The finished drawing then also has the Jacobian table node (see
     * dotgraph_draws_jacobian) and, when jac->tangents is set, every node's and edge's tangent
     * (blue, cells n<ID>-tan / e<ID>-tan). Backward frames show neither. */
    const JacResults *jac;
    /* false (default): `frame` counts backward steps (Trace.bwd). true, with jac->tangents:
     * `frame` counts forward-mode steps (jac->tangents->steps); that frame highlights the step's
     * node and in-edges, shows tangents not yet computed as "?", hides the gradients, and writes
     * ∂v/∂x = Σ ∂v/∂u · ∂u/∂x with numbers above the graph. Without tangents, or with frame
     * UINT32_MAX or past the last step, it is the finished drawing. */
    bool forward;
} DotOpts;

/* Whether the finished drawing of t with these results has the Jacobian table: there is a
 * Jacobian (jac->jac, or via->h) and several outputs, or it was asked for (--mode
 * forward|both, --via). */
bool dotgraph_draws_jacobian(const Trace *t, const JacResults *jac);
/* The number of frames --steps writes for one kind: backward (forward false) or forward-mode
 * frames. Backward: t->nbwd unless jac->mode is SWEEP_FORWARD (then 0). Forward: the steps of
 * jac->tangents (0 without). jac may be NULL. */
uint32_t dotgraph_frame_count(const Trace *t, const JacResults *jac, bool forward);

/* ---- Layout cost ----
 * dot's layout time grows with the nodes it places, virtual ones included: an edge crossing k
 * ranks is k segments, and edge labels double the ranks. A node whose consumers lie many ranks
 * apart (x used at every step of a long chain) makes them grow with the square of the graph.
 * dotgraph_build estimates the ranks and draws the graph in one of two styles:
 *   full   the lecture look: labels beside their edges, spline edges. When the estimate is
 *          above DOTGRAPH_NS_FREE, dot's positioning gets about DOTGRAPH_NS_WORK node visits
 *          (attribute nslimit) instead of running to the optimum.
 *   dense  when the edges cross more than DOTGRAPH_DENSE_EXTRA ranks beyond one each: straight
 *          edges (splines=line), positioning at dot's first feasible solution (nslimit=0), and
 *          each edge crossing more than one rank labelled with an xlabel (no virtual node).
 * Above DOTGRAPH_SEGMENTS_MAX nodes and segments the graph is refused. Measured on 2 cores
 * (one `-f svg` layout): `y = x + x + … + x` with 100 terms 0.1 s dense (minutes full), 300
 * terms ~1 s; the refusal starts at ~448 terms (segments ~ terms²) (2,000-node limit: 1,999 terms). */
#define DOTGRAPH_DENSE_EXTRA 400u
#define DOTGRAPH_SEGMENTS_MAX 200000u
#define DOTGRAPH_NS_FREE 1500u
#define DOTGRAPH_NS_WORK 800000u

/* Whether t's drawing can be laid out (its estimated cost is within DOTGRAPH_SEGMENTS_MAX).
 * If not, writes the reason into why[size], a clause such as "its layout would place about
 * 4003998 nodes and edge segments, more than the 200000 a layout accepts (x has 2000
 * out-edges reaching up to 1999 ranks away)", and returns false (also on OOM, with "out of memory"). The
 * drawn formats' emitters call dotgraph_layout, which refuses such a drawing with ERR_USAGE. */
bool dotgraph_layout_ok(const Trace *t, char *why, size_t size);

/* Builds the drawing. Returns NULL with err set (ERR_IO) if cgraph fails or memory runs out. */
Agraph_t *dotgraph_build(const Trace *t, const DotOpts *o, Err *err);
/* agclose; dotgraph_free(NULL) is a no-op. */
void dotgraph_free(Agraph_t *g);

/* Lays out g with dot and renders `format` ("svg", "png", "xdot", ...) into a malloc'd
 * buffer (*data, *len, NUL-terminated; the caller frees it). Returns false with err set. The
 * layout is freed again before returning. `gvc` is created by the caller with gvContext() and
 * freed with gvFreeContext. */
bool dotgraph_render(GVC_t *gvc, Agraph_t *g, const char *format, char **data, size_t *len, Err *err);

/* ---- Frames drawn in the place of the final drawing ----
 * A --steps frame shows "?" where the final drawing shows numbers, so its labels are narrower
 * and a fresh dot layout would move the nodes from frame to frame. Pins are the positions of
 * the final drawing's layout; a frame rendered with them keeps every node and edge where the
 * final drawing has it (only the panel above the graph differs), so frames can be flipped
 * through like slides. */
typedef struct DotPins DotPins;

/* Lays out g: with dot when pins is NULL, else at the positions in `pins` (taken from the final
 * drawing of the same trace; g may be any frame of it). The caller renders (gvRender,
 * gvRenderData) and then calls gvFreeLayout. Returns false with err set: ERR_USAGE for a
 * drawing too dense to lay out (dotgraph_layout_ok), ERR_IO if Graphviz fails. */
bool dotgraph_layout(GVC_t *gvc, Agraph_t *g, const DotPins *pins, Err *err);
/* Records the positions of g, laid out by dotgraph_layout (the Jacobian table node too). NULL with err set on OOM or if
 * Graphviz fails; free with dotgraph_pins_free. */
DotPins *dotgraph_pins_capture(GVC_t *gvc, Agraph_t *g, Err *err);
/* Like dotgraph_render, and also records the layout in *pins (the caller frees it with
 * dotgraph_pins_free). Returns false with err set; *pins is then NULL. */
bool dotgraph_render_pins(GVC_t *gvc, Agraph_t *g, const char *format, DotPins **pins, char **data,
                          size_t *len, Err *err);
/* Renders a frame (dotgraph_build of the same trace with another DotOpts.frame) at the
 * positions in `pins` instead of laying it out again. Same contract as dotgraph_render. */
bool dotgraph_render_pinned(GVC_t *gvc, Agraph_t *g, const DotPins *pins, const char *format, char **data,
                            size_t *len, Err *err);
/* The size in points (bounding box, without the graph's pad) of the drawing the pins were
 * captured from, so that frames can be scaled like it. false if p is NULL or has no size. */
bool dotgraph_pins_size(const DotPins *p, double *w, double *h);
/* dotgraph_pins_free(NULL) is a no-op. */
void dotgraph_pins_free(DotPins *p);

#endif
