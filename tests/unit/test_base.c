/* Unit tests of base: arena, vectors, Buf, errors and their compiler-style rendering, the line
 * map, edit distance and UTF-8 validation. Expected texts are written by hand from SPEC §3's
 * error format. */
#include "util.h"

/* ---- Arena ---- */

static void test_arena_alignment_zero_no_overlap(void **state)
{
    (void)state;
    Arena a = {0};
    enum { N = 20000 };
    unsigned char **p = malloc(N * sizeof *p);
    size_t *sz = malloc(N * sizeof *sz);
    assert_non_null(p);
    assert_non_null(sz);
    for (size_t i = 0; i < N; i++) {
        sz[i] = 1 + (i * 7919) % 300;
        if (i % 1000 == 999)
            sz[i] = 70000 + i; /* bigger than a chunk: a block of its own */
        p[i] = arena_alloc(&a, sz[i]);
        assert_non_null(p[i]);
        assert_int_equal((uintptr_t)p[i] % _Alignof(max_align_t), 0);
        for (size_t k = 0; k < sz[i]; k++)
            assert_int_equal(p[i][k], 0);
        memset(p[i], (int)(i & 0xff), sz[i]);
    }
    /* every block still holds its own pattern: no two blocks overlap */
    for (size_t i = 0; i < N; i++)
        for (size_t k = 0; k < sz[i]; k += 17)
            assert_int_equal(p[i][k], i & 0xff);
    arena_free(&a);
    assert_null(a.head);
    /* reusable after arena_free; arena_free twice is harmless */
    char *s = arena_strndup(&a, "hello, world", 5);
    assert_string_equal(s, "hello");
    assert_non_null(arena_alloc(&a, 0));
    arena_free(&a);
    arena_free(&a);
    free(p);
    free(sz);
}

static void test_arena_huge_request_fails(void **state)
{
    (void)state;
    Arena a = {0};
    /* a size near SIZE_MAX must fail, not wrap around to a tiny block */
    assert_null(arena_alloc(&a, SIZE_MAX));
    assert_null(arena_alloc(&a, SIZE_MAX - 8));
    arena_free(&a);
}

/* ---- vec_reserve ---- */

static void test_vec_reserve(void **state)
{
    (void)state;
    int *d = NULL;
    size_t cap = 0;
    assert_true(vec_reserve((void **)&d, &cap, 1, sizeof *d));
    assert_true(cap >= 1);
    for (int i = 0; i < 1000; i++) {
        assert_true(vec_reserve((void **)&d, &cap, (size_t)i + 1, sizeof *d));
        d[i] = i * 3;
    }
    assert_true(cap >= 1000);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(d[i], i * 3);
    int *before = d;
    size_t cap_before = cap;
    assert_false(vec_reserve((void **)&d, &cap, SIZE_MAX / 2, sizeof *d)); /* overflow */
    assert_ptr_equal(d, before);
    assert_int_equal(cap, cap_before);
    assert_true(vec_reserve((void **)&d, &cap, 10, sizeof *d)); /* already has room */
    assert_int_equal(cap, cap_before);
    free(d);
}

/* ---- Buf ---- */

static void test_buf(void **state)
{
    (void)state;
    Buf b = {0};
    buf_puts(&b, "abc");
    buf_append(&b, "d\0e", 3);
    assert_int_equal(b.len, 6);
    assert_memory_equal(b.data, "abcd\0e", 7);
    buf_printf(&b, "[%d:%s]", 42, "x");
    assert_int_equal(b.len, 12);
    assert_string_equal(b.data + 6, "[42:x]");
    /* longer than buf_printf's stack buffer */
    char big[1001];
    memset(big, 'q', 1000);
    big[1000] = '\0';
    buf_printf(&b, "<%s>", big);
    assert_int_equal(b.len, 12 + 1002);
    assert_int_equal(b.data[12], '<');
    assert_int_equal(b.data[13 + 999], 'q');
    assert_int_equal(b.data[13 + 1000], '>');
    assert_int_equal(b.data[b.len], '\0');
    assert_false(b.oom);
    buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    buf_free(&b); /* twice is harmless */
}

