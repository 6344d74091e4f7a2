/* flowchart: layout of the log-scale gradient chart as a list of primitives, and its SVG
 * text. The layout decides everything (positions, sizes, colours, which decades get a label,
 * where the legend goes); flowchart_svg only writes, so a PDF replay of the same FlowDrawing
 * draws the same chart.
 *
 * Sizes are in points (1 SVG user unit = 1 pt). Text widths are estimated from DejaVu Sans's
 * average advances: only the legend box and the notes' clearance depend on them. */
#include "flowchart.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strconv.h"

/* Okabe-Ito colours: distinguishable with the common colour-vision deficiencies */
#define C_VERMILLION 0xD55E00u
#define C_BLUE 0x0072B2u
#define C_GREEN 0x009E73u
#define C_INK 0x222222u
#define C_MUTED 0x555555u
#define C_GRID 0xE4E4E4u
#define C_FRAME 0xBBBBBBu


/* ---- Building the op list ---- */

#define MAX_NOTES 8
#define MAX_SUFFIX 64

typedef struct Ctx {
    FlowDrawing *d;
    bool oom;
    double notes[MAX_NOTES][4]; /* x, y, w, h of the "= 0 from" notes, kept clear of the legend */
    int nnotes;
    const char *suffix[MAX_SUFFIX]; /* per series: a note that found no room, for the legend */
} Ctx;

static FlowOp *op_new(Ctx *c, FlowOpKind kind)
{
    FlowDrawing *d = c->d;
    if (c->oom || !vec_reserve((void **)&d->ops, &d->cap, d->nops + 1, sizeof *d->ops)) {
        c->oom = true;
        return NULL;
    }
    FlowOp *o = &d->ops[d->nops++];
    *o = (FlowOp){.kind = kind, .stroke = FLOWCHART_NONE, .fill = FLOWCHART_NONE, .line_width = 1};
    return o;
}

static const char *str_dup(Ctx *c, const char *s)
{
    char *p = arena_strndup(&c->d->arena, s, strlen(s));
    if (!p)
        c->oom = true;
    return p;
}

/* A path through npts points (xy pairs), copied into the arena. */
static void path(Ctx *c, const double *xy, size_t npts, uint32_t rgb, double width, double on, double off)
{
    if (npts < 2)
        return;
    double *pts = arena_alloc(&c->d->arena, npts * 2 * sizeof *pts);
    FlowOp *o = pts ? op_new(c, FLOWOP_PATH) : NULL;
    if (!o) {
        c->oom = true;
        return;
    }
    memcpy(pts, xy, npts * 2 * sizeof *pts);
    o->pts = pts;
    o->npts = npts;
    o->stroke = rgb;
    o->line_width = width;
    o->dash[0] = on;
    o->dash[1] = off;
}

static void line(Ctx *c, double x0, double y0, double x1, double y1, uint32_t rgb, double width)
{
    double xy[4] = {x0, y0, x1, y1};
    path(c, xy, 2, rgb, width, 0, 0);
}

static void rect(Ctx *c, double x, double y, double w, double h, uint32_t stroke, uint32_t fill)
{
    FlowOp *o = op_new(c, FLOWOP_RECT);
    if (!o)
        return;
    o->x = x, o->y = y, o->w = w, o->h = h;
    o->stroke = stroke;
    o->fill = fill;
}

static void circle(Ctx *c, double x, double y, double r, uint32_t stroke, uint32_t fill)
{
    FlowOp *o = op_new(c, FLOWOP_CIRCLE);
    if (!o)
        return;
    o->x = x, o->y = y, o->r = r;
    o->stroke = stroke;
    o->fill = fill;
    o->line_width = 1.2;
}

static void text(Ctx *c, double x, double y, const char *s, double size, FlowAnchor anchor, uint32_t rgb, bool bold,
                 double rotate)
{
    const char *copy = str_dup(c, s);
    FlowOp *o = copy ? op_new(c, FLOWOP_TEXT) : NULL;
    if (!o)
        return;
    o->x = x, o->y = y;
    o->text = copy;
    o->size = size;
    o->anchor = anchor;
    o->fill = rgb;
    o->bold = bold;
    o->rotate = rotate;
}

/* Estimated width of UTF-8 text s at `size` points, from DejaVu Sans's advances (in ems):
 * space 0.32, digits 0.64, capitals 0.7, lower case 0.56, anything else 0.6. */
