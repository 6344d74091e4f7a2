/* flowpdf: replays a FlowDrawing with libharu, and writes the one-page flow.pdf.
 *
 * The replay draws the ops in order, each with its own colours and line settings, through one
 * matrix that scales the chart into its box; y is flipped per coordinate (not by the matrix,
 * which would mirror the text). flowchart estimated text widths only to place the legend; here
 * each anchor is measured with libharu on the embedded face, so centred and right-aligned text
 * lands where the SVG's text-anchor puts it. */
#include "flowpdf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "version.h"

/* Paper: A4 landscape, in points. */
#define FLOWPDF_PAGE_W 841.89
#define FLOWPDF_PAGE_H 595.276
#define FLOWPDF_MARGIN 36.0
#define FLOWPDF_FOOTER_Y 20.0
/* Table rows and the notes under them, in points. */
#define FLOWPDF_ROW_H 13.0
#define FLOWPDF_NOTE_H 11.0
#define FLOWPDF_TABLE_MIN 580.0
#define FLOWPDF_COL_MIN 100.0

#define FLOWPDF_INK 0x1f2328u
#define FLOWPDF_MUTED 0x59636eu
#define FLOWPDF_FAINT 0xd0d7deu

typedef struct Replay {
    HPDF_Page pg;
    const PdfFonts *fonts;
    HPDF_STATUS st; /* first failure */
    Buf tmp;        /* the current text, made valid UTF-8 */
} Replay;

static void chk(Replay *r, HPDF_STATUS st)
{
    if (st != HPDF_OK && r->st == HPDF_OK)
        r->st = st;
}

static HPDF_REAL ch(uint32_t rgb, int shift) { return (HPDF_REAL)((rgb >> shift) & 255) / 255.0f; }

static void set_fill(Replay *r, uint32_t rgb)
{
    chk(r, HPDF_Page_SetRGBFill(r->pg, ch(rgb, 16), ch(rgb, 8), ch(rgb, 0)));
}

static void set_stroke(Replay *r, const FlowOp *o)
{
    chk(r, HPDF_Page_SetRGBStroke(r->pg, ch(o->stroke, 16), ch(o->stroke, 8), ch(o->stroke, 0)));
    chk(r, HPDF_Page_SetLineWidth(r->pg, (HPDF_REAL)o->line_width));
    if (o->dash[0] > 0) {
        /* libharu takes whole units; the chart's dashes are whole points (7 4, 2 3) */
        HPDF_UINT16 dash[2] = {(HPDF_UINT16)fmax(1, round(o->dash[0])), (HPDF_UINT16)fmax(1, round(o->dash[1]))};
        chk(r, HPDF_Page_SetDash(r->pg, dash, 2, 0));
    } else {
        chk(r, HPDF_Page_SetDash(r->pg, NULL, 0, 0));
    }
}

/* Colours and line settings go before the path is built: libharu (like PDF) allows no state
 * change inside a path. */
static void prepare(Replay *r, const FlowOp *o)
{
    if (o->fill != FLOWCHART_NONE)
        set_fill(r, o->fill);
    if (o->stroke != FLOWCHART_NONE)
        set_stroke(r, o);
}

/* Fills and/or strokes the path just built, as the op's colours ask. */
static void paint(Replay *r, const FlowOp *o)
{
    bool fill = o->fill != FLOWCHART_NONE, stroke = o->stroke != FLOWCHART_NONE;
    chk(r, fill && stroke ? HPDF_Page_FillStroke(r->pg) : fill ? HPDF_Page_Fill(r->pg)
                          : stroke ? HPDF_Page_Stroke(r->pg) : HPDF_Page_EndPath(r->pg));
}

/* s with every byte outside valid UTF-8 replaced by '?' (libharu drops such text silently). */
static const char *clean_text(Replay *r, const char *s)
{
    r->tmp.len = 0;
    size_t n = strlen(s);
    while (n > 0) {
        size_t k = utf8_valid_prefix((const unsigned char *)s, n);
        buf_append(&r->tmp, s, k);
        if (k == n)
            break;
        buf_append(&r->tmp, "?", 1);
        s += k + 1;
        n -= k + 1;
    }
    buf_append(&r->tmp, "", 0);
    return r->tmp.data ? r->tmp.data : "";
}

