/* emit_pdf: the lecture handout, written with libharu.
 *
 * Pages, in order:
 *   1. the title, the whole annotated graph and a legend;
 *   then, when the graph is too big to read on one page, detail pages ("tiles") that cover it
 *      at a readable scale (see the plan below);
 *   then, with --steps, one page per backward step (none with --mode forward): that frame's
 *      drawing (the active node and its in-edges highlighted, "?" for gradients not computed
 *      yet) and under it the chain rule written out with numbers, the local-derivative rule of
 *      each edge, and, at the step where a fan-out node's gradient completes, the sum of its
 *      terms; then, with --mode forward|both, one page per step of the forward-mode sweep of
 *      --wrt: its frame (the tangents pushed forward so far) and ∂v/∂x = Σ ∂v/∂u · ∂u/∂x with
 *      numbers. These are the frames the DOT and SVG emitters write (dotgraph_frame_count);
 *   then one page with the gradient by depth: the chart of flowchart_profile (mean and largest
 *      |∂L/∂node| of the nodes at each depth, the longest path to the output, on a log scale;
 *      the chart the HTML report shows), replayed by flowpdf, and under it what it means and
 *      what the deepest level holds;
 *   then one page "Jacobian and modes" (issue 5): the Jacobian of every output with respect to
 *      every input and param (an excerpt with the count of rows and columns left out when it is
 *      big), with --via its factors J_f and J_g and the check of J_f · J_g against it, with
 *      --mode forward|both the forward-mode sweep of --wrt step by step, and the comparison of
 *      reverse and forward mode (sweeps, multiply-adds and measured time for the Jacobian and for
 *      the primary output's gradient; "~" marks estimates; with --reproducible no times, and the
 *      ratio of multiply-adds instead of the time ratio); the matrices and the list of
 *      forward steps are cut to fewer rows until the page holds them;
 *   last, the tables: every node (value and gradient), every fan-out sum path by path, and
 *      with --check the gradient check, continuing over as many pages as they need.
 *
 * The drawings are Graphviz's own layout of the dotgraph drawing, replayed as vector paths and
 * text by pdfdraw, so the PDF shows what the SVG shows. The graph's own label (title, legend,
 * step text) is dropped before layout: the page sets those itself, larger and in reading order.
 * Every number is written by fmt_num, so it reads exactly as in the drawing.
 *
 * So the page count is 1 + tiles + backward steps + forward-mode steps (with --steps) + 1
 * (gradient by depth) + 1 (Jacobian and modes) + table pages.
 *
 * Orientation: graph pages are landscape or portrait, whichever draws the final graph larger
 * (LR graphs are usually landscape); the gradient-by-depth page is landscape (the chart is
 * wide); the Jacobian page and table pages are portrait.
 *
 * Big graphs. A drawing is readable when its scale is at least PDF_READABLE_SCALE (the 9 pt
 * edge labels then print at 4.5 pt or more). Page 1 always shows the whole graph. When its
 * scale is below that, the graph is also cut evenly into tiles, overlapping by
 * PDF_TILE_OVERLAP, at the scale between PDF_TILE_SCALE and PDF_READABLE_SCALE that needs the
 * fewest pages; page 1 marks the tiles on the overview, and tiles holding no node centre are
 * left out. If that would take more than PDF_MAX_TILES pages, no tiles are written and page 1
 * says so instead (the SVG and HTML outputs zoom). A step page whose frame is not readable
 * whole shows a close-up around the active node and its operands at PDF_TILE_SCALE.
 *
 * Table pages are portrait and hold PDF_TABLE_SLOTS_A4 (A4) or PDF_TABLE_SLOTS_LETTER
 * (letter) row slots of PDF_ROW_H points. The flow, which tests/e2e/test_pdf.py repeats to
 * predict the page count:
 *   - sections: "Nodes" (one row per node), "Fan-out" (if any node fans out: per fan-out node
 *     one row per out-edge and a sum row), "Gradient check" (with --check: a note row, then
 *     one row per input and param);
 *   - a section title takes 2 slots and its column header 1; a section after another on the
 *     same page first skips 1 slot, and moves to a new page if fewer than 4 slots remain;
 *   - a row that does not fit starts a new page, which repeats the title (continued) and the
 *     header (3 slots);
 *   - a fan-out group that does not fit in the slots left moves whole to a new page, unless
 *     it is longer than a page's rows.
 *
 * Errors: libharu reports through its error handler (HPDF_New's user_data is our Err), and
 * every call's status is checked as well, so no longjmp is needed. The document is built in
 * memory and written through outfile, so a failure leaves no partial file. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <hpdf.h>

#include "dotgraph.h"
#include "emit.h"
#include "flow.h"
#include "flowchart.h"
#include "flowpdf.h"
#include "fmt.h"
#include "pdfdraw.h"

/* Paper sizes in points, portrait. */
#define PDF_A4_W 595.276
#define PDF_A4_H 841.89
#define PDF_LETTER_W 612.0
#define PDF_LETTER_H 792.0

/* Margins of graph pages (points); the footer sits inside the bottom margin. */
#define PDF_MARGIN 36.0
#define PDF_FOOTER_Y 20.0
/* Table pages: side margins, the band above the first slot, the band below the last. */
#define PDF_TABLE_SIDE 48.0
#define PDF_TABLE_TOP 60.0
#define PDF_TABLE_BOTTOM 48.0
#define PDF_ROW_H 14.0
/* floor((H - TOP - BOTTOM) / ROW_H) for each paper; checked against the sizes at run time. */
#define PDF_TABLE_SLOTS_A4 52
#define PDF_TABLE_SLOTS_LETTER 48

/* Below this scale a drawing is too small to read (see the file comment). */
#define PDF_READABLE_SCALE 0.5
/* The scale of tiles and step close-ups. */
#define PDF_TILE_SCALE 0.75
/* Overlap of neighbouring tiles, in drawing points, so an edge label cut by one tile's edge
 * is whole in the next. */
#define PDF_TILE_OVERLAP 40.0
/* More tiles than this and the graph is not worth printing readably. */
#define PDF_MAX_TILES 30
/* A step page writes out a fan-out sum of up to this many terms; longer sums are shortened. */
#define PDF_SUM_TERMS 12
/* An unnamed node is named by its expression ("w1×x1"); one longer than this (bytes) is
 * written as "#id symbol" instead. */
#define PDF_EXPR_MAX 40

/* Text colours besides the lecture colours of dotgraph.h. */
#define PDF_INK 0x1f2328u
#define PDF_MUTED 0x59636eu
#define PDF_FAINT 0xd0d7deu
#define PDF_STRIPE 0xf6f8fau
#define PDF_WARN_BG 0xfff8c5u

typedef struct Style {
    double size;  /* points */
    bool bold;
    unsigned rgb; /* 0xRRGGBB */
    double rise;  /* baseline shift, points (negative: a subscript); such a run never starts a line */
} Style;

/* A run of text in one style inside a Para; `brk` starts a new line before it. */
typedef struct Run {
    size_t off, len; /* into Para.text */
    Style st;
    bool brk;
} Run;

/* A paragraph of styled runs, wrapped between runs when laid out. */
typedef struct Para {
    Buf text;               /* owned */
    Run *runs;              /* owned */
    size_t n, cap;
    bool oom;
} Para;

/* How the final graph goes onto pages. */
typedef enum FitMode { FIT_ONE, FIT_TILES, FIT_TOO_BIG } FitMode;

typedef struct Plan {
    bool landscape;     /* graph pages */
    double gw, gh;      /* drawing size, points */
    FitMode mode;
    double scale;       /* scale of the overview on page 1 */
    double tile_scale;  /* scale of the tiles */
    PdfBox *tiles;      /* owned: regions in drawing coordinates, top row first */
    char (*names)[16];  /* owned: "A1", "B3"... */
    size_t ntiles, want_tiles;
} Plan;

typedef struct Pdf {
    HPDF_Doc doc;
    PdfFonts fonts;
    Err *err;
    const Trace *t;
    const EmitOpts *o;
    GVC_t *gvc;
    double paper_w, paper_h;  /* portrait */
    int table_slots;
    HPDF_Page *pages;         /* owned array; the pages belong to doc */
    double *sides;            /* owned: each page's side margin, for its footer */
    size_t npages, page_cap, side_cap;
    Buf tmp;                  /* scratch for NUL-terminated text */
    const char *title;        /* the model's title or its file stem, valid UTF-8 (in title_buf) */
    const char *path;         /* the model path as given, valid UTF-8 (in path_buf) */
    Buf title_buf, path_buf;  /* owned */
    unsigned c_value, c_local, c_grad, c_fan, c_active, c_const, c_tan; /* dotgraph.h's colours */
} Pdf;

/* ---- libharu errors ---- */

static const char *pdf_hpdf_meaning(HPDF_STATUS code)
{
    switch (code) {
    case 0x1015: return "out of memory";
    case 0x1017: return "cannot open a font file";
    case 0x1026: return "cannot write the document";
    case 0x102B: return "font needs UTF-8 encodings enabled";
    case 0x1051: return "path operation inside text";
    case 0x1054: return "page size out of range";
    default: return "internal error";
    }
}

/* libharu calls this on every error; the first lands in our Err (user_data). The library's
 * call also returns a failure status, which the code checks, so returning is enough. */
static void pdf_on_error(HPDF_STATUS code, HPDF_STATUS detail, void *user_data)
{
    err_set(user_data, ERR_IO, "cannot write the PDF: libharu error 0x%04lX (%s, detail %lu)",
            (unsigned long)code, pdf_hpdf_meaning(code), (unsigned long)detail);
}

static bool pdf_ok(const Pdf *p) { return err_ok(p->err); }

/* Records a failed libharu status not already reported by the handler. */
static bool pdf_st(Pdf *p, HPDF_STATUS st)
{
    if (st != HPDF_OK)
        err_set(p->err, ERR_IO, "cannot write the PDF: libharu error 0x%04lX (%s)", (unsigned long)st,
                pdf_hpdf_meaning(st));
    return st == HPDF_OK;
}

/* ---- text ---- */

static unsigned pdf_hex(const char *s)
{
    return (unsigned)strtoul(s[0] == '#' ? s + 1 : s, NULL, 16);
}

static Style st_make(double size, bool bold, unsigned rgb)
{
    Style s = {size, bold, rgb, 0};
    return s;
}

static HPDF_Font pdf_font(const Pdf *p, Style st)
{
    return st.bold && p->fonts.bold ? p->fonts.bold : p->fonts.regular;
}

/* Width of s[0..len) in points. */
static double pdf_width(const Pdf *p, Style st, const char *s, size_t len)
{
    if (len == 0)
        return 0;
    HPDF_TextWidth tw = HPDF_Font_TextWidth(pdf_font(p, st), (const HPDF_BYTE *)s, (HPDF_UINT)len);
    return tw.width * st.size / 1000.0;
}

static double pdf_swidth(const Pdf *p, Style st, const char *s) { return pdf_width(p, st, s, strlen(s)); }

static void pdf_rgb_fill(Pdf *p, HPDF_Page pg, unsigned rgb)
{
    pdf_st(p, HPDF_Page_SetRGBFill(pg, ((rgb >> 16) & 255) / 255.0f, ((rgb >> 8) & 255) / 255.0f,
                                   (rgb & 255) / 255.0f));
}

static void pdf_rgb_stroke(Pdf *p, HPDF_Page pg, unsigned rgb)
{
    pdf_st(p, HPDF_Page_SetRGBStroke(pg, ((rgb >> 16) & 255) / 255.0f, ((rgb >> 8) & 255) / 255.0f,
                                     (rgb & 255) / 255.0f));
}

/* Length of the longest prefix of s[0..len) that ends on a UTF-8 character boundary and is
 * at most n bytes. */
