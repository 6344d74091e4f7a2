/* base: arena, growable vectors, source line map, the error type and its compiler-style
 * rendering, string buffers, edit distance and UTF-8 validation. */
#include "base.h"

#include <stdlib.h>
#include <string.h>

/* ---- Arena ---- */

struct ArenaChunk {
    ArenaChunk *next;
    size_t used, cap;
    max_align_t data[]; /* cap bytes follow */
};

/* 64 KiB chunks amortise malloc; larger requests get a chunk of their own. */
#define ARENA_CHUNK (64u * 1024u)

void *arena_alloc(Arena *a, size_t size)
{
    const size_t align = sizeof(max_align_t);
    /* a request this large cannot be met; rounding it up would wrap around to a tiny block */
    if (size > SIZE_MAX / 2)
        return NULL;
    size = (size + align - 1) / align * align;
    if (size == 0)
        size = align;
    ArenaChunk *c = a->head;
    if (!c || c->cap - c->used < size) {
        size_t cap = size > ARENA_CHUNK ? size : ARENA_CHUNK;
        c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->used = 0;
        c->cap = cap;
        /* keep the fuller chunk at the head only if the new one is a one-off big block */
        if (a->head && size > ARENA_CHUNK) {
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = a->head;
            a->head = c;
        }
    }
    void *p = (char *)c->data + c->used;
    c->used += size;
    memset(p, 0, size);
    return p;
}

char *arena_strndup(Arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

void arena_free(Arena *a)
{
    ArenaChunk *c = a->head;
    while (c) {
        ArenaChunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
}

bool vec_reserve(void **data, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2 / elem)
            return false;
        ncap *= 2;
    }
    void *p = realloc(*data, ncap * elem);
    if (!p)
        return false;
    *data = p;
    *cap = ncap;
    return true;
}

/* ---- Source ---- */

bool source_index_lines(Source *src)
{
    size_t n = 1;
    for (size_t i = 0; i < src->len; i++)
        n += src->text[i] == '\n';
    free(src->lines);
    src->lines = malloc(n * sizeof *src->lines);
    if (!src->lines)
        return false;
    uint32_t k = 0;
    src->lines[k++] = 0;
    for (size_t i = 0; i < src->len; i++)
        if (src->text[i] == '\n')
            src->lines[k++] = (uint32_t)(i + 1);
    src->nlines = k;
    return true;
}

void source_line_col(const Source *src, uint32_t off, uint32_t *line, uint32_t *col)
{
    /* binary search: the last line start <= off */
    uint32_t lo = 0, hi = src->nlines;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (src->lines[mid] <= off)
            lo = mid;
        else
            hi = mid;
    }
    *line = lo + 1;
    *col = off - src->lines[lo] + 1;
}

void source_free(Source *src)
{
    if (!src)
        return;
    free(src->text);
    free(src->lines);
    src->text = NULL;
    src->lines = NULL;
}

/* ---- Errors ---- */

/* A message cut by its buffer may end inside a UTF-8 character (a long quoted token): drop the
 * partial character so the terminal and any later consumer get valid text. */
static void trim_utf8(char *s)
{
    size_t n = strlen(s);
    s[utf8_valid_prefix((const unsigned char *)s, n)] = '\0';
}

static bool err_vset(Err *err, ErrKind kind, bool has_span, Span span, const char *fmt, va_list ap)
{
    if (err->kind != ERR_NONE)
        return false;
    err->kind = kind;
    err->has_span = has_span;
    err->span = span;
    err->hint[0] = '\0';
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    trim_utf8(err->msg);
    return false;
}

bool err_set(Err *err, ErrKind kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(err, kind, false, (Span){0, 0}, fmt, ap);
    va_end(ap);
    return false;
}

bool err_at(Err *err, Span span, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(err, ERR_MODEL, true, span, fmt, ap);
    va_end(ap);
    return false;
}