static void text(Replay *r, const FlowOp *o, double H)
{
    if (o->fill == FLOWCHART_NONE || !o->text || !*o->text)
        return;
    HPDF_Font font = o->bold && r->fonts->bold ? r->fonts->bold : r->fonts->regular;
    const char *s = clean_text(r, o->text);
    if (r->tmp.oom || !*s)
        return;
    HPDF_TextWidth tw = HPDF_Font_TextWidth(font, (const HPDF_BYTE *)s, (HPDF_UINT)strlen(s));
    double w = tw.width * o->size / 1000.0;
    double shift = o->anchor == FLOW_ANCHOR_MIDDLE ? -w / 2 : o->anchor == FLOW_ANCHOR_END ? -w : 0;
    double a = o->rotate * 3.14159265358979323846 / 180.0, c = cos(a), sn = sin(a);
    double x = o->x + shift * c, y = H - o->y + shift * sn; /* along the (turned) baseline */
    set_fill(r, o->fill);
    chk(r, HPDF_Page_BeginText(r->pg));
    chk(r, HPDF_Page_SetFontAndSize(r->pg, font, (HPDF_REAL)o->size));
    chk(r, HPDF_Page_SetTextMatrix(r->pg, (HPDF_REAL)c, (HPDF_REAL)sn, (HPDF_REAL)-sn, (HPDF_REAL)c, (HPDF_REAL)x,
                                   (HPDF_REAL)y));
    chk(r, HPDF_Page_ShowText(r->pg, s));
    chk(r, HPDF_Page_EndText(r->pg));
}

static void op(Replay *r, const FlowOp *o, double H)
{
    switch (o->kind) {
    case FLOWOP_PATH:
        if (o->npts < 2 || o->stroke == FLOWCHART_NONE)
            return;
        chk(r, HPDF_Page_SetLineJoin(r->pg, o->npts > 2 ? HPDF_ROUND_JOIN : HPDF_MITER_JOIN));
        set_stroke(r, o);
        chk(r, HPDF_Page_MoveTo(r->pg, (HPDF_REAL)o->pts[0], (HPDF_REAL)(H - o->pts[1])));
        for (size_t k = 1; k < o->npts; k++)
            chk(r, HPDF_Page_LineTo(r->pg, (HPDF_REAL)o->pts[2 * k], (HPDF_REAL)(H - o->pts[2 * k + 1])));
        chk(r, HPDF_Page_Stroke(r->pg));
        return;
    case FLOWOP_RECT:
        prepare(r, o);
        chk(r, HPDF_Page_Rectangle(r->pg, (HPDF_REAL)o->x, (HPDF_REAL)(H - o->y - o->h), (HPDF_REAL)o->w,
                                   (HPDF_REAL)o->h));
        paint(r, o);
        return;
    case FLOWOP_CIRCLE:
        prepare(r, o);
        chk(r, HPDF_Page_Circle(r->pg, (HPDF_REAL)o->x, (HPDF_REAL)(H - o->y), (HPDF_REAL)o->r));
        paint(r, o);
        return;
    case FLOWOP_TEXT:
        text(r, o, H);
        return;
    }
}

bool flowpdf_draw(HPDF_Page page, const PdfFonts *fonts, const FlowDrawing *d, const PdfBox *box, PdfBox *drawn,
                  Err *err)
{
    if (!(d->width > 0 && d->height > 0))
        return err_set(err, ERR_IO, "internal error: an empty chart");
    double s = fmin(box->w / d->width, box->h / d->height);
    PdfBox at = {box->x + (box->w - d->width * s) / 2, box->y + (box->h - d->height * s) / 2, d->width * s,
                 d->height * s};
    if (drawn)
        *drawn = at;
    Replay r = {.pg = page, .fonts = fonts};
    chk(&r, HPDF_Page_GSave(page));
    chk(&r, HPDF_Page_Rectangle(page, (HPDF_REAL)at.x, (HPDF_REAL)at.y, (HPDF_REAL)at.w, (HPDF_REAL)at.h));
    chk(&r, HPDF_Page_Clip(page));
    chk(&r, HPDF_Page_EndPath(page));
    chk(&r, HPDF_Page_Concat(page, (HPDF_REAL)s, 0, 0, (HPDF_REAL)s, (HPDF_REAL)at.x, (HPDF_REAL)at.y));
    for (size_t i = 0; i < d->nops && r.st == HPDF_OK && !r.tmp.oom; i++)
        op(&r, &d->ops[i], d->height);
    chk(&r, HPDF_Page_GRestore(page));
    bool oom = r.tmp.oom;
    buf_free(&r.tmp);
    if (oom)
        return err_set(err, ERR_IO, "out of memory");
    if (r.st != HPDF_OK)
        return err_set(err, ERR_IO, "cannot draw the chart in the PDF: libharu error 0x%04lX", (unsigned long)r.st);
    return true;
}