static double text_width(const char *s, double size)
{
    double em = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p & 0xC0) == 0x80)
            continue; /* continuation byte of a multibyte character */
        em += *p == ' ' ? 0.32 : (*p >= '0' && *p <= '9') ? 0.64 : (*p >= 'A' && *p <= 'Z') ? 0.7
            : (*p >= 'a' && *p <= 'z') ? 0.56 : 0.6;
    }
    return em * size;
}

void flowchart_pow10_label(char out[48], int k)
{
    static const char *const SUP[] = {"⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"};
    char digits[16];
    snprintf(digits, sizeof digits, "%d", k < 0 ? -k : k);
    strcpy(out, "10");
    if (k < 0)
        strcat(out, "⁻");
    for (const char *p = digits; *p; p++)
        strcat(out, SUP[*p - '0']);
}

/* ---- Scales ---- */

typedef struct Frame {
    double left, top, right, bottom; /* plot area */
    double xmin, xmax;               /* data range on x */
    int lo, hi;                      /* y range: 10^lo .. 10^hi */
    int step;                        /* decades between labelled powers of ten; lo and hi are
                                      * multiples of it, so both ends carry a label */
} Frame;

static double px(const Frame *f, double x)
{
    return f->left + (x - f->xmin) / (f->xmax - f->xmin) * (f->right - f->left);
}

/* ly is log10 of the value */
static double py(const Frame *f, double ly)
{
    return f->top + ((double)f->hi - ly) / (double)(f->hi - f->lo) * (f->bottom - f->top);
}

static bool drawable(double ly) { return isfinite(ly); }
static bool is_zero(double ly) { return ly == -INFINITY; }

/* Smallest of 1, 2, 5, 10, 20, 50, ... that cuts `span` into at most `most` steps. */
static double nice_step(double span, int most)
{
    for (double mag = 1;; mag *= 10) {
        static const double M[] = {1, 2, 5};
        for (int i = 0; i < 3; i++)
            if (span / (M[i] * mag) <= most)
                return M[i] * mag;
    }
}

/* ---- Pieces of the chart ---- */

static void draw_axes(Ctx *c, const Frame *f, const FlowChart *ch)
{
    char lab[48];
    int decades = f->hi - f->lo, step = f->step;
    double per_decade = (f->bottom - f->top) / decades;
    /* grid and labels at every step-th power of ten; a tick at every power of ten when they
     * are at least 4 pt apart; ticks at 2..9 × 10^k when decades are roomy */
    for (int k = f->lo; k <= f->hi; k++) {
        double y = f->top + (double)(f->hi - k) * per_decade;
        bool labelled = k % step == 0;
        if (labelled) {
            if (k != f->lo)
                line(c, f->left, y, f->right, y, C_GRID, 1);
            flowchart_pow10_label(lab, k);
            text(c, f->left - 8, y + 4.2, lab, 12, FLOW_ANCHOR_END, C_INK, false, 0);
            line(c, f->left - 5, y, f->left, y, C_INK, 1);
        } else if (per_decade >= 4) {
            line(c, f->left - 3, y, f->left, y, C_INK, 1);
        }
        if (per_decade >= 40 && k < f->hi)
            for (int m = 2; m <= 9; m++) {
                double ym = y - log10(m) * per_decade;
                line(c, f->left - 2.5, ym, f->left, ym, C_MUTED, 0.8);
            }
    }
    double xstep = nice_step(f->xmax - f->xmin, 8);
    if (xstep < 1 && f->xmax - f->xmin >= 1)
        xstep = 1;
    for (double x = ceil(f->xmin / xstep) * xstep; x <= f->xmax + 1e-9 * xstep; x += xstep) {
        double X = px(f, x);
        if (x > f->xmin)
            line(c, X, f->top, X, f->bottom, C_GRID, 1);
        line(c, X, f->bottom, X, f->bottom + 5, C_INK, 1);
        snprintf(lab, sizeof lab, "%g", x);
        text(c, X, f->bottom + 19, lab, 12, FLOW_ANCHOR_MIDDLE, C_INK, false, 0);
    }
    line(c, f->left, f->top, f->left, f->bottom, C_INK, 1.2);
    line(c, f->left, f->bottom, f->right, f->bottom, C_INK, 1.2);
    text(c, (f->left + f->right) / 2, f->bottom + 42, ch->xlabel, 13, FLOW_ANCHOR_MIDDLE, C_INK, false, 0);
    text(c, 22, (f->top + f->bottom) / 2, ch->ylabel, 13, FLOW_ANCHOR_MIDDLE, C_INK, false, 90);
}