static size_t utf8_cut(const char *s, size_t len, size_t n)
{
    if (n >= len)
        return len;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

/* Draws s[0..len) with its left end at x on baseline y. Text wider than maxw (if > 0) is cut
 * and ends with "…". Returns the width drawn. */
static double pdf_text_fit(Pdf *p, HPDF_Page pg, Style st, double x, double y, const char *s, size_t len,
                           double maxw)
{
    if (!pdf_ok(p) || len == 0)
        return 0;
    p->tmp.len = 0;
    double w = pdf_width(p, st, s, len);
    if (maxw > 0 && w > maxw) {
        /* shorten until it fits with the ellipsis: start from the proportional guess (names
         * can be a megabyte long), then step back a character at a time */
        double ell = pdf_swidth(p, st, "…");
        size_t n = utf8_cut(s, len, (size_t)((double)len * fmax(maxw - ell, 0) / w) + 1);
        while (n > 0 && pdf_width(p, st, s, n) + ell > maxw)
            n = utf8_cut(s, len, n - 1);
        buf_append(&p->tmp, s, n);
        buf_puts(&p->tmp, "…");
        w = pdf_width(p, st, s, n) + ell;
    } else {
        buf_append(&p->tmp, s, len);
    }
    if (p->tmp.oom)
        return err_set(p->err, ERR_IO, "out of memory"), 0;
    pdf_rgb_fill(p, pg, st.rgb);
    pdf_st(p, HPDF_Page_BeginText(pg));
    pdf_st(p, HPDF_Page_SetFontAndSize(pg, pdf_font(p, st), (HPDF_REAL)st.size));
    pdf_st(p, HPDF_Page_TextOut(pg, (HPDF_REAL)x, (HPDF_REAL)(y + st.rise), p->tmp.data));
    pdf_st(p, HPDF_Page_EndText(pg));
    return w;
}

static double pdf_text(Pdf *p, HPDF_Page pg, Style st, double x, double y, const char *s)
{
    return pdf_text_fit(p, pg, st, x, y, s, strlen(s), 0);
}

/* Right-aligned at x. */
static void pdf_text_right(Pdf *p, HPDF_Page pg, Style st, double x, double y, const char *s)
{
    pdf_text(p, pg, st, x - pdf_swidth(p, st, s), y, s);
}

static void pdf_line(Pdf *p, HPDF_Page pg, double x0, double y0, double x1, double y1, double w, unsigned rgb)
{
    pdf_rgb_stroke(p, pg, rgb);
    pdf_st(p, HPDF_Page_SetLineWidth(pg, (HPDF_REAL)w));
    pdf_st(p, HPDF_Page_MoveTo(pg, (HPDF_REAL)x0, (HPDF_REAL)y0));
    pdf_st(p, HPDF_Page_LineTo(pg, (HPDF_REAL)x1, (HPDF_REAL)y1));
    pdf_st(p, HPDF_Page_Stroke(pg));
}

static void pdf_fill_rect(Pdf *p, HPDF_Page pg, double x, double y, double w, double h, unsigned rgb)
{
    pdf_rgb_fill(p, pg, rgb);
    pdf_st(p, HPDF_Page_Rectangle(pg, (HPDF_REAL)x, (HPDF_REAL)y, (HPDF_REAL)w, (HPDF_REAL)h));
    pdf_st(p, HPDF_Page_Fill(pg));
}

/* ---- paragraphs ---- */

static void para_run(Para *pa, Style st, const char *s, size_t len, bool brk)
{
    if (!vec_reserve((void **)&pa->runs, &pa->cap, pa->n + 1, sizeof *pa->runs)) {
        pa->oom = true;
        return;
    }
    size_t off = pa->text.len;
    buf_append(&pa->text, s, len);
    pa->runs[pa->n++] = (Run){off, len, st, brk};
}

static void para_put(Para *pa, Style st, const char *s) { para_run(pa, st, s, strlen(s), false); }

static void para_putf(Para *pa, Style st, const char *fmt, ...) GV_PRINTF(3, 4);
static void para_putf(Para *pa, Style st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *tmp = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!tmp) {
        pa->oom = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(tmp, (size_t)n + 1, fmt, ap);
    va_end(ap);
    para_run(pa, st, tmp, (size_t)n, false);
    free(tmp);
}

/* Text that may wrap inside: one run per word (each but the first with its leading space), as
 * para_layout breaks lines between runs only. */
static void para_words(Para *pa, Style st, const char *s)
{
    while (*s) {
        const char *e = s;
        while (*e == ' ')
            e++;
        while (*e && *e != ' ')
            e++;
        para_run(pa, st, s, (size_t)(e - s), false);
        s = e;
    }
}

static void para_wordsf(Para *pa, Style st, const char *fmt, ...) GV_PRINTF(3, 4);
static void para_wordsf(Para *pa, Style st, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    para_words(pa, st, tmp);
}

/* Starts a new line (the next run goes on it). */
static void para_br(Para *pa)
{
    para_run(pa, st_make(0, false, 0), "", 0, true);
}

static void para_free(Para *pa)
{
    buf_free(&pa->text);
    free(pa->runs);
    *pa = (Para){0};
}

/* A run placed on the current line. */
typedef struct Placed {
    size_t run, skip; /* skip: leading spaces dropped at the start of a line */
    double x;
} Placed;

/* Lays out pa in a column `width` wide whose top is at `top`, left edge at x; lines wrapped
 * between runs continue `indent` further right. Draws when pg is not NULL. Returns the height
 * used (points). */
static double para_layout(Pdf *p, HPDF_Page pg, const Para *pa, double x, double top, double width,
                          double indent)
{
    Placed *line = pa->n ? malloc(pa->n * sizeof *line) : NULL;
    if (pa->n && !line) {
        err_set(p->err, ERR_IO, "out of memory");
        return 0;
    }
    const char *text = pa->text.data ? pa->text.data : "";
    double y = top, cur = 0, left = 0;
    size_t nl = 0;
    for (size_t i = 0; i <= pa->n; i++) {
        const Run *r = i < pa->n ? &pa->runs[i] : NULL;
        double w = 0;
        size_t skip = 0;
        bool flush = !r || r->brk;
        if (r && !r->brk) {
            if (nl == 0)
                while (skip < r->len && text[r->off + skip] == ' ')
                    skip++;
            w = pdf_width(p, r->st, text + r->off + skip, r->len - skip);
            if (nl > 0 && cur + w > width - left + 0.01 && r->st.rise == 0) {
                flush = true;
            }
        }
        if (flush && nl > 0) {
            double size = 0;
            for (size_t k = 0; k < nl; k++)
                size = fmax(size, pa->runs[line[k].run].st.size);
            if (pg)
                for (size_t k = 0; k < nl; k++) {
                    const Run *q = &pa->runs[line[k].run];
                    double room = width - left - line[k].x;
                    /* a subscript stays with its letter even where it overhangs the column */
                    pdf_text_fit(p, pg, q->st, x + left + line[k].x, y - size, text + q->off + line[k].skip,
                                 q->len - line[k].skip, q->st.rise != 0 ? 0 : room > 0 ? room : 1);
                }
            y -= size * 1.5;
            nl = 0;
            cur = 0;
            left = r && !r->brk ? indent : 0;
            if (r && !r->brk) { /* re-measure the run at the start of the continuation line */
                skip = 0;
                while (skip < r->len && text[r->off + skip] == ' ')
                    skip++;
                w = pdf_width(p, r->st, text + r->off + skip, r->len - skip);
            }
        }
        if (r && r->brk)
            left = 0;
        if (r && !r->brk && r->len > skip) {
            line[nl++] = (Placed){i, skip, cur};
            cur += w;
        }
    }
    free(line);
    return top - y;
}

/* ---- node names in formulas ---- */

/* Appends operand i of op node id: a literal, a name, or (depth allowing) a nested expression. */
static void expr_node(const Pdf *p, Buf *b, uint32_t id, int depth);

static void expr_arg(const Pdf *p, Buf *b, const Node *n, int i, int depth, bool paren)
{
    const Graph *g = p->t->g;
    char num[FMT_NUM_MAX];
    if (n->args[i].is_lit) {
        double v = graph_lit(g, n, i);
        fmt_num(num, v, p->o->precision);
        buf_printf(b, paren && v < 0 ? "(%s)" : "%s", num); /* "x×(−2)" but "max(x, −1)" */
        return;
    }
    uint32_t from = g->edges[n->args[i].ref].from;
    const Node *f = &g->nodes[from];
    /* an operand made only of further unnamed operations would read "(… + …)": say "…" */
    bool opaque = true;
    for (int k = 0; k < f->nargs && opaque; k++)
        opaque = !f->args[k].is_lit && !g->nodes[g->edges[f->args[k].ref].from].name;
    if (f->name) {
        buf_puts(b, f->name);
    } else if (depth <= 0 || opaque) {
        buf_puts(b, "…");
    } else {
        bool infix = op_info((Op)f->op)->infix;
        if (paren && infix)
            buf_puts(b, "(");
        expr_node(p, b, from, depth - 1);
        if (paren && infix)
            buf_puts(b, ")");
    }
}

static void expr_node(const Pdf *p, Buf *b, uint32_t id, int depth)
{
    const Node *n = &p->t->g->nodes[id];
    const OpInfo *oi = op_info((Op)n->op);
    if (oi->infix && n->nargs == 2) {
        bool spaced = n->op == OP_ADD || n->op == OP_SUB;
        expr_arg(p, b, n, 0, depth, true);
        buf_puts(b, spaced ? " " : "");
        buf_puts(b, oi->symbol);
        buf_puts(b, spaced ? " " : "");
        expr_arg(p, b, n, 1, depth, true);
    } else if (oi->infix) { /* negation */
        buf_puts(b, oi->symbol);
        expr_arg(p, b, n, 0, depth, true);
    } else {
        /* |·| reads better as |a| than as a function call */
        bool bars = n->op == OP_ABS;
        buf_puts(b, bars ? "|" : oi->symbol);
        buf_puts(b, bars ? "" : "(");
        for (int i = 0; i < n->nargs; i++) {
            if (i)
                buf_puts(b, ", ");
            expr_arg(p, b, n, i, depth, false);
        }
        buf_puts(b, bars ? "|" : ")");
    }
}

/* A readable name for node id: its name; for an unnamed op node the expression it computes
 * from its operands ("w1×x1", "σ(z)"), nested one level, or "#id symbol" when that is long.
 * With `paren`, an infix expression is parenthesised (for "∂L/∂(w1×x1)"). */
static void pdf_node_label(const Pdf *p, Buf *b, uint32_t id, bool paren)
{
    const Node *n = &p->t->g->nodes[id];
    if (n->name) {
        buf_puts(b, n->name);
        return;
    }
    Buf e = {0};
    expr_node(p, &e, id, 1);
    if (e.oom || !e.data || e.len > PDF_EXPR_MAX || strcmp(e.data, "…") == 0) {
        fmt_node_name(b, p->t->g, id, p->o->precision);
    } else {
        bool wrap = paren && op_info((Op)n->op)->infix;
        buf_puts(b, wrap ? "(" : "");
        buf_puts(b, e.data);
        buf_puts(b, wrap ? ")" : "");
    }
    buf_free(&e);
}

/* The label as a NUL-terminated string in a caller buffer (reset first). */
static const char *pdf_label(const Pdf *p, Buf *b, uint32_t id, bool paren)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
    pdf_node_label(p, b, id, paren);
    return b->data ? b->data : "";
}

static const char *pdf_num(const Pdf *p, char out[FMT_NUM_MAX], double v)
{
    return fmt_num(out, v, p->o->precision);
}

/* ---- pages ---- */

static void pdf_page_size(const Pdf *p, bool landscape, double *w, double *h)
{
    *w = landscape ? p->paper_h : p->paper_w;
    *h = landscape ? p->paper_w : p->paper_h;
}

static HPDF_Page pdf_add_page(Pdf *p, bool landscape, double side)
{
    if (!pdf_ok(p))
        return NULL;
    if (!vec_reserve((void **)&p->pages, &p->page_cap, p->npages + 1, sizeof *p->pages) ||
        !vec_reserve((void **)&p->sides, &p->side_cap, p->npages + 1, sizeof *p->sides)) {
        err_set(p->err, ERR_IO, "out of memory");
        return NULL;
    }
    HPDF_Page pg = HPDF_AddPage(p->doc);
    if (!pg) {
        err_set(p->err, ERR_IO, "cannot write the PDF: libharu cannot add a page");
        return NULL;
    }
    double w, h;
    pdf_page_size(p, landscape, &w, &h);
    pdf_st(p, HPDF_Page_SetWidth(pg, (HPDF_REAL)w));
    pdf_st(p, HPDF_Page_SetHeight(pg, (HPDF_REAL)h));
    p->sides[p->npages] = side;
    p->pages[p->npages++] = pg;
    return pg;
}

/* Appends s with every byte that is not part of valid UTF-8 replaced by '?': libharu's UTF-8
 * encoder would drop such text silently. */
static void utf8_clean(Buf *b, const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        size_t k = utf8_valid_prefix((const unsigned char *)s, n);
        buf_append(b, s, k);
        if (k == n)
            break;
        buf_append(b, "?", 1);
        s += k + 1;
        n -= k + 1;
    }
}

/* A bookmark to the top of page pg. Titles are UTF-8; libharu writes them as UTF-16. */
static void pdf_bookmark(Pdf *p, HPDF_Outline parent, HPDF_Page pg, const char *title, HPDF_Outline *made)
{
    if (!pdf_ok(p))
        return;
    HPDF_Outline ol = HPDF_CreateOutline(p->doc, parent, title, HPDF_GetEncoder(p->doc, "UTF-8"));
    HPDF_Destination dst = ol ? HPDF_Page_CreateDestination(pg) : NULL;
    if (!ol || !dst) {
        err_set(p->err, ERR_IO, "cannot write the PDF: libharu cannot add a bookmark");
        return;
    }
    pdf_st(p, HPDF_Outline_SetDestination(ol, dst));
    if (made)
        *made = ol;
}

/* Footers go on at the end, when the page count is known. */
static void pdf_footers(Pdf *p)
{
    Style st = st_make(7.5, false, PDF_MUTED);
    char right[64];
    Buf left = {0};
    buf_printf(&left, "%s  ·  %s  ·  gradviz", p->title, p->path);
    for (size_t i = 0; i < p->npages && pdf_ok(p); i++) {
        HPDF_Page pg = p->pages[i];
        double w = HPDF_Page_GetWidth(pg), side = p->sides[i];
        snprintf(right, sizeof right, "page %zu of %zu", i + 1, p->npages);
        double rw = pdf_swidth(p, st, right);
        pdf_line(p, pg, side, PDF_FOOTER_Y + 10, w - side, PDF_FOOTER_Y + 10, 0.4, PDF_FAINT);
        pdf_text_fit(p, pg, st, side, PDF_FOOTER_Y, left.data ? left.data : "", left.len, w - 2 * side - rw - 20);
        pdf_text(p, pg, st, w - side - rw, PDF_FOOTER_Y, right);
    }
    buf_free(&left);
}

/* ---- graphs ---- */

/* Builds and lays out the drawing of `frame` (UINT32_MAX: the finished pass; a forward-mode step
 * with `forward`) and renders its xdot attributes. With `pins` (the final drawing's positions) a frame keeps every node where
 * page 1 has it, so step pages flip like slides; with `capture`, the positions of this layout
 * are recorded there for the frames. NULL with err set. */
static Agraph_t *pdf_layout(Pdf *p, uint32_t frame, bool forward, const DotPins *pins, DotPins **capture)
{
    DotOpts d = {.precision = p->o->precision, .rankdir_tb = p->o->rankdir_tb, .frame = frame, .jac = p->o->jac,
                 .forward = forward};
    Agraph_t *g = dotgraph_build(p->t, &d, p->err);
    if (!g)
        return NULL;
    agsafeset(g, (char *)"label", (char *)"", (char *)"");
    if (!dotgraph_layout(p->gvc, g, pins, p->err)) {
        dotgraph_free(g);
        return NULL;
    }
    bool ok = gvRender(p->gvc, g, "xdot", NULL) == 0 || err_set(p->err, ERR_IO, "Graphviz could not render the graph");
    if (ok && capture)
        ok = (*capture = dotgraph_pins_capture(p->gvc, g, p->err)) != NULL;
    if (!ok) {
        gvFreeLayout(p->gvc, g);
        dotgraph_free(g);
        return NULL;
    }
    return g;
}

static void pdf_unlayout(Pdf *p, Agraph_t *g)
{
    if (g) {
        gvFreeLayout(p->gvc, g);
        dotgraph_free(g);
    }
}

/* The Graphviz node of our node id (dotgraph gives each node id="n<ID>"), or NULL. */
static Agnode_t *pdf_find_node(Agraph_t *g, uint32_t id)
{
    char want[24];
    snprintf(want, sizeof want, "n%u", id);
    for (Agnode_t *n = agfstnode(g); n; n = agnxtnode(g, n)) {
        const char *s = agget(n, (char *)"id");
        if (s && strcmp(s, want) == 0)
            return n;
    }
    return NULL;
}

/* A region of size (rw, rh) centred on (cx, cy), kept inside a gw × gh drawing where it fits. */
static PdfBox pdf_region_around(double cx, double cy, double rw, double rh, double gw, double gh)
{
    PdfBox r = {cx - rw / 2, cy - rh / 2, rw, rh};
    r.x = rw >= gw ? (gw - rw) / 2 : fmin(fmax(r.x, 0), gw - rw);
    r.y = rh >= gh ? (gh - rh) / 2 : fmin(fmax(r.y, 0), gh - rh);
    return r;
}

/* Fit scale of a gw × gh drawing into box. */
static double pdf_fit(double gw, double gh, PdfBox box)
{
    return fmin(box.w / gw, box.h / gh);
}

/* Graph page boxes. Page 1: below the header, above the legend. */
#define PDF_HEADER_H 58.0
#define PDF_LEGEND_H 50.0
#define PDF_NOTE_H 34.0

static PdfBox pdf_overview_box(const Pdf *p, bool landscape, bool note)
{
    double w, h;
    pdf_page_size(p, landscape, &w, &h);
    double bottom = PDF_MARGIN + PDF_LEGEND_H + (note ? PDF_NOTE_H : 0);
    PdfBox b = {PDF_MARGIN, bottom, w - 2 * PDF_MARGIN, h - PDF_MARGIN - PDF_HEADER_H - bottom};
    return b;
}

/* Tile pages: below a one-line header. */
static PdfBox pdf_tile_box(const Pdf *p, bool landscape)
{
    double w, h;
    pdf_page_size(p, landscape, &w, &h);
    PdfBox b = {PDF_MARGIN, PDF_MARGIN + 6, w - 2 * PDF_MARGIN, h - 2 * PDF_MARGIN - 36};
    return b;
}

/* How many tiles of length `span` (overlapping by PDF_TILE_OVERLAP) cover `len`. */
static size_t pdf_tiles_along(double len, double span)
{
    if (len <= span)
        return 1;
    double n = ceil((len - PDF_TILE_OVERLAP) / (span - PDF_TILE_OVERLAP));
    return n < 1e6 ? (size_t)n : 1000000;
}