/* ---- flow.pdf ---- */

/* libharu's error handler: the first error lands in our Err (user_data); the failing call's
 * status is checked as well, so returning is enough. */
static void on_error(HPDF_STATUS code, HPDF_STATUS detail, void *user_data)
{
    err_set(user_data, ERR_IO, "cannot write the PDF: libharu error 0x%04lX (detail %lu)", (unsigned long)code,
            (unsigned long)detail);
}

typedef struct Doc {
    HPDF_Doc doc;
    HPDF_Page pg;
    PdfFonts fonts;
    Err *err;
} Doc;

static bool ok_(Doc *d, HPDF_STATUS st)
{
    if (st != HPDF_OK)
        err_set(d->err, ERR_IO, "cannot write the PDF: libharu error 0x%04lX", (unsigned long)st);
    return err_ok(d->err);
}

static double width_of(HPDF_Font font, double size, const char *s)
{
    HPDF_TextWidth tw = HPDF_Font_TextWidth(font, (const HPDF_BYTE *)s, (HPDF_UINT)strlen(s));
    return tw.width * size / 1000.0;
}

/* Text with its left end (align 0), middle (1) or right end (2) at x on baseline y. */
static void put(Doc *d, double x, double y, const char *s, double size, bool bold, uint32_t rgb, int align)
{
    if (!err_ok(d->err) || !*s)
        return;
    HPDF_Font font = bold && d->fonts.bold ? d->fonts.bold : d->fonts.regular;
    double w = width_of(font, size, s);
    x -= align == 1 ? w / 2 : align == 2 ? w : 0;
    ok_(d, HPDF_Page_SetRGBFill(d->pg, ch(rgb, 16), ch(rgb, 8), ch(rgb, 0)));
    ok_(d, HPDF_Page_BeginText(d->pg));
    ok_(d, HPDF_Page_SetFontAndSize(d->pg, font, (HPDF_REAL)size));
    ok_(d, HPDF_Page_TextOut(d->pg, (HPDF_REAL)x, (HPDF_REAL)y, s));
    ok_(d, HPDF_Page_EndText(d->pg));
}

static void rule(Doc *d, double x0, double x1, double y, double w, uint32_t rgb)
{
    ok_(d, HPDF_Page_SetRGBStroke(d->pg, ch(rgb, 16), ch(rgb, 8), ch(rgb, 0)));
    ok_(d, HPDF_Page_SetLineWidth(d->pg, (HPDF_REAL)w));
    ok_(d, HPDF_Page_MoveTo(d->pg, (HPDF_REAL)x0, (HPDF_REAL)y));
    ok_(d, HPDF_Page_LineTo(d->pg, (HPDF_REAL)x1, (HPDF_REAL)y));
    ok_(d, HPDF_Page_Stroke(d->pg));
}

/* Sets s in lines at most `width` wide, broken at spaces, the first baseline at y; draws them
 * when `draw`. Returns the number of lines. */