/* If s ends in exact zeros after a drawable point, the index of that point; else SIZE_MAX. */
static size_t zero_tail(const FlowSeries *s)
{
    size_t last = SIZE_MAX;
    for (size_t i = 0; i < s->n; i++)
        if (drawable(s->y[i]))
            last = i;
    if (last == SIZE_MAX || last + 1 >= s->n)
        return SIZE_MAX;
    for (size_t i = last + 1; i < s->n; i++)
        if (!is_zero(s->y[i]))
            return SIZE_MAX;
    return last;
}

/* Thins a run of n points (pixel coordinates, x increasing) in place: of the points that fall
 * in one half-point column it keeps the first, the lowest, the highest and the last, in order,
 * so a series of a million points draws the same with a few thousand. Returns the new count. */
static size_t thin(double *xy, size_t n)
{
    size_t out = 0, i = 0;
    while (i < n) {
        double col = floor(xy[2 * i] * 2);
        size_t j = i, lo = i, hi = i;
        for (; j < n && floor(xy[2 * j] * 2) == col; j++) {
            if (xy[2 * j + 1] < xy[2 * lo + 1])
                lo = j;
            if (xy[2 * j + 1] > xy[2 * hi + 1])
                hi = j;
        }
        /* non-decreasing indices, each >= its destination: copying forward is safe */
        size_t keep[4] = {i, lo < hi ? lo : hi, lo < hi ? hi : lo, j - 1}, prev = SIZE_MAX;
        for (int k = 0; k < 4; k++) {
            if (keep[k] == prev)
                continue;
            xy[2 * out] = xy[2 * keep[k]];
            xy[2 * out + 1] = xy[2 * keep[k] + 1];
            out++;
            prev = keep[k];
        }
        i = j;
    }
    return out;
}

/* Marks the ops from `first` on as drawing the data of series `name`. */
static void tag_series(Ctx *c, size_t first, const char *name)
{
    for (size_t i = first; i < c->d->nops; i++)
        c->d->ops[i].series = name;
}

/* The polyline pieces of s (split at undrawable points), markers, and the dotted drop to the
 * axis when s ends in zeros (its note is drawn later, by draw_notes). */
static void draw_series(Ctx *c, const Frame *f, const FlowSeries *s)
{
    const char *name = str_dup(c, s->short_name ? s->short_name : s->label);
    size_t first = c->d->nops;
    double width = s->width > 0 ? s->width : 2;
    double on = s->dashed ? 7 : 0, off = s->dashed ? 4 : 0;
    double *xy = malloc((s->n ? s->n : 1) * 2 * sizeof *xy);
    if (!xy) {
        c->oom = true;
        return;
    }
    size_t run = 0;
    for (size_t i = 0; i <= s->n; i++) {
        if (i < s->n && drawable(s->y[i])) {
            xy[2 * run] = px(f, s->x[i]);
            xy[2 * run + 1] = py(f, s->y[i]);
            run++;
            continue;
        }
        path(c, xy, thin(xy, run), s->rgb, width, on, off);
        run = 0;
    }
    free(xy);
    if (s->markers)
        for (size_t i = 0; i < s->n; i++)
            if (drawable(s->y[i]))
                circle(c, px(f, s->x[i]), py(f, s->y[i]), 2.8, s->rgb, 0xFFFFFFu);
    size_t last = zero_tail(s);
    if (last == SIZE_MAX) {
        tag_series(c, first, name);
        return;
    }
    double x0 = px(f, s->x[last]), y0 = py(f, s->y[last]), x1 = px(f, s->x[last + 1]);
    double xy2[4] = {x0, y0, x1, f->bottom};
    path(c, xy2, 2, s->rgb, width * 0.75, 2, 3);
    circle(c, x1, f->bottom, 3.2, s->rgb, s->rgb);
    tag_series(c, first, name);
}

static bool box_free(const Ctx *c, const Frame *f, const FlowChart *ch, double x, double y, double w, double h);

/* One note per place where series fall to zero for good: "relu = 0 from n = 6" (names joined
 * when several fall at the same x), set just above the axis on whichever side of the drop, and
 * at whichever height, leaves it clear of the lines. */