/* Decides orientation, overview scale and tiles for the final drawing g. */
static bool pdf_plan(Pdf *p, Agraph_t *g, Plan *pl)
{
    if (!pdfdraw_graph_size(g, &pl->gw, &pl->gh))
        return err_set(p->err, ERR_IO, "the graph has no layout");
    /* the orientation that draws the graph larger */
    double sl = pdf_fit(pl->gw, pl->gh, pdf_overview_box(p, true, false));
    double sp = pdf_fit(pl->gw, pl->gh, pdf_overview_box(p, false, false));
    pl->landscape = sl >= sp;
    pl->scale = fmax(sl, sp);
    pl->mode = FIT_ONE;
    if (pl->scale >= PDF_READABLE_SCALE)
        return true;

    /* the scale between PDF_TILE_SCALE and PDF_READABLE_SCALE that needs the fewest tiles
     * (the largest such scale on a tie), then the drawing cut evenly into tiles of one size */
    PdfBox tb = pdf_tile_box(p, pl->landscape);
    size_t cols = 0, rows = 0;
    for (int i = 0; PDF_TILE_SCALE - 0.05 * i >= PDF_READABLE_SCALE - 1e-9; i++) {
        double s = PDF_TILE_SCALE - 0.05 * i;
        size_t c = pdf_tiles_along(pl->gw, tb.w / s), r = pdf_tiles_along(pl->gh, tb.h / s);
        if (cols == 0 || c * r < cols * rows) {
            cols = c;
            rows = r;
        }
    }
    double rw = (pl->gw + (double)(cols - 1) * PDF_TILE_OVERLAP) / (double)cols;
    double rh = (pl->gh + (double)(rows - 1) * PDF_TILE_OVERLAP) / (double)rows;
    double sx = rw - PDF_TILE_OVERLAP, sy = rh - PDF_TILE_OVERLAP;
    pl->tile_scale = pdf_fit(rw, rh, tb);
    size_t cells = cols * rows;
    if (cells > 4096) { /* far beyond PDF_MAX_TILES: no need to look at nodes */
        pl->mode = FIT_TOO_BIG;
        pl->want_tiles = cells;
        return true;
    }
    bool *used = calloc(cells, sizeof *used);
    if (!used)
        return err_set(p->err, ERR_IO, "out of memory");
    for (Agnode_t *n = agfstnode(g); n; n = agnxtnode(g, n)) {
        double x, y;
        if (!pdfdraw_node_pos(g, n, &x, &y))
            continue;
        for (size_t r = 0; r < rows; r++)
            for (size_t c = 0; c < cols; c++) {
                double x0 = (double)c * sx, y0 = pl->gh - rh - (double)r * sy;
                if (x >= x0 && x <= x0 + rw && y >= y0 && y <= y0 + rh)
                    used[r * cols + c] = true;
            }
    }
    size_t nused = 0;
    for (size_t i = 0; i < cells; i++)
        nused += used[i];
    pl->want_tiles = nused;
    if (nused > PDF_MAX_TILES || rows > 26) {
        free(used);
        pl->mode = FIT_TOO_BIG;
        return true;
    }
    pl->tiles = malloc((nused ? nused : 1) * sizeof *pl->tiles);
    pl->names = malloc((nused ? nused : 1) * sizeof *pl->names);
    if (!pl->tiles || !pl->names) {
        free(used);
        return err_set(p->err, ERR_IO, "out of memory");
    }
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) {
            if (!used[r * cols + c])
                continue;
            double x0 = (double)c * sx, y0 = pl->gh - rh - (double)r * sy;
            pl->tiles[pl->ntiles] = (PdfBox){x0, y0, rw, rh};
            snprintf(pl->names[pl->ntiles], sizeof pl->names[0], "%c%u", (char)('A' + r), (unsigned)(c + 1));
            pl->ntiles++;
        }
    free(used);
    pl->mode = FIT_TILES;
    return true;
}

static void plan_free(Plan *pl)
{
    free(pl->tiles);
    free(pl->names);
}

/* ---- page 1 ---- */

/* A small square swatch and its text; returns the x after it. */
static double legend_swatch(Pdf *p, HPDF_Page pg, double x, double y, unsigned rgb, const char *text, Style st)
{
    pdf_fill_rect(p, pg, x, y - 0.5, 8, 8, rgb);
    return x + 12 + pdf_text(p, pg, st, x + 12, y, text) + 18;
}

/* A node-shape key: a small rounded box or double ellipse and its text. */
static double legend_shape(Pdf *p, HPDF_Page pg, double x, double y, int shape, const char *text, Style st)
{
    HPDF_REAL bx = (HPDF_REAL)x, by = (HPDF_REAL)(y - 2), bw = 16, bh = 11;
    if (shape == 3) { /* output: double ellipse */
        pdf_rgb_stroke(p, pg, PDF_INK);
        pdf_st(p, HPDF_Page_SetLineWidth(pg, 0.7f));
        pdf_st(p, HPDF_Page_Ellipse(pg, bx + 8, by + 5.5f, 8, 5.5f));
        pdf_st(p, HPDF_Page_Stroke(pg));
        pdf_st(p, HPDF_Page_Ellipse(pg, bx + 8, by + 5.5f, 6, 3.5f));
        pdf_st(p, HPDF_Page_Stroke(pg));
    } else {
        unsigned stroke = shape == 1 ? 0x0969da : shape == 2 ? 0x8c959f : 0x24292f;
        if (shape == 2)
            pdf_rgb_fill(p, pg, p->c_const);
        pdf_rgb_stroke(p, pg, stroke);
        pdf_st(p, HPDF_Page_SetLineWidth(pg, 0.9f));
        pdf_st(p, HPDF_Page_Rectangle(pg, bx, by, bw, bh));
        pdf_st(p, shape == 2 ? HPDF_Page_FillStroke(pg) : HPDF_Page_Stroke(pg));
    }
    return x + 21 + pdf_text(p, pg, st, x + 21, y, text) + 18;
}

static void pdf_legend(Pdf *p, HPDF_Page pg, double pw, double y)
{
    Style st = st_make(8.5, false, PDF_INK), note = st_make(8, false, PDF_MUTED);
    const char *L = fmt_output_name(p->t);
    char grad[64], out[64];
    snprintf(grad, sizeof grad, "gradient ∂%s/∂·", L);
    snprintf(out, sizeof out, "output %s (∂%s/∂%s = 1)", L, L, L);
    double x = PDF_MARGIN;
    pdf_line(p, pg, PDF_MARGIN, y + 14, pw - PDF_MARGIN, y + 14, 0.5, PDF_FAINT);
    x = legend_swatch(p, pg, x, y, p->c_value, "forward value", st);
    x = legend_swatch(p, pg, x, y, p->c_local, "∂ local derivative", st);
    x = legend_swatch(p, pg, x, y, p->c_grad, grad, st);
    x = legend_swatch(p, pg, x, y, p->c_fan, "fan-out: gradients add over paths", st);
    const TangentSweep *ts = p->o->jac ? p->o->jac->tangents : NULL;
    if (ts) {
        char tan[96];
        snprintf(tan, sizeof tan, "tangent ∂·/∂%.40s (forward mode)", p->t->g->nodes[ts->leaf].name);
        legend_swatch(p, pg, x, y, p->c_tan, tan, st);
    }
    x = PDF_MARGIN;
    y -= 15;
    x = legend_shape(p, pg, x, y, 0, "input", st);
    x = legend_shape(p, pg, x, y, 1, "param", st);
    x = legend_shape(p, pg, x, y, 2, "const (no gradient)", st);
    legend_shape(p, pg, x, y, 3, out, st);
    Buf b = {0};
    buf_printf(&b, "Each edge label reads, top to bottom: the value flowing forward, ∂ the local derivative of "
                   "its consumer, and the gradient it carries back: ∂%s/∂(consumer) × local", L);
    if (ts)
        buf_printf(&b, "; then → the tangent it carries forward: local × ∂(operand)/∂%s", p->t->g->nodes[ts->leaf].name);
    buf_puts(&b, ".");
    pdf_text_fit(p, pg, note, PDF_MARGIN, y - 15, b.data ? b.data : "", b.len, pw - 2 * PDF_MARGIN);
    buf_free(&b);
}

/* Title and one summary line; returns nothing, occupies PDF_HEADER_H below the top margin. */
static void pdf_header(Pdf *p, HPDF_Page pg, double pw, double ph)
{
    const Trace *t = p->t;
    const Graph *g = t->g;
    char num[FMT_NUM_MAX];
    double top = ph - PDF_MARGIN;
    pdf_text_fit(p, pg, st_make(19, true, PDF_INK), PDF_MARGIN, top - 18, p->title, strlen(p->title),
                 pw - 2 * PDF_MARGIN);
    Para pa = {0};
    Style s = st_make(9.5, false, PDF_MUTED);
    para_putf(&pa, s, "Backpropagation through %u nodes and %u edges in %u backward steps · ", g->nnodes, g->nedges,
              t->nbwd);
    para_putf(&pa, s, "%s = ", fmt_output_name(t));
    para_put(&pa, st_make(9.5, false, p->c_value), pdf_num(p, num, t->value[t->primary]));
    para_put(&pa, s, " · ");
    para_put(&pa, s, p->path);
    if (t->check) {
        para_put(&pa, s, " · ");
        para_put(&pa, st_make(9.5, true, t->check->passed ? p->c_value : p->c_grad),
                 t->check->passed ? "gradient check passed" : "gradient check FAILED");
    }
    if (pa.oom || pa.text.oom)
        err_set(p->err, ERR_IO, "out of memory");
    else
        para_layout(p, pg, &pa, PDF_MARGIN, top - 25, pw - 2 * PDF_MARGIN, 0);
    para_free(&pa);
}

/* Dashed outlines of the tiles over the overview, each named in its top left corner. */
static void pdf_tile_marks(Pdf *p, HPDF_Page pg, const Plan *pl, PdfBox drawn)
{
    static const HPDF_UINT16 dash[] = {3, 2};
    double s = drawn.w / pl->gw;
    Style st = st_make(8, true, PDF_MUTED);
    pdf_st(p, HPDF_Page_GSave(pg));
    pdf_st(p, HPDF_Page_SetDash(pg, dash, 2, 0));
    for (size_t i = 0; i < pl->ntiles; i++) {
        const PdfBox *r = &pl->tiles[i];
        double x0 = drawn.x + fmax(r->x, 0) * s, y0 = drawn.y + fmax(r->y, 0) * s;
        double x1 = drawn.x + fmin(r->x + r->w, pl->gw) * s, y1 = drawn.y + fmin(r->y + r->h, pl->gh) * s;
        pdf_rgb_stroke(p, pg, 0x8c959f);
        pdf_st(p, HPDF_Page_SetLineWidth(pg, 0.6f));
        pdf_st(p, HPDF_Page_Rectangle(pg, (HPDF_REAL)x0, (HPDF_REAL)y0, (HPDF_REAL)(x1 - x0), (HPDF_REAL)(y1 - y0)));
        pdf_st(p, HPDF_Page_Stroke(pg));
        pdf_text(p, pg, st, x0 + 3, y1 - 10, pl->names[i]);
    }
    pdf_st(p, HPDF_Page_GRestore(pg));
}

static bool pdf_page_one(Pdf *p, Agraph_t *g, const Plan *pl)
{
    HPDF_Page pg = pdf_add_page(p, pl->landscape, PDF_MARGIN);
    if (!pg)
        return false;
    double pw, ph;
    pdf_page_size(p, pl->landscape, &pw, &ph);
    pdf_bookmark(p, NULL, pg, "Graph", NULL);
    pdf_header(p, pg, pw, ph);
    bool note = pl->mode != FIT_ONE;
    PdfBox box = pdf_overview_box(p, pl->landscape, note), drawn;
    if (!pdf_ok(p) || !pdfdraw_graph(p->doc, pg, &p->fonts, g, &box, &drawn, p->err))
        return false;
    if (note) {
        Para pa = {0};
        Style s = st_make(9, false, PDF_INK), b = st_make(9, true, PDF_INK);
        double y = PDF_MARGIN + PDF_LEGEND_H + PDF_NOTE_H - 6;
        pdf_fill_rect(p, pg, PDF_MARGIN, PDF_MARGIN + PDF_LEGEND_H + 2, pw - 2 * PDF_MARGIN, PDF_NOTE_H - 8,
                      PDF_WARN_BG);
        /* "0.26%", not "0%", for a 300,000-point chain */
        para_putf(&pa, b, "This graph is drawn at %.*g%% of its size, too small to read. ", pl->scale >= 0.1 ? 2 : 1,
                  pl->scale * 100);
        if (pl->mode == FIT_TILES)
            para_putf(&pa, s, "The next %zu page%s show%s it in parts at %.0f%% (the dashed tiles above)%s.", pl->ntiles,
                      pl->ntiles == 1 ? "" : "s", pl->ntiles == 1 ? "s" : "", pl->tile_scale * 100,
                      p->o->steps ? "; step pages show close-ups" : "");
        else
            para_putf(&pa, s, "Printing it readably would take %zu pages, so it is not tiled: the %stables below are "
                      "readable, and the SVG and HTML outputs zoom.", pl->want_tiles,
                      p->o->steps ? "step close-ups and " : "");
        para_layout(p, pg, &pa, PDF_MARGIN + 6, y, pw - 2 * PDF_MARGIN - 12, 0);
        para_free(&pa);
    }
    if (pl->mode == FIT_TILES)
        pdf_tile_marks(p, pg, pl, drawn);
    pdf_legend(p, pg, pw, PDF_MARGIN + PDF_LEGEND_H - 20);
    return pdf_ok(p);
}

static bool pdf_tile_pages(Pdf *p, Agraph_t *g, const Plan *pl)
{
    for (size_t i = 0; i < pl->ntiles; i++) {
        HPDF_Page pg = pdf_add_page(p, pl->landscape, PDF_MARGIN);
        if (!pg)
            return false;
        double pw, ph;
        pdf_page_size(p, pl->landscape, &pw, &ph);
        char head[96];
        snprintf(head, sizeof head, "Part %s of the graph (%zu of %zu)", pl->names[i], i + 1, pl->ntiles);
        if (i == 0)
            pdf_bookmark(p, NULL, pg, "Graph in parts", NULL);
        pdf_text(p, pg, st_make(13, true, PDF_INK), PDF_MARGIN, ph - PDF_MARGIN - 13, head);
        pdf_text_right(p, pg, st_make(8.5, false, PDF_MUTED), pw - PDF_MARGIN, ph - PDF_MARGIN - 12,
                       "the whole graph is on page 1");
        PdfBox box = pdf_tile_box(p, pl->landscape);
        if (!pdf_ok(p) || !pdfdraw_graph_region(p->doc, pg, &p->fonts, g, &pl->tiles[i], &box, NULL, p->err))
            return false;
    }
    return true;
}

/* ---- step pages ---- */

/* m = reachable consumers of a (the terms that make up its gradient); j = how many of them
 * have been added once edge e of step k is. */
static void pdf_path_count(const Pdf *p, uint32_t a, uint32_t e, uint32_t k, uint32_t *j, uint32_t *m)
{
    const Trace *t = p->t;
    const Graph *g = t->g;
    *j = *m = 0;
    for (uint32_t q = g->out_first[a]; q < g->out_first[a + 1]; q++) {
        uint32_t oe = g->out_edges[q], to = g->edges[oe].to;
        if (!t->reach[to])
            continue;
        (*m)++;
        if (t->bwd_step[to] < k || (t->bwd_step[to] == k && oe <= e))
            (*j)++;
    }
}

/* A new line "local derivative: RULE with a = NAME = VALUE, b = …" for in-edge e of op node id. */
static void pdf_rule_line(Pdf *p, Para *pa, uint32_t id, uint32_t e)
{
    const Trace *t = p->t;
    const Graph *g = t->g;
    const Node *n = &g->nodes[id];
    const OpInfo *oi = op_info((Op)n->op);
    Style note = st_make(8.5, false, PDF_MUTED);
    char num[FMT_NUM_MAX];
    para_br(pa);
    para_put(pa, note, "      local derivative: ");
    para_put(pa, note, oi->rule[g->edges[e].slot] ? oi->rule[g->edges[e].slot] : "?");
    for (int i = 0; i < n->nargs; i++) {
        para_put(pa, note, i ? ", " : "   with ");
        para_putf(pa, note, "%c = ", 'a' + i);
        if (n->args[i].is_lit) {
            para_put(pa, note, pdf_num(p, num, graph_lit(g, n, i)));
        } else {
            uint32_t from = g->edges[n->args[i].ref].from;
            if (g->nodes[from].name)
                para_putf(pa, note, "%s = ", g->nodes[from].name);
            para_put(pa, st_make(8.5, false, p->c_value), pdf_num(p, num, t->value[from]));
        }
    }
}

/* The chain rule of step k: one product per in-edge, the rule it uses, and the sum of every
 * fan-out node whose gradient completes here. */