static int wrap(Doc *d, double x, double y, double width, const char *s, double size, bool draw)
{
    Buf line = {0};
    int lines = 0;
    while (*s && err_ok(d->err)) {
        /* the longest run of whole words that fits (at least one word) */
        size_t end = 0, best = 0;
        for (;;) {
            while (s[end] == ' ')
                end++;
            while (s[end] && s[end] != ' ')
                end++;
            line.len = 0;
            buf_append(&line, s, end);
            buf_append(&line, "", 0);
            if (line.oom)
                break;
            if (best > 0 && width_of(d->fonts.regular, size, line.data) > width)
                break;
            best = end;
            if (!s[end])
                break;
        }
        if (line.oom) {
            err_set(d->err, ERR_IO, "out of memory");
            break;
        }
        line.len = 0;
        buf_append(&line, s, best);
        buf_append(&line, "", 0);
        if (draw && line.data)
            put(d, x, y - FLOWPDF_NOTE_H * lines, line.data, size, false, FLOWPDF_MUTED, 0);
        lines++;
        s += best;
        while (*s == ' ')
            s++;
    }
    buf_free(&line);
    return lines;
}

/* Column widths of t: each as wide as its widest cell plus padding, spread to FLOWPDF_COL_MIN a
 * column up to FLOWPDF_TABLE_MIN (so a wide table sits under the chart as a block) and shrunk
 * in proportion when the whole is wider than `width`. Returns the table's width. */
static double table_columns(const Doc *d, const FlowTable *t, double width, double colw[16])
{
    double total = 0;
    size_t nc = t->ncols < 16 ? t->ncols : 16;
    for (size_t c = 0; c < nc; c++) {
        colw[c] = width_of(d->fonts.bold ? d->fonts.bold : d->fonts.regular, 8.5, t->head[c]);
        for (size_t r = 0; r < t->nrows; r++)
            colw[c] = fmax(colw[c], width_of(d->fonts.regular, 9.5, t->cells[r * t->ncols + c]));
        colw[c] += 16 + (c ? 10 : 0);
        total += colw[c];
    }
    double want = fmin(fmax(total, fmin(FLOWPDF_TABLE_MIN, FLOWPDF_COL_MIN * (double)nc)), width);
    for (size_t c = 0; c < nc; c++)
        colw[c] = want > total ? colw[c] + (want - total) / (double)nc : colw[c] * want / total;
    return want;
}

/* Height the table takes (title, header, rows, notes), in points. */
static double table_height(Doc *d, const FlowTable *t, double width)
{
    if (!t)
        return 0;
    double colw[16];
    double block = fmax(table_columns(d, t, width, colw), fmin(FLOWPDF_TABLE_MIN, width));
    int lines = 0;
    for (size_t i = 0; i < t->nnotes; i++)
        lines += wrap(d, 0, 0, block, t->notes[i], 8.5, false);
    return (t->title ? 20 : 0) + FLOWPDF_ROW_H * (double)(t->nrows + 1) + 10 + FLOWPDF_NOTE_H * lines;
}

/* Draws t with its top at `top`: title, table and notes left-aligned in a block
 * FLOWPDF_TABLE_MIN wide (`width` at most) centred on the page; the notes fill the block. */
static void table(Doc *d, const FlowTable *t, double top, double width)
{
    const double size = 9.5, pad = 8;
    double colw[16];
    double total = table_columns(d, t, width, colw), block = fmax(total, fmin(FLOWPDF_TABLE_MIN, width));
    size_t nc = t->ncols < 16 ? t->ncols : 16;
    double x0 = (FLOWPDF_PAGE_W - block) / 2, y = top;
    if (t->title) {
        put(d, x0, y - 12, t->title, 11.5, true, FLOWPDF_INK, 0);
        y -= 20;
    }
    y -= FLOWPDF_ROW_H;
    double x = x0;
    for (size_t c = 0; c < nc; c++) {
        put(d, c ? x + colw[c] - pad : x + pad, y + 3.5, t->head[c], 8.5, true, FLOWPDF_MUTED, c ? 2 : 0);
        x += colw[c];
    }
    rule(d, x0, x0 + total, y, 0.8, FLOWPDF_MUTED);
    for (size_t r = 0; r < t->nrows && err_ok(d->err); r++) {
        y -= FLOWPDF_ROW_H;
        x = x0;
        for (size_t c = 0; c < nc; c++) {
            const char *s = t->cells[r * t->ncols + c];
            put(d, c ? x + colw[c] - pad : x + pad, y + 3.5, s, size, c == 0, FLOWPDF_INK, c ? 2 : 0);
            x += colw[c];
        }
        rule(d, x0, x0 + total, y, 0.4, FLOWPDF_FAINT);
    }
    y -= 10 + FLOWPDF_NOTE_H;
    for (size_t i = 0; i < t->nnotes; i++)
        y -= FLOWPDF_NOTE_H * wrap(d, x0, y + 2, block, t->notes[i], 8.5, true);
}