static void draw_notes(Ctx *c, const Frame *f, const FlowChart *ch)
{
    const double size = 11.5;
    bool done[MAX_SUFFIX] = {false};
    for (size_t k = 0; k < ch->nseries && k < MAX_SUFFIX; k++) {
        const FlowSeries *s = &ch->series[k];
        size_t last = zero_tail(s);
        if (done[k] || last == SIZE_MAX)
            continue;
        double x0 = s->x[last + 1];
        char names[200] = "";
        int count = 0;
        for (size_t j = k; j < ch->nseries && j < MAX_SUFFIX; j++) {
            const FlowSeries *t = &ch->series[j];
            size_t lj = zero_tail(t);
            if (done[j] || lj == SIZE_MAX || t->x[lj + 1] != x0)
                continue;
            done[j] = true;
            size_t used = strlen(names);
            snprintf(names + used, sizeof names - used, "%s%s", count++ ? ", " : "",
                     t->short_name ? t->short_name : t->label);
        }
        char msg[300];
        snprintf(msg, sizeof msg, "%s = 0 from %s = %g", names, ch->xvar, x0);
        double X = px(f, x0), tw = text_width(msg, size);
        double tx = 0, ty = 0;
        bool right = true, found = false;
        for (int row = 0; row < 6 && !found; row++)
            for (int side = 0; side < 2 && !found; side++) {
                right = side == 0;
                tx = right ? X + 7 : X - 7, ty = f->bottom - 8 - 15 * row;
                if ((right && tx + tw > f->right) || (!right && tx - tw < f->left))
                    continue;
                found = c->nnotes < MAX_NOTES && box_free(c, f, ch, right ? tx : tx - tw, ty - size, tw, size + 2);
            }
        if (!found) {
            /* no clear place in the plot: the legend says it, after each series' label */
            char tail[96];
            snprintf(tail, sizeof tail, "   (0 from %s = %g)", ch->xvar, x0);
            for (size_t j = k; j < ch->nseries && j < MAX_SUFFIX; j++) {
                size_t lj = zero_tail(&ch->series[j]);
                if (lj != SIZE_MAX && ch->series[j].x[lj + 1] == x0)
                    c->suffix[j] = str_dup(c, tail);
            }
            continue;
        }
        text(c, tx, ty, msg, size, right ? FLOW_ANCHOR_START : FLOW_ANCHOR_END, count == 1 ? s->rgb : C_INK, false,
             0);
        double *r = c->notes[c->nnotes++];
        r[0] = right ? tx : tx - tw, r[1] = ty - size, r[2] = tw, r[3] = size + 3;
    }
}

/* Whether box [x, x+w] × [y, y+h] (grown by 4 pt) touches anything drawn in the plot:
 * a series (sampled every 3 pt along each segment), a drop to the axis, or a note. */
static bool box_free(const Ctx *c, const Frame *f, const FlowChart *ch, double x, double y, double w, double h)
{
    x -= 4, y -= 4, w += 8, h += 8;
    for (int i = 0; i < c->nnotes; i++) {
        const double *r = c->notes[i];
        if (r[0] < x + w && x < r[0] + r[2] && r[1] < y + h && y < r[1] + r[3])
            return false;
    }
    for (size_t k = 0; k < ch->nseries; k++) {
        const FlowSeries *s = &ch->series[k];
        size_t tail = zero_tail(s);
        for (size_t i = 0; i + 1 < s->n; i++) {
            bool drop = i == tail;
            if (!drawable(s->y[i]) || (!drawable(s->y[i + 1]) && !drop))
                continue;
            double x0 = px(f, s->x[i]), y0 = py(f, s->y[i]), x1 = px(f, s->x[i + 1]);
            double y1 = drop ? f->bottom : py(f, s->y[i + 1]);
            int steps = 1 + (int)(hypot(x1 - x0, y1 - y0) / 3);
            for (int j = 0; j <= steps; j++) {
                double X = x0 + (x1 - x0) * j / steps, Y = y0 + (y1 - y0) * j / steps;
                if (X >= x && X <= x + w && Y >= y && Y <= y + h)
                    return false;
            }
        }
    }
    return true;
}

/* The legend goes inside the plot where it covers nothing — along the top edge first, right
 * to left, then along the bottom edge — and below the plot, growing the drawing, if no such
 * place exists. */
static void legend_label(const Ctx *c, const FlowChart *ch, size_t k, char *out, size_t size)
{
    snprintf(out, size, "%s%s", ch->series[k].label, k < MAX_SUFFIX && c->suffix[k] ? c->suffix[k] : "");
}

