/* strconv: values to and from the text of our formats — a double or a count as a JSON number,
 * a string escaped for XML and HTML, and a decimal count read from a command-line argument.
 * (The name and the split follow Go's strconv.) Several modules write the same JSON, SVG and
 * HTML text, and both command lines read the same counts; this is their one copy. Numbers are
 * formatted by numfmt, so JSON doubles are the shortest text that reads back exactly. */
#ifndef GRADVIZ_STRCONV_H
#define GRADVIZ_STRCONV_H

#include "base.h"
#include "numfmt.h"

#define STRCONV_NUM_MAX NUMFMT_MAX /* enough for any JSON number, NUL included */

/* Writes v as a JSON number that strtod reads back to exactly v ("0.3", "-1e-07", "-0"), or
 * "null" for NaN and ±infinity, which JSON cannot write. Returns out. For a writer that is
 * not a Buf, e.g. a FILE: fputs(strconv_json_num(s, v), f). */
char *strconv_json_num(char out[STRCONV_NUM_MAX], double v);
/* Appends strconv_json_num(v) to b. */
void strconv_put_json_num(Buf *b, double v);
/* Appends v in decimal ("0", "18446744073709551615"). */
void strconv_put_uint(Buf *b, uint64_t v);

/* Appends s with & < > " written as &amp; &lt; &gt; &quot; (and ' as &#39; when apos), so it
 * can stand in XML or HTML text and in a double-quoted attribute. C0 controls other than tab,
 * LF and CR, DEL, and bytes that are not valid UTF-8 become U+FFFD: an XML parser (Graphviz's
 * expat, a browser's) rejects them. Valid UTF-8 is copied. */
void strconv_put_xml(Buf *b, const char *s, bool apos);
/* The same for text inside a Graphviz HTML-like label (apos escaped), where Graphviz then
 * expands backslash escapes (\G is the graph's name, \\ a backslash): each \ is doubled. */
void strconv_put_dot_html(Buf *b, const char *s);

/* Reads s, the whole of it, as a decimal number from 0 to max into *v: digits only (no sign,
 * no white space, no "0x"; leading zeros are fine). false if s is anything else or the number
 * is over max or over ULLONG_MAX; *v is then unspecified. */
bool strconv_parse_uint(const char *s, unsigned long long max, unsigned long long *v);

#endif
