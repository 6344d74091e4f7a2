/* pdfdraw: replays a Graphviz layout onto a libharu page, so the PDF shows the very drawing the
 * SVG shows. The graph must already carry Graphviz's xdot drawing attributes (`bb`, `_draw_`,
 * `_ldraw_`, `_hdraw_`, `_tdraw_`, `_hldraw_`, `_tldraw_`), which gvLayout followed by
 * gvRender(gvc, g, "xdot", NULL) (or dotgraph_render(..., "xdot", ...)) attaches. Ellipses,
 * polygons, polylines, Béziers and text are redrawn as vector paths and text in the embedded
 * DejaVu fonts; xdot and PDF both have y pointing up, so the drawing is only scaled and moved.
 *
 * Text is set in the fonts passed in, which must be loaded as UTF-8 TrueType fonts (see
 * pdfdraw_load_fonts) so that ∂ σ Σ × · − ² render. Graphviz must have measured its labels
 * with the same face (fontname="DejaVu Sans"); text that comes out wider than Graphviz measured
 * is narrowed to Graphviz's width so it stays inside its box. */
#ifndef GRADVIZ_PDFDRAW_H
#define GRADVIZ_PDFDRAW_H

#include <hpdf.h>
#include <graphviz/cgraph.h>
#include "base.h"

/* Largest font path pdfdraw_find_font writes, including the NUL. */
#define PDFDRAW_PATH_MAX 1024

/* The two faces labels use. Both are borrowed from the HPDF_Doc, which frees them. */
typedef struct PdfFonts {
    HPDF_Font regular;  /* DejaVu Sans, UTF-8 encoder; required */
    HPDF_Font bold;     /* DejaVu Sans Bold; NULL draws bold text as regular text outlined */
} PdfFonts;

/* A rectangle on the page, in PDF points, origin bottom left. */
typedef struct PdfBox {
    double x, y, w, h;
} PdfBox;

/* Finds DejaVu Sans (bold: DejaVu Sans Bold) as a readable .ttf: first in $GRADVIZ_FONT_DIR,
 * then in the usual Debian, Fedora, Arch, BSD and macOS font folders. Writes the path into
 * buf[size] and returns buf, or returns NULL if no candidate is readable (or fits in buf). */
const char *pdfdraw_find_font(bool bold, char *buf, size_t size);

/* Switches pdf to UTF-8 text (HPDF_UseUTFEncodings + HPDF_SetCurrentEncoder) and embeds both
 * faces found by pdfdraw_find_font into it. A missing regular face is an error (ERR_IO, with a
 * hint naming the Debian package and GRADVIZ_FONT_DIR); a missing bold face leaves fonts->bold
 * NULL. libharu failures are also reported through the document's own error handler. */
bool pdfdraw_load_fonts(HPDF_Doc pdf, PdfFonts *fonts, Err *err);

/* The size of g's drawing in points: its bounding box `bb` plus the graph's `pad` on every side
 * (Graphviz's default pad is 4 pt), as Graphviz's own renderers crop it. Returns false if g has
 * not been laid out (no `bb`). */
bool pdfdraw_graph_size(Agraph_t *g, double *w, double *h);

/* Draws the laid-out graph g scaled to fit `box` with its aspect ratio kept (up or down),
 * centred in it and clipped to it. If `drawn` is not NULL it receives the rectangle actually
 * covered and drawn->w / graph width is the scale. The page's graphics state is left as it was.
 * Returns false with err set (ERR_IO) if g has no layout, an attribute does not parse as xdot,
 * memory runs out, or a libharu call fails. Images (xdot `I`) are not drawn; gradients are
 * drawn in their first colour. */
bool pdfdraw_graph(HPDF_Doc pdf, HPDF_Page page, const PdfFonts *fonts, Agraph_t *g,
                   const PdfBox *box, PdfBox *drawn, Err *err);

/* Like pdfdraw_graph, but draws only `region` of the drawing (in drawing coordinates: points,
 * origin at the bottom left of the padded drawing whose size pdfdraw_graph_size gives; NULL is
 * the whole drawing), scaled to fit `box` and clipped to it. For tiling a big graph over
 * several pages and for close-ups; parts of the region outside the drawing stay blank. */
bool pdfdraw_graph_region(HPDF_Doc pdf, HPDF_Page page, const PdfFonts *fonts, Agraph_t *g,
                          const PdfBox *region, const PdfBox *box, PdfBox *drawn, Err *err);

/* The centre of node n of the laid-out graph g, in drawing coordinates (see
 * pdfdraw_graph_region). Returns false if g or n has no layout. */
bool pdfdraw_node_pos(Agraph_t *g, Agnode_t *n, double *x, double *y);

#endif