static void pdf_step_text(Pdf *p, uint32_t k, Para *pa)
{
    const Trace *t = p->t;
    const Graph *g = t->g;
    uint32_t id = t->bwd[k];
    const Node *n = &g->nodes[id];
    const char *L = fmt_output_name(t);
    char num[FMT_NUM_MAX];
    Buf nb = {0}, ab = {0}, ob = {0};
    const char *N = pdf_label(p, &nb, id, true);
    Style body = st_make(11, false, PDF_INK), bold = st_make(11, true, PDF_INK);
    Style red = st_make(11, false, p->c_grad), redb = st_make(11, true, p->c_grad);
    Style grey = st_make(11, false, p->c_local), note = st_make(8.5, false, PDF_MUTED);
    Style fan = st_make(11, true, p->c_fan);

    for (uint32_t e = n->in_first; e < n->in_first + n->nedges; e++) {
        uint32_t a = g->edges[e].from;
        const char *A = pdf_label(p, &ab, a, true);
        if (e > n->in_first)
            para_br(pa);
        if (g->nodes[a].kind == NODE_CONST) {
            para_put(pa, bold, A);
            para_put(pa, body, " is a constant: no gradient flows into it ");
            para_put(pa, note, "(its local derivative ");
            para_put(pa, st_make(8.5, false, p->c_local), pdf_num(p, num, t->local[e]));
            para_put(pa, note, " is not needed)");
            continue;
        }
        uint32_t j, m;
        pdf_path_count(p, a, e, k, &j, &m);
        bool fanout = m >= 2;
        para_putf(pa, bold, "∂%s/∂%s", L, A);
        para_put(pa, body, fanout ? " += " : " = ");
        para_putf(pa, body, "∂%s/∂%s", L, N);
        para_putf(pa, body, " · ∂%s/∂%s", N, A);
        para_put(pa, body, " = (");
        para_put(pa, red, pdf_num(p, num, t->grad[id]));
        para_put(pa, body, ")(");
        para_put(pa, grey, pdf_num(p, num, t->local[e]));
        para_put(pa, body, ") = ");
        para_put(pa, redb, pdf_num(p, num, t->egrad[e]));
        if (fanout) {
            para_putf(pa, note, "   path %u of %u, running sum ", j, m);
            para_put(pa, st_make(8.5, false, p->c_grad), pdf_num(p, num, t->accum[e]));
        }
        pdf_rule_line(p, pa, id, e);
    }

    /* fan-out nodes completed by this step (an operand used twice is summed once) */
    for (uint32_t e = n->in_first; e < n->in_first + n->nedges; e++) {
        uint32_t a = g->edges[e].from;
        bool seen = false;
        for (uint32_t e2 = n->in_first; e2 < e; e2++)
            seen = seen || g->edges[e2].from == a;
        if (seen || g->nodes[a].kind == NODE_CONST || graph_out_count(g, a) < 2 || trace_grad_ready(t, a) != k)
            continue;
        const char *A = pdf_label(p, &ob, a, true);
        para_br(pa);
        para_put(pa, fan, "Σ  ");
        para_putf(pa, bold, "∂%s/∂%s = ", L, A);
        /* every term up to PDF_SUM_TERMS; beyond, the first and last few around a count (the
         * fan-out table lists them all) */
        uint32_t nt = graph_out_count(g, a);
        for (uint32_t q = 0; q < nt; q++) {
            if (nt > PDF_SUM_TERMS && q == PDF_SUM_TERMS - 3) {
                para_putf(pa, body, " + … (%u more) …", nt - PDF_SUM_TERMS);
                q = nt - 3;
            }
            double v = t->egrad[g->out_edges[g->out_first[a] + q]];
            if (q > 0)
                para_put(pa, body, v < 0 ? " − " : " + ");
            para_put(pa, red, pdf_num(p, num, q == 0 || !(v < 0) ? v : -v));
        }
        para_put(pa, body, " = ");
        para_put(pa, redb, pdf_num(p, num, t->grad[a]));
        para_putf(pa, st_make(8.5, false, p->c_fan), "   all %u paths are in: the gradient of %s is complete",
                  graph_out_count(g, a), A);
    }
    buf_free(&nb);
    buf_free(&ab);
    buf_free(&ob);
}

/* The heading of step k: what is active and what happens. */
static void pdf_step_head(Pdf *p, uint32_t k, bool closeup, Para *pa)
{
    const Trace *t = p->t;
    uint32_t id = t->bwd[k];
    const char *L = fmt_output_name(t);
    char num[FMT_NUM_MAX];
    Buf nb = {0}, eb = {0}, tb = {0};
    const char *N = pdf_label(p, &nb, id, true);
    Style s = st_make(9.5, false, PDF_MUTED);
    if (t->g->nodes[id].name) {
        eb.len = 0;
        expr_node(p, &eb, id, 1);
    }
    para_putf(pa, st_make(16, true, PDF_INK), "Backward step %u of %u:  ", k + 1, t->nbwd);
    para_put(pa, st_make(16, true, p->c_active), pdf_label(p, &tb, id, false));
    if (eb.data && eb.len <= PDF_EXPR_MAX)
        para_putf(pa, st_make(16, false, PDF_MUTED), " = %s", eb.data);
    para_br(pa);
    if (k == 0)
        para_putf(pa, s, "Backprop starts at the output: ∂%s/∂%s = 1.", L, L);
    else {
        para_putf(pa, s, "Every consumer of %s is done, so its gradient ∂%s/∂%s = ", N, L, N);
        para_put(pa, st_make(9.5, false, p->c_grad), pdf_num(p, num, t->grad[id]));
        para_put(pa, s, " is complete.");
    }
    para_br(pa);
    para_putf(pa, s, "It sends gradient back along its in-edges (highlighted); ? marks gradients not computed yet.");
    if (closeup)
        para_put(pa, s, " Close-up around the active node; the whole graph is on page 1.");
    buf_free(&nb);
    buf_free(&eb);
    buf_free(&tb);
}

/* The heading of forward-mode step k: the node whose tangent completes, and what that means. */
static void pdf_fwd_step_head(Pdf *p, uint32_t k, bool closeup, Para *pa)
{
    const Trace *t = p->t;
    const TangentSweep *ts = p->o->jac->tangents;
    uint32_t id = ts->steps[k];
    char num[FMT_NUM_MAX];
    Buf nb = {0}, eb = {0}, tb = {0}, xb = {0};
    const char *N = pdf_label(p, &nb, id, true);
    const char *X = pdf_label(p, &xb, ts->leaf, true);
    Style s = st_make(9.5, false, PDF_MUTED);
    if (t->g->nodes[id].name)
        expr_node(p, &eb, id, 1);
    para_putf(pa, st_make(16, true, PDF_INK), "Forward step %u of %u:  ", k + 1, ts->nsteps);
    para_put(pa, st_make(16, true, p->c_active), pdf_label(p, &tb, id, false));
    if (eb.data && eb.len <= PDF_EXPR_MAX)
        para_putf(pa, st_make(16, false, PDF_MUTED), " = %s", eb.data);
    para_br(pa);
    para_putf(pa, s, "Forward mode, tangents with respect to %s: every operand of %s has its tangent, so ∂%s/∂%s = ",
              X, N, N, X);
    para_put(pa, st_make(9.5, false, p->c_tan), pdf_num(p, num, ts->node[id]));
    para_put(pa, s, " is complete.");
    para_br(pa);
    para_put(pa, s, "The tangents flow forward along its in-edges (highlighted); ? marks tangents not computed yet.");
    if (closeup)
        para_put(pa, s, " Close-up around the active node; the whole graph is on page 1.");
    buf_free(&nb);
    buf_free(&eb);
    buf_free(&tb);
    buf_free(&xb);
}

/* The chain rule of forward-mode step k: ∂v/∂x = Σ ∂v/∂u · ∂u/∂x over the operands u, with the
 * numbers; for each operand its local derivative and where its tangent comes from. */
static void pdf_fwd_step_text(Pdf *p, uint32_t k, Para *pa)
{
    const Trace *t = p->t;
    const Graph *g = t->g;
    const TangentSweep *ts = p->o->jac->tangents;
    uint32_t id = ts->steps[k];
    const Node *n = &g->nodes[id];
    char num[FMT_NUM_MAX];
    Buf nb = {0}, xb = {0}, ab = {0};
    const char *N = pdf_label(p, &nb, id, true);
    const char *X = pdf_label(p, &xb, ts->leaf, true);
    Style body = st_make(11, false, PDF_INK), bold = st_make(11, true, PDF_INK);
    Style tan = st_make(11, false, p->c_tan), tanb = st_make(11, true, p->c_tan), grey = st_make(11, false, p->c_local);
    Style note = st_make(8.5, false, PDF_MUTED);
    /* the sum, symbolically, then with the numbers */
    para_putf(pa, bold, "∂%s/∂%s", N, X);
    para_put(pa, body, " = ");
    uint32_t terms = 0;
    for (uint32_t e = n->in_first; e < n->in_first + n->nedges; e++) {
        uint32_t a = g->edges[e].from;
        if (g->nodes[a].kind == NODE_CONST)
            continue;
        const char *A = pdf_label(p, &ab, a, true);
        para_putf(pa, body, "%s∂%s/∂%s · ∂%s/∂%s", terms++ ? " + " : "", N, A, A, X);
    }
    para_put(pa, body, " = ");
    terms = 0;
    for (uint32_t e = n->in_first; e < n->in_first + n->nedges; e++) {
        uint32_t a = g->edges[e].from;
        if (g->nodes[a].kind == NODE_CONST)
            continue;
        para_put(pa, body, terms++ ? " + (" : "(");
        para_put(pa, grey, pdf_num(p, num, t->local[e]));
        para_put(pa, body, ")(");
        para_put(pa, tan, pdf_num(p, num, ts->node[a]));
        para_put(pa, body, ")");
    }
    para_put(pa, body, " = ");
    para_put(pa, tanb, pdf_num(p, num, ts->node[id]));
    /* each operand: its local derivative and its tangent */
    for (uint32_t e = n->in_first; e < n->in_first + n->nedges; e++) {
        uint32_t a = g->edges[e].from;
        const char *A = pdf_label(p, &ab, a, true);
        para_br(pa);
        if (g->nodes[a].kind == NODE_CONST) {
            para_putf(pa, note, "%s is a constant: its tangent is 0 and it adds nothing.", A);
            continue;
        }
        para_putf(pa, st_make(9.5, true, PDF_INK), "from %s: ", A);
        para_put(pa, st_make(9.5, false, PDF_INK), "carries (");
        para_put(pa, st_make(9.5, false, p->c_local), pdf_num(p, num, t->local[e]));
        para_put(pa, st_make(9.5, false, PDF_INK), ")(");
        para_put(pa, st_make(9.5, false, p->c_tan), pdf_num(p, num, ts->node[a]));
        para_put(pa, st_make(9.5, false, PDF_INK), ") = ");
        para_put(pa, st_make(9.5, true, p->c_tan), pdf_num(p, num, ts->edge[e]));
        /* the step that completed the operand's tangent; none: it does not depend on x */
        uint32_t at = UINT32_MAX;
        for (uint32_t q = 0; q < k; q++)
            if (ts->steps[q] == a)
                at = q;
        if (a == ts->leaf)
            para_putf(pa, note, "   %s is the input itself: ∂%s/∂%s = 1", A, A, X);
        else if (at == UINT32_MAX)
            para_putf(pa, note, "   %s does not depend on %s: its tangent is 0", A, X);
        else
            para_putf(pa, note, "   ∂%s/∂%s was completed at step %u", A, X, at + 1);
        pdf_rule_line(p, pa, id, e);
    }
    for (uint32_t i = 0; i < g->noutputs; i++) {
        if (g->outputs[i] != id)
            continue;
        para_br(pa);
        para_put(pa, st_make(9.5, true, p->c_value), "Output: ");
        para_putf(pa, st_make(9.5, false, PDF_INK), "∂%s/∂%s = ", N, X);
        para_put(pa, st_make(9.5, true, p->c_tan), pdf_num(p, num, ts->node[id]));
        para_putf(pa, st_make(9.5, false, PDF_INK), " is the entry (%s, %s) of the Jacobian", N, X);
        if (id == t->primary) {
            para_putf(pa, st_make(9.5, false, PDF_INK), "; the backward pass finds the same number as ∂%s/∂%s = ",
                      fmt_output_name(t), X);
            para_put(pa, st_make(9.5, false, p->c_grad), pdf_num(p, num, t->grad[ts->leaf]));
        }
        para_put(pa, st_make(9.5, false, PDF_INK), ".");
    }
    buf_free(&nb);
    buf_free(&xb);
    buf_free(&ab);
}

/* The centre of a close-up of a step's node id: the middle of the active node and its operands if a
 * rw × rh region holds them all, else the active node. */
static void pdf_step_focus(Pdf *p, Agraph_t *g, uint32_t id, double rw, double rh, double *cx, double *cy)
{
    const Graph *gr = p->t->g;
    double gw = 0, gh = 0, x0, y0, x1, y1, x, y;
    pdfdraw_graph_size(g, &gw, &gh);
    *cx = gw / 2;
    *cy = gh / 2;
    Agnode_t *an = pdf_find_node(g, id);
    if (!an || !pdfdraw_node_pos(g, an, cx, cy))
        return;
    x0 = x1 = *cx;
    y0 = y1 = *cy;
    const Node *n = &gr->nodes[id];
    for (uint32_t e = n->in_first; e < n->in_first + n->nedges; e++) {
        Agnode_t *from = pdf_find_node(g, gr->edges[e].from);
        if (from && pdfdraw_node_pos(g, from, &x, &y)) {
            x0 = fmin(x0, x), x1 = fmax(x1, x);
            y0 = fmin(y0, y), y1 = fmax(y1, y);
        }
    }
    /* leave room for the node boxes themselves (about 100 x 60 points) */
    if (x1 - x0 + 200 <= rw && y1 - y0 + 120 <= rh) {
        *cx = (x0 + x1) / 2;
        *cy = (y0 + y1) / 2;
    }
}

