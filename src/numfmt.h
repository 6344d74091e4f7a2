/* numfmt: fast text for numbers in the JSON trace. A 1,000,000-node trace holds ~10 million
 * numbers; printf("%.17g") plus a read-back check costs ~0.5 µs each, which alone would take
 * seconds. These produce the shortest decimal (15, 16 or 17 significant digits) that reads
 * back to the same double, in ~0.1 µs. */
#ifndef GRADVIZ_NUMFMT_H
#define GRADVIZ_NUMFMT_H

#include <stddef.h>
#include <stdint.h>

#define NUMFMT_MAX 32 /* enough for any output, NUL included */

/* Writes a finite v as a JSON number that strtod reads back to exactly v ("0.3", "-1e-07",
 * "12", "-0"). Returns the length. v must be finite. */
size_t numfmt_double(char out[NUMFMT_MAX], double v);
/* Writes an unsigned integer. Returns the length. */
size_t numfmt_uint(char out[NUMFMT_MAX], uint64_t v);

#endif