/* ---- edit distance ---- */

static void test_edit_distance(void **state)
{
    (void)state;
    static const struct {
        const char *a, *b;
        size_t cap, want;
    } rows[] = {
        {"kitten", "sitting", 5, 3},
        {"kitten", "sitting", 2, 3}, /* over the cap: cap + 1 */
        {"sigmod", "sigmoid", 2, 1},
        {"flaw", "lawn", 3, 2},
        {"ab", "ba", 3, 1}, /* a transposition costs 1 */
        {"tahn", "tanh", 2, 1},
        {"sigomid", "sigmoid", 2, 1},
        {"abcd", "badc", 2, 2}, /* two swaps */
        {"ca", "abc", 3, 3}, /* optimal string alignment: no edit after a swap (true Damerau: 2) */
        {"abc", "abc", 0, 0},
        {"", "", 2, 0},
        {"a", "", 2, 1},
        {"", "abc", 5, 3},
        {"a", "abcd", 2, 3}, /* length difference alone exceeds the cap */
        {"tanh", "than", 2, 2}, /* the swapped pair is not adjacent */
        {"exp", "exp2", 1, 1},
    };
    for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
        size_t d = edit_distance(rows[i].a, strlen(rows[i].a), rows[i].b, strlen(rows[i].b), rows[i].cap);
        if (d != rows[i].want)
            print_error("edit_distance(%s, %s, cap %zu) = %zu, want %zu\n", rows[i].a, rows[i].b, rows[i].cap, d,
                        rows[i].want);
        assert_int_equal(d, rows[i].want);
    }
    /* slices of longer strings: only [0, len) counts */
    assert_int_equal(edit_distance("sinXYZ", 3, "sin", 3, 2), 0);
    /* names longer than 64 bytes are never "near" anything */
    char long_a[70], long_b[70];
    memset(long_a, 'a', 69);
    memset(long_b, 'a', 69);
    assert_int_equal(edit_distance(long_a, 69, long_b, 69, 2), 3);
    assert_int_equal(edit_distance(long_a, 64, long_b, 64, 2), 0);
}

/* ---- UTF-8 ---- */

static void test_utf8_valid_prefix(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t len, want;
    } rows[] = {
        {"plain ascii", 11, 11},
        {"caf\xc3\xa9", 5, 5},                 /* é */
        {"\xe2\x88\x82\xcf\x83", 5, 5},        /* ∂σ */
        {"\xf0\x9f\x98\x80!", 5, 5},           /* U+1F600 */
        {"a\xc0\xaf", 3, 1},                   /* overlong '/' (2 bytes) */
        {"a\xc1\xbf", 3, 1},                   /* overlong (C1 lead) */
        {"ab\xe0\x80\xaf", 5, 2},              /* overlong '/' (3 bytes) */
        {"\xe0\x9f\xbf", 3, 0},                /* overlong U+07FF */
        {"\xe0\xa0\x80", 3, 3},                /* U+0800, the first 3-byte value */
        {"\xf0\x80\x80\xaf", 4, 0},            /* overlong (4 bytes) */
        {"\xf0\x8f\xbf\xbf", 4, 0},            /* overlong U+FFFF */
        {"\xf0\x90\x80\x80", 4, 4},            /* U+10000 */
        {"x\xed\xa0\x80", 4, 1},               /* surrogate U+D800 */
        {"x\xed\xbf\xbf", 4, 1},               /* surrogate U+DFFF */
        {"\xed\x9f\xbf", 3, 3},                /* U+D7FF, just below the surrogates */
        {"\xee\x80\x80", 3, 3},                /* U+E000, just above */
        {"\xf4\x8f\xbf\xbf", 4, 4},            /* U+10FFFF, the largest */
        {"\xf4\x90\x80\x80", 4, 0},            /* U+110000 */
        {"\xf5\x80\x80\x80", 4, 0},            /* lead byte beyond U+10FFFF */
        {"\xf7\xbf\xbf\xbf", 4, 0},
        {"ok\x80", 3, 2},                      /* lone continuation byte */
        {"\xbf", 1, 0},
        {"\xfe", 1, 0},
        {"\xff", 1, 0},
        {"a\xe2\x82", 3, 1},                   /* truncated at the end */
        {"a\xe2\x82z", 4, 1},                  /* truncated by an ASCII byte */
        {"a\xf0\x9f\x98", 4, 1},
        {"\xc3", 1, 0},
        {"\xc3\xa9\xc3", 3, 2},
        {"", 0, 0},
    };
    for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
        size_t got = utf8_valid_prefix((const unsigned char *)rows[i].s, rows[i].len);
        if (got != rows[i].want)
            print_error("row %zu: utf8_valid_prefix = %zu, want %zu\n", i, got, rows[i].want);
        assert_int_equal(got, rows[i].want);
    }
    /* the length bounds the scan: a character cut by n is invalid */
    assert_int_equal(utf8_valid_prefix((const unsigned char *)"\xc3\xa9", 1), 0);
}