/* The page of backward step k, or with `fwd` of forward-mode step k. */
static bool pdf_step_page(Pdf *p, uint32_t k, bool fwd, bool landscape, const DotPins *pins, HPDF_Outline *group)
{
    const TangentSweep *ts = p->o->jac ? p->o->jac->tangents : NULL;
    uint32_t id = fwd ? ts->steps[k] : p->t->bwd[k];
    Agraph_t *g = pdf_layout(p, k, fwd, pins, NULL);
    if (!g)
        return false;
    double gw, gh, pw, ph;
    pdf_page_size(p, landscape, &pw, &ph);
    double width = pw - 2 * PDF_MARGIN;
    bool ok = pdfdraw_graph_size(g, &gw, &gh) || err_set(p->err, ERR_IO, "the graph has no layout");
    Para head = {0}, body = {0};
    if (fwd)
        pdf_fwd_step_text(p, k, &body);
    else
        pdf_step_text(p, k, &body);
    double body_h = ok ? para_layout(p, NULL, &body, PDF_MARGIN, 0, width, 28) : 0;
    /* the heading, measured as it would be for the whole graph and for a close-up */
    if (fwd)
        pdf_fwd_step_head(p, k, false, &head);
    else
        pdf_step_head(p, k, false, &head);
    double head_h = para_layout(p, NULL, &head, PDF_MARGIN, 0, width, 0);
    PdfBox box = {PDF_MARGIN, PDF_MARGIN + body_h + 22, width, 0};
    box.h = ph - PDF_MARGIN - head_h - 12 - box.y;
    bool closeup = ok && pdf_fit(gw, gh, box) < PDF_READABLE_SCALE;
    if (closeup) {
        para_free(&head);
        if (fwd)
            pdf_fwd_step_head(p, k, true, &head);
        else
            pdf_step_head(p, k, true, &head);
        head_h = para_layout(p, NULL, &head, PDF_MARGIN, 0, width, 0);
        box.h = ph - PDF_MARGIN - head_h - 12 - box.y;
    }
    if (head.oom || head.text.oom || body.oom || body.text.oom)
        ok = err_set(p->err, ERR_IO, "out of memory");
    HPDF_Page pg = ok && box.h > 40 ? pdf_add_page(p, landscape, PDF_MARGIN) : NULL;
    if (ok && box.h <= 40)
        ok = err_set(p->err, ERR_IO, "%s step %u has too much text for one PDF page", fwd ? "forward-mode" : "backward",
                     k + 1);
    if (pg) {
        Buf mark = {0};
        buf_printf(&mark, "Step %u: ", k + 1);
        pdf_node_label(p, &mark, id, false);
        if (mark.len > 120) /* a bookmark is a reminder, not the whole name */
            mark.data[utf8_cut(mark.data, mark.len, 120)] = '\0';
        if (!*group)
            pdf_bookmark(p, NULL, pg, fwd ? "Forward-mode steps" : "Backward steps", group);
        if (mark.oom)
            err_set(p->err, ERR_IO, "out of memory");
        else
            pdf_bookmark(p, *group, pg, mark.data, NULL);
        buf_free(&mark);
        para_layout(p, pg, &head, PDF_MARGIN, ph - PDF_MARGIN, width, 0);
        PdfBox region, *rp = NULL;
        if (closeup) {
            double rw = box.w / PDF_TILE_SCALE, rh = box.h / PDF_TILE_SCALE, cx, cy;
            pdf_step_focus(p, g, id, rw, rh, &cx, &cy);
            region = pdf_region_around(cx, cy, rw, rh, gw, gh);
            rp = &region;
        }
        ok = pdf_ok(p) && pdfdraw_graph_region(p->doc, pg, &p->fonts, g, rp, &box, NULL, p->err);
        if (ok) {
            double top = PDF_MARGIN + body_h + 8;
            pdf_line(p, pg, PDF_MARGIN, top + 6, pw - PDF_MARGIN, top + 6, 0.5, PDF_FAINT);
            para_layout(p, pg, &body, PDF_MARGIN, top, width, 28);
        }
    }
    para_free(&head);
    para_free(&body);
    pdf_unlayout(p, g);
    return ok && pdf_ok(p);
}

/* ---- gradient by depth ---- */

/* The line colours of flowchart_profile (Okabe-Ito blue and vermillion), for the text that
 * names them. */
#define PDF_DEPTH_MEAN 0x0072b2u
#define PDF_DEPTH_MAX 0xd55e00u

/* The explanation under the chart, and what the deepest level holds, in numbers. */
static void pdf_depth_text(Pdf *p, const FlowProfile *fp, Para *pa)
{
    const char *L = fmt_output_name(p->t);
    Style s = st_make(9.5, false, PDF_INK), mean = st_make(9.5, true, PDF_DEPTH_MEAN),
          max = st_make(9.5, true, PDF_DEPTH_MAX), b = st_make(9.5, true, PDF_INK);
    char num[FMT_NUM_MAX];
    para_wordsf(pa, s, "Depth is the longest path from a node to %s, in edges: %s is at depth 0, its operands at "
                       "depth 1, and so on. Each point sums up the non-constant nodes at one depth:", L, L);
    para_put(pa, mean, " the mean");
    para_put(pa, s, " and");
    para_put(pa, max, " the largest");
    para_wordsf(pa, s, " |∂%s/∂node|. A steady fall with depth is a vanishing gradient, a steady rise an exploding "
                       "one.", L);
    /* the deepest level with a finite gradient */
    uint32_t d = fp->nlevels, nonfinite = 0;
    for (uint32_t k = 0; k < fp->nlevels; k++)
        nonfinite += fp->levels[k].nonfinite;
    while (d > 0 && fp->levels[d - 1].nodes == 0)
        d--;
    if (d > 1) {
        const FlowLevel *l = &fp->levels[d - 1];
        para_br(pa);
        para_putf(pa, b, "Deepest level: depth %u", d - 1);
        para_putf(pa, s, " (%u node%s): mean |∂%s/∂node| = ", l->nodes, l->nodes == 1 ? "" : "s", L);
        para_put(pa, mean, pdf_num(p, num, l->mean));
        para_put(pa, s, ", largest = ");
        para_put(pa, max, pdf_num(p, num, l->max));
        para_put(pa, s, ".");
    }
    if (nonfinite) {
        para_br(pa);
        para_wordsf(pa, s, "%u node%s with a non-finite gradient (NaN or ∞) %s left out.", nonfinite,
                  nonfinite == 1 ? "" : "s", nonfinite == 1 ? "is" : "are");
    }
}

/* One landscape page: the per-depth gradient profile (flowchart_profile, the chart the HTML
 * report shows), and under it what it means. */
static bool pdf_depth_page(Pdf *p)
{
    FlowProfile fp = {0};
    FlowDrawing d = {0};
    Para pa = {0};
    bool ok = flow_profile(p->t, &fp, p->err) &&
              flowchart_profile(&fp, p->t->g->title, fmt_output_name(p->t), &d, p->err);
    HPDF_Page pg = ok ? pdf_add_page(p, true, PDF_MARGIN) : NULL;
    if (pg) {
        double pw, ph;
        pdf_page_size(p, true, &pw, &ph);
        pdf_bookmark(p, NULL, pg, "Gradient by depth", NULL);
        pdf_depth_text(p, &fp, &pa);
        double width = pw - 2 * PDF_MARGIN;
        if (pa.oom || pa.text.oom)
            err_set(p->err, ERR_IO, "out of memory");
        double text_h = pdf_ok(p) ? para_layout(p, NULL, &pa, PDF_MARGIN, 0, width, 0) : 0;
        PdfBox box = {PDF_MARGIN, PDF_MARGIN + text_h + 14, width, ph - 2 * PDF_MARGIN - text_h - 14}, drawn;
        ok = pdf_ok(p) && flowpdf_draw(pg, &p->fonts, &d, &box, &drawn, p->err);
        if (ok) {
            double top = drawn.y - 8;
            pdf_line(p, pg, PDF_MARGIN, top + 2, pw - PDF_MARGIN, top + 2, 0.5, PDF_FAINT);
            para_layout(p, pg, &pa, PDF_MARGIN, top - 4, width, 0);
        }
    }
    para_free(&pa);
    flowchart_drawing_free(&d);
    flow_profile_free(&fp);
    return ok && pg && pdf_ok(p);
}

/* ---- Jacobian and modes ----
 *
 * One portrait page: the Jacobian of every output with respect to every input and param, with
 * --via its factors J_f and J_g side by side (or stacked) and the check of their product, then
 * the cost of reverse against forward mode. Every part is drawn by functions that take a NULL
 * page to only measure, so the page is first measured and, when a big matrix would not fit,
 * laid out again with fewer rows shown (the JSON trace has them all). */

#define PDF_MAT_ROW_H 13.0     /* a matrix row, points */
#define PDF_MAT_MIN_ROWS 2     /* rows of a matrix excerpt that are never dropped */
#define PDF_MAT_MAX_ROWS 16    /* rows of a matrix excerpt at most */
#define PDF_MAT_GAP 26.0       /* between matrices side by side (room for "·") */

/* "J" with a lowered subscript "f", as runs of a paragraph. */
static void para_sub(Para *pa, Style st, const char *s, const char *sub)
{
    para_put(pa, st, s);
    Style ss = st_make(st.size * 0.7, st.bold, st.rgb);
    ss.rise = -st.size * 0.22;
    para_put(pa, ss, sub);
}

/* A matrix to draw: rows × cols node ids and row-major entries. */
typedef struct Mat {
    const char *name, *sub;  /* corner label "J" with subscript "h" (sub may be NULL) */
    const uint32_t *rows, *cols;
    uint32_t nrows, ncols;
    const double *d;
    uint32_t hl_row;         /* drawn in the gradient colour (the primary output), or UINT32_MAX */
} Mat;

static Mat mat_of(const Jacobian *J, const char *name, const char *sub, uint32_t hl_row)
{
    Mat m = {name, sub, J->rows, J->cols, J->nrows, J->ncols, J->d, hl_row};
    return m;
}

/* How a matrix goes onto the page: the rows and columns shown and the column widths. */
typedef struct MatFit {
    uint32_t rows, cols;       /* shown: the first `rows` rows and `cols` columns */
    double label_w;            /* the row-label column */
    double col_w[64];          /* each shown column */
    double w, h;               /* whole block, omission note included */
} MatFit;

/* "J" and a lowered subscript "f" from x on baseline y; returns the width. pg NULL measures. */
static double pdf_sub_text(Pdf *p, HPDF_Page pg, Style st, double x, double y, const char *s, const char *sub)
{
    double w = pdf_swidth(p, st, s);
    if (pg)
        pdf_text(p, pg, st, x, y, s);
    if (sub && *sub) {
        Style ss = st_make(st.size * 0.68, st.bold, st.rgb);
        if (pg)
            pdf_text(p, pg, ss, x + w + 0.5, y - st.size * 0.22, sub);
        w += 0.5 + pdf_swidth(p, ss, sub);
    }
    return w;
}

static const char *pdf_name(const Pdf *p, Buf *b, uint32_t id)
{
    return pdf_label(p, b, id, false);
}

/* Chooses the rows and columns of m shown in at most `maxw` points and `maxr` rows. */
static void mat_fit(Pdf *p, const Mat *m, double maxw, uint32_t maxr, MatFit *f)
{
    Style hd = st_make(8.5, true, PDF_MUTED), lab = st_make(9, true, PDF_INK), cell = st_make(9, false, PDF_INK);
    Buf nb = {0};
    char num[FMT_NUM_MAX];
    memset(f, 0, sizeof *f);
    f->rows = m->nrows < maxr ? m->nrows : maxr;
    f->label_w = pdf_sub_text(p, NULL, st_make(10, true, PDF_INK), 0, 0, m->name, m->sub);
    for (uint32_t i = 0; i < f->rows; i++)
        f->label_w = fmax(f->label_w, fmin(pdf_swidth(p, lab, pdf_name(p, &nb, m->rows[i])), 110));
    f->label_w += 10;
    double used = f->label_w;
    uint32_t maxc = sizeof f->col_w / sizeof f->col_w[0];
    for (uint32_t j = 0; j < m->ncols && j < maxc; j++) {
        double w = fmin(pdf_swidth(p, hd, pdf_name(p, &nb, m->cols[j])), 90);
        for (uint32_t i = 0; i < f->rows; i++)
            w = fmax(w, pdf_swidth(p, cell, pdf_num(p, num, m->d[(size_t)i * m->ncols + j])));
        w = fmax(w + 14, 40);
        /* the last column may use the room of the "…" column it makes unnecessary */
        bool last = j + 1 == m->ncols;
        if (used + w + (last ? 0 : 18) > maxw && f->cols > 0)
            break;
        f->col_w[f->cols++] = w;
        used += w;
    }
    bool more_c = f->cols < m->ncols, more_r = f->rows < m->nrows;
    f->w = used + 8 + (more_c ? 18 : 0);
    f->h = PDF_MAT_ROW_H * (1 + f->rows + (more_r ? 1 : 0)) + 6 + (more_r || more_c ? 12 : 0);
    buf_free(&nb);
}

/* Draws m as fitted by mat_fit with its top left at (x, top): column names, row names, the
 * entries in brackets, "…" and "⋮" for what is left out and a note saying how much. */
static void mat_draw(Pdf *p, HPDF_Page pg, const Mat *m, const MatFit *f, double x, double top)
{
    Style hd = st_make(8.5, true, PDF_MUTED);
    Buf nb = {0};
    char num[FMT_NUM_MAX];
    bool more_c = f->cols < m->ncols, more_r = f->rows < m->nrows;
    double y = top - PDF_MAT_ROW_H + 3;
    /* the header: the matrix's name in the corner, then the column names */
    pdf_sub_text(p, pg, st_make(10, true, PDF_INK), x, y, m->name, m->sub);
    double cx = x + f->label_w;
    for (uint32_t j = 0; j < f->cols; j++) {
        const char *s = pdf_name(p, &nb, m->cols[j]);
        double w = fmin(pdf_swidth(p, hd, s), f->col_w[j] - 6);
        pdf_text_fit(p, pg, hd, cx + f->col_w[j] - 4 - w, y, s, strlen(s), f->col_w[j] - 6);
        cx += f->col_w[j];
    }
    if (more_c)
        pdf_text(p, pg, hd, cx + 4, y, "…");
    /* the entries */
    double body_top = top - PDF_MAT_ROW_H - 1;
    for (uint32_t i = 0; i < f->rows; i++) {
        double by = body_top - PDF_MAT_ROW_H * (i + 1) + 3.5;
        bool hl = m->rows[i] == m->hl_row;
        const char *s = pdf_name(p, &nb, m->rows[i]);
        pdf_text_fit(p, pg, st_make(9, true, hl ? p->c_grad : PDF_INK), x, by, s, strlen(s), f->label_w - 8);
        cx = x + f->label_w;
        for (uint32_t j = 0; j < f->cols; j++) {
            pdf_text_right(p, pg, st_make(9, false, hl ? p->c_grad : PDF_INK), cx + f->col_w[j] - 4, by,
                           pdf_num(p, num, m->d[(size_t)i * m->ncols + j]));
            cx += f->col_w[j];
        }
        if (more_c)
            pdf_text(p, pg, st_make(9, false, PDF_MUTED), cx + 4, by, "…");
    }
    uint32_t nr = f->rows + (more_r ? 1 : 0);
    if (more_r) {
        cx = x + f->label_w;
        double by = body_top - PDF_MAT_ROW_H * nr + 3.5;
        for (uint32_t j = 0; j < f->cols; j++) {
            pdf_text_right(p, pg, st_make(9, false, PDF_MUTED), cx + f->col_w[j] - 8, by, "⋮");
            cx += f->col_w[j];
        }
    }
    /* brackets around the entries, as a matrix is written */
    double bx0 = x + f->label_w - 2, bx1 = cx + (more_c ? 16 : 2);
    double by0 = body_top - PDF_MAT_ROW_H * nr - 1, by1 = body_top + 1;
    pdf_rgb_stroke(p, pg, PDF_MUTED);
    pdf_st(p, HPDF_Page_SetLineWidth(pg, 0.8f));
    pdf_st(p, HPDF_Page_MoveTo(pg, (HPDF_REAL)(bx0 + 3), (HPDF_REAL)by1));
    pdf_st(p, HPDF_Page_LineTo(pg, (HPDF_REAL)bx0, (HPDF_REAL)by1));
    pdf_st(p, HPDF_Page_LineTo(pg, (HPDF_REAL)bx0, (HPDF_REAL)by0));
    pdf_st(p, HPDF_Page_LineTo(pg, (HPDF_REAL)(bx0 + 3), (HPDF_REAL)by0));
    pdf_st(p, HPDF_Page_MoveTo(pg, (HPDF_REAL)(bx1 - 3), (HPDF_REAL)by1));
    pdf_st(p, HPDF_Page_LineTo(pg, (HPDF_REAL)bx1, (HPDF_REAL)by1));
    pdf_st(p, HPDF_Page_LineTo(pg, (HPDF_REAL)bx1, (HPDF_REAL)by0));
    pdf_st(p, HPDF_Page_LineTo(pg, (HPDF_REAL)(bx1 - 3), (HPDF_REAL)by0));
    pdf_st(p, HPDF_Page_Stroke(pg));
    if (more_r || more_c) {
        char note[160];
        snprintf(note, sizeof note, "%u of %u row%s and %u of %u column%s shown (all in the JSON trace)", f->rows,
                 m->nrows, m->nrows == 1 ? "" : "s", f->cols, m->ncols, m->ncols == 1 ? "" : "s");
        pdf_text_fit(p, pg, st_make(7.5, false, PDF_MUTED), x, by0 - 10, note, strlen(note), f->w);
    }
    buf_free(&nb);
}