static void draw_legend(Ctx *c, const Frame *f, const FlowChart *ch)
{
    const double size = 12, row = 19, pad = 10, sample = 30, m = 10, gap = 24;
    char label[512];
    double tw = 0;
    for (size_t k = 0; k < ch->nseries; k++) {
        legend_label(c, ch, k, label, sizeof label);
        double w = text_width(label, size);
        if (w > tw)
            tw = w;
    }
    double entry = sample + 8 + tw; /* one column */
    size_t cols = 1, rows = ch->nseries;
    double w = pad + entry + pad, h = pad * 2 + row * (double)rows - 5;
    double x = 0, y = 0;
    bool inside = false;
    double slack = (f->right - f->left) - 2 * m - w;
    for (int edge = 0; edge < 2 && !inside && slack >= 0; edge++)
        for (int i = 0; i <= 12 && !inside; i++) {
            x = f->right - m - w - slack * i / 12;
            y = edge == 0 ? f->top + m : f->bottom - m - h;
            inside = box_free(c, f, ch, x, y, w, h);
        }
    if (!inside) {
        /* below the x-axis title, in two columns when they fit */
        FlowDrawing *d = c->d;
        if (ch->nseries >= 3 && pad * 2 + entry * 2 + gap <= d->width - 2 * m) {
            cols = 2;
            rows = (ch->nseries + 1) / 2;
        }
        w = pad * 2 + entry * (double)cols + gap * (double)(cols - 1);
        h = pad * 2 + row * (double)rows - 5;
        x = fmax(m, (d->width - w) / 2);
        y = d->height - 8;
        d->height += h + 4;
        if (d->nops && d->ops[0].kind == FLOWOP_RECT)
            d->ops[0].h = d->height; /* the background */
    }
    rect(c, x, y, w, h, C_FRAME, 0xFFFFFFu);
    for (size_t k = 0; k < ch->nseries; k++) {
        const FlowSeries *s = &ch->series[k];
        double lx = x + pad + (double)(k % cols) * (entry + gap), ly = y + pad + row * (double)(k / cols) + 6;
        double width = s->width > 0 ? s->width : 2;
        path(c, (double[]){lx, ly, lx + sample, ly}, 2, s->rgb, width, s->dashed ? 7 : 0, s->dashed ? 4 : 0);
        if (s->markers)
            circle(c, lx + sample / 2, ly, 2.8, s->rgb, 0xFFFFFFu);
        legend_label(c, ch, k, label, sizeof label);
        text(c, lx + sample + 8, ly + 4.2, label, size, FLOW_ANCHOR_START, C_INK, false, 0);
    }
}

bool flowchart_layout(const FlowChart *ch, FlowDrawing *d, Err *err)
{
    *d = (FlowDrawing){0};
    d->width = ch->width > 0 ? ch->width : 760;
    d->height = ch->height > 0 ? ch->height : 480;
    Ctx c = {.d = d};
    d->title = str_dup(&c, ch->title ? ch->title : "");

    Frame f = {.left = 88, .top = ch->subtitle ? 70 : 52, .right = d->width - 28, .bottom = d->height - 62};
    double ymin = INFINITY, ymax = -INFINITY; /* log10 */
    f.xmin = INFINITY;
    f.xmax = -INFINITY;
    for (size_t k = 0; k < ch->nseries; k++) {
        const FlowSeries *s = &ch->series[k];
        for (size_t i = 0; i < s->n; i++) {
            if (isfinite(s->x[i])) {
                f.xmin = fmin(f.xmin, s->x[i]);
                f.xmax = fmax(f.xmax, s->x[i]);
            }
            if (drawable(s->y[i])) {
                ymin = fmin(ymin, s->y[i]);
                ymax = fmax(ymax, s->y[i]);
            }
        }
    }
    if (!(f.xmin < f.xmax)) {
        if (!isfinite(f.xmin))
            f.xmin = 0;
        f.xmax = f.xmin + 1;
    }
    bool empty = !isfinite(ymax);
    if (empty) {
        f.lo = -1;
        f.hi = 1;
    } else {
        /* a million decades is beyond any chart (and keeps the int conversion defined) */
        f.lo = (int)floor(fmax(ymin, -1e6));
        f.hi = (int)ceil(fmin(ymax, 1e6));
        if (f.lo == f.hi) { /* every value is the same power of ten: give it room both ways */
            f.lo--;
            f.hi++;
        }
    }
    for (size_t k = 0; k < ch->nseries && !empty; k++)
        if (zero_tail(&ch->series[k]) != SIZE_MAX && ymin - f.lo < 0.5) {
            f.lo--; /* room under the lowest point for a drop to zero to read as a drop */
            break;
        }
    f.step = (int)nice_step(f.hi - f.lo, 8);
    f.lo = (int)floor((double)f.lo / f.step) * f.step;
    f.hi = (int)ceil((double)f.hi / f.step) * f.step;

    rect(&c, 0, 0, d->width, d->height, FLOWCHART_NONE, 0xFFFFFFu);
    text(&c, d->width / 2, 26, ch->title ? ch->title : "", 16, FLOW_ANCHOR_MIDDLE, C_INK, true, 0);
    if (ch->subtitle)
        text(&c, d->width / 2, 46, ch->subtitle, 12, FLOW_ANCHOR_MIDDLE, C_MUTED, false, 0);
    draw_axes(&c, &f, ch);
    /* theoretical (dashed) curves first, so measured lines are drawn over them */
    for (int pass = 0; pass < 2; pass++)
        for (size_t k = 0; k < ch->nseries; k++)
            if (ch->series[k].dashed == (pass == 0))
                draw_series(&c, &f, &ch->series[k]);
    draw_notes(&c, &f, ch);
    if (empty)
        text(&c, (f.left + f.right) / 2, (f.top + f.bottom) / 2, "no non-zero value to draw on a log scale", 13,
             FLOW_ANCHOR_MIDDLE, C_MUTED, false, 0);
    if (ch->nseries)
        draw_legend(&c, &f, ch);
    if (c.oom) {
        flowchart_drawing_free(d);
        return err_set(err, ERR_IO, "out of memory");
    }
    return true;
}

