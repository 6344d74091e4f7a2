/* pdfdraw_demo: a manual tool for looking at pdfdraw's output. Reads a DOT file, lays it out
 * with Graphviz, renders the xdot attributes and writes a one-page PDF drawn by pdfdraw, so the
 * result can be set beside `dot -Tpng` of the same file:
 *
 *   pdfdraw_demo in.dot out.pdf          page = the drawing's own size (1 graph pt = 1 PDF pt)
 *   pdfdraw_demo in.dot out.pdf a4       the drawing fitted into A4 (landscape if wide)
 *
 * Not built by the Makefile (gradviz's own PDF is src/emit_pdf.c); build it by hand:
 *   cc -std=c11 -Wall -Wextra -Wshadow -pedantic -Werror -I/usr/include/graphviz -Isrc \
 *      tests/pdfdraw_demo.c src/pdfdraw.c src/base.c \
 *      -lgvc -lcgraph -lcdt -lxdot -lhpdf -lm -o build/pdfdraw_demo
 * (-DPDFDRAW_DEMO_ERR_STUBS instead of src/base.c builds it without the rest of gradviz.) */
#include <stdlib.h>
#include <string.h>

#include <graphviz/gvc.h>

#include "../src/pdfdraw.h"

#ifdef PDFDRAW_DEMO_ERR_STUBS
/* Minimal stand-ins with base.h's contract: the first error is kept. */
static bool demo_err_vset(Err *err, ErrKind kind, const char *fmt, va_list ap)
{
    if (err->kind != ERR_NONE)
        return false;
    err->kind = kind;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    return false;
}

bool err_set(Err *err, ErrKind kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    demo_err_vset(err, kind, fmt, ap);
    va_end(ap);
    return false;
}

bool err_at(Err *err, Span span, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err->kind == ERR_NONE) {
        err->has_span = true;
        err->span = span;
    }
    demo_err_vset(err, ERR_MODEL, fmt, ap);
    va_end(ap);
    return false;
}

void err_hint(Err *err, const char *fmt, ...)
{
    va_list ap;
    if (err->kind == ERR_NONE || err->hint[0])
        return;
    va_start(ap, fmt);
    vsnprintf(err->hint, sizeof err->hint, fmt, ap);
    va_end(ap);
}
#endif

/* libharu reports here; the first error goes into the Err passed as user_data. */
static void demo_on_hpdf_error(HPDF_STATUS code, HPDF_STATUS detail, void *user_data)
{
    err_set(user_data, ERR_IO, "libharu error 0x%04lX (detail %lu)", (unsigned long)code,
            (unsigned long)detail);
}

static bool demo_write_pdf(Agraph_t *g, const char *path, bool a4, Err *err)
{
    HPDF_Doc pdf = HPDF_New(demo_on_hpdf_error, err);
    if (!pdf)
        return err_set(err, ERR_IO, "cannot create a PDF document");
    /* Uncompressed, the two embedded faces alone are ~600 KB. */
    HPDF_SetCompressionMode(pdf, HPDF_COMP_ALL);
    PdfFonts fonts;
    bool ok = pdfdraw_load_fonts(pdf, &fonts, err);
    HPDF_Page page = ok ? HPDF_AddPage(pdf) : NULL;
    double gw = 0, gh = 0;
    ok = ok && page && pdfdraw_graph_size(g, &gw, &gh);
    if (ok) {
        double margin = 36, pw, ph;
        if (a4) {
            /* A4 in points; landscape when the drawing is wider than tall. */
            pw = gw > gh ? 842 : 595;
            ph = gw > gh ? 595 : 842;
        } else {
            pw = gw + 2 * margin;
            ph = gh + 2 * margin;
        }
        HPDF_Page_SetWidth(page, (HPDF_REAL)pw);
        HPDF_Page_SetHeight(page, (HPDF_REAL)ph);
        PdfBox box = {margin, margin, pw - 2 * margin, ph - 2 * margin}, drawn;
        ok = pdfdraw_graph(pdf, page, &fonts, g, &box, &drawn, err);
        if (ok)
            fprintf(stderr, "drawing %.1f x %.1f pt at (%.1f, %.1f), scale %.3f\n", drawn.w,
                    drawn.h, drawn.x, drawn.y, drawn.w / gw);
    }
    ok = ok && err_ok(err) && HPDF_SaveToFile(pdf, path) == HPDF_OK && err_ok(err);
    HPDF_Free(pdf);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "a4") != 0)) {
        fprintf(stderr, "usage: %s in.dot out.pdf [a4]\n", argv[0]);
        return 2;
    }
    FILE *in = fopen(argv[1], "r");
    if (!in) {
        perror(argv[1]);
        return 3;
    }
    Agraph_t *g = agread(in, NULL);
    fclose(in);
    if (!g) {
        fprintf(stderr, "%s: not a DOT graph\n", argv[1]);
        return 1;
    }
    GVC_t *gvc = gvContext();
    Err err = {0};
    int rc = 0;
    if (gvLayout(gvc, g, "dot") != 0 || gvRender(gvc, g, "xdot", NULL) != 0) {
        fprintf(stderr, "Graphviz layout failed\n");
        rc = 1;
    } else if (!demo_write_pdf(g, argv[2], argc == 4, &err)) {
        fprintf(stderr, "pdfdraw_demo: error: %s\n", err.msg[0] ? err.msg : "unknown");
        if (err.hint[0])
            fprintf(stderr, "note: %s\n", err.hint);
        rc = 3;
    }
    gvFreeLayout(gvc, g);
    agclose(g);
    gvFreeContext(gvc);
    return rc;
}