/* Copies the finished document from libharu's memory stream into f. */
static bool save(Doc *d, FILE *f)
{
    if (!ok_(d, HPDF_SaveToStream(d->doc)))
        return false;
    HPDF_UINT32 size = HPDF_GetStreamSize(d->doc), done = 0;
    unsigned char buf[16384];
    ok_(d, HPDF_ResetStream(d->doc));
    while (done < size && err_ok(d->err)) {
        /* ask for exactly what is left: reading past the end is an error (HPDF_STREAM_EOF) */
        HPDF_UINT32 n = size - done < sizeof buf ? size - done : (HPDF_UINT32)sizeof buf;
        if (!ok_(d, HPDF_ReadFromStream(d->doc, buf, &n)))
            break;
        if (fwrite(buf, 1, n, f) != n)
            return err_set(d->err, ERR_IO, "cannot write the PDF");
        done += n;
    }
    return err_ok(d->err);
}

bool flowpdf_document(const FlowDrawing *chart, const FlowTable *t, const char *doc_title, const char *footer, FILE *f,
                      Err *err)
{
    Doc d = {.err = err};
    d.doc = HPDF_New(on_error, err);
    if (!d.doc)
        return err_set(err, ERR_IO, "cannot start libharu");
    bool ok = ok_(&d, HPDF_SetCompressionMode(d.doc, HPDF_COMP_ALL)) && pdfdraw_load_fonts(d.doc, &d.fonts, err);
    if (ok) {
        if (doc_title)
            ok_(&d, HPDF_SetInfoAttr(d.doc, HPDF_INFO_TITLE, doc_title));
        ok_(&d, HPDF_SetInfoAttr(d.doc, HPDF_INFO_CREATOR, "gradviz"));
        d.pg = err_ok(err) ? HPDF_AddPage(d.doc) : NULL;
        ok = d.pg && ok_(&d, HPDF_Page_SetWidth(d.pg, (HPDF_REAL)FLOWPDF_PAGE_W)) &&
             ok_(&d, HPDF_Page_SetHeight(d.pg, (HPDF_REAL)FLOWPDF_PAGE_H));
        if (!d.pg)
            err_set(err, ERR_IO, "cannot write the PDF: libharu cannot add a page");
    }
    if (ok) {
        /* the chart gets whatever the table leaves */
        double th = table_height(&d, t, FLOWPDF_PAGE_W - 2 * FLOWPDF_MARGIN), top = FLOWPDF_PAGE_H - FLOWPDF_MARGIN + 12;
        double bottom = FLOWPDF_MARGIN + th + (t ? 8 : 0);
        PdfBox box = {FLOWPDF_MARGIN, bottom, FLOWPDF_PAGE_W - 2 * FLOWPDF_MARGIN, top - bottom}, drawn;
        ok = flowpdf_draw(d.pg, &d.fonts, chart, &box, &drawn, err);
        if (ok && t)
            table(&d, t, drawn.y - 4, FLOWPDF_PAGE_W - 2 * FLOWPDF_MARGIN);
        rule(&d, FLOWPDF_MARGIN, FLOWPDF_PAGE_W - FLOWPDF_MARGIN, FLOWPDF_FOOTER_Y + 10, 0.4, FLOWPDF_FAINT);
        if (footer)
            put(&d, FLOWPDF_MARGIN, FLOWPDF_FOOTER_Y, footer, 7.5, false, FLOWPDF_MUTED, 0);
        put(&d, FLOWPDF_PAGE_W - FLOWPDF_MARGIN, FLOWPDF_FOOTER_Y, "gradviz " GRADVIZ_VERSION, 7.5, false,
            FLOWPDF_MUTED, 2);
        ok = ok && err_ok(err) && save(&d, f);
    }
    HPDF_Free(d.doc);
    return ok && err_ok(err);
}
