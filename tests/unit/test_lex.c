/* Unit tests of the lexer: token kinds and spans, numbers against the C compiler's own
 * conversion of the same literals, and a table of lexical errors with their line:col. */
#include "util.h"

#include "lex.h"

typedef struct Toks {
    Token t[64];
    int n;
} Toks;

/* Lexes text[0..len) after the whole-source check. Returns true if every token lexed;
 * *err holds the error otherwise. */
static bool lex_all(const Source *src, Toks *out, Err *err)
{
    out->n = 0;
    if (!lex_check_source(src, err))
        return false;
    Lexer lx;
    lex_init(&lx, src);
    for (;;) {
        Token tok;
        if (!lex_next(&lx, &tok, err))
            return false;
        if (out->n < (int)ARRAY_LEN(out->t))
            out->t[out->n++] = tok;
        if (tok.kind == TOK_EOF)
            return true;
    }
}

static void expect_kinds(const char *text, const TokKind *kinds, int n)
{
    Source s;
    src_init(&s, text);
    Toks toks;
    Err err = {0};
    if (!lex_all(&s, &toks, &err))
        print_error("lexing %s: %s\n", text, err.msg);
    assert_true(err_ok(&err));
    for (int i = 0; i < n && i < toks.n; i++) {
        if (toks.t[i].kind != kinds[i])
            print_error("token %d of %s: %s, want %s\n", i, text, lex_kind_name(toks.t[i].kind),
                        lex_kind_name(kinds[i]));
        assert_int_equal(toks.t[i].kind, kinds[i]);
    }
    assert_int_equal(toks.n, n);
    source_free(&s);
}

static void test_token_kinds(void **state)
{
    (void)state;
    static const TokKind k1[] = {TOK_MODEL, TOK_STRING, TOK_NEWLINE, TOK_INPUT, TOK_IDENT, TOK_EQ, TOK_NUMBER,
                                 TOK_NEWLINE, TOK_IDENT, TOK_EQ, TOK_IDENT, TOK_STAR, TOK_NUMBER, TOK_CARET,
                                 TOK_MINUS, TOK_NUMBER, TOK_SLASH, TOK_LPAREN, TOK_IDENT, TOK_RPAREN, TOK_PLUS,
                                 TOK_IDENT, TOK_LPAREN, TOK_IDENT, TOK_COMMA, TOK_NUMBER, TOK_RPAREN, TOK_NEWLINE,
                                 TOK_EOF};
    expect_kinds("model \"T # not a comment\"\n"
                 "input x1 = 0.5 # a comment with \"quotes\" and \xc3\xbcnic\xc3\xb6" "de\n"
                 "  y=x1*2^-3/(x1)+max(x1,\t1)\r\n",
                 k1, (int)ARRAY_LEN(k1));
    /* keywords are lower-case and case-sensitive; inf, nan and e are ordinary names */
    static const TokKind k2[] = {TOK_MODEL, TOK_INPUT, TOK_PARAM, TOK_CONST, TOK_OUTPUT, TOK_LOSS,
                                 TOK_IDENT, TOK_IDENT, TOK_IDENT, TOK_IDENT, TOK_IDENT, TOK_IDENT, TOK_IDENT,
                                 TOK_IDENT, TOK_EOF};
    expect_kinds("model input param const output loss Model inputs _x inf nan e loss2 sin", k2,
                 (int)ARRAY_LEN(k2));
    /* blank lines, comment-only lines and trailing spaces still give one NEWLINE each */
    static const TokKind k3[] = {TOK_NEWLINE, TOK_NEWLINE, TOK_IDENT, TOK_NEWLINE, TOK_EOF};
    expect_kinds("\n# only a comment\r\n  x  \t\n", k3, (int)ARRAY_LEN(k3));
    /* a byte order mark at the start of the file is skipped */
    static const TokKind k5[] = {TOK_IDENT, TOK_EQ, TOK_NUMBER, TOK_EOF};
    expect_kinds("\xef\xbb\xbfx = 1", k5, (int)ARRAY_LEN(k5));
    static const TokKind k4[] = {TOK_EOF};
    expect_kinds("", k4, 1);
    expect_kinds("   # nothing", k4, 1);
}

static void test_token_spans(void **state)
{
    (void)state;
    Source s;
    src_init(&s, "ab = \"t\" 12.5e1\r\n\tcd");
    Toks toks;
    Err err = {0};
    assert_true(lex_all(&s, &toks, &err));
    assert_int_equal(toks.n, 7);
    static const uint32_t spans[][2] = {{0, 2}, {3, 1}, {5, 3}, {9, 6}, {15, 0}, {18, 2}, {20, 0}};
    for (int i = 0; i < toks.n; i++) {
        assert_int_equal(toks.t[i].span.off, spans[i][0]);
        assert_int_equal(toks.t[i].span.len, spans[i][1]);
    }
    assert_true(toks.t[3].number == 125.0);
    source_free(&s);
}

