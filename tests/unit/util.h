/* util.h: what the unit tests share — cmocka, a Source built from a string, parsing a model
 * from memory, capturing diagnostics in memory, and a tolerance check in the spirit of llm.c's
 * check_tensor (|a - b| <= atol + rtol·|b|, reporting both numbers when it fails). */
#ifndef GRADVIZ_TEST_UTIL_H
#define GRADVIZ_TEST_UTIL_H

#define _POSIX_C_SOURCE 200809L /* open_memstream */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Fills *src with a malloc'd, NUL-terminated copy of text[0..len) (NULs allowed inside) and
 * its line map. The path is "t.grad". Free with source_free. */
static inline void src_init_mem(Source *src, const char *text, size_t len)
{
    memset(src, 0, sizeof *src);
    src->path = "t.grad";
    src->text = malloc(len + 1);
    assert_non_null(src->text);
    memcpy(src->text, text, len);
    src->text[len] = '\0';
    src->len = len;
    assert_true(source_index_lines(src));
}

static inline void src_init(Source *src, const char *text) { src_init_mem(src, text, strlen(text)); }

/* Line and column of an error's span (0:0 when it has none). */
static inline void err_line_col(const Source *src, const Err *err, uint32_t *line, uint32_t *col)
{
    *line = *col = 0;
    if (err->has_span)
        source_line_col(src, err->span.off, line, col);
}

/* true when a and b agree like llm.c's check_tensor: |a-b| <= atol + rtol·|b|. NaNs agree
 * with NaNs, infinities with the same infinity. */
static inline bool num_close(double a, double b, double rtol, double atol)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    if (isinf(a) || isinf(b))
        return a == b;
    return fabs(a - b) <= atol + rtol * fabs(b);
}

#define assert_close(a, b, rtol, atol) \
    assert_close_at((a), (b), (rtol), (atol), #a, __FILE__, __LINE__)

static inline void assert_close_at(double a, double b, double rtol, double atol, const char *what,
                                   const char *file, int line)
{
    if (num_close(a, b, rtol, atol))
        return;
    print_error("%s:%d: %s = %.17g, expected %.17g (diff %.3g, rtol %g, atol %g)\n", file, line, what, a, b,
                fabs(a - b), rtol, atol);
    _fail(file, line);
}

/* Central difference of f around x with step h = 1e-6·max(1, |x|). The step actually taken
 * ((x+h) - (x-h), computed in floating point) is used, removing the representation error of
 * x ± h from the quotient. */
static inline double central_diff(double (*f)(double, const void *), const void *ctx, double x)
{
    double h = 1e-6 * (fabs(x) > 1 ? fabs(x) : 1);
    volatile double xp = x + h, xm = x - h; /* volatile: keep the rounded values */
    return (f(xp, ctx) - f(xm, ctx)) / (xp - xm);
}

/* An in-memory stream for diagnostics; mem_close returns the text (caller frees). */
typedef struct MemOut {
    FILE *f;
    char *buf;
    size_t len;
} MemOut;

static inline void mem_open(MemOut *m)
{
    m->buf = NULL;
    m->len = 0;
    m->f = open_memstream(&m->buf, &m->len);
    assert_non_null(m->f);
}

static inline char *mem_close(MemOut *m)
{
    assert_int_equal(fclose(m->f), 0);
    return m->buf;
}

#endif