void flowchart_drawing_free(FlowDrawing *d)
{
    free(d->ops);
    arena_free(&d->arena);
    *d = (FlowDrawing){0};
}

/* ---- SVG ---- */

/* A coordinate with at most two decimals and no trailing zeros. */
static void put_coord(Buf *b, double v)
{
    char s[48];
    snprintf(s, sizeof s, "%.2f", v);
    char *dot = strchr(s, '.');
    if (dot) {
        char *end = s + strlen(s);
        while (end > dot + 1 && end[-1] == '0')
            *--end = '\0';
        if (end[-1] == '.')
            end[-1] = '\0';
    }
    if (strcmp(s, "-0") == 0)
        strcpy(s, "0");
    buf_puts(b, s);
}

static void put_color(Buf *b, const char *attr, uint32_t rgb)
{
    if (rgb == FLOWCHART_NONE)
        buf_printf(b, " %s=\"none\"", attr);
    else
        buf_printf(b, " %s=\"#%06X\"", attr, (unsigned)rgb);
}

/* ` name="v"`, v a coordinate. */
static void put_attr(Buf *b, const char *name, double v)
{
    buf_printf(b, " %s=\"", name);
    put_coord(b, v);
    buf_puts(b, "\"");
}

static void put_stroke(Buf *b, const FlowOp *o)
{
    put_color(b, "stroke", o->stroke);
    if (o->stroke == FLOWCHART_NONE)
        return;
    put_attr(b, "stroke-width", o->line_width);
    if (o->dash[0] > 0) {
        buf_puts(b, " stroke-dasharray=\"");
        put_coord(b, o->dash[0]);
        buf_puts(b, " ");
        put_coord(b, o->dash[1]);
        buf_puts(b, "\"");
    }
}

static void put_series(Buf *b, const FlowOp *o)
{
    if (!o->series)
        return;
    buf_puts(b, " data-series=\"");
    strconv_put_xml(b, o->series, false);
    buf_puts(b, "\"");
}

