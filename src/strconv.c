/* strconv: JSON numbers and XML escapes appended to a Buf, and the reader of decimal counts.
 * The escapes go byte by byte: the characters replaced are ASCII, so a UTF-8 sequence, whose
 * bytes are all >= 0x80, passes through whole. */
#include "strconv.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

char *strconv_json_num(char out[STRCONV_NUM_MAX], double v)
{
    if (isfinite(v))
        numfmt_double(out, v);
    else
        strcpy(out, "null");
    return out;
}

void strconv_put_json_num(Buf *b, double v)
{
    char s[STRCONV_NUM_MAX];
    buf_puts(b, strconv_json_num(s, v));
}

void strconv_put_uint(Buf *b, uint64_t v)
{
    char s[NUMFMT_MAX];
    size_t n = numfmt_uint(s, v);
    buf_append(b, s, n);
}

static void put_xml(Buf *b, const char *s, bool apos, bool dot)
{
    const unsigned char *t = (const unsigned char *)s;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        unsigned char c = t[i];
        if (c >= 0x80) { /* a whole valid UTF-8 character, or U+FFFD for a bad byte */
            size_t k = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
            if (k <= n - i && utf8_valid_prefix(t + i, k) == k) {
                buf_append(b, s + i, k);
                i += k;
            } else {
                buf_puts(b, "\xEF\xBF\xBD");
                i++;
            }
            continue;
        }
        switch (c) {
        case '&': buf_puts(b, "&amp;"); break;
        case '<': buf_puts(b, "&lt;"); break;
        case '>': buf_puts(b, "&gt;"); break;
        case '"': buf_puts(b, "&quot;"); break;
        case '\\': /* Graphviz expands \G, \N, \E, \\ in labels, after entities: \\ is \ */
            buf_puts(b, dot ? "\\\\" : "\\");
            break;
        case '\'':
            if (apos)
                buf_puts(b, "&#39;");
            else
                buf_append(b, s + i, 1);
            break;
        default:
            /* XML 1.0 has no C0 control but tab, LF and CR, not even as &#N;: U+FFFD */
            if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F)
                buf_puts(b, "\xEF\xBF\xBD");
            else
                buf_append(b, s + i, 1);
        }
        i++;
    }
}

void strconv_put_xml(Buf *b, const char *s, bool apos) { put_xml(b, s, apos, false); }

void strconv_put_dot_html(Buf *b, const char *s) { put_xml(b, s, true, true); }

bool strconv_parse_uint(const char *s, unsigned long long max, unsigned long long *v)
{
    /* strtoull would skip white space and take a sign ("-1" is ULLONG_MAX to it) */
    if (*s < '0' || *s > '9')
        return false;
    char *end;
    errno = 0;
    *v = strtoull(s, &end, 10);
    return *end == '\0' && errno == 0 && *v <= max;
}
