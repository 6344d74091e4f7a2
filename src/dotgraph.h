/* dotgraph: builds the annotated drawing of a trace as a cgraph graph. It is the single source
 * of every drawn format: the DOT emitter writes it, the SVG/PNG emitters and the HTML report
 * render it with gvc, and the PDF replays its xdot layout. The caller owns the graph and
 * releases it with dotgraph_free. */
#ifndef GRADVIZ_DOTGRAPH_H
#define GRADVIZ_DOTGRAPH_H

#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>
#include "ad.h"

/* The colours of the lecture convention, shared by every drawn format. */
#define COLOR_VALUE "#1a7f37"   /* forward values: green */
#define COLOR_LOCAL "#6e7781"   /* local derivatives: neutral grey */
#define COLOR_GRAD  "#cf222e"   /* gradients: red */
#define COLOR_FANOUT "#8250df"  /* fan-out marker: purple */
#define COLOR_ACTIVE "#bf8700"  /* --steps: the active node and its in-edges */
#define COLOR_CONST "#eaeef2"   /* const leaves' fill */

typedef struct DotOpts {
    int precision;
    bool rankdir_tb;
    /* UINT32_MAX: the finished backward pass. Otherwise the frame after backward step `frame`:
     * the active node and its in-edges highlighted, gradients not yet known shown as "?". */
    uint32_t frame;
    /* Give label cells ids the HTML report can find in the SVG (n<ID>-grad, e<ID>-grad, ...):
     * Graphviz only writes a cell's id into SVG when the cell has an href. */
    bool cell_anchors;
} DotOpts;

/* Builds the drawing. Returns NULL with err set (ERR_IO) if cgraph fails. */
Agraph_t *dotgraph_build(const Trace *t, const DotOpts *o, Err *err);
/* agclose; dotgraph_free(NULL) is a no-op. */
void dotgraph_free(Agraph_t *g);

/* Lays out g with dot and renders `format` ("svg", "png", "xdot", ...) into a malloc'd
 * buffer (*data, *len, NUL-terminated; the caller frees it). Returns false with err set. The
 * layout is freed again before returning. `gvc` is created by the caller with gvContext() and freed with gvFreeContext. */
bool dotgraph_render(GVC_t *gvc, Agraph_t *g, const char *format, char **data, size_t *len, Err *err);

#endif