void flowchart_svg(const FlowDrawing *d, Buf *b)
{
    buf_puts(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"gradviz-flowchart\"");
    put_attr(b, "width", d->width);
    put_attr(b, "height", d->height);
    buf_puts(b, " viewBox=\"0 0 ");
    put_coord(b, d->width);
    buf_puts(b, " ");
    put_coord(b, d->height);
    buf_puts(b, "\" font-family=\"'DejaVu Sans', Verdana, Arial, sans-serif\" role=\"img\">\n<title>");
    strconv_put_xml(b, d->title ? d->title : "", false);
    buf_puts(b, "</title>\n");
    for (size_t i = 0; i < d->nops; i++) {
        const FlowOp *o = &d->ops[i];
        switch (o->kind) {
        case FLOWOP_PATH:
            buf_puts(b, o->npts == 2 ? "<line" : "<polyline");
            if (o->npts == 2) {
                put_attr(b, "x1", o->pts[0]);
                put_attr(b, "y1", o->pts[1]);
                put_attr(b, "x2", o->pts[2]);
                put_attr(b, "y2", o->pts[3]);
            } else {
                buf_puts(b, " points=\"");
                for (size_t k = 0; k < o->npts; k++) {
                    if (k)
                        buf_puts(b, " ");
                    put_coord(b, o->pts[2 * k]);
                    buf_puts(b, ",");
                    put_coord(b, o->pts[2 * k + 1]);
                }
                buf_puts(b, "\" stroke-linejoin=\"round\"");
            }
            buf_puts(b, " fill=\"none\"");
            put_stroke(b, o);
            put_series(b, o);
            buf_puts(b, "/>\n");
            break;
        case FLOWOP_RECT:
            buf_puts(b, "<rect");
            put_attr(b, "x", o->x);
            put_attr(b, "y", o->y);
            put_attr(b, "width", o->w);
            put_attr(b, "height", o->h);
            put_color(b, "fill", o->fill);
            put_stroke(b, o);
            buf_puts(b, "/>\n");
            break;
        case FLOWOP_CIRCLE:
            buf_puts(b, "<circle");
            put_attr(b, "cx", o->x);
            put_attr(b, "cy", o->y);
            put_attr(b, "r", o->r);
            put_color(b, "fill", o->fill);
            put_stroke(b, o);
            put_series(b, o);
            buf_puts(b, "/>\n");
            break;
        case FLOWOP_TEXT: {
            static const char *const ANCHOR[] = {"start", "middle", "end"};
            buf_puts(b, "<text");
            put_attr(b, "x", o->x);
            put_attr(b, "y", o->y);
            put_attr(b, "font-size", o->size);
            buf_printf(b, " text-anchor=\"%s\"", ANCHOR[o->anchor]);
            put_color(b, "fill", o->fill);
            if (o->bold)
                buf_puts(b, " font-weight=\"bold\"");
            if (o->rotate != 0) {
                /* SVG's y points down, so counterclockwise is a negative angle */
                buf_puts(b, " transform=\"rotate(");
                put_coord(b, -o->rotate);
                buf_puts(b, " ");
                put_coord(b, o->x);
                buf_puts(b, " ");
                put_coord(b, o->y);
                buf_puts(b, ")\"");
            }
            buf_puts(b, ">");
            strconv_put_xml(b, o->text, false);
            buf_puts(b, "</text>\n");
            break;
        }
        }
    }
    buf_puts(b, "</svg>\n");
}

/* ---- The two charts of gradviz ---- */

static const uint32_t ACT_COLOR[FLOW_ACT_COUNT] = {
    [FLOW_SIGMOID] = C_VERMILLION,
    [FLOW_TANH] = C_BLUE,
    [FLOW_RELU] = C_GREEN,
};

bool flowchart_experiment(const FlowExperiment *x, FlowDrawing *d, Err *err)
{
    uint32_t n = x->layers + 1; /* n = 0 .. N */
    double *xs = malloc(n * sizeof *xs), *ys = malloc((size_t)n * (x->nacts + 1) * sizeof *ys);
    if (!xs || !ys) {
        free(xs);
        free(ys);
        *d = (FlowDrawing){0};
        return err_set(err, ERR_IO, "out of memory");
    }
    FlowSeries series[FLOW_ACT_COUNT + 1];
    char labels[FLOW_ACT_COUNT][96];
    size_t ns = 0;
    bool sigmoid = false;
    for (uint32_t k = 0; k < n; k++)
        xs[k] = k;
    for (uint32_t a = 0; a < x->nacts; a++) {
        FlowAct act = x->acts[a];
        double *y = ys + (size_t)a * n;
        for (uint32_t k = 0; k < n; k++)
            y[k] = flow_log10_mean(x, a, k);
        static const char *const FACTOR[FLOW_ACT_COUNT] = {
            [FLOW_SIGMOID] = "E[σ′(z)]", [FLOW_TANH] = "E[1 − tanh²(z)]", [FLOW_RELU] = "E[1{z > 0}]"};
        snprintf(labels[a], sizeof labels[a], "%s: %s = %.4g per layer", flow_act_name(act), FACTOR[act],
                 flow_act_expected(act));
        series[ns++] = (FlowSeries){.label = labels[a], .short_name = flow_act_name(act), .x = xs, .y = y, .n = n,
                                    .rgb = ACT_COLOR[act], .width = 2.2};
        sigmoid = sigmoid || act == FLOW_SIGMOID;
    }
    if (sigmoid) {
        double *y = ys + (size_t)x->nacts * n;
        for (uint32_t k = 0; k < n; k++)
            y[k] = k * log10(0.25);
        series[ns++] = (FlowSeries){.label = "0.25ⁿ: the sigmoid bound (σ′ ≤ 0.25)", .short_name = "0.25ⁿ", .x = xs,
                                    .y = y, .n = n, .rgb = C_INK, .width = 1.4, .dashed = true};
    }
    char subtitle[160];
    snprintf(subtitle, sizeof subtitle, "a chain of %u layers, pre-activations z ~ N(0, 1), %u trial%s, seed %llu",
             x->layers, x->trials, x->trials == 1 ? "" : "s", (unsigned long long)x->seed);
    FlowChart ch = {.title = "Vanishing gradients: mean |gradient| after n layers",
                    .subtitle = subtitle,
                    .xlabel = "layers n",
                    .ylabel = "mean |gradient|   (log scale)",
                    .xvar = "n",
                    .series = series,
                    .nseries = ns};
    bool ok = flowchart_layout(&ch, d, err);
    free(xs);
    free(ys);
    return ok;
}

