/* lex: the tokenizer. Keywords are lower-case and case-sensitive; `inf`, `nan` and `e` are
 * ordinary names (SPEC §2). Numbers are converted with strtod on a copy of exactly the token,
 * so strtod's extensions (hex, "inf") can never leak in. */
#include "lex.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct { const char *word; TokKind kind; } KEYWORDS[] = {
    {"model", TOK_MODEL}, {"input", TOK_INPUT}, {"param", TOK_PARAM},
    {"const", TOK_CONST}, {"output", TOK_OUTPUT}, {"loss", TOK_LOSS},
};

const char *lex_kind_name(TokKind k)
{
    switch (k) {
    case TOK_EOF: return "end of file";
    case TOK_NEWLINE: return "end of line";
    case TOK_IDENT: return "a name";
    case TOK_NUMBER: return "a number";
    case TOK_STRING: return "a string";
    case TOK_MODEL: return "'model'";
    case TOK_INPUT: return "'input'";
    case TOK_PARAM: return "'param'";
    case TOK_CONST: return "'const'";
    case TOK_OUTPUT: return "'output'";
    case TOK_LOSS: return "'loss'";
    case TOK_EQ: return "'='";
    case TOK_PLUS: return "'+'";
    case TOK_MINUS: return "'-'";
    case TOK_STAR: return "'*'";
    case TOK_SLASH: return "'/'";
    case TOK_CARET: return "'^'";
    case TOK_LPAREN: return "'('";
    case TOK_RPAREN: return "')'";
    case TOK_COMMA: return "','";
    }
    return "?";
}

bool lex_check_source(const Source *src, Err *err)
{
    if (src->len > LEX_MAX_FILE)
        /* no path in the message: err_write puts it in front of a model error */
        return err_set(err, ERR_MODEL, "the model file is larger than %u MiB", LEX_MAX_FILE >> 20);
    const unsigned char *s = (const unsigned char *)src->text;
    const unsigned char *nul = memchr(s, 0, src->len);
    size_t ok = utf8_valid_prefix(s, nul ? (size_t)(nul - s) : src->len);
    if (nul && ok == (size_t)(nul - s))
        return err_at(err, (Span){(uint32_t)ok, 1}, "NUL byte in the model file");
    if (ok < src->len)
        return err_at(err, (Span){(uint32_t)ok, 1}, "invalid UTF-8 (byte 0x%02X)", s[ok]);
    return true;
}

void lex_init(Lexer *lx, const Source *src)
{
    lx->src = src;
    lx->pos = 0;
    lx->line_start = 0;
    /* A byte order mark is valid UTF-8 that some Windows editors write first: skip it. Columns
     * on line 1 still count its 3 bytes (SPEC §3: the column counts bytes). */
    if (src->len >= 3 && memcmp(src->text, "\xEF\xBB\xBF", 3) == 0)
        lx->pos = 3;
}

static bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_ident_char(char c) { return is_ident_start(c) || is_digit(c); }

/* Length of the UTF-8 character starting at s (already validated). */
static uint32_t utf8_len(unsigned char c) { return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4; }

/* Code point of the (validated) UTF-8 character of n bytes at s. */
static uint32_t utf8_decode(const unsigned char *s, uint32_t n)
{
    uint32_t cp = n == 1 ? s[0] : s[0] & (0x7F >> n);
    for (uint32_t i = 1; i < n; i++)
        cp = cp << 6 | (s[i] & 0x3F);
    return cp;
}

/* Characters that text copied from slides, PDFs and word processors brings in where ASCII was
 * meant; several are invisible, so the message names the code point. */
static const struct {
    uint32_t cp;
    const char *name, *hint;
} CONFUSABLES[] = {
    {0x2212, "minus sign", "use the ASCII hyphen-minus '-'"},
    {0x2013, "en dash", "use the ASCII hyphen-minus '-'"},
    {0x2014, "em dash", "use the ASCII hyphen-minus '-'"},
    {0x00D7, "multiplication sign", "use '*' for multiplication and '/' for division"},
    {0x00F7, "division sign", "use '*' for multiplication and '/' for division"},
    {0x00B7, "middle dot", "use '*' for multiplication"},
    {0x22C5, "dot operator", "use '*' for multiplication"},
    {0x00A0, "no-break space", "use an ordinary space"},
    {0x2009, "thin space", "use an ordinary space"},
    {0x202F, "narrow no-break space", "use an ordinary space"},
    {0x200B, "zero width space", "delete it (it is invisible)"},
    {0xFEFF, "byte order mark", "delete it (it is invisible; only the start of the file may have one)"},
    {0x201C, "left double quotation mark", "write the title in ASCII double quotes: \"...\""},
    {0x201D, "right double quotation mark", "write the title in ASCII double quotes: \"...\""},
    {0x2018, "left single quotation mark", "strings use ASCII double quotes: \"...\""},
    {0x2019, "right single quotation mark", "strings use ASCII double quotes: \"...\""},
};