/* Seconds as a reader takes them in: "140 ns", "3.2 ms", "1.5 s". */
static void fmt_seconds(char out[32], double s)
{
    if (!(s >= 0) || isinf(s))
        snprintf(out, 32, "—");
    else if (s < 1e-6)
        snprintf(out, 32, "%.3g ns", s * 1e9);
    else if (s < 1e-3)
        snprintf(out, 32, "%.3g µs", s * 1e6);
    else if (s < 1)
        snprintf(out, 32, "%.3g ms", s * 1e3);
    else
        snprintf(out, 32, "%.3g s", s);
}

/* A count with thousands separators ("1,234,567"); above 1e15, "%.3g". */
static void fmt_count(char out[48], double v)
{
    if (!(v >= 0) || v >= 1e15) {
        snprintf(out, 48, "%.3g", v);
        return;
    }
    char digits[24];
    snprintf(digits, sizeof digits, "%.0f", v);
    size_t n = strlen(digits), o = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
}

/* The counts the mode comparison rests on, from the graph when no ModeStats was measured. */
static void pdf_leaf_counts(const Graph *g, uint32_t *ninputs, uint32_t *nparams)
{
    *ninputs = *nparams = 0;
    for (uint32_t i = 0; i < g->nnodes; i++) {
        *ninputs += g->nodes[i].kind == NODE_INPUT;
        *nparams += g->nodes[i].kind == NODE_PARAM;
    }
}

/* The mode-comparison table, from its top at y; returns its height. pg NULL measures.
 * Measured (the default): sweeps, multiply-adds, time and the time ratio per mode. Counted
 * without a clock (--reproducible, ModeStats.timed false): no time columns; the last column is
 * the ratio of multiply-adds instead, and a note says the timings were left out. */
static double pdf_modes_table(Pdf *p, HPDF_Page pg, double x, double top, double width)
{
    const Trace *t = p->t;
    const Graph *g = t->g;
    const ModeStats *ms = p->o->jac ? p->o->jac->modes : NULL;
    bool timed = !ms || ms->timed;
    const char *L = fmt_output_name(t);
    uint32_t nin, npar;
    pdf_leaf_counts(g, &nin, &npar);
    static const double frac_timed[6] = {0.33, 0.12, 0.11, 0.17, 0.14, 0.13};
    static const double frac_counted[5] = {0.36, 0.13, 0.13, 0.19, 0.19};
    static const char *const head_timed[6] = {"task", "mode", "sweeps", "multiply-adds", "time", "time ratio"};
    static const char *const head_counted[5] = {"task", "mode", "sweeps", "multiply-adds", "multiply-add ratio"};
    const double *frac = timed ? frac_timed : frac_counted;
    const char *const *head = timed ? head_timed : head_counted;
    int ncol = timed ? 6 : 5;
    double y = top - 11;
    Style hs = st_make(8, true, PDF_MUTED);
    if (pg) {
        double cx = x;
        for (int c = 0; c < ncol; c++) {
            double cw = frac[c] * width;
            if (c < 2)
                pdf_text(p, pg, hs, cx + 3, y, head[c]);
            else
                pdf_text_right(p, pg, hs, cx + cw - 3, y, head[c]);
            cx += cw;
        }
        pdf_line(p, pg, x, y - 4, x + width, y - 4, 0.8, PDF_MUTED);
    }
    y -= 4;
    bool any_est = false;
    for (int k = 0; k < MODE_NTASKS; k++) {
        const ModeTask *mt = ms ? &ms->task[k] : NULL;
        char task[96];
        uint32_t ncols = k == MODE_GRAD_INPUTS ? nin : nin + npar;
        uint32_t nrows = k == MODE_JACOBIAN ? g->noutputs : 1;
        if (k == MODE_JACOBIAN)
            snprintf(task, sizeof task, "Jacobian (%u × %u)", nrows, ncols);
        else
            snprintf(task, sizeof task, "∂%.24s/∂%s (1 × %u)", L, k == MODE_GRAD_INPUTS ? "inputs" : "(inputs, params)",
                     ncols);
        for (int mode = 0; mode < 2; mode++) {
            const ModeCost *mc = mt ? (mode == 0 ? &mt->reverse : &mt->forward) : NULL;
            uint64_t sweeps = mc ? mc->sweeps : (mode == 0 ? nrows : ncols);
            char sw[48], ops[56], tm[40], ratio[40];
            fmt_count(sw, (double)sweeps);
            if (mc) {
                char c[48], s[32];
                fmt_count(c, mc->edges);
                fmt_seconds(s, mc->seconds);
                snprintf(ops, sizeof ops, "%s%s", mc->estimated ? "~" : "", c);
                snprintf(tm, sizeof tm, "%s%s", mc->estimated ? "~" : "", s);
                any_est = any_est || mc->estimated;
            } else {
                snprintf(ops, sizeof ops, "—");
                snprintf(tm, sizeof tm, "—");
            }
            ratio[0] = '\0';
            bool est = mt && (mt->reverse.estimated || mt->forward.estimated);
            if (mode == 1 && mt && timed && mt->reverse.seconds > 0)
                snprintf(ratio, sizeof ratio, "%s%.3g×", est ? "~" : "", mt->ratio);
            else if (mode == 1 && mt && !timed && mt->reverse.edges > 0)
                snprintf(ratio, sizeof ratio, "%s%.3g×", est ? "~" : "", mt->forward.edges / mt->reverse.edges);
            y -= PDF_ROW_H;
            if (pg) {
                if (k % 2 == 1)
                    pdf_fill_rect(p, pg, x, y - 4, width, PDF_ROW_H, PDF_STRIPE);
                if (mode == 0 && k > 0)
                    pdf_line(p, pg, x, y - 4 + PDF_ROW_H, x + width, y - 4 + PDF_ROW_H, 0.5, PDF_FAINT);
                const char *cells_timed[6] = {mode == 0 ? task : "", mode == 0 ? "reverse" : "forward", sw, ops, tm,
                                              ratio};
                const char *cells_counted[5] = {mode == 0 ? task : "", mode == 0 ? "reverse" : "forward", sw, ops,
                                                ratio};
                const char *const *cells = timed ? cells_timed : cells_counted;
                Style st[6] = {st_make(9, true, PDF_INK), st_make(9, false, PDF_INK), st_make(9, true, PDF_INK),
                               st_make(9, false, PDF_INK), st_make(9, false, PDF_INK), st_make(9, true, PDF_INK)};
                double cx = x;
                for (int c = 0; c < ncol; c++) {
                    double cw = frac[c] * width;
                    Style cs = st[timed || c < 4 ? c : 5]; /* the ratio column is bold in both shapes */
                    if (c < 2)
                        pdf_text_fit(p, pg, cs, cx + 3, y, cells[c], strlen(cells[c]), cw - 6);
                    else
                        pdf_text_right(p, pg, cs, cx + cw - 3, y, cells[c]);
                    cx += cw;
                }
            }
        }
    }
    y -= 6;
    /* what the columns mean, and which numbers are estimates */
    Para pa = {0};
    Style s = st_make(7.5, false, PDF_MUTED);
    para_words(&pa, s, "Sweeps: reverse mode one per output, forward mode one per input or param. Multiply-adds: "
                       "one per edge a sweep follows (local derivative × the derivative it carries), the elementary "
                       "operations.");
    if (timed)
        para_words(&pa, s, " Times are measured in this run (the local derivatives, computed once by the forward "
                           "pass, are not counted), so they vary a little from run to run; the time ratio is "
                           "forward over reverse.");
    else
        para_words(&pa, s, " Timings omitted (--reproducible or SOURCE_DATE_EPOCH): times vary from run to run, so "
                           "this run measured none and writes the same bytes every time. The ratio is of "
                           "multiply-adds, forward over reverse.");
    if (any_est && timed) {
        para_br(&pa);
        para_wordsf(&pa, s, "~ estimated: running every sweep would have taken over %g s, so an evenly spread sample "
                            "of them was timed and the rest extrapolated by the nodes and edges they cover.",
                    ms->budget);
    } else if (any_est) {
        para_br(&pa);
        para_words(&pa, s, "~ estimated: counting every reverse sweep would have taken too long, so an evenly spread "
                           "sample of them was counted and the rest extrapolated by the nodes and edges they cover.");
    }
    if (!ms) {
        para_br(&pa);
        para_words(&pa, s, "— not measured in this run: gradviz times the two modes when it also writes the JSON "
                           "trace or the HTML report, or with -v.");
    }
    double h = para_layout(p, pg, &pa, x, y, width, 0);
    if (pa.oom || pa.text.oom)
        err_set(p->err, ERR_IO, "out of memory");
    para_free(&pa);
    return top - y + h;
}

/* The forward-mode sweep of --wrt, step by step: each op node that depends on the leaf and its
 * tangent as the sum over its in-edges of local × the operand's tangent. At most `maxr` steps
 * are written (the first ones, then a count). pg NULL measures; returns the height used. */
static double pdf_fwd_section(Pdf *p, HPDF_Page pg, double x, double top, double width, uint32_t maxr, bool lean)
{
    const TangentSweep *ts = p->o->jac ? p->o->jac->tangents : NULL;
    if (!ts)
        return 0;
    const Trace *t = p->t;
    const Graph *g = t->g;
    char num[FMT_NUM_MAX];
    Buf xb = {0}, nb = {0}, ab = {0};
    const char *X = pdf_label(p, &xb, ts->leaf, true);
    Style body = st_make(9.5, false, PDF_INK), h2 = st_make(12.5, true, PDF_INK);
    Style tan = st_make(9, false, p->c_tan), tanb = st_make(9, true, p->c_tan), grey = st_make(9, false, p->c_local);
    Style ink = st_make(9, false, PDF_INK), inkb = st_make(9, true, PDF_INK), note = st_make(7.5, false, PDF_MUTED);
    double y = top - 12;
    Buf head = {0};
    buf_printf(&head, "Forward mode: the tangents ∂v/∂%s", X);
    if (pg && head.data)
        pdf_text_fit(p, pg, h2, x, y - 12.5, head.data, head.len, width);
    y -= 22;
    Para pa = {0};
    if (lean) {
        /* the page is full: one line, the steps are on their own pages or in the trace */
        para_wordsf(&pa, body, "One forward sweep from %s reaches %u operations; its outputs' tangents are the "
                               "column of %s in the Jacobian (every tangent is in the JSON trace: forward_mode).",
                    X, ts->nsteps, X);
        y -= para_layout(p, pg, &pa, x, y, width, 0) + 2;
        para_free(&pa);
        buf_free(&head);
        buf_free(&xb);
        return top - y;
    }
    para_wordsf(&pa, body, "One forward sweep (--wrt %s) starts with tangent 1 on %s and 0 on every other leaf, and "
                           "visits the nodes in evaluation order: ∂v/∂%s = Σ ∂v/∂u · ∂u/∂%s over the operands u of v, the "
                           "local derivative times the operand's tangent. The outputs' tangents are the column of %s in "
                           "the Jacobian.", g->nodes[ts->leaf].name ? g->nodes[ts->leaf].name : X, X, X, X, X);
    y -= para_layout(p, pg, &pa, x, y, width, 0) + 4;
    para_free(&pa);
    uint32_t shown = ts->nsteps <= maxr ? ts->nsteps : (maxr > 1 ? maxr - 1 : 1);
    for (uint32_t k = 0; k < shown; k++) {
        uint32_t id = ts->steps[k];
        const Node *n = &g->nodes[id];
        const char *N = pdf_label(p, &nb, id, true);
        para_putf(&pa, inkb, "∂%s/∂%s", N, X);
        para_put(&pa, ink, " = ");
        uint32_t terms = 0;
        for (uint32_t e = n->in_first; e < n->in_first + n->nedges; e++) {
            uint32_t a = g->edges[e].from;
            if (g->nodes[a].kind == NODE_CONST)
                continue;
            para_put(&pa, ink, terms++ ? " + (" : "(");
            para_put(&pa, grey, pdf_num(p, num, t->local[e]));
            para_put(&pa, ink, ")(");
            para_put(&pa, tan, pdf_num(p, num, ts->node[a]));
            para_put(&pa, ink, ")");
        }
        para_put(&pa, ink, " = ");
        para_put(&pa, tanb, pdf_num(p, num, ts->node[id]));
        /* which operand each term is: the products written out symbolically would double the line */
        para_put(&pa, note, "   u = ");
        terms = 0;
        for (uint32_t e = n->in_first; e < n->in_first + n->nedges; e++) {
            uint32_t a = g->edges[e].from;
            if (g->nodes[a].kind == NODE_CONST)
                continue;
            para_putf(&pa, note, "%s%s", terms++ ? ", " : "", pdf_label(p, &ab, a, false));
        }
        para_br(&pa);
    }
    if (shown < ts->nsteps)
        para_putf(&pa, note, "… and %u more steps (every tangent is in the JSON trace: forward_mode)", ts->nsteps - shown);
    else if (ts->nsteps == 0)
        para_putf(&pa, note, "No operation depends on %s: every tangent is 0.", X);
    y -= para_layout(p, pg, &pa, x + 8, y, width - 8, 28) + 2;
    if (pa.oom || pa.text.oom || head.oom || xb.oom || nb.oom || ab.oom)
        err_set(p->err, ERR_IO, "out of memory");
    para_free(&pa);
    buf_free(&head);
    buf_free(&xb);
    buf_free(&nb);
    buf_free(&ab);
    return top - y;
}

/* The page's contents from the top at y, with at most `maxr` rows per matrix. pg NULL
 * measures; returns the height used. */
