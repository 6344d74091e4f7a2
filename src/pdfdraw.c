/* pdfdraw: replays Graphviz's xdot drawing operations with libharu.
 *
 * Graphviz has already decided where everything goes; this file only repeats its drawing, in
 * the order Graphviz's own renderers draw (background, graph label, clusters, then nodes and
 * edges in the breadth-first walk of emit.c), so that what overlaps in the SVG overlaps the same
 * way here. Each drawing attribute is parsed with libxdot and replayed with a fresh graphics
 * state, as Graphviz writes each attribute to be self-contained (every `_hdraw_` restates its
 * style and colours). The whole drawing goes through one transformation matrix, so coordinates,
 * line widths, dash lengths and font sizes all stay in Graphviz's points.
 *
 * Text needs care: Graphviz measured it with pango, we measure it with libharu. The runs of an
 * HTML-like label line (one op per change of font or colour) start where Graphviz put them but
 * never on top of the previous run; centred and right-aligned text is aligned on our own width;
 * a line that comes out wider than Graphviz's space for it (a label laid out in another font) is
 * narrowed horizontally to fit (pdfdraw_place_line). */
#include "pdfdraw.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <graphviz/xdot.h>
#include <hpdf_doc.h>
#include <hpdf_objects.h>

/* Graphviz's default `pad` when the graph sets none: 4 points (0.0555 in) on each side. */
#define PDFDRAW_DEFAULT_PAD 4.0
/* Graphviz's default font size, used until an xdot `F` op sets one. */
#define PDFDRAW_DEFAULT_FONT_SIZE 14.0
/* Shear of the oblique face we fake for italic text (about 12 degrees, like DejaVu Oblique). */
#define PDFDRAW_ITALIC_SKEW 0.21
/* Text at most this much wider than Graphviz's width is left alone: pango and libharu differ
 * by rounding and kerning, and narrowing by 1-2% is invisible but makes glyphs look uneven. */
#define PDFDRAW_WIDTH_SLACK 1.02

/* xdot `t` flags (Graphviz's textspan font flags). */
enum {
    PDFDRAW_FONT_BOLD = 1,
    PDFDRAW_FONT_ITALIC = 2,
    PDFDRAW_FONT_UNDERLINE = 4,
    PDFDRAW_FONT_SUP = 8,
    PDFDRAW_FONT_SUB = 16,
    PDFDRAW_FONT_STRIKE = 32,
    PDFDRAW_FONT_OVERLINE = 64,
};

typedef struct Rgba {
    double r, g, b;  /* 0..1 */
    unsigned a;      /* 0..255; 0 is not drawn at all */
} Rgba;

/* DASH_UNSET: nothing applied to the page yet. */
typedef enum Dash { DASH_UNSET, DASH_SOLID, DASH_DASHED, DASH_DOTTED } Dash;

/* Partial alpha needs an ExtGState object; one per (stroke, fill) pair, made on first use. */
#define PDFDRAW_ALPHA_CACHE 16
typedef struct AlphaState {
    unsigned stroke, fill;
    HPDF_ExtGState gs;  /* borrowed from the document */
} AlphaState;

/* The text state of xdot: the face and size asked for by `F`, the flags of `t`. */
typedef struct FontState {
    double size;      /* points */
    bool bold_name;   /* the font name itself says Bold */
    bool italic_name; /* ... or Italic / Oblique */
    unsigned flags;   /* PDFDRAW_FONT_* */
} FontState;

/* The graphics state of xdot (what the current attribute has set so far) and what has been
 * applied to the page (so unchanged settings are not written again). */
typedef struct DrawState {
    HPDF_Doc pdf;
    HPDF_Page page;
    const PdfFonts *fonts;
    Err *err;
    HPDF_STATUS st;     /* first libharu failure, HPDF_OK while all went well */
    double pad_box[4];  /* bb grown by the pad: llx, lly, urx, ury */
    bool background;    /* replaying the root's _draw_, whose filled rectangle is the background */

    /* xdot state, reset per attribute */
    Rgba pen, fill;
    double line_width;  /* points; 0 means no stroke */
    Dash dash;
    bool invis;
    FontState font;
    /* the line of text being drawn (see pdfdraw_place_line) */
    int line_end;       /* index of its last text op in the attribute, -1 before the first */
    double line_x;      /* where the next run starts, points */
    double line_hscale; /* horizontal scale of its runs, <= 1 */

    /* page state, valid while the GSave of pdfdraw_graph lasts */
    bool have_stroke_rgb, have_fill_rgb;
    Rgba applied_stroke, applied_fill;
    double applied_width;
    Dash applied_dash;
    unsigned applied_astroke, applied_afill;
    AlphaState alpha[PDFDRAW_ALPHA_CACHE];
    size_t nalpha;
} DrawState;

/* ---- fonts ---- */

/* True if `path` can be opened for reading (C11 has no access()). */
static bool pdfdraw_is_readable(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    fclose(f);
    return true;
}

/* Writes dir/name into buf if that file is readable. */
static bool pdfdraw_try_font(const char *dir, const char *name, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= size)
        return false;
    return pdfdraw_is_readable(buf);
}

const char *pdfdraw_find_font(bool bold, char *buf, size_t size)
{
    /* Debian and Ubuntu (fonts-dejavu-core), Fedora, Arch, FreeBSD, Homebrew and the user's own
     * folder on macOS. */
    static const char *const dirs[] = {
        "/usr/share/fonts/truetype/dejavu",
        "/usr/share/fonts/dejavu",
        "/usr/share/fonts/dejavu-sans-fonts",
        "/usr/share/fonts/TTF",
        "/usr/local/share/fonts/dejavu",
        "/usr/local/share/fonts",
        "/opt/homebrew/share/fonts",
        "/Library/Fonts",
    };
    const char *name = bold ? "DejaVuSans-Bold.ttf" : "DejaVuSans.ttf";
    const char *env = getenv("GRADVIZ_FONT_DIR");
    if (!buf || size == 0)
        return NULL;
    if (env && *env && pdfdraw_try_font(env, name, buf, size))
        return buf;
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        if (pdfdraw_try_font(dirs[i], name, buf, size))
            return buf;
    buf[0] = '\0';
    return NULL;
}