/* ---- line map ---- */

static void test_source_line_col(void **state)
{
    (void)state;
    Source s;
    src_init(&s, "ab\ncd\n\nef");
    assert_int_equal(s.nlines, 4);
    static const uint32_t rows[][3] = {
        {0, 1, 1}, {1, 1, 2}, {2, 1, 3}, {3, 2, 1}, {5, 2, 3}, {6, 3, 1}, {7, 4, 1}, {9, 4, 3}, {10, 4, 4},
    };
    for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
        uint32_t line, col;
        source_line_col(&s, rows[i][0], &line, &col);
        assert_int_equal(line, rows[i][1]);
        assert_int_equal(col, rows[i][2]);
    }
    source_free(&s);
    source_free(NULL);

    /* CRLF: the CR is a byte of its line; the next line starts after the LF */
    src_init(&s, "a\r\nbc\r\n");
    uint32_t line, col;
    source_line_col(&s, 4, &line, &col);
    assert_int_equal(line, 2);
    assert_int_equal(col, 2);
    source_line_col(&s, 1, &line, &col);
    assert_int_equal(line, 1);
    assert_int_equal(col, 2);
    source_free(&s);

    /* an empty text has one (empty) line */
    src_init(&s, "");
    assert_int_equal(s.nlines, 1);
    source_line_col(&s, 0, &line, &col);
    assert_int_equal(line, 1);
    assert_int_equal(col, 1);
    source_free(&s);

    /* many lines: the binary search finds each one */
    Buf b = {0};
    for (int i = 0; i < 5000; i++)
        buf_printf(&b, "line %d\n", i);
    src_init(&s, b.data);
    assert_int_equal(s.nlines, 5001);
    for (uint32_t i = 0; i < 5000; i += 37) {
        uint32_t off = s.lines[i] + 3;
        source_line_col(&s, off, &line, &col);
        assert_int_equal(line, i + 1);
        assert_int_equal(col, 4);
    }
    source_free(&s);
    buf_free(&b);
}

/* ---- errors ---- */

static void test_err_first_wins(void **state)
{
    (void)state;
    Err e = {0};
    assert_true(err_ok(&e));
    err_hint(&e, "ignored: no error yet");
    assert_string_equal(e.hint, "");
    assert_false(err_at(&e, (Span){3, 2}, "first %d", 1));
    assert_false(err_set(&e, ERR_IO, "second"));
    assert_false(err_ok(&e));
    assert_int_equal(e.kind, ERR_MODEL);
    assert_true(e.has_span);
    assert_int_equal(e.span.off, 3);
    assert_int_equal(e.span.len, 2);
    assert_string_equal(e.msg, "first 1");
    err_hint(&e, "hint %s", "one");
    err_hint(&e, "hint two");
    assert_string_equal(e.hint, "hint one");

    /* a message longer than its buffer is cut at a character boundary */
    char long_e[1200];
    for (int i = 0; i < 599; i++)
        memcpy(long_e + 2 * i, "\xc3\xa9", 2);
    long_e[1198] = '\0';
    Err t = {0};
    err_at(&t, (Span){0, 0}, "%s", long_e); /* 511 bytes would end inside an é */
    err_hint(&t, "%s", long_e);
    assert_true(strlen(t.msg) > 400);
    assert_int_equal(utf8_valid_prefix((const unsigned char *)t.msg, strlen(t.msg)), strlen(t.msg));
    assert_int_equal(utf8_valid_prefix((const unsigned char *)t.hint, strlen(t.hint)), strlen(t.hint));

    Err u = {0};
    err_set(&u, ERR_USAGE, "bad option '%s'", "-z");
    assert_int_equal(u.kind, ERR_USAGE);
    assert_false(u.has_span);
    assert_string_equal(u.msg, "bad option '-z'");
}