static double pdf_jac_body(Pdf *p, HPDF_Page pg, double x, double top, double width, uint32_t maxr, bool lean)
{
    const Trace *t = p->t;
    const Graph *g = t->g;
    const JacResults *jr = p->o->jac;
    const Jacobian *J = jr ? jr->jac : NULL;
    const ViaResult *via = jr ? jr->via : NULL;
    const char *L = fmt_output_name(t);
    char num[FMT_NUM_MAX], num2[FMT_NUM_MAX];
    double y = top;
    Style body = st_make(9.5, false, PDF_INK), bold = st_make(9.5, true, PDF_INK), h2 = st_make(12.5, true, PDF_INK);
    Para pa = {0};

    if (pg)
        pdf_text(p, pg, st_make(17, true, PDF_INK), x, y - 17, "Jacobian and modes");
    y -= 28;
    para_words(&pa, body, "The Jacobian holds the derivative of every output (a row) with respect to every input and "
                          "param (a column). Reverse mode computes it a row at a time, one backward sweep per output; "
                          "forward mode a column at a time, one sweep per input pushing the tangents ∂v/∂x forward.");
    if (J) {
        SweepMode mode = jr->mode;
        para_words(&pa, body, mode == SWEEP_FORWARD ? " Here it was computed by forward mode."
                              : mode == SWEEP_BOTH ? " Here it was computed both ways:" : " Here it was computed by reverse mode.");
        if (mode == SWEEP_BOTH && jr->jac_fwd) {
            bool same = jr->fwd_max_abs_diff == 0;
            para_wordsf(&pa, body, " max |reverse − forward| = %s%s", pdf_num(p, num, jr->fwd_max_abs_diff),
                        same ? ", the same numbers." : ", equal to rounding.");
        }
        para_wordsf(&pa, body, " The row of %s, in red, is the gradient the backward pass draws.", L);
    }
    y -= para_layout(p, pg, &pa, x, y, width, 0) + 6;
    para_free(&pa);

    if (J) {
        Mat m = mat_of(J, "J", via ? "h" : NULL, t->primary);
        MatFit f;
        mat_fit(p, &m, width, maxr, &f);
        if (pg)
            mat_draw(p, pg, &m, &f, x, y);
        y -= f.h;
        if (jr->jcheck) {
            const JacCheck *c = jr->jcheck;
            para_put(&pa, st_make(9.5, true, c->passed ? p->c_value : p->c_grad),
                     c->passed ? "Central differences agree" : "Central differences DISAGREE");
            para_wordsf(&pa, body, ": largest relative error %s, largest absolute error %s over the %u entries%s.",
                        fmt_num(num, c->max_rel_error, 2), fmt_num(num2, c->max_abs_error, 2), J->nrows * J->ncols,
                        c->passed ? "" : " (see the -v table)");
            y -= para_layout(p, pg, &pa, x, y, width, 0) + 4;
            para_free(&pa);
        }
    } else {
        para_words(&pa, st_make(9.5, false, PDF_MUTED), "The Jacobian was not computed in this run: it is too large to "
                                                         "compute unasked (gradviz said so; --mode both computes it).");
        y -= para_layout(p, pg, &pa, x, y, width, 0) + 4;
        para_free(&pa);
    }

    if (via) {
        y -= 10;
        Buf cut = {0}, nb = {0};
        for (uint32_t i = 0; i < via->g.nrows; i++)
            buf_printf(&cut, "%s%s", i ? ", " : "", pdf_name(p, &nb, via->g.rows[i]));
        /* a long cut is named by its first and last node */
        double eq_w = pdf_swidth(p, h2, "Through the cut :  J = J · J") + 3 * pdf_swidth(p, st_make(8.5, true, 0), "h");
        if (via->g.nrows > 2 && eq_w + pdf_swidth(p, h2, cut.data ? cut.data : "") > width) {
            cut.len = 0;
            buf_printf(&cut, "%s, …, ", pdf_name(p, &nb, via->g.rows[0]));
            buf_printf(&cut, "%s (%u nodes)", pdf_name(p, &nb, via->g.rows[via->g.nrows - 1]), via->g.nrows);
        }
        if (pg) {
            double w = pdf_text(p, pg, h2, x, y - 12.5, "Through the cut ");
            w += pdf_text_fit(p, pg, h2, x + w, y - 12.5, cut.data ? cut.data : "", cut.len,
                              fmax(width - eq_w, 40));
            w += pdf_text(p, pg, h2, x + w, y - 12.5, ":  ");
            w += pdf_sub_text(p, pg, h2, x + w, y - 12.5, "J", "h");
            w += pdf_text(p, pg, h2, x + w, y - 12.5, " = ");
            w += pdf_sub_text(p, pg, h2, x + w, y - 12.5, "J", "f");
            w += pdf_text(p, pg, h2, x + w, y - 12.5, " · ");
            pdf_sub_text(p, pg, h2, x + w, y - 12.5, "J", "g");
        }
        y -= 22;
        para_words(&pa, body, "Every path from an input to an output passes through the cut, so the chain rule "
                              "factorises the Jacobian:");
        para_put(&pa, body, " ");
        para_sub(&pa, bold, "J", "f");
        para_words(&pa, body, " holds ∂output/∂cut (partials along the paths that meet no other cut node),");
        para_put(&pa, body, " ");
        para_sub(&pa, bold, "J", "g");
        para_words(&pa, body, " holds ∂cut/∂input.");
        y -= para_layout(p, pg, &pa, x, y, width, 0) + 6;
        para_free(&pa);
        Mat mf = mat_of(&via->f, "J", "f", UINT32_MAX), mg = mat_of(&via->g, "J", "g", UINT32_MAX);
        MatFit ff, fg;
        mat_fit(p, &mf, width, maxr, &ff);
        mat_fit(p, &mg, width, maxr, &fg);
        bool beside = ff.w + PDF_MAT_GAP + fg.w <= width && ff.cols == mf.ncols && fg.cols == mg.ncols;
        if (!beside) {
            /* excerpts of both, side by side, when each still shows a few columns */
            MatFit hf, hg;
            mat_fit(p, &mf, (width - PDF_MAT_GAP) / 2, maxr, &hf);
            mat_fit(p, &mg, (width - PDF_MAT_GAP) / 2, maxr, &hg);
            if (hf.cols >= 2 && hg.cols >= 2 && hf.w + PDF_MAT_GAP + hg.w <= width) {
                ff = hf;
                fg = hg;
                beside = true;
            }
        }
        if (beside) {
            /* side by side, as the product is written */
            if (pg) {
                mat_draw(p, pg, &mf, &ff, x, y);
                /* "·" level with the middle of the shorter matrix */
                Style dot = st_make(20, true, PDF_MUTED);
                pdf_text(p, pg, dot, x + ff.w + PDF_MAT_GAP / 2 - pdf_swidth(p, dot, "·") / 2 - 2,
                         y - PDF_MAT_ROW_H - 1 - PDF_MAT_ROW_H * fmin(ff.rows, fg.rows) / 2 - 6, "·");
                mat_draw(p, pg, &mg, &fg, x + ff.w + PDF_MAT_GAP, y);
            }
            y -= fmax(ff.h, fg.h);
        } else {
            if (pg)
                mat_draw(p, pg, &mf, &ff, x, y);
            y -= ff.h + 4;
            if (pg)
                mat_draw(p, pg, &mg, &fg, x, y);
            y -= fg.h;
        }
        y -= 2;
        Style ok = st_make(9.5, true, via->agree ? p->c_value : p->c_grad);
        para_sub(&pa, ok, "J", "f");
        para_put(&pa, ok, " · ");
        para_sub(&pa, ok, "J", "g");
        para_put(&pa, ok, via->agree ? " = " : " DIFFERS FROM ");
        para_sub(&pa, ok, "J", "h");
        para_wordsf(&pa, body, ": the product of the two, entry by entry, against the Jacobian above: max |difference| "
                               "%s (relative %s)%s", fmt_num(num, via->max_abs_diff, 3), fmt_num(num2, via->max_rel_diff, 3),
                    via->agree ? ", equal to rounding." : ".");
        y -= para_layout(p, pg, &pa, x, y, width, 0) + 4;
        para_free(&pa);
        if (cut.oom || nb.oom)
            err_set(p->err, ERR_IO, "out of memory");
        buf_free(&cut);
        buf_free(&nb);
    }

    y -= pdf_fwd_section(p, pg, x, y, width, maxr, lean);

    /* the mode comparison, with the lecture's point */
    y -= 12;
    if (pg)
        pdf_text(p, pg, h2, x, y - 12.5, "Reverse mode against forward mode");
    y -= 22;
    uint32_t nin, npar;
    pdf_leaf_counts(g, &nin, &npar);
    para_words(&pa, bold, "Reverse mode needs 1 sweep for many inputs and one output; forward mode needs one per input.");
    para_words(&pa, body, " A backward sweep from one output yields its derivative with respect to every input at "
                          "once, while a forward sweep yields the derivatives of every output with respect to one "
                          "input. So the gradient of a loss of many parameters costs reverse mode one sweep, and forward "
                          "mode wins only for few inputs and many outputs.");
    if (nin + npar > 1)
        para_wordsf(&pa, body, " Here the gradient of %s with respect to its %u inputs and params takes 1 backward sweep "
                               "against %u forward sweeps.", L, nin + npar, nin + npar);
    y -= para_layout(p, pg, &pa, x, y, width, 0) + 6;
    para_free(&pa);
    y -= pdf_modes_table(p, pg, x, y, width);
    if (pa.oom || pa.text.oom)
        err_set(p->err, ERR_IO, "out of memory");
    return top - y;
}

/* The "Jacobian and modes" page: the matrices and the forward steps shrink to excerpts until the
 * page holds them, and then the forward steps give way to one line. */
static bool pdf_jac_page(Pdf *p)
{
    double x = PDF_TABLE_SIDE, width = p->paper_w - 2 * PDF_TABLE_SIDE;
    double top = p->paper_h - PDF_MARGIN, room = top - PDF_MARGIN - 14;
    uint32_t maxr = PDF_MAT_MAX_ROWS;
    bool lean = false;
    while (pdf_ok(p) && pdf_jac_body(p, NULL, x, top, width, maxr, lean) > room) {
        if (maxr > PDF_MAT_MIN_ROWS)
            maxr--;
        else if (!lean)
            lean = true;
        else
            break; /* cannot happen with matrices of PDF_MAT_MIN_ROWS rows; drawn as is */
    }
    HPDF_Page pg = pdf_ok(p) ? pdf_add_page(p, false, PDF_TABLE_SIDE) : NULL;
    if (!pg)
        return false;
    pdf_bookmark(p, NULL, pg, "Jacobian and modes", NULL);
    pdf_jac_body(p, pg, x, top, width, maxr, lean);
    return pdf_ok(p);
}

/* ---- tables ---- */

typedef enum Align { AL_LEFT, AL_RIGHT, AL_NUM } Align;

typedef struct Col {
    const char *head;
    double frac;    /* share of the table width */
    Align align;
} Col;

/* A table being flowed over pages (see the file comment for the rule). */
typedef struct Flow {
    Pdf *p;
    HPDF_Page pg;
    int slot;             /* next free slot on pg; table_slots when full */
    double x, width;      /* table column */
    const char *title;    /* current section */
    const Col *cols;
    size_t ncols;
    double num_frac[8];   /* per column: width reserved right of the decimal point */
    unsigned row;         /* rows drawn in this section, for striping */
} Flow;

static double flow_y(const Flow *f, int slot)
{
    return f->p->paper_h - PDF_TABLE_TOP - (slot + 1) * PDF_ROW_H;
}

static bool flow_new_page(Flow *f)
{
    f->pg = pdf_add_page(f->p, false, PDF_TABLE_SIDE);
    f->slot = 0;
    if (f->pg) {
        Style st = st_make(8.5, false, PDF_MUTED);
        pdf_text(f->p, f->pg, st, f->x, f->p->paper_h - PDF_TABLE_TOP + 16, f->p->title);
    }
    return f->pg != NULL;
}

/* The section title (2 slots) and the column header (1 slot). */
static void flow_heading(Flow *f, bool continued)
{
    Pdf *p = f->p;
    double y = flow_y(f, f->slot + 1) + 6;
    double w = pdf_text(p, f->pg, st_make(13, true, PDF_INK), f->x, y, f->title);
    if (continued)
        pdf_text(p, f->pg, st_make(9, false, PDF_MUTED), f->x + w + 6, y, "(continued)");
    f->slot += 2;
    y = flow_y(f, f->slot) + 4;
    Style hs = st_make(8, true, PDF_MUTED);
    double x = f->x;
    for (size_t c = 0; c < f->ncols; c++) {
        double cw = f->cols[c].frac * f->width;
        if (f->cols[c].align == AL_LEFT)
            pdf_text_fit(p, f->pg, hs, x + 3, y, f->cols[c].head, strlen(f->cols[c].head), cw - 6);
        else
            pdf_text_right(p, f->pg, hs, x + cw - 3, y, f->cols[c].head);
        x += cw;
    }
    pdf_line(p, f->pg, f->x, y - 4, f->x + f->width, y - 4, 0.8, PDF_MUTED);
    f->slot += 1;
    f->row = 0;
}

/* Starts a section: a gap after a previous one, a new page when fewer than 4 slots remain. */
static bool flow_section(Flow *f, const char *title, const Col *cols, size_t ncols)
{
    f->title = title;
    f->cols = cols;
    f->ncols = ncols;
    if (f->pg && f->slot > 0)
        f->slot += 1;
    if (!f->pg || f->slot + 4 > f->p->table_slots)
        if (!flow_new_page(f))
            return false;
    flow_heading(f, false);
    return pdf_ok(f->p);
}

/* Makes room for `n` rows kept together (n <= a page's rows) or for one row. */
static bool flow_room(Flow *f, int n)
{
    if (n > f->p->table_slots - 3)
        n = 1;
    if (f->slot + n <= f->p->table_slots)
        return true;
    if (!flow_new_page(f))
        return false;
    flow_heading(f, true);
    return pdf_ok(f->p);
}

/* Where a number's decimal point (or its end, or its exponent) sits: bytes before it. */
static size_t num_split(const char *s)
{
    const char *d = strchr(s, '.');
    if (!d)
        d = strchr(s, 'e');
    return d ? (size_t)(d - s) : strlen(s);
}

/* One row; cells[c] is the text of column c, styles[c] its style. In a left-aligned column,
 * tail[c] (if tail and it are not NULL) follows the text in a muted regular style. */
static void flow_row(Flow *f, const char *const *cells, const Style *styles, const char *const *tail,
                     bool rule_above)
{
    Pdf *p = f->p;
    if (f->slot >= p->table_slots && !flow_room(f, 1))
        return;
    double y = flow_y(f, f->slot) + 4;
    if (f->row % 2 == 1)
        pdf_fill_rect(p, f->pg, f->x, y - 4, f->width, PDF_ROW_H, PDF_STRIPE);
    if (rule_above)
        pdf_line(p, f->pg, f->x, y - 4 + PDF_ROW_H, f->x + f->width, y - 4 + PDF_ROW_H, 0.5, PDF_FAINT);
    double x = f->x;
    for (size_t c = 0; c < f->ncols; c++) {
        double cw = f->cols[c].frac * f->width;
        const char *s = cells[c] ? cells[c] : "";
        Style st = styles[c];
        double w = pdf_swidth(p, st, s);
        if (f->cols[c].align != AL_LEFT && w > cw - 6) /* long numbers: smaller, never clipped */
            st.size *= (cw - 6) / w, w = cw - 6;
        if (f->cols[c].align == AL_LEFT) {
            double used = pdf_text_fit(p, f->pg, st, x + 3, y, s, strlen(s), cw - 6);
            const char *tl = tail ? tail[c] : NULL;
            if (tl && *tl && used < cw - 6)
                pdf_text_fit(p, f->pg, st_make(st.size, false, PDF_MUTED), x + 3 + used, y, tl, strlen(tl),
                             cw - 6 - used);
        } else if (f->cols[c].align == AL_NUM && st.size == styles[c].size) {
            size_t k = num_split(s);
            double frac = f->num_frac[c];
            double right = pdf_width(p, st, s + k, strlen(s + k));
            if (right > frac || pdf_width(p, st, s, k) > cw - 6 - frac)
                pdf_text(p, f->pg, st, x + cw - 3 - w, y, s);
            else
                pdf_text(p, f->pg, st, x + cw - 3 - frac - pdf_width(p, st, s, k), y, s);
        } else {
            pdf_text(p, f->pg, st, x + cw - 3 - w, y, s);
        }
        x += cw;
    }
    f->slot++;
    f->row++;
}

static bool pdf_table_nodes(Flow *f)
{
    Pdf *p = f->p;
    const Trace *t = p->t;
    const Graph *g = t->g;
    const char *L = fmt_output_name(t);
    char ghead[64], vs[FMT_NUM_MAX], gs[FMT_NUM_MAX], ids[16];
    snprintf(ghead, sizeof ghead, "gradient ∂%s/∂node", L);
    static Col cols[5] = {{"#", 0.07, AL_RIGHT}, {"node", 0.39, AL_LEFT}, {"kind", 0.14, AL_LEFT},
                          {"value", 0.19, AL_NUM}, {NULL, 0.21, AL_NUM}};
    Col c5[5];
    memcpy(c5, cols, sizeof c5);
    c5[4].head = ghead;
    if (!flow_section(f, "Nodes: values and gradients", c5, 5))
        return false;
    /* decimal alignment: widest fraction among values and gradients */
    Style td = st_make(9, false, PDF_INK);
    f->num_frac[3] = f->num_frac[4] = 0;
    for (uint32_t i = 0; i < g->nnodes; i++) {
        pdf_num(p, vs, t->value[i]);
        pdf_num(p, gs, t->grad[i]);
        f->num_frac[3] = fmax(f->num_frac[3], pdf_swidth(p, td, vs + num_split(vs)));
        if (g->nodes[i].kind != NODE_CONST)
            f->num_frac[4] = fmax(f->num_frac[4], pdf_swidth(p, td, gs + num_split(gs)));
    }
    Buf lb = {0}, tb = {0};
    for (uint32_t i = 0; i < g->nnodes && pdf_ok(p); i++) {
        const Node *n = &g->nodes[i];
        if (!flow_room(f, 1))
            break;
        snprintf(ids, sizeof ids, "%u", i);
        lb.len = 0;
        if (lb.data)
            lb.data[0] = '\0';
        pdf_node_label(p, &lb, i, false);
        tb.len = 0;
        if (tb.data)
            tb.data[0] = '\0';
        if (n->name && n->kind == NODE_OP) { /* "z = (w1×x1) + (w2×x2)", the name in bold */
            Buf e = {0};
            expr_node(p, &e, i, 1);
            if (e.data && e.len <= PDF_EXPR_MAX)
                buf_printf(&tb, " = %s", e.data);
            buf_free(&e);
        }
        const char *kind = n->kind == NODE_OP ? op_info((Op)n->op)->name : node_kind_name((NodeKind)n->kind);
        bool unreached = n->kind != NODE_CONST && !t->reach[i];
        const char *cells[5] = {ids, lb.data, kind, pdf_num(p, vs, t->value[i]),
                                n->kind == NODE_CONST ? "—" : pdf_num(p, gs, t->grad[i])};
        unsigned ink = unreached ? PDF_MUTED : PDF_INK;
        Style styles[5] = {st_make(8, false, PDF_MUTED), st_make(9, n->name != NULL, ink), st_make(8.5, false, PDF_MUTED),
                           st_make(9, false, p->c_value), st_make(9, i == t->primary, n->kind == NODE_CONST ? PDF_MUTED : p->c_grad)};
        const char *tails[5] = {NULL, tb.data, NULL, NULL, NULL};
        if (lb.oom || tb.oom)
            break;
        flow_row(f, cells, styles, tails, false);
    }
    bool oom = lb.oom || tb.oom;
    buf_free(&lb);
    buf_free(&tb);
    if (oom)
        return err_set(p->err, ERR_IO, "out of memory");
    return pdf_ok(p);
}