static void test_numbers(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        double want;
    } rows[] = {
        {"0", 0.0},
        {"3", 3.0},
        {"007", 7.0},
        {"0.5", 0.5},
        {".5", .5},
        {"3.", 3.},
        {"1e-3", 1e-3},
        {"1E+2", 1E+2},
        {"0.5e1", 0.5e1},
        {"1.e5", 1.e5},
        {".25E-2", .25E-2},
        {"0.1", 0.1},
        {"1.7976931348623157e308", 1.7976931348623157e308},
        {"4.9406564584124654e-324", 4.9406564584124654e-324},
        {"1e-400", 0.0}, /* underflow is not an error: the nearest double is 0 */
        {"123456789012345678901234567890", 123456789012345678901234567890.0},
    };
    for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
        Source s;
        src_init(&s, rows[i].text);
        Toks toks;
        Err err = {0};
        if (!lex_all(&s, &toks, &err))
            print_error("%s: %s\n", rows[i].text, err.msg);
        assert_true(err_ok(&err));
        assert_int_equal(toks.n, 2);
        assert_int_equal(toks.t[0].kind, TOK_NUMBER);
        assert_int_equal(toks.t[0].span.len, strlen(rows[i].text));
        if (toks.t[0].number != rows[i].want)
            print_error("%s lexed as %.17g, want %.17g\n", rows[i].text, toks.t[0].number, rows[i].want);
        assert_true(toks.t[0].number == rows[i].want);
        source_free(&s);
    }
    /* a very long number (more than the lexer's stack buffer) */
    char big[400];
    memset(big, '1', 300);
    strcpy(big + 300, ".5e-290");
    Source s;
    src_init(&s, big);
    Toks toks;
    Err err = {0};
    assert_true(lex_all(&s, &toks, &err));
    assert_close(toks.t[0].number, strtod(big, NULL), 0, 0);
    assert_close(toks.t[0].number, 1.1111111111111111e9, 1e-15, 0);
    source_free(&s);
}

/* ---- errors ---- */

typedef struct BadRow {
    const char *text;
    size_t len;        /* 0: strlen(text) */
    uint32_t line, col;
    const char *msg;   /* substring of the message */
    const char *hint;  /* substring of the hint, or NULL */
} BadRow;