static bool lex_number(Lexer *lx, Token *tok, Err *err)
{
    const char *t = lx->src->text;
    uint32_t start = lx->pos, p = start;
    while (is_digit(t[p]))
        p++;
    if (t[p] == '.') {
        p++;
        while (is_digit(t[p]))
            p++;
    }
    if ((t[p] == 'e' || t[p] == 'E') &&
        (is_digit(t[p + 1]) || ((t[p + 1] == '+' || t[p + 1] == '-') && is_digit(t[p + 2])))) {
        p += 2;
        while (is_digit(t[p]))
            p++;
    }
    if (is_ident_char(t[p]) || t[p] == '.') {
        /* `2x`, `1.2.3`, `3e`: one malformed token, not a number followed by a name */
        uint32_t q = p;
        while (is_ident_char(t[q]) || t[q] == '.' ||
               ((t[q] == '+' || t[q] == '-') && q > start && (t[q - 1] == 'e' || t[q - 1] == 'E')))
            q++; /* `1e+` is one token too */
        err_at(err, (Span){start, q - start}, "malformed number '%.*s'", (int)(q - start), t + start);
        bool hex = p == start + 1 && t[start] == '0' && (t[p] == 'x' || t[p] == 'X') && q > p + 1;
        for (uint32_t i = p + 1; hex && i < q; i++)
            hex = isxdigit((unsigned char)t[i]) != 0;
        if (hex && q - p - 1 <= 13)
            err_hint(err, "numbers are decimal: write %.*s as %llu", (int)(q - start), t + start,
                     strtoull(t + p + 1, NULL, 16));
        else if (hex)
            err_hint(err, "numbers are decimal");
        else if (is_ident_start(t[p]) && t[p] != '_' && t[p] != 'e' && t[p] != 'E') /* not for 1_000 or 3e */
            err_hint(err, "write multiplication explicitly, e.g. %.*s*%.*s", (int)(p - start),
                     t + start, (int)(q - p), t + p);
        return false;
    }
    size_t n = p - start;
    char small[128], *copy = n < sizeof small ? small : malloc(n + 1);
    if (!copy)
        return err_set(err, ERR_IO, "out of memory");
    memcpy(copy, t + start, n);
    copy[n] = '\0';
    double v = strtod(copy, NULL);
    if (copy != small)
        free(copy);
    tok->kind = TOK_NUMBER;
    tok->span = (Span){start, (uint32_t)n};
    tok->number = v;
    lx->pos = p;
    if (isinf(v))
        return err_at(err, tok->span, "number out of range (larger than the largest double)");
    return true;
}