/* libharu 2.3 gives a UTF-8 font the encoder's own CMap (a `begincidrange` code -> CID map) as
 * its /ToUnicode, which must map codes to Unicode with bfchar/bfrange: poppler warns "Invalid
 * 'begincidrange' operator in ToUnicode CMap" on every page and other readers may extract
 * nothing. With the UTF-8 encoder and /Identity-H a code is the character's code point, so the
 * right map is the identity over the Basic Multilingual Plane (surrogates excluded): one
 * bfrange per high byte (a range may only vary in its last byte), at most 100 per block. */
static bool pdfdraw_fix_tounicode(HPDF_Doc pdf, HPDF_Font font)
{
    HPDF_Dict cmap = HPDF_DictStream_New(pdf->mmgr, pdf->xref);
    if (!cmap)
        return false;
    cmap->filter = HPDF_STREAM_FILTER_FLATE_DECODE;
    Buf b = {0};
    buf_puts(&b, "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
                 "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
                 "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
                 "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n");
    unsigned hi[256], n = 0;
    for (unsigned h = 0; h < 256; h++)
        if (h < 0xD8 || h > 0xDF)
            hi[n++] = h;
    for (unsigned i = 0; i < n; i += 100) {
        unsigned k = n - i < 100 ? n - i : 100;
        buf_printf(&b, "%u beginbfrange\n", k);
        for (unsigned j = i; j < i + k; j++)
            buf_printf(&b, "<%02X00> <%02XFF> <%02X00>\n", hi[j], hi[j], hi[j]);
        buf_puts(&b, "endbfrange\n");
    }
    buf_puts(&b, "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    bool ok = b.data && HPDF_Stream_Write(cmap->stream, (const HPDF_BYTE *)b.data, (HPDF_UINT)b.len) == HPDF_OK &&
              HPDF_Dict_Add(font, "ToUnicode", cmap) == HPDF_OK;
    buf_free(&b);
    return ok;
}

/* Embeds the TrueType file at path and returns it as a UTF-8 font, or NULL. */
static HPDF_Font pdfdraw_load_face(HPDF_Doc pdf, const char *path)
{
    const char *name = HPDF_LoadTTFontFromFile(pdf, path, HPDF_TRUE);
    HPDF_Font font = name ? HPDF_GetFont(pdf, name, "UTF-8") : NULL;
    return font && pdfdraw_fix_tounicode(pdf, font) ? font : NULL;
}

bool pdfdraw_load_fonts(HPDF_Doc pdf, PdfFonts *fonts, Err *err)
{
    char path[PDFDRAW_PATH_MAX];
    fonts->regular = fonts->bold = NULL;
    if (!pdfdraw_find_font(false, path, sizeof path)) {
        err_set(err, ERR_IO, "cannot find the font DejaVuSans.ttf for the PDF");
        err_hint(err, "install the Debian package fonts-dejavu-core, or set GRADVIZ_FONT_DIR "
                      "to a folder holding DejaVuSans.ttf");
        return false;
    }
    if (HPDF_UseUTFEncodings(pdf) != HPDF_OK || HPDF_SetCurrentEncoder(pdf, "UTF-8") != HPDF_OK)
        return err_set(err, ERR_IO, "libharu cannot enable UTF-8 text (error 0x%04lX)",
                       (unsigned long)HPDF_GetError(pdf));
    fonts->regular = pdfdraw_load_face(pdf, path);
    if (!fonts->regular)
        return err_set(err, ERR_IO, "libharu cannot load the font %s (error 0x%04lX)", path,
                       (unsigned long)HPDF_GetError(pdf));
    /* Bold is a nicety: without it bold text is outlined (see pdfdraw_show_text). */
    if (pdfdraw_find_font(true, path, sizeof path)) {
        fonts->bold = pdfdraw_load_face(pdf, path);
        if (!fonts->bold)
            return err_set(err, ERR_IO, "libharu cannot load the font %s (error 0x%04lX)", path,
                           (unsigned long)HPDF_GetError(pdf));
    }
    return true;
}

/* ---- attributes ---- */

/* agget takes a mutable name; this is the one place that casts it away. NULL if the attribute
 * is not declared. */
static const char *pdfdraw_get_attr(void *obj, const char *name)
{
    return agget(obj, (char *)name);
}

/* Reads `pad` (inches, "x" or "x,y") into points; Graphviz's default if unset. */
static void pdfdraw_read_pad(Agraph_t *g, double *px, double *py)
{
    const char *s = pdfdraw_get_attr(g, "pad");
    double x, y;
    *px = *py = PDFDRAW_DEFAULT_PAD;
    if (!s || !*s)
        return;
    int n = sscanf(s, "%lf,%lf", &x, &y);
    if (n >= 1 && x >= 0) {
        *px = *py = x * 72.0;
        if (n == 2 && y >= 0)
            *py = y * 72.0;
    }
}

/* Reads `bb` ("llx,lly,urx,ury" in points). */
static bool pdfdraw_read_bb(Agraph_t *g, double bb[4])
{
    const char *s = pdfdraw_get_attr(g, "bb");
    return s && sscanf(s, "%lf,%lf,%lf,%lf", &bb[0], &bb[1], &bb[2], &bb[3]) == 4 &&
           bb[2] >= bb[0] && bb[3] >= bb[1];
}

bool pdfdraw_graph_size(Agraph_t *g, double *w, double *h)
{
    double bb[4], px, py;
    if (!pdfdraw_read_bb(g, bb))
        return false;
    pdfdraw_read_pad(g, &px, &py);
    *w = bb[2] - bb[0] + 2 * px;
    *h = bb[3] - bb[1] + 2 * py;
    return true;
}

/* ---- colours ---- */

static int pdfdraw_hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Two hex digits at s, or -1. */
static int pdfdraw_hex_byte(const char *s)
{
    int hi = pdfdraw_hex_digit((unsigned char)s[0]);
    int lo = hi < 0 ? -1 : pdfdraw_hex_digit((unsigned char)s[1]);
    return lo < 0 ? -1 : hi * 16 + lo;
}

static bool pdfdraw_equal_nocase(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return false;
    return *a == *b;
}

/* "H,S,V" or "H S V" with each in [0,1] (Graphviz's HSV colour syntax). */
static bool pdfdraw_parse_hsv(const char *s, Rgba *out)
{
    double h, sat, v;
    char sep1, sep2;
    if (sscanf(s, "%lf%c%lf%c%lf", &h, &sep1, &sat, &sep2, &v) != 5 ||
        (sep1 != ',' && sep1 != ' ') || (sep2 != ',' && sep2 != ' '))
        return false;
    h = fmod(h < 0 ? 0 : h, 1.0) * 6.0;
    sat = sat < 0 ? 0 : sat > 1 ? 1 : sat;
    v = v < 0 ? 0 : v > 1 ? 1 : v;
    int i = (int)h;
    double f = h - i, p = v * (1 - sat), q = v * (1 - sat * f), t = v * (1 - sat * (1 - f));
    double rgb[6][3] = {{v, t, p}, {q, v, p}, {p, v, t}, {p, q, v}, {t, p, v}, {v, p, q}};
    out->r = rgb[i % 6][0];
    out->g = rgb[i % 6][1];
    out->b = rgb[i % 6][2];
    out->a = 255;
    return true;
}

/* Parses an xdot colour: #rrggbb, #rrggbbaa, HSV, or one of the names below. Graphviz 2.42
 * writes every colour as hex, so names are only a safety net: an unknown one is black, as it
 * is for Graphviz. */
static Rgba pdfdraw_parse_color(const char *s)
{
    static const struct {
        const char *name;
        unsigned rgb;
    } names[] = {
        {"black", 0x000000},     {"white", 0xffffff},     {"gray", 0xc0c0c0},
        {"grey", 0xc0c0c0},      {"lightgrey", 0xd3d3d3}, {"lightgray", 0xd3d3d3},
        {"darkgrey", 0xa9a9a9},  {"darkgray", 0xa9a9a9},  {"dimgray", 0x696969},
        {"dimgrey", 0x696969},   {"red", 0xff0000},       {"green", 0x00ff00},
        {"blue", 0x0000ff},      {"yellow", 0xffff00},    {"orange", 0xffa500},
        {"purple", 0xa020f0},    {"cyan", 0x00ffff},      {"magenta", 0xff00ff},
        {"brown", 0xa52a2a},     {"pink", 0xffc0cb},      {"navy", 0x000080},
        {"gold", 0xffd700},      {"darkgreen", 0x006400}, {"lightblue", 0xadd8e6},
    };
    Rgba c = {0, 0, 0, 255};
    if (!s)
        return c;
    while (*s == ' ')
        s++;
    if (s[0] == '#') {
        size_t n = strlen(s + 1);
        int r, g, b, a = 255;
        if ((n == 6 || n == 8) && (r = pdfdraw_hex_byte(s + 1)) >= 0 &&
            (g = pdfdraw_hex_byte(s + 3)) >= 0 && (b = pdfdraw_hex_byte(s + 5)) >= 0 &&
            (n == 6 || (a = pdfdraw_hex_byte(s + 7)) >= 0)) {
            c.r = r / 255.0;
            c.g = g / 255.0;
            c.b = b / 255.0;
            c.a = (unsigned)a;
        }
        return c;
    }
    if (pdfdraw_equal_nocase(s, "none") || pdfdraw_equal_nocase(s, "transparent")) {
        c.a = 0;
        return c;
    }
    if (isdigit((unsigned char)s[0]) || s[0] == '.') {
        Rgba hsv;
        return pdfdraw_parse_hsv(s, &hsv) ? hsv : c;
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (pdfdraw_equal_nocase(s, names[i].name)) {
            c.r = ((names[i].rgb >> 16) & 0xff) / 255.0;
            c.g = ((names[i].rgb >> 8) & 0xff) / 255.0;
            c.b = (names[i].rgb & 0xff) / 255.0;
            return c;
        }
    return c;
}

/* The colour of a gradient is taken as its first stop: a flat approximation, but Graphviz only
 * writes gradients when the user asks for them and gradviz never does. */
static Rgba pdfdraw_gradient_color(const xdot_color *gc)
{
    if (gc->type == xd_none)
        return pdfdraw_parse_color(gc->u.clr);
    if (gc->type == xd_linear && gc->u.ling.n_stops > 0)
        return pdfdraw_parse_color(gc->u.ling.stops[0].color);
    if (gc->type == xd_radial && gc->u.ring.n_stops > 0)
        return pdfdraw_parse_color(gc->u.ring.stops[0].color);
    return pdfdraw_parse_color(NULL);
}

/* ---- graphics state ---- */

static void pdfdraw_reset_state(DrawState *s)
{
    s->pen = pdfdraw_parse_color("black");
    s->fill = s->pen;
    s->line_width = 1.0;
    s->dash = DASH_SOLID;
    s->invis = false;
    s->font = (FontState){PDFDRAW_DEFAULT_FONT_SIZE, false, false, 0};
    s->line_end = -1;
}

/* Applies one xdot style word: "setlinewidth(2)", "dashed", "dotted", "solid", "bold",
 * "invis". Shape styles Graphviz also passes through (filled, rounded, ...) change nothing
 * here: their effect is already in the ops. */
static void pdfdraw_apply_style(DrawState *s, const char *style)
{
    double w;
    if (sscanf(style, "setlinewidth(%lf)", &w) == 1)
        s->line_width = w > 0 ? w : 0;
    else if (strcmp(style, "dashed") == 0)
        s->dash = DASH_DASHED;
    else if (strcmp(style, "dotted") == 0)
        s->dash = DASH_DOTTED;
    else if (strcmp(style, "solid") == 0)
        s->dash = DASH_SOLID;
    else if (strcmp(style, "bold") == 0)
        s->line_width = 2.0;  /* Graphviz's width for bold */
    else if (strcmp(style, "invis") == 0 || strcmp(style, "invisible") == 0)
        s->invis = true;
}

static bool pdfdraw_same_rgb(Rgba a, Rgba b)
{
    return a.r == b.r && a.g == b.g && a.b == b.b;
}

/* Keeps the first libharu failure; drawing stops at the end of the current op. */
static void pdfdraw_check(DrawState *s, HPDF_STATUS rc)
{
    if (rc != HPDF_OK && s->st == HPDF_OK)
        s->st = rc;
}

/* Sets the page's constant alpha for strokes and fills (255 = opaque) through a cached
 * ExtGState. */
static void pdfdraw_set_alpha(DrawState *s, unsigned astroke, unsigned afill)
{
    if (astroke == s->applied_astroke && afill == s->applied_afill)
        return;
    HPDF_ExtGState gs = NULL;
    for (size_t i = 0; i < s->nalpha; i++)
        if (s->alpha[i].stroke == astroke && s->alpha[i].fill == afill)
            gs = s->alpha[i].gs;
    if (!gs) {
        gs = HPDF_CreateExtGState(s->pdf);
        if (!gs) {
            pdfdraw_check(s, HPDF_GetError(s->pdf));
            return;
        }
        pdfdraw_check(s, HPDF_ExtGState_SetAlphaStroke(gs, (HPDF_REAL)(astroke / 255.0)));
        pdfdraw_check(s, HPDF_ExtGState_SetAlphaFill(gs, (HPDF_REAL)(afill / 255.0)));
        if (s->st != HPDF_OK)
            return;
        /* Beyond the cache a pair costs one more small object per use; graphs with more than
         * 16 distinct translucent colour pairs are not gradviz's. */
        if (s->nalpha < PDFDRAW_ALPHA_CACHE)
            s->alpha[s->nalpha++] = (AlphaState){astroke, afill, gs};
    }
    pdfdraw_check(s, HPDF_Page_SetExtGState(s->page, gs));
    s->applied_astroke = astroke;
    s->applied_afill = afill;
}

static void pdfdraw_set_fill_rgb(DrawState *s, Rgba c)
{
    if (s->have_fill_rgb && pdfdraw_same_rgb(c, s->applied_fill))
        return;
    pdfdraw_check(s, HPDF_Page_SetRGBFill(s->page, (HPDF_REAL)c.r, (HPDF_REAL)c.g,
                                          (HPDF_REAL)c.b));
    s->applied_fill = c;
    s->have_fill_rgb = true;
}

static void pdfdraw_set_stroke_rgb(DrawState *s, Rgba c)
{
    if (s->have_stroke_rgb && pdfdraw_same_rgb(c, s->applied_stroke))
        return;
    pdfdraw_check(s, HPDF_Page_SetRGBStroke(s->page, (HPDF_REAL)c.r, (HPDF_REAL)c.g,
                                            (HPDF_REAL)c.b));
    s->applied_stroke = c;
    s->have_stroke_rgb = true;
}

static void pdfdraw_set_line(DrawState *s, double width, Dash dash)
{
    /* Graphviz's cairo renderer dashes with {6} and dots with {2, 6}, in points. */
    static const HPDF_UINT16 dashed[] = {6};
    static const HPDF_UINT16 dotted[] = {2, 6};
    if (width != s->applied_width) {
        pdfdraw_check(s, HPDF_Page_SetLineWidth(s->page, (HPDF_REAL)width));
        s->applied_width = width;
    }
    if (dash != s->applied_dash) {
        if (dash == DASH_DASHED)
            pdfdraw_check(s, HPDF_Page_SetDash(s->page, dashed, 1, 0));
        else if (dash == DASH_DOTTED)
            pdfdraw_check(s, HPDF_Page_SetDash(s->page, dotted, 2, 0));
        else
            pdfdraw_check(s, HPDF_Page_SetDash(s->page, NULL, 0, 0));
        s->applied_dash = dash;
    }
}

/* How a shape is painted: which of fill and stroke are visible. */
typedef struct Paint {
    bool fill, stroke;
} Paint;

/* Decides and applies the paint of the next shape (before its path: PDF allows no state
 * changes inside a path). Filled shapes are filled with the fill colour and outlined with the
 * pen, as Graphviz draws them. */
static Paint pdfdraw_begin_shape(DrawState *s, bool filled)
{
    Paint p = {filled && s->fill.a > 0, !s->invis && s->pen.a > 0 && s->line_width > 0};
    if (s->invis)
        p.fill = false;
    if (!p.fill && !p.stroke)
        return p;
    pdfdraw_set_alpha(s, p.stroke ? s->pen.a : 255, p.fill ? s->fill.a : 255);
    if (p.fill)
        pdfdraw_set_fill_rgb(s, s->fill);
    if (p.stroke) {
        pdfdraw_set_stroke_rgb(s, s->pen);
        pdfdraw_set_line(s, s->line_width, s->dash);
    }
    return p;
}

/* Paints the path just built. `closed` closes the outline too (polygons, ellipses); an open
 * Bézier is filled as if closed but stroked open, as cairo does for Graphviz. */
static void pdfdraw_end_shape(DrawState *s, Paint p, bool closed)
{
    HPDF_Page pg = s->page;
    if (p.fill && p.stroke)
        pdfdraw_check(s, closed ? HPDF_Page_ClosePathFillStroke(pg) : HPDF_Page_FillStroke(pg));
    else if (p.fill)
        pdfdraw_check(s, HPDF_Page_Fill(pg));
    else if (p.stroke)
        pdfdraw_check(s, closed ? HPDF_Page_ClosePathStroke(pg) : HPDF_Page_Stroke(pg));
}

/* ---- shapes ---- */

static void pdfdraw_draw_ellipse(DrawState *s, const xdot_rect *r, bool filled)
{
    Paint p = pdfdraw_begin_shape(s, filled);
    if (!p.fill && !p.stroke)
        return;
    /* xdot gives the centre and the two radii. */
    pdfdraw_check(s, HPDF_Page_Ellipse(s->page, (HPDF_REAL)r->x, (HPDF_REAL)r->y,
                                       (HPDF_REAL)r->w, (HPDF_REAL)r->h));
    pdfdraw_end_shape(s, p, true);
}

/* Polygons (closed) and polylines (open, never filled). */
static void pdfdraw_draw_poly(DrawState *s, const xdot_polyline *pl, bool filled, bool closed)
{
    if (pl->cnt < 2)
        return;
    Paint p = pdfdraw_begin_shape(s, filled);
    if (!p.fill && !p.stroke)
        return;
    if (s->background && filled && pl->cnt == 4) {
        /* Graphviz writes the background (bgcolor) as the bare bb unless `pad` is set, yet
         * its renderers paint the padded page: paint that. */
        const double *b = s->pad_box;
        pdfdraw_check(s, HPDF_Page_Rectangle(s->page, (HPDF_REAL)b[0], (HPDF_REAL)b[1],
                                             (HPDF_REAL)(b[2] - b[0]), (HPDF_REAL)(b[3] - b[1])));
        pdfdraw_end_shape(s, p, true);
        return;
    }
    const xdot_point *q = pl->pts;
    pdfdraw_check(s, HPDF_Page_MoveTo(s->page, (HPDF_REAL)q[0].x, (HPDF_REAL)q[0].y));
    for (int i = 1; i < pl->cnt; i++)
        pdfdraw_check(s, HPDF_Page_LineTo(s->page, (HPDF_REAL)q[i].x, (HPDF_REAL)q[i].y));
    pdfdraw_end_shape(s, p, closed);
}

/* A cubic B-spline as xdot writes it: a start point, then (control, control, end) triples. */
static void pdfdraw_draw_bezier(DrawState *s, const xdot_polyline *pl, bool filled)
{
    if (pl->cnt < 2)
        return;
    Paint p = pdfdraw_begin_shape(s, filled);
    if (!p.fill && !p.stroke)
        return;
    const xdot_point *q = pl->pts;
    pdfdraw_check(s, HPDF_Page_MoveTo(s->page, (HPDF_REAL)q[0].x, (HPDF_REAL)q[0].y));
    int i = 1;
    for (; i + 2 < pl->cnt; i += 3)
        pdfdraw_check(s, HPDF_Page_CurveTo(s->page, (HPDF_REAL)q[i].x, (HPDF_REAL)q[i].y,
                                           (HPDF_REAL)q[i + 1].x, (HPDF_REAL)q[i + 1].y,
                                           (HPDF_REAL)q[i + 2].x, (HPDF_REAL)q[i + 2].y));
    /* A malformed count leaves 1-2 points over: join them with lines rather than drop them. */
    for (; i < pl->cnt; i++)
        pdfdraw_check(s, HPDF_Page_LineTo(s->page, (HPDF_REAL)q[i].x, (HPDF_REAL)q[i].y));
    pdfdraw_end_shape(s, p, false);
}

/* ---- text ---- */

/* A horizontal rule across a text run (underline, strike-through, overline), in the text
 * colour, 1/20 of the font size thick. */
static void pdfdraw_draw_rule(DrawState *s, double x0, double x1, double y)
{
    pdfdraw_set_alpha(s, s->pen.a, 255);
    pdfdraw_set_stroke_rgb(s, s->pen);
    pdfdraw_set_line(s, s->font.size / 20.0, DASH_SOLID);
    pdfdraw_check(s, HPDF_Page_MoveTo(s->page, (HPDF_REAL)x0, (HPDF_REAL)y));
    pdfdraw_check(s, HPDF_Page_LineTo(s->page, (HPDF_REAL)x1, (HPDF_REAL)y));
    pdfdraw_check(s, HPDF_Page_Stroke(s->page));
}

/* Remembers the face asked for by name ("DejaVu Sans Bold", "Helvetica-Oblique", ...); we draw
 * every face with our DejaVu Sans and Bold, so only the weight and slant matter. */
static void pdfdraw_set_font(FontState *fs, const xdot_font *f)
{
    fs->size = f->size;
    fs->bold_name = fs->italic_name = false;
    if (!f->name)
        return;
    char lower[128];
    size_t n = 0;
    for (; f->name[n] && n + 1 < sizeof lower; n++)
        lower[n] = (char)tolower((unsigned char)f->name[n]);
    lower[n] = '\0';
    fs->bold_name = strstr(lower, "bold") != NULL;
    fs->italic_name = strstr(lower, "italic") != NULL || strstr(lower, "oblique") != NULL;
}

/* The face for the current font state, and whether bold must be faked (no bold face loaded). */
static HPDF_Font pdfdraw_pick_font(const DrawState *s, const FontState *f, bool *fake_bold)
{
    bool bold = (f->flags & PDFDRAW_FONT_BOLD) || f->bold_name;
    *fake_bold = bold && !s->fonts->bold;
    return bold && s->fonts->bold ? s->fonts->bold : s->fonts->regular;
}

/* The size text is drawn at: Graphviz (through pango's <sub> and <sup>) sets sub- and
 * superscripts one step smaller, by pango's factor 1/1.2. */
static double pdfdraw_text_size(const FontState *f)
{
    return f->flags & (PDFDRAW_FONT_SUB | PDFDRAW_FONT_SUP) ? f->size / 1.2 : f->size;
}

/* Width of text in the face and size of f, in points, as libharu will draw it. */
static double pdfdraw_measure(DrawState *s, const FontState *f, const char *text)
{
    bool fake_bold;
    if (!text || !text[0] || f->size <= 0)
        return 0;
    pdfdraw_check(s, HPDF_Page_SetFontAndSize(s->page, pdfdraw_pick_font(s, f, &fake_bold),
                                              (HPDF_REAL)pdfdraw_text_size(f)));
    return s->st == HPDF_OK ? HPDF_Page_TextWidth(s->page, text) : 0;
}

/* Applies the font ops among those Graphviz interleaves with text (F, t); others are ignored. */
static void pdfdraw_track_font(FontState *f, const xdot_op *op)
{
    if (op->kind == xd_font)
        pdfdraw_set_font(f, &op->u.font);
    else if (op->kind == xd_fontchar)
        f->flags = op->u.fontchar;
}

/* The ops Graphviz writes between the runs of one line of text: font and colour changes. */
static bool pdfdraw_is_text_state_op(const xdot_op *op)
{
    return op->kind == xd_font || op->kind == xd_fontchar || op->kind == xd_pen_color ||
           op->kind == xd_fill_color || op->kind == xd_grad_pen_color ||
           op->kind == xd_grad_fill_color || op->kind == xd_style;
}

/* Index of the text op that continues the line ending with text op `i` (same baseline, starting
 * where Graphviz ended op i), or -1. */
static int pdfdraw_next_run(const xdot *x, int i)
{
    const xdot_text *a = &x->ops[i].u.text;
    if (a->align != xd_left)
        return -1;
    for (int j = i + 1; j < x->cnt; j++) {
        const xdot_op *op = &x->ops[j];
        if (op->kind == xd_text) {
            const xdot_text *b = &op->u.text;
            bool same_line = b->align == xd_left && fabs(b->y - a->y) < 0.01 &&
                             fabs(b->x - (a->x + a->width)) < 0.5;
            return same_line ? j : -1;
        }
        if (!pdfdraw_is_text_state_op(op))
            return -1;
    }
    return -1;
}

/* Places the line of text starting at op `first` (a text op). Graphviz writes each run of an
 * HTML-like label (a change of font or colour) as its own left-aligned op at the position its
 * (rounded) pango widths gave, and its own renderers draw each run from there; so do we, except
 * that a run never starts before the previous one ended in our font, so runs never overlap.
 * A line that comes out wider than Graphviz's space for it (more than the slack) is narrowed
 * as a whole and set end to end across exactly that space. Plain labels are single centred or
 * right-aligned ops, aligned on our own width. Sets line_end, line_x and line_hscale. */
static void pdfdraw_place_line(DrawState *s, const xdot *x, int first)
{
    FontState f = s->font;
    const xdot_text *t0 = &x->ops[first].u.text;
    double ours = 0, gv_end = t0->x + t0->width;
    int last = first;
    for (int i = first; i >= 0; i = pdfdraw_next_run(x, i)) {
        /* Font changes between the previous run and this one. */
        for (int j = last + 1; j < i; j++)
            pdfdraw_track_font(&f, &x->ops[j]);
        const xdot_text *t = &x->ops[i].u.text;
        ours += pdfdraw_measure(s, &f, t->text);
        gv_end = t->x + t->width;
        last = i;
    }
    double gv_w = t0->width > 0 ? gv_end - t0->x : ours;
    double gv_start = t0->x;
    if (t0->align == xd_center)
        gv_start -= gv_w / 2;
    else if (t0->align == xd_right)
        gv_start -= gv_w;
    s->line_hscale = ours > gv_w * PDFDRAW_WIDTH_SLACK ? gv_w / ours : 1.0;
    if (s->line_hscale < 1.0)
        s->line_x = gv_start;
    else if (t0->align == xd_center)
        s->line_x = t0->x - ours / 2;
    else if (t0->align == xd_right)
        s->line_x = t0->x - ours;
    else
        s->line_x = t0->x;
    s->line_end = last;
}

/* Draws one run at the line's cursor and advances it. Runs with nothing visible (spaces, an
 * invisible pen) still advance the cursor. */
static void pdfdraw_show_text(DrawState *s, const xdot_text *t)
{
    const FontState *f = &s->font;
    double w = pdfdraw_measure(s, f, t->text) * s->line_hscale;
    double x = s->line_x;
    if (s->line_hscale == 1.0 && t->align == xd_left && t->x > x)
        x = t->x;  /* where Graphviz put the run, when that leaves no overlap */
    s->line_x = x + w;
    if (!t->text || !t->text[0] || s->invis || s->pen.a == 0 || f->size <= 0 || s->st != HPDF_OK)
        return;
    bool fake_bold;
    HPDF_Font font = pdfdraw_pick_font(s, f, &fake_bold);
    bool italic = (f->flags & PDFDRAW_FONT_ITALIC) || f->italic_name;
    double size = pdfdraw_text_size(f);
    HPDF_Page pg = s->page;

    /* Text is painted with the pen colour (xdot `c`), as Graphviz does. */
    pdfdraw_set_alpha(s, s->pen.a, s->pen.a);
    pdfdraw_set_fill_rgb(s, s->pen);
    if (fake_bold) {
        pdfdraw_set_stroke_rgb(s, s->pen);
        pdfdraw_set_line(s, size / 30.0, DASH_SOLID);
    }
    /* xdot's y is the baseline; Graphviz leaves sub- and superscripts on it and pango moves
     * them (measured on its PDF at 14 pt: down 0.24, up 0.35 of the size). */
    double y = t->y;
    if (f->flags & PDFDRAW_FONT_SUB)
        y -= 0.24 * f->size;
    else if (f->flags & PDFDRAW_FONT_SUP)
        y += 0.35 * f->size;

    pdfdraw_check(s, HPDF_Page_BeginText(pg));
    pdfdraw_check(s, HPDF_Page_SetFontAndSize(pg, font, (HPDF_REAL)size));
    if (fake_bold)
        pdfdraw_check(s, HPDF_Page_SetTextRenderingMode(pg, HPDF_FILL_THEN_STROKE));
    pdfdraw_check(s, HPDF_Page_SetTextMatrix(pg, (HPDF_REAL)s->line_hscale, 0,
                                             (HPDF_REAL)(italic ? PDFDRAW_ITALIC_SKEW : 0), 1,
                                             (HPDF_REAL)x, (HPDF_REAL)y));
    pdfdraw_check(s, HPDF_Page_ShowText(pg, t->text));
    if (fake_bold)
        pdfdraw_check(s, HPDF_Page_SetTextRenderingMode(pg, HPDF_FILL));
    pdfdraw_check(s, HPDF_Page_EndText(pg));

    if (f->flags & PDFDRAW_FONT_UNDERLINE)
        pdfdraw_draw_rule(s, x, x + w, y - 0.12 * size);
    if (f->flags & PDFDRAW_FONT_STRIKE)
        pdfdraw_draw_rule(s, x, x + w, y + 0.3 * size);
    if (f->flags & PDFDRAW_FONT_OVERLINE)
        pdfdraw_draw_rule(s, x, x + w, y + 0.8 * size);
}

/* ---- replay ---- */

static void pdfdraw_replay_op(DrawState *s, const xdot_op *op)
{
    switch (op->kind) {
    case xd_filled_ellipse:
    case xd_unfilled_ellipse:
        pdfdraw_draw_ellipse(s, &op->u.ellipse, op->kind == xd_filled_ellipse);
        break;
    case xd_filled_polygon:
    case xd_unfilled_polygon:
        pdfdraw_draw_poly(s, &op->u.polygon, op->kind == xd_filled_polygon, true);
        break;
    case xd_polyline:
        pdfdraw_draw_poly(s, &op->u.polyline, false, false);
        break;
    case xd_filled_bezier:
    case xd_unfilled_bezier:
        pdfdraw_draw_bezier(s, &op->u.bezier, op->kind == xd_filled_bezier);
        break;
    case xd_text:
        pdfdraw_show_text(s, &op->u.text);  /* placed by pdfdraw_replay_attr */
        break;
    case xd_fill_color:
        s->fill = pdfdraw_parse_color(op->u.color);
        break;
    case xd_pen_color:
        s->pen = pdfdraw_parse_color(op->u.color);
        break;
    case xd_grad_fill_color:
        s->fill = pdfdraw_gradient_color(&op->u.grad_color);
        break;
    case xd_grad_pen_color:
        s->pen = pdfdraw_gradient_color(&op->u.grad_color);
        break;
    case xd_font:
        pdfdraw_set_font(&s->font, &op->u.font);
        break;
    case xd_style:
        if (op->u.style)
            pdfdraw_apply_style(s, op->u.style);
        break;
    case xd_fontchar:
        s->font.flags = op->u.fontchar;
        break;
    case xd_image:
        /* Images (node `image=`) are not drawn: gradviz never uses them. */
        break;
    }
}

/* Parses the xdot attribute `name` of obj (graph, node or edge) and draws it. A missing or empty
 * attribute draws nothing. */
static bool pdfdraw_replay_attr(DrawState *s, void *obj, const char *name)
{
    const char *text = pdfdraw_get_attr(obj, name);
    if (!text || !text[0])
        return true;
    /* parseXDot does not write to its argument; its prototype just predates const. */
    xdot *x = parseXDot((char *)text);
    if (!x || (x->flags & XDOT_PARSE_ERROR)) {
        const char *who = agnameof(obj);
        if (x)
            freeXDot(x);
        return err_set(s->err, ERR_IO, "cannot parse Graphviz's drawing attribute %s of '%s'",
                       name, who ? who : "?");
    }
    pdfdraw_reset_state(s);
    for (int i = 0; i < x->cnt && s->st == HPDF_OK; i++) {
        if (x->ops[i].kind == xd_text && i > s->line_end)
            pdfdraw_place_line(s, x, i);
        pdfdraw_replay_op(s, &x->ops[i]);
    }
    freeXDot(x);
    if (s->st != HPDF_OK)
        return err_set(s->err, ERR_IO, "libharu failed drawing the graph (error 0x%04lX)",
                       (unsigned long)s->st);
    return true;
}

static bool pdfdraw_replay_node(DrawState *s, Agnode_t *n, bool *seen)
{
    if (seen[AGSEQ(n)])
        return true;
    seen[AGSEQ(n)] = true;
    return pdfdraw_replay_attr(s, n, "_draw_") && pdfdraw_replay_attr(s, n, "_ldraw_");
}

/* Body, arrowheads, then labels: Graphviz's order, so labels sit on top of the lines. */
static bool pdfdraw_replay_edge(DrawState *s, Agedge_t *e)
{
    static const char *const attrs[] = {"_draw_",  "_tdraw_",  "_hdraw_",
                                        "_ldraw_", "_tldraw_", "_hldraw_"};
    for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++)
        if (!pdfdraw_replay_attr(s, e, attrs[i]))
            return false;
    return true;
}

/* True for subgraphs Graphviz draws as clusters (name starts with "cluster", any case). */
static bool pdfdraw_is_cluster(Agraph_t *sg)
{
    const char *name = agnameof(sg);
    static const char prefix[] = "cluster";
    if (!name)
        return false;
    for (size_t i = 0; i < sizeof prefix - 1; i++)
        if (tolower((unsigned char)name[i]) != prefix[i])
            return false;
    return true;
}

/* Clusters, outer before inner. Subgraphs that are not clusters hold nothing to draw, but
 * clusters may be nested inside them. */
static bool pdfdraw_replay_clusters(DrawState *s, Agraph_t *g)
{
    for (Agraph_t *sg = agfstsubg(g); sg; sg = agnxtsubg(sg)) {
        if (pdfdraw_is_cluster(sg) &&
            !(pdfdraw_replay_attr(s, sg, "_draw_") && pdfdraw_replay_attr(s, sg, "_ldraw_")))
            return false;
        if (!pdfdraw_replay_clusters(s, sg))
            return false;
    }
    return true;
}

/* Nodes and edges in emit.c's default ("breadthfirst") order: each node, then for each of its
 * out-edges the head node and the edge. */
static bool pdfdraw_replay_view(DrawState *s, Agraph_t *g)
{
    size_t nseq = 0;
    for (Agnode_t *n = agfstnode(g); n; n = agnxtnode(g, n))
        if ((size_t)AGSEQ(n) + 1 > nseq)
            nseq = (size_t)AGSEQ(n) + 1;
    if (nseq == 0)
        return true;
    bool *seen = calloc(nseq, sizeof *seen);
    if (!seen)
        return err_set(s->err, ERR_IO, "out of memory drawing the graph");
    bool ok = true;
    for (Agnode_t *n = agfstnode(g); n && ok; n = agnxtnode(g, n)) {
        ok = pdfdraw_replay_node(s, n, seen);
        for (Agedge_t *e = agfstout(g, n); e && ok; e = agnxtout(g, e))
            ok = pdfdraw_replay_node(s, aghead(e), seen) && pdfdraw_replay_edge(s, e);
    }
    free(seen);
    return ok;
}

bool pdfdraw_node_pos(Agraph_t *g, Agnode_t *n, double *x, double *y)
{
    double bb[4], px, py, nx, ny;
    const char *pos = pdfdraw_get_attr(n, "pos");
    if (!pdfdraw_read_bb(g, bb) || !pos || sscanf(pos, "%lf,%lf", &nx, &ny) != 2)
        return false;
    pdfdraw_read_pad(g, &px, &py);
    *x = nx - bb[0] + px;
    *y = ny - bb[1] + py;
    return true;
}

bool pdfdraw_graph(HPDF_Doc pdf, HPDF_Page page, const PdfFonts *fonts, Agraph_t *g,
                   const PdfBox *box, PdfBox *drawn, Err *err)
{
    return pdfdraw_graph_region(pdf, page, fonts, g, NULL, box, drawn, err);
}

bool pdfdraw_graph_region(HPDF_Doc pdf, HPDF_Page page, const PdfFonts *fonts, Agraph_t *g,
                          const PdfBox *region, const PdfBox *box, PdfBox *drawn, Err *err)
{
    double bb[4], px, py;
    if (!fonts || !fonts->regular)
        return err_set(err, ERR_IO, "no font loaded for drawing the graph");
    if (!pdfdraw_read_bb(g, bb))
        return err_set(err, ERR_IO, "the graph has no Graphviz layout to draw (no bb)");
    pdfdraw_read_pad(g, &px, &py);
    double gw = bb[2] - bb[0] + 2 * px, gh = bb[3] - bb[1] + 2 * py;
    PdfBox whole = {0, 0, gw, gh};
    if (!region)
        region = &whole;
    if (gw <= 0 || gh <= 0 || region->w <= 0 || region->h <= 0 || box->w <= 0 || box->h <= 0)
        return err_set(err, ERR_IO, "nothing to draw: empty graph, region or box");
    double scale = fmin(box->w / region->w, box->h / region->h);
    PdfBox out = {box->x + (box->w - region->w * scale) / 2,
                  box->y + (box->h - region->h * scale) / 2, region->w * scale,
                  region->h * scale};
    if (drawn)
        *drawn = out;

    DrawState s = {0};
    s.pdf = pdf;
    s.page = page;
    s.fonts = fonts;
    s.err = err;
    /* The page starts black, 1 pt, solid, opaque (PDF defaults), but we may be called after
     * the caller changed them: mark everything as unknown so the first use sets it. */
    s.applied_width = -1;
    s.applied_dash = DASH_UNSET;
    s.applied_astroke = s.applied_afill = 256;

    pdfdraw_check(&s, HPDF_Page_GSave(page));
    /* Clip to the drawing, so nothing (a label wider than Graphviz thought) runs onto the rest
     * of the page. */
    pdfdraw_check(&s, HPDF_Page_Rectangle(page, (HPDF_REAL)out.x, (HPDF_REAL)out.y,
                                          (HPDF_REAL)out.w, (HPDF_REAL)out.h));
    pdfdraw_check(&s, HPDF_Page_Clip(page));
    pdfdraw_check(&s, HPDF_Page_EndPath(page));
    /* Graph points -> page points: scale, then move the region's corner (in drawing
     * coordinates, which start at the padded bounding box's corner) onto the drawing's corner.
     * No flip: xdot's y points up like PDF's. */
    pdfdraw_check(&s, HPDF_Page_Concat(page, (HPDF_REAL)scale, 0, 0, (HPDF_REAL)scale,
                                       (HPDF_REAL)(out.x - (bb[0] - px + region->x) * scale),
                                       (HPDF_REAL)(out.y - (bb[1] - py + region->y) * scale)));
    if (s.st != HPDF_OK) {
        HPDF_Page_GRestore(page);
        return err_set(err, ERR_IO, "libharu failed drawing the graph (error 0x%04lX)",
                       (unsigned long)s.st);
    }
    s.pad_box[0] = bb[0] - px;
    s.pad_box[1] = bb[1] - py;
    s.pad_box[2] = bb[2] + px;
    s.pad_box[3] = bb[3] + py;
    s.background = true;
    bool ok = pdfdraw_replay_attr(&s, g, "_draw_");
    s.background = false;
    ok = ok && pdfdraw_replay_attr(&s, g, "_ldraw_") && pdfdraw_replay_clusters(&s, g) &&
         pdfdraw_replay_view(&s, g);
    HPDF_STATUS rc = HPDF_Page_GRestore(page);
    if (ok && rc != HPDF_OK)
        return err_set(err, ERR_IO, "libharu failed drawing the graph (error 0x%04lX)",
                       (unsigned long)rc);
    return ok;
}