void err_hint(Err *err, const char *fmt, ...)
{
    if (err->kind == ERR_NONE || err->hint[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->hint, sizeof err->hint, fmt, ap);
    va_end(ap);
    trim_utf8(err->hint);
}

/* Bytes of the display unit at s[i] (i < end): a valid UTF-8 character, or a single byte
 * that does not start one. *shown is false for units drawn as '?': control bytes, C1
 * controls (U+0080..U+009F, which some terminals obey as escapes), bidirectional controls
 * (U+202A..U+202E, U+2066..U+2069, which could reorder what the user sees) and invalid
 * UTF-8, so a hostile or broken file cannot send anything but text to the terminal. */
static size_t display_unit(const unsigned char *s, size_t i, size_t end, bool *shown)
{
    unsigned char c = s[i];
    if (c < 0x80) {
        *shown = c == '\t' || (c >= 0x20 && c != 0x7f);
        return 1;
    }
    size_t k = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    if (k > end - i || utf8_valid_prefix(s + i, k) != k) {
        *shown = false;
        return 1;
    }
    bool c1 = c == 0xC2 && s[i + 1] < 0xA0;
    bool bidi = c == 0xE2 && ((s[i + 1] == 0x80 && s[i + 2] >= 0xAA && s[i + 2] <= 0xAE) ||
                              (s[i + 1] == 0x81 && s[i + 2] >= 0xA6 && s[i + 2] <= 0xA9));
    *shown = !c1 && !bidi;
    return k;
}

/* Writes t[from..to) with every unit display_unit cannot show drawn as '?': source lines,
 * messages that quote model text (a string token, an unexpected character) and the model's
 * path, which comes from the command line and can hold anything a file name can. */
static void write_shown(FILE *out, const unsigned char *t, size_t from, size_t to)
{
    for (size_t i = from; i < to;) {
        bool shown;
        size_t k = display_unit(t, i, to, &shown);
        if (shown)
            fwrite(t + i, 1, k, out);
        else
            fputc('?', out);
        i += k;
    }
}

static void write_text(FILE *out, const char *s)
{
    write_shown(out, (const unsigned char *)s, 0, strlen(s));
}

/* Writes the source line holding `off` with tabs kept (so the caret lines up in a terminal)
 * and a caret underline of `len` bytes, clipped to the line. One column per display unit
 * (see display_unit); units that cannot be shown are drawn as '?'. */
static void write_snippet(FILE *out, const Source *src, Span span)
{
    const unsigned char *t = (const unsigned char *)src->text;
    uint32_t line, col;
    source_line_col(src, span.off, &line, &col);
    size_t start = src->lines[line - 1];
    size_t end = start;
    while (end < src->len && t[end] != '\n' && t[end] != '\r')
        end++;
    /* a byte order mark opening the file is invisible: not shown and no column (lex skips it) */
    if (start == 0 && end >= 3 && memcmp(t, "\xEF\xBB\xBF", 3) == 0)
        start = 3;
    size_t caret = span.off > start ? span.off : start;
    /* very long lines: show at most 160 bytes around the column, cut at character starts */
    size_t from = start, to = end;
    if (to - from > 160) {
        from = caret > start + 60 ? caret - 60 : start;
        to = from + 160 < end ? from + 160 : end;
        while (from > start && (t[from] & 0xC0) == 0x80)
            from--;
        while (to < end && to > from && (t[to] & 0xC0) == 0x80)
            to--;
    }
    fputs("    ", out);
    write_shown(out, t, from, to);
    fputs("\n    ", out);
    size_t i = from;
    while (i < caret && i < to) {
        bool shown;
        fputc(t[i] == '\t' ? '\t' : ' ', out);
        i += display_unit(t, i, to, &shown);
    }
    fputc('^', out);
    if (i < to) { /* skip the unit under the caret, then one '~' per unit of the span */
        bool shown;
        i += display_unit(t, i, to, &shown);
    }
    while (i < caret + span.len && i < to) {
        bool shown;
        fputc('~', out);
        i += display_unit(t, i, to, &shown);
    }
    fputc('\n', out);
}

void diag_write(FILE *out, const Source *src, const char *severity, bool has_span, Span span,
                const char *msg, const char *hint)
{
    if (has_span && src && src->lines) {
        uint32_t line, col;
        source_line_col(src, span.off, &line, &col);
        write_text(out, src->path);
        fprintf(out, ":%u:%u: %s: ", line, col, severity);
    } else if (src && src->path) {
        write_text(out, src->path);
        fprintf(out, ": %s: ", severity);
    } else {
        fprintf(out, "gradviz: %s: ", severity);
    }
    write_text(out, msg);
    fputc('\n', out);
    if (has_span && src && src->lines)
        write_snippet(out, src, span);
    if (hint && hint[0]) {
        fputs("note: ", out);
        write_text(out, hint);
        fputc('\n', out);
    }
}

void err_write(FILE *out, const Source *src, const Err *err)
{
    /* only model errors are about the file; usage and I/O errors are the tool's */
    diag_write(out, err->kind == ERR_MODEL ? src : NULL, "error", err->has_span, err->span, err->msg, err->hint);
}

/* ---- Buf ---- */

void buf_append(Buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (!vec_reserve((void **)&b->data, &b->cap, b->len + n + 1, 1)) {
        b->oom = true;
        return;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void buf_puts(Buf *b, const char *s) { buf_append(b, s, strlen(s)); }

void buf_printf(Buf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof tmp) {
        buf_append(b, tmp, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->oom = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    buf_append(b, big, (size_t)n);
    free(big);
}

void buf_free(Buf *b)
{
    free(b->data);
    *b = (Buf){0};
}

/* ---- Strings ---- */

size_t edit_distance(const char *a, size_t alen, const char *b, size_t blen, size_t cap)
{
    if (alen > 64 || blen > 64)
        return cap + 1;
    size_t diff = alen > blen ? alen - blen : blen - alen;
    if (diff > cap)
        return cap + 1;
    /* three rows of the table: i-2 (for a transposition), i-1 and i */
    size_t rows[3][65];
    size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= blen; j++)
        prev[j] = j;
    for (size_t i = 1; i <= alen; i++) {
        cur[0] = i;
        size_t rowmin = cur[0];
        for (size_t j = 1; j <= blen; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            size_t d = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < d)
                d = prev2[j - 2] + 1;
            cur[j] = d;
            if (d < rowmin)
                rowmin = d;
        }
        /* no later row can come back under the cap: d[i+1][j+1] >= min(row i-1) + 1 and
         * min(row i) <= min(row i-1) + 1 */
        if (rowmin > cap)
            return cap + 1;
        size_t *t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    return prev[blen];
}

void suggest_init(Suggest *s, const char *name, size_t len)
{
    /* two edits for names of 4 bytes or more, one for shorter ones: with two, every 3-letter
     * word is "near" a 3-letter name ('foo' would suggest 'pow') */
    *s = (Suggest){.name = name, .len = len, .best = NULL, .best_d = len > 3 ? 3 : 2, .extend = false};
}

void suggest_offer(Suggest *s, const char *cand)
{
    size_t n = strlen(cand);
    size_t d = edit_distance(s->name, s->len, cand, n, 2);
    if (d >= s->len && !(s->extend && n > s->len)) /* with extend, 'x' may suggest 'x1' */
        return;
    /* on a tie, a candidate as long as the typed name wins: 'tahn' is a swap away from 'tanh'
     * and a deletion away from 'tan' */
    if (d < s->best_d || (d == s->best_d && s->best && strlen(s->best) != s->len && n == s->len)) {
        s->best_d = d;
        s->best = cand;
    }
}

size_t utf8_valid_prefix(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            k = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            k = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3;
            cp = c & 0x07;
        } else {
            return i;
        }
        for (size_t j = 1; j <= k; j++) {
            if (i + j >= n || (s[i + j] & 0xC0) != 0x80)
                return i;
            cp = cp << 6 | (s[i + j] & 0x3F);
        }
        /* overlong, surrogate or beyond U+10FFFF */
        if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return i;
        i += k + 1;
    }
    return n;
}

char *utf8_repair(const char *s)
{
    const unsigned char *t = (const unsigned char *)s;
    size_t n = strlen(s);
    if (utf8_valid_prefix(t, n) == n)
        return NULL;
    Buf b = {0};
    for (size_t i = 0; i < n;) {
        size_t k = utf8_valid_prefix(t + i, n - i);
        buf_append(&b, s + i, k);
        i += k;
        if (i < n) {
            buf_puts(&b, "\xEF\xBF\xBD");
            i++;
        }
    }
    if (b.oom) {
        buf_free(&b);
        return NULL;
    }
    return b.data;
}