bool lex_next(Lexer *lx, Token *tok, Err *err)
{
    const Source *src = lx->src;
    const char *t = src->text;
    for (;;) {
        if (lx->pos - lx->line_start > LEX_MAX_LINE)
            return err_at(err, (Span){lx->line_start + LEX_MAX_LINE, 0}, "line longer than %u bytes", LEX_MAX_LINE);
        if (lx->pos >= src->len) {
            tok->kind = TOK_EOF;
            tok->span = (Span){(uint32_t)src->len, 0};
            return true;
        }
        char c = t[lx->pos];
        if (c == ' ' || c == '\t') {
            lx->pos++;
        } else if (c == '#') {
            while (lx->pos < src->len && t[lx->pos] != '\n' && t[lx->pos] != '\r') {
                lx->pos++;
                if (lx->pos - lx->line_start > LEX_MAX_LINE)
                    return err_at(err, (Span){lx->line_start + LEX_MAX_LINE, 0}, "line longer than %u bytes", LEX_MAX_LINE);
            }
        } else if (c == '\n' || (c == '\r' && t[lx->pos + 1] == '\n')) {
            tok->kind = TOK_NEWLINE;
            tok->span = (Span){lx->pos, 0};
            lx->pos += c == '\r' ? 2 : 1;
            lx->line_start = lx->pos;
            return true;
        } else {
            break;
        }
    }
    uint32_t start = lx->pos;
    char c = t[start];
    tok->span = (Span){start, 1};
    if (is_ident_start(c)) {
        uint32_t p = start;
        while (is_ident_char(t[p]))
            p++;
        tok->kind = TOK_IDENT;
        tok->span.len = p - start;
        if (p - start > LEX_MAX_NAME)
            return err_at(err, tok->span, "name longer than %u bytes", LEX_MAX_NAME);
        for (size_t i = 0; i < sizeof KEYWORDS / sizeof KEYWORDS[0]; i++)
            if (strlen(KEYWORDS[i].word) == tok->span.len && memcmp(KEYWORDS[i].word, t + start, tok->span.len) == 0)
                tok->kind = KEYWORDS[i].kind;
        lx->pos = p;
        return true;
    }
    if (is_digit(c) || (c == '.' && is_digit(t[start + 1])))
        return lex_number(lx, tok, err);
    if (c == '"') {
        uint32_t p = start + 1;
        while (p < src->len && t[p] != '"' && t[p] != '\n' && t[p] != '\r') {
            /* a title goes into every output: no control character but tab, which a
             * terminal, an XML parser (Graphviz's, a browser's) or a PDF viewer would act on
             * or refuse (invalid UTF-8 is already refused for the whole file) */
            unsigned char b = (unsigned char)t[p];
            if ((b < 0x20 && b != '\t') || b == 0x7f)
                return err_at(err, (Span){p, 1}, "control character 0x%02X in a string", b);
            if (b == 0xC2 && p + 1 < src->len && (unsigned char)t[p + 1] >= 0x80 && (unsigned char)t[p + 1] < 0xA0)
                return err_at(err, (Span){p, 2}, "control character U+%04X in a string", (unsigned char)t[p + 1]);
            p++;
        }
        if (p >= src->len || t[p] != '"')
            return err_at(err, (Span){start, p - start}, "unterminated string (strings end on the same line)");
        if (p - start - 1 > LEX_MAX_TITLE)
            return err_at(err, (Span){start, p + 1 - start}, "string longer than %u bytes", LEX_MAX_TITLE);
        tok->kind = TOK_STRING;
        tok->span.len = p + 1 - start;
        lx->pos = p + 1;
        return true;
    }
    static const char PUNCT[] = "=+-*/^(),";
    static const TokKind PUNCT_KIND[] = {TOK_EQ, TOK_PLUS, TOK_MINUS, TOK_STAR, TOK_SLASH,
                                         TOK_CARET, TOK_LPAREN, TOK_RPAREN, TOK_COMMA};
    const char *pc = c ? strchr(PUNCT, c) : NULL;
    if (pc) {
        tok->kind = PUNCT_KIND[pc - PUNCT];
        lx->pos++;
        return true;
    }
    if (c == '\r')
        return err_at(err, tok->span, "carriage return not followed by a line feed");
    unsigned char uc = (unsigned char)c;
    if (uc < 0x20 || uc == 0x7f)
        return err_at(err, tok->span, "unexpected control character 0x%02X", uc);
    uint32_t n = utf8_len(uc);
    tok->span.len = n;
    if (uc < 0x80) /* printable ASCII outside the language: '@', '$', ';', '.', ... */
        return err_at(err, tok->span, "unexpected character '%c'", c);
    uint32_t cp = utf8_decode((const unsigned char *)t + start, n);
    /* Characters that would act on the terminal or reorder the line when echoed (C1
     * controls, zero-width and bidirectional formatting characters) are named by code point
     * only, never copied into the message. */
    bool invisible = (cp >= 0x80 && cp < 0xA0) || (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x202A && cp <= 0x202E) ||
                     (cp >= 0x2060 && cp <= 0x206F) || cp == 0xFEFF || (cp >= 0xFFF9 && cp <= 0xFFFB);
    int shown = invisible ? 0 : (int)n;
    const char *q = invisible ? "" : "'";
    for (size_t i = 0; i < sizeof CONFUSABLES / sizeof CONFUSABLES[0]; i++) {
        if (CONFUSABLES[i].cp == cp) {
            err_at(err, tok->span, "unexpected character %s%.*s%s%sU+%04X %s%s", q, shown, t + start, q,
                   invisible ? "" : " (", (unsigned)cp, CONFUSABLES[i].name, invisible ? "" : ")");
            err_hint(err, "%s", CONFUSABLES[i].hint);
            return false;
        }
    }
    if (invisible)
        return err_at(err, tok->span, "unexpected invisible character U+%04X", (unsigned)cp);
    return err_at(err, tok->span, "unexpected character '%.*s' (U+%04X)", (int)n, t + start, (unsigned)cp);
}