/* Renders one diagnostic and compares the whole text. */
static void expect_diag(const char *text, Span span, const char *msg, const char *hint, const char *want)
{
    Source s;
    src_init(&s, text);
    MemOut m;
    mem_open(&m);
    diag_write(m.f, &s, "error", true, span, msg, hint);
    char *got = mem_close(&m);
    if (strcmp(got, want) != 0)
        print_error("got:\n%s\nwant:\n%s\n", got, want);
    assert_string_equal(got, want);
    free(got);
    source_free(&s);
}

static void test_diag_format(void **state)
{
    (void)state;
    /* SPEC §3's example */
    expect_diag("input z = 1\ny = sigmod(z)\n", (Span){16, 6},
                "unknown function 'sigmod' (did you mean 'sigmoid'?)", NULL,
                "t.grad:2:5: error: unknown function 'sigmod' (did you mean 'sigmoid'?)\n"
                "    y = sigmod(z)\n"
                "        ^~~~~~\n");
    /* a hint becomes a note line */
    expect_diag("k = 2*3\n", (Span){4, 3}, "constant", "declare a constant leaf instead: const k = 6",
                "t.grad:1:5: error: constant\n"
                "    k = 2*3\n"
                "        ^~~\n"
                "note: declare a constant leaf instead: const k = 6\n");
    /* tabs are kept in the source line and in the underline, so the caret lines up */
    expect_diag("input x = 1\n\ty =\tfoo(x)\n", (Span){17, 3}, "m", NULL,
                "t.grad:2:6: error: m\n"
                "    \ty =\tfoo(x)\n"
                "    \t   \t^~~\n");
    /* a multi-byte character takes one column before the caret */
    expect_diag("y = \xc3\xa9 + sin\n", (Span){9, 3}, "m", NULL,
                "t.grad:1:10: error: m\n"
                "    y = \xc3\xa9 + sin\n"
                "            ^~~\n");
    /* control bytes (a terminal escape) are shown as '?' */
    expect_diag("y = x\x1b[31m + 1\n", (Span){4, 1}, "m", NULL,
                "t.grad:1:5: error: m\n"
                "    y = x?[31m + 1\n"
                "        ^\n");
    /* DEL and a C1 control (U+009B, an 8-bit CSI) too */
    expect_diag("y\x7f = \xc2\x9bx\n", (Span){0, 1}, "m", NULL,
                "t.grad:1:1: error: m\n"
                "    y? = ?x\n"
                "    ^\n");
    /* invalid UTF-8 is not copied to the terminal: each bad byte is a '?' of one column */
    expect_diag("input x = 1 # caf\xc3\n", (Span){17, 1}, "invalid UTF-8 (byte 0xC3)", NULL,
                "t.grad:1:18: error: invalid UTF-8 (byte 0xC3)\n"
                "    input x = 1 # caf?\n"
                "                     ^\n");
    expect_diag("a\xff\xfe = b\n", (Span){5, 1}, "m", NULL,
                "t.grad:1:6: error: m\n"
                "    a?? = b\n"
                "         ^\n");
    /* the underline stops at the end of the line */
    expect_diag("y = (x\nz\n", (Span){4, 10}, "m", NULL,
                "t.grad:1:5: error: m\n"
                "    y = (x\n"
                "        ^~\n");
    /* a position at the end of a file without a final newline */
    expect_diag("y = (x", (Span){6, 0}, "m", NULL,
                "t.grad:1:7: error: m\n"
                "    y = (x\n"
                "          ^\n");
    /* a byte order mark opening the file is neither shown nor given a column; the column in
     * the message still counts its bytes */
    expect_diag("\xef\xbb\xbfy = foo(x)\n", (Span){7, 3}, "m", NULL,
                "t.grad:1:8: error: m\n"
                "    y = foo(x)\n"
                "        ^~~\n");
    /* bidirectional controls cannot reorder the shown line */
    expect_diag("y = \xe2\x80\xaex + 1\n", (Span){0, 1}, "m", NULL,
                "t.grad:1:1: error: m\n"
                "    y = ?x + 1\n"
                "    ^\n");
    /* CRLF: the CR is not shown */
    expect_diag("y = 1\r\nz = 2\r\n", (Span){7, 1}, "m", NULL,
                "t.grad:2:1: error: m\n"
                "    z = 2\n"
                "    ^\n");
}

