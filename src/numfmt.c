/* numfmt: shortest round-trip decimal for doubles, without printf.
 *
 * For p = 15, 16, 17 significant digits: scale |v| by a power of ten in long double (64-bit
 * mantissa, so the scaled value carries ~19 correct digits), round to a p-digit integer, and
 * keep the first p whose decimal lies within half an ulp of v (then strtod reads it back as
 * v). Candidates too close to that boundary to decide in long double are checked with strtod;
 * if even 17 digits fail (not seen, not excluded) snprintf("%.17g"), which is exact, decides.
 * Output follows %g: exponent form below 1e-4 and from 10^p up. */
#include "numfmt.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t numfmt_uint(char out[NUMFMT_MAX], uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
    return n;
}

/* 10^k for 0 <= k <= 27 is exact in a long double (5^27 < 2^64). */
static long double pow10l_exact(int k)
{
    static const long double P[] = {
        1e0L, 1e1L, 1e2L, 1e3L, 1e4L, 1e5L, 1e6L, 1e7L, 1e8L, 1e9L, 1e10L, 1e11L, 1e12L, 1e13L,
        1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L, 1e20L, 1e21L, 1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L,
    };
    return P[k];
}

/* |v| * 10^k in long double; exact powers where possible, repeated for large k. */
static long double scale10(long double v, int k)
{
    while (k > 27) {
        v *= 1e27L;
        k -= 27;
    }
    while (k < -27) {
        v /= 1e27L;
        k += 27;
    }
    return k >= 0 ? v * pow10l_exact(k) : v / pow10l_exact(-k);
}

/* Writes digits d (p of them, most significant first, trailing zeros already trimmed to nd)
 * with decimal exponent e (value = d.ddd × 10^e) in %g style. */
static size_t layout(char *out, bool neg, const char *d, int nd, int e, int p)
{
    size_t o = 0;
    if (neg)
        out[o++] = '-';
    if (e < -4 || e >= p) { /* exponent form, as %g: 1.5e-05, 1e+21 */
        out[o++] = d[0];
        if (nd > 1) {
            out[o++] = '.';
            memcpy(out + o, d + 1, (size_t)nd - 1);
            o += (size_t)nd - 1;
        }
        out[o++] = 'e';
        out[o++] = e < 0 ? '-' : '+';
        int ae = e < 0 ? -e : e;
        if (ae >= 100)
            out[o++] = (char)('0' + ae / 100);
        out[o++] = (char)('0' + ae / 10 % 10);
        out[o++] = (char)('0' + ae % 10);
    } else if (e < 0) { /* 0.000ddd */
        out[o++] = '0';
        out[o++] = '.';
        for (int i = -1; i > e; i--)
            out[o++] = '0';
        memcpy(out + o, d, (size_t)nd);
        o += (size_t)nd;
    } else { /* ddd.ddd or ddd */
        for (int i = 0; i <= e; i++)
            out[o++] = i < nd ? d[i] : '0';
        if (nd > e + 1) {
            out[o++] = '.';
            memcpy(out + o, d + e + 1, (size_t)(nd - e - 1));
            o += (size_t)(nd - e - 1);
        }
    }
    out[o] = '\0';
    return o;
}

size_t numfmt_double(char out[NUMFMT_MAX], double v)
{
    if (v == 0) {
        strcpy(out, signbit(v) ? "-0" : "0");
        return strlen(out);
    }
    if (!isnormal(v)) /* subnormals: rare, let printf be exact */
        return (size_t)snprintf(out, NUMFMT_MAX, "%.17g", v);
    bool neg = v < 0;
    long double a = neg ? -(long double)v : (long double)v;
    /* X = |v| scaled to 17 integer digits: 10^16 <= X < 10^17 */
    int e = (int)floor(log10(fabs(v)));
    long double X = scale10(a, 16 - e);
    if (X >= 1e17L) {
        e++;
        X = scale10(a, 16 - e);
    } else if (X < 1e16L) {
        e--;
        X = scale10(a, 16 - e);
    }
    /* half the gap to the neighbouring doubles, on the same scale: a decimal closer to X
     * than that reads back as v */
    long double H = scale10(ldexpl(1.0L, ilogb(v) - 53), 16 - e);
    /* At a power of two the double below is twice as close as the one above, so a decimal
     * below v must be within half of that smaller gap. */
    int exp2;
    bool pow2 = frexp(fabs(v), &exp2) == 0.5;
    static const uint64_t DIV[] = {100, 10, 1};
    for (int p = 15; p <= 17; p++) {
        uint64_t div = DIV[p - 15];
        uint64_t c = (uint64_t)(X / (long double)div + 0.5L); /* round half up to p digits */
        /* X carries ~1e-19 relative error, far below H (~1e-16 relative), so only
         * candidates within 1% of the boundary need the exact answer from strtod. */
        long double cand = (long double)c * (long double)div;
        long double diff = fabsl(cand - X), h = pow2 && cand < X ? H / 2 : H;
        bool sure_in = diff < h * 0.99L, sure_out = diff > h * 1.01L;
        if (sure_out && p < 17)
            continue;
        int ee = e, nd = p;
        if (c >= (uint64_t)pow10l_exact(p)) { /* 9.99..95 rounded up to 10.0 */
            c /= 10;
            ee++;
        }
        char d[24];
        for (int i = p - 1; i >= 0; i--) {
            d[i] = (char)('0' + c % 10);
            c /= 10;
        }
        while (nd > 1 && d[nd - 1] == '0')
            nd--;
        size_t n = layout(out, neg, d, nd, ee, p);
        if (sure_in || strtod(out, NULL) == v)
            return n;
    }
    return (size_t)snprintf(out, NUMFMT_MAX, "%.17g", v);
}
