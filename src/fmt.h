/* fmt: the text every drawn format shows — numbers to N significant digits with a true minus
 * sign, node titles (operator symbols with folded literals), and gradient names. DOT, PDF and
 * HTML all use these so the same number reads the same everywhere (and tests can search a PDF
 * for the string a label shows). */
#ifndef GRADVIZ_FMT_H
#define GRADVIZ_FMT_H

#include "ad.h"

#define FMT_NUM_MAX 48  /* enough for any formatted number */

/* Formats v with `precision` significant digits (%g style, trailing zeros dropped), a Unicode
 * minus (U+2212) for negatives, "NaN", "∞", "−∞" for non-finite values. Returns out. */
char *fmt_num(char out[FMT_NUM_MAX], double v, int precision);
/* Same but with an ASCII '-' (for contexts that need plain ASCII, e.g. file names). */
char *fmt_num_ascii(char out[FMT_NUM_MAX], double v, int precision);

/* The symbol drawn for node n: "×", "σ", "2×" / "×2" when a literal is folded in (in the order
 * written), "^2" for x^2. Appended to b. */
void fmt_node_symbol(Buf *b, const Graph *g, uint32_t n, int precision);
/* A short human name for node n: its name if it has one, else "#id symbol". Appended to b. */
void fmt_node_name(Buf *b, const Graph *g, uint32_t n, int precision);
/* Name of the primary output, for "∂L/∂x" (the output's name). */
const char *fmt_output_name(const Trace *t);

/* "nan", "inf", "-inf" for a non-finite v, NULL for a finite one (JSON markers). */
const char *fmt_nonfinite(double v);

#endif