static bool pdf_table_fanout(Flow *f)
{
    Pdf *p = f->p;
    const Trace *t = p->t;
    const Graph *g = t->g;
    const char *L = fmt_output_name(t);
    bool any = false;
    for (uint32_t i = 0; i < g->nnodes && !any; i++)
        any = g->nodes[i].kind != NODE_CONST && graph_out_count(g, i) >= 2;
    if (!any)
        return true;
    char h2[64], h3[32], h4[64], a[FMT_NUM_MAX], b[FMT_NUM_MAX], c[FMT_NUM_MAX];
    snprintf(h2, sizeof h2, "∂%s/∂consumer", L);
    snprintf(h3, sizeof h3, "× local ∂");
    snprintf(h4, sizeof h4, "= term of ∂%s/∂node", L);
    Col cols[5] = {{"node", 0.16, AL_LEFT}, {"path: into consumer", 0.34, AL_LEFT}, {h2, 0.16, AL_NUM},
                   {h3, 0.14, AL_NUM}, {h4, 0.20, AL_NUM}};
    if (!flow_section(f, "Fan-out: the gradient is the sum over paths", cols, 5))
        return false;
    Style td = st_make(9, false, PDF_INK);
    f->num_frac[2] = f->num_frac[3] = f->num_frac[4] = 0;
    for (uint32_t e = 0; e < g->nedges; e++) {
        uint32_t from = g->edges[e].from;
        if (g->nodes[from].kind == NODE_CONST || graph_out_count(g, from) < 2)
            continue;
        pdf_num(p, a, t->grad[g->edges[e].to]);
        pdf_num(p, b, t->local[e]);
        pdf_num(p, c, t->egrad[e]);
        f->num_frac[2] = fmax(f->num_frac[2], pdf_swidth(p, td, a + num_split(a)));
        f->num_frac[3] = fmax(f->num_frac[3], pdf_swidth(p, td, b + num_split(b)));
        f->num_frac[4] = fmax(f->num_frac[4], pdf_swidth(p, td, c + num_split(c)));
        pdf_num(p, c, t->grad[from]);
        f->num_frac[4] = fmax(f->num_frac[4], pdf_swidth(p, td, c + num_split(c)));
    }
    Buf nb = {0}, pb = {0};
    for (uint32_t i = 0; i < g->nnodes && pdf_ok(p); i++) {
        uint32_t nout = graph_out_count(g, i);
        if (g->nodes[i].kind == NODE_CONST || nout < 2)
            continue;
        if (!flow_room(f, (int)nout + 1))
            break;
        f->row = 0;
        const char *name = pdf_label(p, &nb, i, false);
        for (uint32_t q = g->out_first[i]; q < g->out_first[i + 1]; q++) {
            uint32_t e = g->out_edges[q], to = g->edges[e].to;
            pb.len = 0;
            if (pb.data)
                pb.data[0] = '\0';
            buf_printf(&pb, "%u. ", q - g->out_first[i] + 1);
            pdf_node_label(p, &pb, to, false);
            const Node *tn = &g->nodes[to];
            if (tn->nargs == 2)
                buf_printf(&pb, "  (as %c)", 'a' + (int)g->edges[e].slot);
            const char *cells[5] = {q == g->out_first[i] ? name : "", pb.data, pdf_num(p, a, t->grad[to]),
                                    pdf_num(p, b, t->local[e]), pdf_num(p, c, t->egrad[e])};
            Style styles[5] = {st_make(9, true, PDF_INK), st_make(9, false, PDF_INK), st_make(9, false, p->c_grad),
                               st_make(9, false, p->c_local), st_make(9, false, p->c_grad)};
            if (pb.oom)
                return err_set(p->err, ERR_IO, "out of memory");
            flow_row(f, cells, styles, NULL, q == g->out_first[i]);
        }
        pb.len = 0;
        if (pb.data)
            pb.data[0] = '\0';
        if (i == t->primary)
            buf_printf(&pb, "∂%s/∂%s = 1: the output itself", L, L);
        else
            buf_printf(&pb, "Σ  sum over %u paths", nout);
        const char *cells[5] = {"", pb.data, "", "", pdf_num(p, c, t->grad[i])};
        Style styles[5] = {td, st_make(9, true, p->c_fan), td, td, st_make(9, true, p->c_grad)};
        f->row = 0;
        flow_row(f, cells, styles, NULL, false);
    }
    buf_free(&nb);
    buf_free(&pb);
    return pdf_ok(p);
}

static bool pdf_table_check(Flow *f)
{
    Pdf *p = f->p;
    const Trace *t = p->t;
    const Check *ck = t->check;
    if (!ck)
        return true;
    const char *L = fmt_output_name(t);
    char h1[64], a[FMT_NUM_MAX], n[FMT_NUM_MAX], ae[FMT_NUM_MAX], re[FMT_NUM_MAX], title[128];
    snprintf(h1, sizeof h1, "analytic ∂%s/∂leaf", L);
    Col cols[6] = {{"input or param", 0.20, AL_LEFT}, {h1, 0.20, AL_NUM}, {"numeric", 0.18, AL_NUM},
                   {"abs error", 0.15, AL_RIGHT}, {"rel error", 0.15, AL_RIGHT}, {"result", 0.12, AL_RIGHT}};
    snprintf(title, sizeof title, "Gradient check: %s", ck->passed ? "passed" : "FAILED");
    if (!flow_section(f, title, cols, 6))
        return false;
    Style td = st_make(9, false, PDF_INK);
    f->num_frac[1] = f->num_frac[2] = 0;
    for (uint32_t i = 0; i < ck->nentries; i++) {
        pdf_num(p, a, ck->entries[i].analytic);
        pdf_num(p, n, ck->entries[i].numeric);
        f->num_frac[1] = fmax(f->num_frac[1], pdf_swidth(p, td, a + num_split(a)));
        f->num_frac[2] = fmax(f->num_frac[2], pdf_swidth(p, td, n + num_split(n)));
    }
    /* the method, as one row across the table */
    Buf nb = {0};
    buf_printf(&nb, "central differences (%s(x+h) − %s(x−h)) / 2h with h = %s·max(1, |x|); pass: abs error ≤ ", L, L,
               fmt_num(a, ck->eps, 2));
    buf_printf(&nb, "%s or rel error ≤ %s", fmt_num(n, ck->atol, 2), fmt_num(ae, ck->rtol, 2));
    if (!flow_room(f, 1) || nb.oom) {
        buf_free(&nb);
        return pdf_ok(p) ? err_set(p->err, ERR_IO, "out of memory") : false;
    }
    pdf_text_fit(p, f->pg, st_make(8, false, PDF_MUTED), f->x + 3, flow_y(f, f->slot) + 4, nb.data, nb.len, f->width - 6);
    f->slot++;
    Buf lb = {0};
    for (uint32_t i = 0; i < ck->nentries && pdf_ok(p); i++) {
        const CheckEntry *en = &ck->entries[i];
        if (!flow_room(f, 1))
            break;
        const char *cells[6] = {pdf_label(p, &lb, en->node, false), pdf_num(p, a, en->analytic),
                                pdf_num(p, n, en->numeric), fmt_num(ae, en->abs_error, 2), fmt_num(re, en->rel_error, 2),
                                en->passed ? "pass" : "FAIL"};
        Style styles[6] = {st_make(9, true, PDF_INK), st_make(9, false, p->c_grad), st_make(9, false, PDF_INK),
                           st_make(9, false, PDF_MUTED), st_make(9, false, PDF_MUTED),
                           st_make(9, true, en->passed ? p->c_value : p->c_grad)};
        flow_row(f, cells, styles, NULL, false);
    }
    buf_free(&lb);
    buf_free(&nb);
    return pdf_ok(p);
}

static bool pdf_tables(Pdf *p)
{
    Flow f = {.p = p, .x = PDF_TABLE_SIDE, .width = p->paper_w - 2 * PDF_TABLE_SIDE};
    size_t first = p->npages;
    bool ok = pdf_table_nodes(&f) && pdf_table_fanout(&f) && pdf_table_check(&f);
    if (ok && p->npages > first)
        pdf_bookmark(p, NULL, p->pages[first], "Tables", NULL);
    return ok && pdf_ok(p);
}

/* ---- document ---- */

static bool pdf_build(Pdf *p)
{
    const Trace *t = p->t;
    /* the frames the DOT and SVG emitters write: backward steps (none in --mode forward), then
     * the forward-mode sweep's (--mode forward|both) */
    uint32_t nb = p->o->steps ? dotgraph_frame_count(t, p->o->jac, false) : 0;
    uint32_t nf = p->o->steps ? dotgraph_frame_count(t, p->o->jac, true) : 0;
    DotPins *pins = NULL;
    Agraph_t *g = pdf_layout(p, UINT32_MAX, false, NULL, nb + nf ? &pins : NULL);
    if (!g)
        return false;
    Plan pl = {0};
    bool ok = pdf_plan(p, g, &pl) && pdf_page_one(p, g, &pl) && pdf_tile_pages(p, g, &pl);
    pdf_unlayout(p, g);
    HPDF_Outline group = NULL, fgroup = NULL;
    for (uint32_t k = 0; ok && k < nb; k++)
        ok = pdf_step_page(p, k, false, pl.landscape, pins, &group);
    for (uint32_t k = 0; ok && k < nf; k++)
        ok = pdf_step_page(p, k, true, pl.landscape, pins, &fgroup);
    dotgraph_pins_free(pins);
    plan_free(&pl);
    ok = ok && pdf_depth_page(p) && pdf_jac_page(p) && pdf_tables(p);
    if (ok)
        pdf_footers(p);
    return ok && pdf_ok(p);
}

/* Copies the finished document from libharu's memory stream into f. */
static bool pdf_save(Pdf *p, FILE *f)
{
    if (!pdf_st(p, HPDF_SaveToStream(p->doc)))
        return false;
    HPDF_UINT32 size = HPDF_GetStreamSize(p->doc), done = 0;
    unsigned char buf[16384];
    pdf_st(p, HPDF_ResetStream(p->doc));
    while (done < size && pdf_ok(p)) {
        /* ask for exactly what is left: asking past the end is an error (HPDF_STREAM_EOF) */
        HPDF_UINT32 n = size - done < sizeof buf ? size - done : (HPDF_UINT32)sizeof buf;
        if (!pdf_st(p, HPDF_ReadFromStream(p->doc, buf, &n)))
            break;
        if (fwrite(buf, 1, n, f) != n)
            return err_set(p->err, ERR_IO, "cannot write the PDF");
        done += n;
    }
    return pdf_ok(p);
}

/* Title, subject and creator (libharu writes them as UTF-16 through the UTF-8 encoder). */
static void pdf_metadata(Pdf *p)
{
    Buf b = {0};
    buf_puts(&b, p->title);
    if (b.data)
        pdf_st(p, HPDF_SetInfoAttr(p->doc, HPDF_INFO_TITLE, b.data));
    b.len = 0;
    buf_puts(&b, "Backpropagation handout for ");
    buf_puts(&b, p->path);
    if (b.data)
        pdf_st(p, HPDF_SetInfoAttr(p->doc, HPDF_INFO_SUBJECT, b.data));
    pdf_st(p, HPDF_SetInfoAttr(p->doc, HPDF_INFO_CREATOR, "gradviz"));
    if (b.oom)
        err_set(p->err, ERR_IO, "out of memory");
    buf_free(&b);
}

bool emit_pdf(const Trace *t, const EmitOpts *o, OutSet *out, const char *dir, Err *err)
{
    Pdf p = {.t = t, .o = o, .err = err};
    bool letter = o->paper && strcmp(o->paper, "letter") == 0;
    p.paper_w = letter ? PDF_LETTER_W : PDF_A4_W;
    p.paper_h = letter ? PDF_LETTER_H : PDF_A4_H;
    p.table_slots = letter ? PDF_TABLE_SLOTS_LETTER : PDF_TABLE_SLOTS_A4;
    if (p.table_slots != (int)floor((p.paper_h - PDF_TABLE_TOP - PDF_TABLE_BOTTOM) / PDF_ROW_H))
        return err_set(err, ERR_IO, "internal error: PDF table slots do not match the paper");
    /* names from the command line may hold any bytes; libharu drops invalid UTF-8 silently */
    utf8_clean(&p.title_buf, t->g->title ? t->g->title : o->stem);
    utf8_clean(&p.path_buf, o->model_path ? o->model_path : o->stem);
    p.title = p.title_buf.data ? p.title_buf.data : "";
    p.path = p.path_buf.data ? p.path_buf.data : "";
    if (p.title_buf.oom || p.path_buf.oom) {
        buf_free(&p.title_buf);
        buf_free(&p.path_buf);
        return err_set(err, ERR_IO, "out of memory");
    }
    p.c_value = pdf_hex(COLOR_VALUE);
    p.c_local = pdf_hex(COLOR_LOCAL);
    p.c_grad = pdf_hex(COLOR_GRAD);
    p.c_fan = pdf_hex(COLOR_FANOUT);
    p.c_active = pdf_hex(COLOR_ACTIVE);
    p.c_const = pdf_hex(COLOR_CONST);
    p.c_tan = pdf_hex(COLOR_TANGENT);

    char *path = outfile_path(dir, o->stem, NULL, "pdf");
    if (!path)
        return err_set(err, ERR_IO, "out of memory");
    p.doc = HPDF_New(pdf_on_error, err);
    p.gvc = o->gvc;
    bool ok = p.doc && p.gvc;
    if (!ok)
        err_set(err, ERR_IO, "cannot start %s", p.doc ? "Graphviz" : "libharu");
    if (ok) {
        /* Uncompressed, the two embedded faces alone are ~600 KB; compressed ~180 KB. */
        ok = pdf_st(&p, HPDF_SetCompressionMode(p.doc, HPDF_COMP_ALL)) && pdfdraw_load_fonts(p.doc, &p.fonts, err);
    }
    if (ok) {
        pdf_metadata(&p);
        ok = pdf_ok(&p) && pdf_build(&p);
    }
    if (ok) {
        FILE *f = outfile_open(out, path, err);
        ok = f != NULL;
        if (f) {
            ok = pdf_save(&p, f);
            ok = outfile_close(f, path, err) && ok;
        }
    }
    if (p.doc)
        HPDF_Free(p.doc);
    free(p.pages);
    free(p.sides);
    buf_free(&p.tmp);
    buf_free(&p.title_buf);
    buf_free(&p.path_buf);
    free(path);
    return ok && err_ok(err);
}