static void test_diag_long_line(void **state)
{
    (void)state;
    /* 399 a's, "BAD" at column 400, 200 b's: the snippet shows a 160-byte window with the
     * caret 60 bytes in */
    char text[700], want[1000];
    memset(text, 'a', 399);
    memcpy(text + 399, "BAD", 3);
    memset(text + 402, 'b', 200);
    strcpy(text + 602, "\n");
    char line[200], caret[100];
    memset(line, 'a', 60);
    memcpy(line + 60, "BAD", 3);
    memset(line + 63, 'b', 97);
    line[160] = '\0';
    memset(caret, ' ', 60);
    strcpy(caret + 60, "^~~");
    snprintf(want, sizeof want, "t.grad:1:400: error: m\n    %s\n    %s\n", line, caret);
    expect_diag(text, (Span){399, 3}, "m", NULL, want);
}

static void test_diag_without_span(void **state)
{
    (void)state;
    Source s;
    src_init(&s, "x\n");
    MemOut m;
    mem_open(&m);
    diag_write(m.f, &s, "warning", false, (Span){0, 0}, "w", NULL);
    diag_write(m.f, NULL, "error", false, (Span){0, 0}, "no source", "h");
    char *got = mem_close(&m);
    assert_string_equal(got, "t.grad: warning: w\ngradviz: error: no source\nnote: h\n");
    free(got);

    /* err_write: a model error names the file; usage and I/O errors are the tool's */
    Err model = {0}, usage = {0}, io = {0}, nospan = {0};
    err_at(&model, (Span){0, 1}, "bad x");
    err_set(&usage, ERR_USAGE, "bad option");
    err_set(&io, ERR_IO, "cannot write");
    err_set(&nospan, ERR_MODEL, "the model has no output");
    mem_open(&m);
    err_write(m.f, &s, &model);
    err_write(m.f, &s, &usage);
    err_write(m.f, &s, &io);
    err_write(m.f, &s, &nospan);
    got = mem_close(&m);
    assert_string_equal(got, "t.grad:1:1: error: bad x\n    x\n    ^\n"
                             "gradviz: error: bad option\n"
                             "gradviz: error: cannot write\n"
                             "t.grad: error: the model has no output\n");
    free(got);
    source_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena_alignment_zero_no_overlap),
        cmocka_unit_test(test_arena_huge_request_fails),
        cmocka_unit_test(test_vec_reserve),
        cmocka_unit_test(test_buf),
        cmocka_unit_test(test_edit_distance),
        cmocka_unit_test(test_utf8_valid_prefix),
        cmocka_unit_test(test_source_line_col),
        cmocka_unit_test(test_err_first_wins),
        cmocka_unit_test(test_diag_format),
        cmocka_unit_test(test_diag_long_line),
        cmocka_unit_test(test_diag_without_span),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