bool flowchart_profile(const FlowProfile *p, const char *model_title, const char *output, FlowDrawing *d,
                       Err *err)
{
    uint32_t n = p->nlevels;
    double *xs = malloc((n ? n : 1) * sizeof *xs), *ys = malloc((n ? n : 1) * 2 * sizeof *ys);
    if (!xs || !ys) {
        free(xs);
        free(ys);
        *d = (FlowDrawing){0};
        return err_set(err, ERR_IO, "out of memory");
    }
    for (uint32_t k = 0; k < n; k++) {
        xs[k] = k;
        ys[k] = p->levels[k].nodes ? log10(p->levels[k].mean) : NAN; /* log10(0) = -inf: a zero */
        ys[n + k] = p->levels[k].nodes ? log10(p->levels[k].max) : NAN;
    }
    const char *L = output ? output : "L";
    if (model_title && !*model_title)
        model_title = NULL;
    char ylabel[128], lmean[160], lmax[160], subtitle[400], tail[160];
    snprintf(ylabel, sizeof ylabel, "|∂%s/∂node|   (log scale)", L);
    snprintf(lmean, sizeof lmean, "mean |∂%s/∂node| at each depth", L);
    snprintf(lmax, sizeof lmax, "largest |∂%s/∂node| at each depth", L);
    snprintf(tail, sizeof tail, "%snodes grouped by their longest path to %s", model_title ? ": " : "", L);
    /* the model's title, shortened with "…" (at a character boundary) so the subtitle fits the
     * chart's 760 points with a margin: titles can be any length */
    size_t keep = model_title ? strlen(model_title) : 0;
    if (keep > 200)
        keep = 200;
    char head[208];
    for (;;) {
        while (keep > 0 && model_title && ((unsigned char)model_title[keep] & 0xC0) == 0x80)
            keep--;
        bool cut = model_title && keep < strlen(model_title);
        snprintf(head, sizeof head, "%.*s%s", (int)keep, model_title ? model_title : "", cut ? "…" : "");
        if (keep == 0 || text_width(head, 12) + text_width(tail, 12) <= 700)
            break;
        keep--;
    }
    snprintf(subtitle, sizeof subtitle, "%s%s", head, tail);
    bool markers = n <= 40;
    FlowSeries series[2] = {
        {.label = lmax, .short_name = "largest", .x = xs, .y = ys + n, .n = n, .rgb = C_VERMILLION, .width = 1.6,
         .markers = markers},
        {.label = lmean, .short_name = "mean", .x = xs, .y = ys, .n = n, .rgb = C_BLUE, .width = 2.2,
         .markers = markers},
    };
    FlowChart ch = {.title = "Gradient magnitude by depth",
                    .subtitle = subtitle,
                    .xlabel = "depth   (edges on the longest path to the output)",
                    .ylabel = ylabel,
                    .xvar = "depth",
                    .series = series,
                    .nseries = 2};
    bool ok = flowchart_layout(&ch, d, err);
    free(xs);
    free(ys);
    return ok;
}
