/* flowchart: the gradient-flow chart — magnitudes on a log scale against depth, one line per
 * series, axes with ticks at powers of ten, a legend — drawn by our own code.
 *
 * Drawing is two steps so that every output draws the same picture: flowchart_layout turns
 * the data into a FlowDrawing, a flat list of primitives (paths, rectangles, circles, text) in
 * points with the origin at the top left and y pointing down; flowchart_svg writes that list
 * as SVG text, and a PDF emitter replays the same list with libharu (flip y: y_pdf = height - y;
 * rotate text by `rotate` degrees counterclockwise about its anchor). Text is UTF-8 set in
 * DejaVu Sans (exponents are Unicode superscripts, which DejaVu Sans covers).
 *
 * Values are given as log10. On a log scale zero cannot be drawn: a series that falls to
 * exactly 0 (log10 = -INFINITY) and stays there is drawn down to the axis, dotted, with a note
 * "NAME = 0 from X = k". NaN values are gaps. */
#ifndef GRADVIZ_FLOWCHART_H
#define GRADVIZ_FLOWCHART_H

#include "flow.h"

#define FLOWCHART_NONE 0xFFFFFFFFu /* no colour: no fill, or no stroke */

typedef struct FlowSeries {
    const char *label;       /* legend text, UTF-8; borrowed */
    const char *short_name;  /* used in the "= 0 from" note; borrowed; NULL: label */
    const double *x;         /* n points, x increasing; borrowed */
    const double *y;         /* log10 of the n values, so that magnitudes far below the smallest
                              * double can be drawn; -INFINITY is an exact 0, NaN a gap */
    size_t n;
    uint32_t rgb;            /* line colour 0xRRGGBB */
    double width;            /* line width in points; 0: 2 */
    bool dashed;             /* theoretical curves are dashed */
    bool markers;            /* a dot at every drawable point */
} FlowSeries;

typedef struct FlowChart {
    const char *title, *subtitle;  /* UTF-8, borrowed; subtitle may be NULL */
    const char *xlabel, *ylabel;   /* axis titles, borrowed */
    const char *xvar;              /* the x variable in notes ("n", "depth"), borrowed */
    const FlowSeries *series;      /* borrowed */
    size_t nseries;
    double width, height;          /* in points; 0: 760 × 480 */
} FlowChart;

typedef enum FlowOpKind { FLOWOP_PATH, FLOWOP_RECT, FLOWOP_CIRCLE, FLOWOP_TEXT } FlowOpKind;
typedef enum FlowAnchor { FLOW_ANCHOR_START, FLOW_ANCHOR_MIDDLE, FLOW_ANCHOR_END } FlowAnchor;

typedef struct FlowOp {
    FlowOpKind kind;
    uint32_t stroke, fill;   /* 0xRRGGBB or FLOWCHART_NONE; text is drawn in `fill` */
    double line_width;
    double dash[2];          /* on, off lengths; {0, 0}: solid */
    const double *pts;       /* PATH: npts points as x0, y0, x1, y1, ...; in the drawing's arena */
    size_t npts;
    double x, y, w, h, r;    /* RECT: corner x, y and w, h; CIRCLE: centre x, y and r;
                              * TEXT: anchor point on the baseline */
    const char *text;        /* TEXT: UTF-8, in the drawing's arena */
    double size;             /* TEXT: font size in points */
    FlowAnchor anchor;       /* TEXT: which point of the baseline (x, y) is */
    bool bold;
    double rotate;           /* TEXT: degrees counterclockwise about (x, y) */
    const char *series;      /* PATH, CIRCLE: the short name of the series whose data this draws
                              * (not its legend sample), in the drawing's arena; else NULL. The
                              * SVG writes it as data-series="..." */
} FlowOp;

typedef struct FlowDrawing {
    double width, height;    /* points */
    const char *title;       /* for the SVG <title>; in the arena */
    FlowOp *ops;             /* owned (malloc); drawn in order */
    size_t nops, cap;
    Arena arena;             /* owned: points and strings of the ops */
} FlowDrawing;

/* Lays out chart c into d (which must be zeroed or freed). false with ERR_IO on OOM. */
bool flowchart_layout(const FlowChart *c, FlowDrawing *d, Err *err);
/* Frees d's ops and arena; a zeroed drawing is a no-op. */
void flowchart_drawing_free(FlowDrawing *d);
/* "10" followed by k in Unicode superscripts, as the axis labels read: "10⁻³⁵", "10⁰". The
 * flow table writes its exponents with it too, so table and chart read alike. */
void flowchart_pow10_label(char out[48], int k);
/* Appends d as one <svg> element (with xmlns, width, height and viewBox; no XML declaration,
 * so it can be inlined in HTML as it is). Check b->oom. */
void flowchart_svg(const FlowDrawing *d, Buf *b);

/* The chart of the experiment: mean |gradient| per activation from n = 0 (where it is 1) to N,
 * and the bound 0.25^n dashed when sigmoid is among the activations. */
bool flowchart_experiment(const FlowExperiment *x, FlowDrawing *d, Err *err);
/* The chart of a model's profile: mean and largest |∂L/∂node| per depth. `model_title` (may
 * be NULL) goes in the subtitle; `output` names L in the axis title (NULL: "L"). */
bool flowchart_profile(const FlowProfile *p, const char *model_title, const char *output, FlowDrawing *d,
                       Err *err);

#endif
