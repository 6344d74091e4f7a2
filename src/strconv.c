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

void strconv_put_xml(Buf *b, const char *s, bool apos)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': buf_puts(b, "&amp;"); break;
        case '<': buf_puts(b, "&lt;"); break;
        case '>': buf_puts(b, "&gt;"); break;
        case '"': buf_puts(b, "&quot;"); break;
        case '\'':
            if (apos)
                buf_puts(b, "&#39;");
            else
                buf_append(b, s, 1);
            break;
        default: buf_append(b, s, 1);
        }
    }
}

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