static const BadRow BAD[] = {
    {"x @ y", 0, 1, 3, "unexpected character '@'", NULL},
    {"x = 1 ; y", 0, 1, 7, "unexpected character ';'", NULL},
    {"a.b", 0, 1, 2, "unexpected character '.'", NULL},
    {"x = $y", 0, 1, 5, "unexpected character '$'", NULL},
    {"y = 2x", 0, 1, 5, "malformed number '2x'", "2*x"},
    {"y = 10abc + 1", 0, 1, 5, "malformed number '10abc'", "10*abc"},
    {"v = 1.2.3", 0, 1, 5, "malformed number '1.2.3'", NULL},
    {"v = 1_000", 0, 1, 5, "malformed number '1_000'", NULL},
    {"v = 3e", 0, 1, 5, "malformed number '3e'", NULL},
    {"v = 3e+", 0, 1, 5, "malformed number '3e+'", NULL},
    {"v = 0x1F", 0, 1, 5, "malformed number '0x1F'", "numbers are decimal: write 0x1F as 31"},
    {"model \"a\x01" "b\"", 0, 1, 9, "control character 0x01 in a string", NULL},
    {"model \"\tok\x7f\"", 0, 1, 11, "control character 0x7F in a string", NULL},
    {"model \"ok\xc2\x85\"", 0, 1, 10, "control character U+0085 in a string", NULL},
    {"v = 1e5x", 0, 1, 5, "malformed number '1e5x'", NULL},
    {"v = .5.", 0, 1, 5, "malformed number '.5.'", NULL},
    {"v = 0x1F", 0, 1, 5, "malformed number '0x1F'", NULL},
    {"v = 1e999", 0, 1, 5, "out of range", NULL},
    {"v = 2e308", 0, 1, 5, "out of range", NULL},
    {"model \"abc\ninput x = 1\n", 0, 1, 7, "unterminated string", NULL},
    {"model \"abc", 0, 1, 7, "unterminated string", NULL},
    {"model \"abc\r\n\"", 0, 1, 7, "unterminated string", NULL},
    {"x\n  a\rb", 0, 2, 4, "carriage return", NULL},
    {"x # comment\r", 0, 1, 12, "carriage return", NULL},
    {"x = \x01", 0, 1, 5, "control character 0x01", NULL},
    {"x = \x7f", 0, 1, 5, "control character 0x7F", NULL},
    {"x\n\x0cy", 0, 2, 1, "control character 0x0C", NULL},
    {"y = 2 \xe2\x88\x92 x", 0, 1, 7, "U+2212", "hyphen-minus"},
    {"y = 2 \xc3\x97 x", 0, 1, 7, "unexpected character '\xc3\x97'", "'*'"},
    {"y = 2 \xc3\xb7 x", 0, 1, 7, "unexpected character '\xc3\xb7'", "'/'"},
    {"y = \xc3\xa9t\xc3\xa9", 0, 1, 5, "unexpected character '\xc3\xa9'", NULL},
    {"y = x\xe2\x80\x8b", 0, 1, 6, "unexpected character U+200B zero width space", "invisible"},
    /* C1 controls and bidi overrides are named, never echoed (found by fuzzing) */
    {"x = \xc2\x97", 0, 1, 5, "unexpected invisible character U+0097", NULL},
    {"x = \xe2\x80\xae", 0, 1, 5, "unexpected invisible character U+202E", NULL},
    {"y =\xc2\xa0x", 0, 1, 4, "(U+00A0 no-break space)", "ordinary space"},
    {"y = 2\xe2\x80\x89*x", 0, 1, 6, "(U+2009 thin space)", "ordinary space"},
    {"y = 1 \xe2\x80\x93 x", 0, 1, 7, "(U+2013 en dash)", "hyphen-minus"},
    {"y = 2\xc2\xb7x", 0, 1, 6, "(U+00B7 middle dot)", "'*'"},
    {"y = 2\xe2\x8b\x85x", 0, 1, 6, "(U+22C5 dot operator)", "'*'"},
    {"model \xe2\x80\x9cNeuron\xe2\x80\x9d", 0, 1, 7, "(U+201C left double quotation mark)", "ASCII double quotes"},
    {"x\n\xef\xbb\xbfy", 0, 2, 1, "unexpected character U+FEFF byte order mark", "start of the file"},
    {"y = \xce\xb1", 0, 1, 5, "unexpected character '\xce\xb1' (U+03B1)", NULL},
    {"y = \xf0\x9f\x98\x80", 0, 1, 5, "(U+1F600)", NULL},
    /* whole-source checks: the first bad byte, comments included */
    {"input x = 1\ny = x * 2 \xff\n", 0, 2, 11, "invalid UTF-8 (byte 0xFF)", NULL},
    {"input x = 1 # caf\xc3\n", 0, 1, 18, "invalid UTF-8 (byte 0xC3)", NULL},
    {"# \xc0\xaf\n", 0, 1, 3, "invalid UTF-8 (byte 0xC0)", NULL},
    {"# ok \xe2\x88\x82\n# \xed\xa0\x80\n", 0, 2, 3, "invalid UTF-8 (byte 0xED)", NULL},
    {"# \xf4\x90\x80\x80", 0, 1, 3, "invalid UTF-8", NULL},
    {"input x = 1 # \xe2\x88", 0, 1, 15, "invalid UTF-8 (byte 0xE2)", NULL},
    {"x\n\x80", 0, 2, 1, "invalid UTF-8 (byte 0x80)", NULL},
    {"input x = 1\ny = x\0 * 2\n", 23, 2, 6, "NUL byte", NULL},
    {"# \0 \xff", 5, 1, 3, "NUL byte", NULL},          /* NUL before bad UTF-8 */
    {"# \xff \0", 5, 1, 3, "invalid UTF-8", NULL},     /* bad UTF-8 before NUL */
    {"\0", 1, 1, 1, "NUL byte", NULL},
};

static void test_error_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(BAD); i++) {
        const BadRow *r = &BAD[i];
        Source s;
        src_init_mem(&s, r->text, r->len ? r->len : strlen(r->text));
        Toks toks;
        Err err = {0};
        bool ok = lex_all(&s, &toks, &err);
        uint32_t line, col;
        err_line_col(&s, &err, &line, &col);
        bool good = !ok && err.kind == ERR_MODEL && err.has_span && line == r->line && col == r->col &&
                    strstr(err.msg, r->msg) && (!r->hint || strstr(err.hint, r->hint));
        if (!good)
            print_error("row %zu (%s): got %s %u:%u '%s' (hint '%s'), want %u:%u '%s' (hint '%s')\n", i, r->text,
                        ok ? "success" : "error", line, col, err.msg, err.hint, r->line, r->col, r->msg,
                        r->hint ? r->hint : "");
        assert_true(good);
        source_free(&s);
    }
}

