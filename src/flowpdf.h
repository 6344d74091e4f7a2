/* flowpdf: the gradient-flow chart in PDF. Replays a FlowDrawing (flowchart.h) with libharu
 * paths and text, so the PDF draws the very chart the SVG draws, and writes the one-page
 * flow.pdf of `gradviz flow` (the chart, then its table).
 *
 * The drawing has y pointing down from its top left; PDF has y pointing up, so every y is
 * flipped (y_pdf = height - y) and the whole chart goes through one scaling matrix, so line
 * widths, dash lengths and font sizes scale with it. Text is set in the embedded DejaVu faces
 * (pdfdraw_load_fonts): anchors are measured with libharu's own widths, and `rotate` turns the
 * text counterclockwise about its anchor. */
#ifndef GRADVIZ_FLOWPDF_H
#define GRADVIZ_FLOWPDF_H

#include "flowchart.h"
#include "pdfdraw.h"

/* Draws d scaled to fit `box` (aspect ratio kept, up or down), centred in it and clipped to it.
 * If `drawn` is not NULL it receives the rectangle covered. The page's graphics state is left
 * as it was. Text that is not valid UTF-8 has each bad byte drawn as '?'. Returns false with
 * err set (ERR_IO) if a libharu call fails or memory runs out. */
bool flowpdf_draw(HPDF_Page page, const PdfFonts *fonts, const FlowDrawing *d, const PdfBox *box, PdfBox *drawn,
                  Err *err);

/* A small table that goes with a chart: a header row and body rows of ncols cells each, then
 * lines of notes. All text UTF-8 and borrowed. Columns after the first are right-aligned. */
typedef struct FlowTable {
    const char *title;          /* above the table; may be NULL */
    size_t ncols, nrows;        /* nrows body rows */
    const char *const *head;    /* ncols cells */
    const char *const *cells;   /* nrows * ncols cells, row by row */
    const char *const *notes;   /* nnotes lines, set in smaller type under the table */
    size_t nnotes;
} FlowTable;

/* Writes a one-page PDF to f: chart d on a landscape A4 page above table t (NULL: none).
 * `doc_title` is the document's Title metadata, `footer` the text at the bottom left (both
 * UTF-8, may be NULL). false with err set (ERR_IO) on a libharu failure, a missing font (with a
 * hint), or a write error. */
bool flowpdf_document(const FlowDrawing *d, const FlowTable *t, const char *doc_title, const char *footer, FILE *f,
                      Err *err);

#endif