/* A source of `nlines` copies of `line` followed by one line of exactly `n` bytes made of
 * `fill` (after the prefix), and an optional newline. */
static char *long_line(const char *prefix, size_t n, char fill, bool newline)
{
    size_t pl = strlen(prefix);
    char *t = malloc(pl + n + 2);
    assert_non_null(t);
    memcpy(t, prefix, pl);
    memset(t + pl, fill, n);
    t[pl + n] = '\n';
    t[pl + n + newline] = '\0';
    return t;
}

static void expect_long(const char *prefix, size_t n, char fill, bool newline, bool ok, uint32_t line)
{
    char *t = long_line(prefix, n, fill, newline);
    /* make the long line start with a name so it is a real token sequence */
    t[strlen(prefix)] = 'v';
    Source s;
    src_init(&s, t);
    Toks toks;
    Err err = {0};
    bool got = lex_all(&s, &toks, &err);
    if (got != ok)
        print_error("line of %zu bytes (fill '%c'): %s\n", n, fill, got ? "accepted" : err.msg);
    assert_int_equal(got, ok);
    if (!ok) {
        uint32_t l, c;
        err_line_col(&s, &err, &l, &c);
        assert_int_equal(l, line);
        assert_int_equal(c, LEX_MAX_LINE + 1); /* the caret is on the first byte over the limit */
        assert_non_null(strstr(err.msg, "line longer than"));
    }
    source_free(&s);
    free(t);
}

static void test_line_length_limit(void **state)
{
    (void)state;
    /* exactly at the limit is accepted; one byte more is an error on that line */
    expect_long("", LEX_MAX_LINE, ' ', true, true, 0);
    expect_long("", LEX_MAX_LINE + 1, ' ', true, false, 1);
    expect_long("x\n", LEX_MAX_LINE, ' ', false, true, 0);
    expect_long("x\n", LEX_MAX_LINE + 1, ' ', false, false, 2);
    expect_long("x\r\n", LEX_MAX_LINE + 1, '+', true, false, 2);  /* many tokens */
    expect_long("x\n", LEX_MAX_LINE, '+', true, true, 0);
    /* a comment counts too */
    char *t = long_line("# ", LEX_MAX_LINE, '#', true);
    Source s;
    src_init(&s, t);
    Toks toks;
    Err err = {0};
    assert_false(lex_all(&s, &toks, &err));
    assert_non_null(strstr(err.msg, "line longer than"));
    source_free(&s);
    free(t);
}

/* Names of LEX_MAX_NAME bytes are fine, one more is an error at the name; titles likewise
 * with LEX_MAX_TITLE. */
static void test_name_and_title_limits(void **state)
{
    (void)state;
    for (int over = 0; over <= 1; over++) {
        size_t n = LEX_MAX_NAME + (size_t)over;
        char *t = long_line("input ", n, 'w', false);
        Source s;
        src_init(&s, t);
        Toks toks;
        Err err = {0};
        bool ok = lex_all(&s, &toks, &err);
        assert_int_equal(ok, !over);
        if (over) {
            uint32_t l, c;
            err_line_col(&s, &err, &l, &c);
            assert_true(l == 1 && c == 7 && err.span.len == n);
            assert_non_null(strstr(err.msg, "name longer than 256 bytes"));
        }
        source_free(&s);
        free(t);

        n = LEX_MAX_TITLE + (size_t)over;
        t = long_line("model \"", n, 't', false);
        strcat(t, "\"");
        src_init(&s, t);
        err = (Err){0};
        ok = lex_all(&s, &toks, &err);
        assert_int_equal(ok, !over);
        if (over)
            assert_non_null(strstr(err.msg, "string longer than 1024 bytes"));
        source_free(&s);
        free(t);
    }
}

static void test_kind_names(void **state)
{
    (void)state;
    assert_string_equal(lex_kind_name(TOK_EQ), "'='");
    assert_string_equal(lex_kind_name(TOK_IDENT), "a name");
    assert_string_equal(lex_kind_name(TOK_NEWLINE), "end of line");
    assert_string_equal(lex_kind_name(TOK_EOF), "end of file");
    assert_string_equal(lex_kind_name(TOK_LOSS), "'loss'");
    for (int k = TOK_EOF; k <= TOK_COMMA; k++) {
        const char *nm = lex_kind_name((TokKind)k);
        assert_non_null(nm);
        assert_true(strlen(nm) > 2);
        assert_string_not_equal(nm, "?");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_kinds),
        cmocka_unit_test(test_token_spans),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_error_table),
        cmocka_unit_test(test_line_length_limit),
        cmocka_unit_test(test_name_and_title_limits),
        cmocka_unit_test(test_kind_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
