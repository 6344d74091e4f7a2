/* Unit tests of the parser: a table of bad models with the expected line:col and message (in
 * the manner of tinyexpr's smoke table and Lua's errors.lua), nesting limits, and good models
 * whose graph structure and values are checked against hand-derived expectations. */
#include "util.h"

#include "ad.h"
#include "lex.h"
#include "parse.h"

static Graph *parse_text(Source *s, const char *text, Err *err)
{
    src_init(s, text);
    memset(err, 0, sizeof *err);
    return parse_model(s, err);
}

/* Parses text, which must succeed, and evaluates it. */
static Graph *must_parse(Source *s, const char *text, double **values)
{
    Err err = {0};
    Graph *g = parse_text(s, text, &err);
    if (!g) {
        MemOut m;
        mem_open(&m);
        err_write(m.f, s, &err);
        char *msg = mem_close(&m);
        print_error("unexpected error parsing:\n%s\n%s", text, msg);
        free(msg);
    }
    assert_non_null(g);
    if (values) {
        *values = malloc((g->nnodes ? g->nnodes : 1) * sizeof **values);
        assert_non_null(*values);
        ad_forward(g, *values);
    }
    return g;
}

static uint32_t node_named(const Graph *g, const char *name)
{
    uint32_t id = graph_lookup(g, name, strlen(name));
    if (id == UINT32_MAX)
        print_error("no node named %s\n", name);
    assert_true(id != UINT32_MAX);
    return id;
}

/* The node feeding slot `slot` of op node n (which must be a node, not a literal). */
static uint32_t operand(const Graph *g, uint32_t n, int slot)
{
    const Node *nd = &g->nodes[n];
    assert_true(slot < nd->nargs);
    assert_false(nd->args[slot].is_lit);
    const Edge *e = &g->edges[nd->args[slot].ref];
    assert_int_equal(e->to, n);
    assert_int_equal(e->slot, slot);
    return e->from;
}

/* ---- the error table ---- */

typedef struct BadRow {
    const char *text;
    size_t len;         /* 0: strlen(text) */
    uint32_t line, col; /* 0:0 for an error without a location */
    const char *msg;    /* substring of the message */
    const char *hint;   /* substring of the hint, or NULL */
    const char *absent; /* must appear in neither message nor hint, or NULL */
} BadRow;

static const BadRow BAD[] = {
    /* names and functions, with did-you-mean */
    {"input x = 1\ny = sigmod(x)\n", 0, 2, 5, "unknown function 'sigmod' (did you mean 'sigmoid'?)", NULL, NULL},
    {"input x = 1\ny = Sin(x)\n", 0, 2, 5, "unknown function 'Sin' (did you mean 'sin'?)", NULL, NULL},
    {"input x = 1\ny = 2*(x + tanhh(x))\n", 0, 2, 12, "unknown function 'tanhh' (did you mean 'tanh'?)", NULL, NULL},
    {"input x = 1\ny = foo(x)\n", 0, 2, 5, "unknown function 'foo'", "functions: sin", "did you mean"},
    {"input x = 1\ny = add(x, x)\n", 0, 2, 5, "'add'", "a + b", NULL},
    {"input x = 1\ny = mul(x, 2)\n", 0, 2, 5, "'mul'", "a * b", NULL},
    {"input x = 1\ny = neg(x)\n", 0, 2, 5, "'neg'", "-a", NULL},
    {"input value = 1\ny = valeu * 2\n", 0, 2, 5, "undefined name 'valeu' (did you mean 'value'?)", NULL, NULL},
    {"input weight = 1\ny = wieght*2\n", 0, 2, 5, "undefined name 'wieght' (did you mean 'weight'?)", NULL, NULL},
    {"input x = 1\ny = z * 2\n", 0, 2, 5, "undefined name 'z'", NULL, "did you mean"},
    {"input xx = 1\ny = x * 2\n", 0, 2, 5, "undefined name 'x'", NULL, "did you mean"},
    {"y = x*2\ninput x = 1\n", 0, 1, 5, "undefined name 'x'", NULL, NULL}, /* defined before use */
    {"input x = 1\ny = x(2)\n", 0, 2, 5, "'x' is a value, not a function", NULL, NULL},
    {"input x = 1\ny = x*2\nz = y(x)\n", 0, 3, 5, "'y' is a value, not a function", NULL, NULL},
    /* every name is assigned once */
    {"input x = 1\nx = x * 2\n", 0, 2, 1, "'x' is already defined", "first defined on line 1", NULL},
    {"input x = 1\ninput x = 2\n", 0, 2, 7, "'x' is already defined", NULL, NULL},
    {"input x = 1\nloss L = x*x\nloss L = x + 1\n", 0, 3, 6, "'L' is already defined", "line 2", NULL},
    /* an assignment needs an operation on a node */
    {"input x = 1\ny = x\n", 0, 2, 5, "only gives 'x' another name", "use 'x' directly", NULL},
    {"input x = 1\ny = (x)\n", 0, 2, 5, "only gives 'x' another name", "use 'x' directly", NULL},
    {"input x = 1\noutput y = x\n", 0, 2, 12, "only gives 'x' another name", NULL, NULL},
    {"k = 2*3\n", 0, 1, 5, "'k' has a constant value", "const k = 6", NULL},
    {"input x = 1\nk = -(2^3) + 1\n", 0, 2, 5, "constant value", "const k = -7", NULL},
    {"k = 2*0.1\n", 0, 1, 5, "constant value", "const k = 0.2", "0.20"},
    {"k = 0.1*3\n", 0, 1, 5, "constant value", "const k = 0.30000000000000004", NULL},
    {"k = 1/0\n", 0, 1, 5, "constant value", "not a finite number", "const k = inf"},
    {"output y = 2 + 3\n", 0, 1, 12, "'y' has a constant value", "const y = 5", NULL},
    /* keywords and function names are not names */
    {"input model = 1\n", 0, 1, 7, "'model' is a keyword", NULL, NULL},
    {"input x = 1\ny = x + param\n", 0, 2, 9, "'param' is a keyword", NULL, NULL},
    {"loss = 3\n", 0, 1, 1, "'loss' is a keyword", NULL, NULL},
    {"input = 3\n", 0, 1, 1, "'input' is a keyword", NULL, NULL},
    {"model = 3\n", 0, 1, 1, "'model' is a keyword", NULL, NULL},
    {"input x = 1\nconst = x*2\n", 0, 2, 1, "'const' is a keyword", NULL, NULL},
    {"input x = 1\ny = x * sin\n", 0, 2, 9, "'sin' is a function; call it as sin(...)", NULL, NULL},
    {"input x = 1\ny = sin x\n", 0, 2, 5, "'sin' is a function", NULL, NULL},
    {"input x = 1\nexp = x * 2\n", 0, 2, 1, "'exp' is a function name and cannot be assigned", NULL, NULL},
    {"input sin = 1\n", 0, 1, 7, "'sin' is a function name", NULL, NULL},
    {"input x = 1\noutput max = x*2\n", 0, 2, 8, "'max' is a function name", NULL, NULL},
    {"INPUT x = 1\n", 0, 1, 1, "unknown statement 'INPUT'", NULL, NULL},
    /* calls */
    {"input x = 1\ny = sin(x, x)\n", 0, 2, 5, "sin takes 1 argument, got 2", NULL, NULL},
    {"input x = 1\ny = pow(x)\n", 0, 2, 5, "pow takes 2 arguments, got 1", NULL, NULL},
    {"input x = 1\ny = max(x, 1, 2)\n", 0, 2, 5, "max takes 2 arguments, got 3", NULL, NULL},
    {"input x = 1\ny = sin()\n", 0, 2, 9, "expected an expression, found ')'", NULL, NULL},
    {"input x = 1\ny = sin(x\n", 0, 2, 10, "expected ')' or ','", NULL, NULL},
    /* brackets and stray tokens */
    {"input x = 1\ny = (x + 1\n", 0, 2, 11, "expected ')' to close the '(' at column 5", NULL, NULL},
    {"input x = 1\ny = 2 * (x + (1\n", 0, 2, 16, "close the '(' at column 14", NULL, NULL},
    {"input x = 1\ny = (x + 1", 0, 2, 11, "expected ')' to close the '(' at column 5", NULL, NULL},
    {"input x = 1\r\ny = (x + 1\r\n", 0, 2, 11, "expected ')' to close the '(' at column 5", NULL, NULL},
    {"input x = 1\ny = (x + 1 2)\n", 0, 2, 12, "close the '(' at column 5", NULL, NULL},
    {"input x = 1\ny = x + 1 )\n", 0, 2, 11, "expected end of line, found ')'", NULL, NULL},
    {"input x = 1\ny = x 2\n", 0, 2, 7, "expected end of line, found '2'", NULL, NULL},
    {"input x = 1\ny = x * 2 \"s\"\n", 0, 2, 11, "expected end of line, found a string", NULL, NULL},
    {"input x = 1\ny = x +\n", 0, 2, 8, "expected an expression before end of line", NULL, NULL},
    {"input x = 1\ny = x +", 0, 2, 8, "expected an expression before end of file", NULL, NULL},
    {"input x = 1\ny = x ^ \n", 0, 2, 9, "expected an expression before end of line", NULL, NULL},
    {"input x = 1\ny = * x\n", 0, 2, 5, "expected an expression, found '*'", NULL, NULL},
    {"input x = 1\ny x\n", 0, 2, 1, "unknown statement 'y'", NULL, NULL},
    {"input x = 1\ny == x\n", 0, 2, 4, "expected an expression, found '='", NULL, NULL},
    {"input x = 1\noutput y\n", 0, 2, 9, "expected '=' before end of line", NULL, NULL},
    {"= 3\n", 0, 1, 1, "expected a statement, found '='", NULL, NULL},
    {"3 = x\n", 0, 1, 1, "expected a statement, found a number", NULL, NULL},
    /* leaves hold one number */
    {"input x = 1 + 2\n", 0, 1, 13, "the value of input 'x' must be a single number", NULL, NULL},
    {"input x = 1\nparam w = x\n", 0, 2, 11, "the value of param 'w' must be a number", NULL, NULL},
    {"input x = --1\n", 0, 1, 12, "must be a number", NULL, NULL},
    {"const c = (1)\n", 0, 1, 11, "the value of const 'c' must be a number", NULL, NULL},
    {"input x\n", 0, 1, 8, "expected '=' before end of line", NULL, NULL},
    {"input x 1\n", 0, 1, 9, "expected '=', found '1'", NULL, NULL},
    {"input 2x = 1\n", 0, 1, 7, "malformed number '2x'", NULL, NULL},
    /* the title */
    {"model \"a\"\nmodel \"b\"\n", 0, 2, 1, "the model title is given twice", NULL, NULL},
    {"model title\n", 0, 1, 7, "expected a title in double quotes, found 'title'", NULL, NULL},
    {"model \"a\" \"b\"\n", 0, 1, 11, "expected end of line", NULL, NULL},
    {"model \"abc\ninput x = 1\n", 0, 1, 7, "unterminated string", NULL, NULL},
    /* bytes and characters */
    {"input x = 1\ny = x * 2 \xff\n", 0, 2, 11, "invalid UTF-8 (byte 0xFF)", NULL, NULL},
    {"input x = 1 # caf\xc3\n", 0, 1, 18, "invalid UTF-8 (byte 0xC3)", NULL, NULL},
    {"input x = 1\n# \xed\xa0\x80 surrogate in a comment\ny = x*2\n", 0, 2, 3, "invalid UTF-8", NULL, NULL},
    {"input x = 1\ny = x\0 * 2\n", 23, 2, 6, "NUL byte", NULL, NULL},
    {"input x = 1\ry = x*2\n", 0, 1, 12, "carriage return", NULL, NULL},
    {"input x = 1\ny = 2 \xe2\x88\x92 x\n", 0, 2, 7, "U+2212", "hyphen-minus", NULL},
    {"input x = 1\ny = 2 \xc3\x97 x\n", 0, 2, 7, "unexpected character '\xc3\x97'", "'*'", NULL},
    {"input x = 1\ny = 2x + 1\n", 0, 2, 5, "malformed number '2x'", "2*x", NULL},
    {"input x = 1.2.3\n", 0, 1, 11, "malformed number '1.2.3'", NULL, NULL},
    {"input x = 1\ny = x * 3e\n", 0, 2, 9, "malformed number '3e'", NULL, NULL},
    {"input x = 1e999\n", 0, 1, 11, "number out of range", NULL, NULL},
    {"input x = 1\ny = x * -1e999\n", 0, 2, 10, "number out of range", NULL, NULL},
    {"input x = 1\ny =\xc2\xa0x*2\n", 0, 2, 4, "no-break space", "ordinary space", NULL},
    {"model \xe2\x80\x9cNeuron\xe2\x80\x9d\n", 0, 1, 7, "quotation mark", "ASCII double quotes", NULL},
    /* tabs count as one byte; CRLF is a line ending */
    {"input x = 1\n\ty =\tfoo(x)\n", 0, 2, 6, "unknown function 'foo'", NULL, NULL},
    {"input x = 1\r\ny = sigmod(x)\r\n", 0, 2, 5, "unknown function 'sigmod'", NULL, NULL},
    /* no output */
    {"", 0, 0, 0, "no output", NULL, NULL},
    {"input x = 1\nconst c = 2\n", 0, 0, 0, "no output", NULL, NULL},
    {"# nothing\n\n", 0, 0, 0, "no output", NULL, NULL},
    {"model \"only a title\"\n", 0, 0, 0, "no output", NULL, NULL},
};

static void check_bad(size_t i, const BadRow *r)
{
    Source s;
    src_init_mem(&s, r->text, r->len ? r->len : strlen(r->text));
    Err err = {0};
    Graph *g = parse_model(&s, &err);
    uint32_t line, col;
    err_line_col(&s, &err, &line, &col);
    bool good = !g && err.kind == ERR_MODEL && err.has_span == (r->line != 0) && line == r->line &&
                col == r->col && strstr(err.msg, r->msg) && (!r->hint || strstr(err.hint, r->hint)) &&
                (!r->absent || (!strstr(err.msg, r->absent) && !strstr(err.hint, r->absent)));
    if (!good)
        print_error("row %zu: %s\n  got %s %u:%u '%s' (hint '%s')\n  want %u:%u '%s' (hint '%s', without '%s')\n", i,
                    r->text, g ? "success" : "error", line, col, err.msg, err.hint, r->line, r->col, r->msg,
                    r->hint ? r->hint : "", r->absent ? r->absent : "");
    graph_free(g);
    source_free(&s);
    assert_true(good);
}

static void test_error_table(void **state)
{
    (void)state;
    assert_true(ARRAY_LEN(BAD) >= 40);
    for (size_t i = 0; i < ARRAY_LEN(BAD); i++)
        check_bad(i, &BAD[i]);
}

/* ---- nesting and size limits ---- */

/* "input x = 1\ny = " + pre×n + mid + post×n + "\n" */
static char *nested(const char *pre, size_t n, const char *mid, const char *post)
{
    Buf b = {0};
    buf_puts(&b, "input x = 1\ny = ");
    for (size_t i = 0; i < n; i++)
        buf_puts(&b, pre);
    buf_puts(&b, mid);
    for (size_t i = 0; i < n; i++)
        buf_puts(&b, post);
    buf_puts(&b, "\n");
    assert_false(b.oom);
    return b.data;
}

/* Parses n repetitions of pre, each one level of nesting (two for "(-"): accepted when that is
 * at most PARSE_MAX_DEPTH, else an error on line 2 at column `col` (0: any column) that names
 * the limit. */
static void expect_nesting(const char *pre, size_t n, const char *mid, const char *post, uint32_t col)
{
    size_t levels = strcmp(pre, "(-") == 0 ? 2 * n : n;
    char *text = nested(pre, n, mid, post);
    Source s;
    Err err = {0};
    Graph *g = parse_text(&s, text, &err);
    if (levels <= PARSE_MAX_DEPTH) {
        if (!g)
            print_error("%zu levels of '%s': %s\n", n, pre, err.msg);
        assert_non_null(g);
    } else {
        assert_null(g);
        char want[64];
        snprintf(want, sizeof want, "nested deeper than %d levels", PARSE_MAX_DEPTH);
        uint32_t line, c;
        err_line_col(&s, &err, &line, &c);
        if (!strstr(err.msg, want) || line != 2 || (col && c != col))
            print_error("%zu levels of '%s': %u:%u %s (want 2:%u)\n", n, pre, line, c, err.msg, col);
        assert_non_null(strstr(err.msg, want));
        assert_int_equal(line, 2);
        if (col)
            assert_int_equal(c, col);
    }
    graph_free(g);
    source_free(&s);
    free(text);
}

static void test_nesting_limit(void **state)
{
    (void)state;
    const size_t D = PARSE_MAX_DEPTH;
    /* "y = " is 4 bytes; the k-th opening token of width w starts at column 5 + (k-1)·w */
    expect_nesting("(", D, "x*2", ")", 0);
    expect_nesting("(", D + 1, "x*2", ")", (uint32_t)(5 + D));
    expect_nesting("sin(", D, "x", ")", 0);
    expect_nesting("sin(", D + 1, "x", ")", (uint32_t)(5 + 4 * D));
    expect_nesting("-", D, "x", "", 0);
    expect_nesting("-", D + 1, "x", "", (uint32_t)(5 + D));
    expect_nesting("x^", D, "x", "", 0);
    expect_nesting("x^", D + 1, "x", "", (uint32_t)(6 + 2 * D));
    expect_nesting("max(x, ", D, "x", ")", 0);
    expect_nesting("max(x, ", D + 1, "x", ")", (uint32_t)(5 + 7 * D));
    expect_nesting("(-", D / 2, "x", ")", 0);
    expect_nesting("(-", D / 2 + 1, "x", ")", 0);
    /* far beyond the limit: an error, not a stack overflow */
    expect_nesting("(", 100000, "x*2", ")", (uint32_t)(5 + D));
    expect_nesting("sin(", 100000, "x", ")", (uint32_t)(5 + 4 * D));
    expect_nesting("-", 100000, "x", "", (uint32_t)(5 + D));
    expect_nesting("x^", 100000, "x", "", (uint32_t)(6 + 2 * D));
    expect_nesting("pow(x, ", 30000, "x", ")", 0);
    /* a long flat expression is not nested: `x + x + ... + x` of 100,000 terms is fine */
    Buf b = {0};
    buf_puts(&b, "input x = 1\ny = x");
    for (int i = 0; i < 100000; i++)
        buf_puts(&b, " + x");
    buf_puts(&b, "\n");
    Source s;
    double *v;
    Graph *g = must_parse(&s, b.data, &v);
    assert_int_equal(g->nnodes, 100001);
    assert_close(v[g->outputs[0]], 100001.0, 0, 0);
    free(v);
    graph_free(g);
    source_free(&s);
    buf_free(&b);
}

static void test_size_limits(void **state)
{
    (void)state;
    /* over-long line */
    size_t n = LEX_MAX_LINE + 10;
    char *t = malloc(n + 32);
    assert_non_null(t);
    strcpy(t, "input x = 1\ny = x");
    size_t k = strlen(t);
    memset(t + k, ' ', n);
    strcpy(t + k + n, "*2\n");
    Source s;
    Err err = {0};
    Graph *g = parse_text(&s, t, &err);
    assert_null(g);
    uint32_t line, col;
    err_line_col(&s, &err, &line, &col);
    assert_int_equal(line, 2);
    assert_non_null(strstr(err.msg, "line longer than"));
    source_free(&s);
    free(t);

    /* over-large file: the size is checked before a byte is read */
    Source big = {.path = "big.grad", .text = (char *)"x", .len = (size_t)LEX_MAX_FILE + 1};
    err = (Err){0};
    assert_null(parse_model(&big, &err));
    assert_int_equal(err.kind, ERR_MODEL);
    assert_non_null(strstr(err.msg, "larger than"));
    MemOut m;
    mem_open(&m);
    err_write(m.f, &big, &err);
    char *out = mem_close(&m);
    assert_string_equal(out, "big.grad: error: the model file is larger than 256 MiB\n"); /* path once */
    free(out);
}

/* ---- good models ---- */

static void test_precedence(void **state)
{
    (void)state;
    Source s;
    double *v;
    /* -x^2 is -(x^2): -9, not 9 */
    Graph *g = must_parse(&s, "input x = 3\ny = -x^2\n", &v);
    uint32_t y = node_named(g, "y"), x = node_named(g, "x");
    assert_int_equal(g->nodes[y].op, OP_NEG);
    uint32_t p = operand(g, y, 0);
    assert_int_equal(g->nodes[p].op, OP_POW);
    assert_int_equal(operand(g, p, 0), x);
    assert_true(g->nodes[p].args[1].is_lit);
    assert_true(graph_lit(g, &g->nodes[p], 1) == 2.0);
    assert_true(v[y] == -9.0);
    free(v);
    graph_free(g);
    source_free(&s);

    /* 2^3^x is 2^(3^x): at x = 2, 2^9 = 512, not 8^2 = 64 */
    g = must_parse(&s, "input x = 2\ny = 2^3^x\n", &v);
    y = node_named(g, "y");
    assert_int_equal(g->nodes[y].op, OP_POW);
    assert_true(g->nodes[y].args[0].is_lit && graph_lit(g, &g->nodes[y], 0) == 2.0);
    p = operand(g, y, 1);
    assert_int_equal(g->nodes[p].op, OP_POW);
    assert_true(g->nodes[p].args[0].is_lit && graph_lit(g, &g->nodes[p], 0) == 3.0);
    assert_int_equal(operand(g, p, 1), node_named(g, "x"));
    assert_true(v[y] == 512.0);
    free(v);
    graph_free(g);
    source_free(&s);

    /* left associativity of - and /, precedence of * over +, ^ over *, unary minus over * */
    static const struct {
        const char *expr;
        double want;
    } rows[] = {
        {"a-b-c", (10.0 - 4.0) - 3.0},          /* 3, not 9 */
        {"a/b/c", (10.0 / 4.0) / 3.0},          /* not 7.5 */
        {"a+b*c", 10.0 + 12.0},
        {"(a+b)*c", 42.0},
        {"a*b^2", 10.0 * 16.0},
        {"-a*b", -40.0},
        {"a - -b", 14.0},
        {"a^-1", 0.1},
        {"-a^b/c", -10000.0 / 3.0},
        {"a*-b^2", -160.0},
        {"a - b + c", 9.0},
        {"a / b * c", 7.5},
        {"sin(a)^2 + cos(a)^2", 1.0},
        {"pow(b, c) - b^c", 0.0},
        {"max(a, b) - min(a, b)", 6.0},
        {"2^-b", 0.0625},
        {"-(a)", -10.0},
        {"- - a", 10.0},
    };
    for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
        char text[200];
        snprintf(text, sizeof text, "input a = 10\ninput b = 4\ninput c = 3\ny = %s\n", rows[i].expr);
        g = must_parse(&s, text, &v);
        double got = v[node_named(g, "y")];
        if (!num_close(got, rows[i].want, 1e-15, 1e-15))
            print_error("%s = %.17g, want %.17g\n", rows[i].expr, got, rows[i].want);
        assert_close(got, rows[i].want, 1e-15, 1e-15);
        free(v);
        graph_free(g);
        source_free(&s);
    }
}

/* One op node over x with a literal in slot lit_slot. */
static void expect_folded(const char *expr, Op op, int lit_slot, double lit, double x, double want)
{
    char text[200];
    snprintf(text, sizeof text, "input x = %.17g\ny = %s\n", x, expr);
    Source s;
    double *v;
    Graph *g = must_parse(&s, text, &v);
    /* x and one op node: the literal is not a node */
    if (g->nnodes != 2)
        print_error("%s: %u nodes\n", expr, g->nnodes);
    assert_int_equal(g->nnodes, 2);
    assert_int_equal(g->nedges, 1);
    uint32_t y = node_named(g, "y");
    const Node *n = &g->nodes[y];
    assert_int_equal(n->op, op);
    assert_int_equal(n->nargs, op_info(op)->arity);
    assert_int_equal(n->nedges, 1);
    assert_true(n->args[lit_slot].is_lit);
    assert_close(graph_lit(g, n, lit_slot), lit, 1e-15, 0);
    assert_int_equal(operand(g, y, 1 - lit_slot), node_named(g, "x"));
    assert_close(v[y], want, 1e-15, 1e-300);
    free(v);
    graph_free(g);
    source_free(&s);
}

static void test_literal_folding(void **state)
{
    (void)state;
    expect_folded("x^2", OP_POW, 1, 2, 3, 9);
    expect_folded("2*x", OP_MUL, 0, 2, 3, 6);
    expect_folded("x*2", OP_MUL, 1, 2, 3, 6);
    expect_folded("x + 1", OP_ADD, 1, 1, 3, 4);
    expect_folded("1 - x", OP_SUB, 0, 1, 3, -2);
    expect_folded("1/x", OP_DIV, 0, 1, 4, 0.25);
    expect_folded("x*(2*3)", OP_MUL, 1, 6, 0.5, 3);
    expect_folded("-2*x", OP_MUL, 0, -2, 1.5, -3);
    expect_folded("x*-2", OP_MUL, 1, -2, 1.5, -3);
    expect_folded("sin(2)*x", OP_MUL, 0, sin(2.0), 3, 3 * sin(2.0));
    expect_folded("x^(1/2)", OP_POW, 1, 0.5, 16, 4);
    expect_folded("2^x", OP_POW, 0, 2, 10, 1024);
    expect_folded("pow(x, 3)", OP_POW, 1, 3, 2, 8);
    expect_folded("max(x, 0)", OP_MAX, 1, 0, -1, 0);
    expect_folded("min(1 + 1, x)", OP_MIN, 0, 2, 5, 2);
    expect_folded("x - -(2^2)", OP_SUB, 1, -4, 1, 5);
    expect_folded("(3)*(x)", OP_MUL, 0, 3, 7, 21);
    expect_folded("x/(1/0)", OP_DIV, 1, INFINITY, 1, 0);
}

static void test_names_and_numbers(void **state)
{
    (void)state;
    Source s;
    double *v;
    /* inf, nan and e are ordinary names; numbers in every written form */
    Graph *g = must_parse(&s,
                          "input e = 2.5\ninput inf = .5\nparam nan = 3.\nconst c1 = 1e-3\nconst c2 = -1E+2\n"
                          "y = e*inf + nan - c1*c2\n",
                          &v);
    assert_true(v[node_named(g, "e")] == 2.5);
    assert_true(v[node_named(g, "inf")] == 0.5);
    assert_true(v[node_named(g, "nan")] == 3.0);
    assert_true(v[node_named(g, "c1")] == 1e-3);
    assert_true(v[node_named(g, "c2")] == -100.0);
    assert_close(v[node_named(g, "y")], 2.5 * 0.5 + 3.0 - 1e-3 * -100.0, 1e-15, 0);
    assert_int_equal(g->nodes[node_named(g, "nan")].kind, NODE_PARAM);
    assert_int_equal(g->nodes[node_named(g, "c1")].kind, NODE_CONST);
    assert_int_equal(g->nodes[node_named(g, "e")].kind, NODE_INPUT);
    assert_null(g->title);
    free(v);
    graph_free(g);
    source_free(&s);

    /* title, comments, '#' inside the title, a file without a final newline, names like
     * keywords with other case or suffixes */
    g = must_parse(&s,
                   "  # header\nmodel \"A # title: \xe2\x88\x82L/\xe2\x88\x82x\"   # comment\n\n"
                   "input Model = 1 # not a keyword\ninput loss2 = 2\n_x9 = Model*loss2",
                   &v);
    assert_string_equal(g->title, "A # title: \xe2\x88\x82L/\xe2\x88\x82x");
    assert_true(v[node_named(g, "_x9")] == 2.0);
    free(v);
    graph_free(g);
    source_free(&s);

    /* a byte order mark at the start of the file is skipped */
    g = must_parse(&s, "\xef\xbb\xbfinput x = 2\ny = x*3\n", &v);
    assert_true(v[node_named(g, "y")] == 6.0);
    free(v);
    graph_free(g);
    source_free(&s);

    /* x*x: one node with two edges from x, slots 0 and 1 */
    g = must_parse(&s, "input x = 3\ny = x*x\n", &v);
    uint32_t y = node_named(g, "y"), x = node_named(g, "x");
    assert_int_equal(g->nedges, 2);
    assert_int_equal(operand(g, y, 0), x);
    assert_int_equal(operand(g, y, 1), x);
    assert_int_equal(graph_out_count(g, x), 2);
    assert_true(v[y] == 9.0);
    free(v);
    graph_free(g);
    source_free(&s);
}

static void test_outputs(void **state)
{
    (void)state;
    Source s;
    /* several marked outputs: file order, the first is primary */
    Graph *g = must_parse(&s, "input x = 2\nloss a = x*x\nh = x + 1\noutput b = h*3\nloss c = x - 1\nd = x*5\n",
                          NULL);
    assert_int_equal(g->noutputs, 3);
    assert_int_equal(g->outputs[0], node_named(g, "a"));
    assert_int_equal(g->outputs[1], node_named(g, "b"));
    assert_int_equal(g->outputs[2], node_named(g, "c"));
    graph_free(g);
    source_free(&s);
    /* no marked output: the last assignment (not the last statement) */
    g = must_parse(&s, "input x = 1\na = x*2\nb = a + 1\nconst k = 3\n", NULL);
    assert_int_equal(g->noutputs, 1);
    assert_int_equal(g->outputs[0], node_named(g, "b"));
    graph_free(g);
    source_free(&s);
    /* one marked output among plain assignments */
    g = must_parse(&s, "input x = 1\noutput a = x*2\nb = a + 1\n", NULL);
    assert_int_equal(g->noutputs, 1);
    assert_int_equal(g->outputs[0], node_named(g, "a"));
    graph_free(g);
    source_free(&s);
}

/* Structure of a graph as line:col positions, so the same model with different line endings
 * compares equal. */
static void expect_same_graph(const Source *sa, const Graph *a, const Source *sb, const Graph *b, bool titles)
{
    assert_int_equal(a->nnodes, b->nnodes);
    assert_int_equal(a->nedges, b->nedges);
    assert_int_equal(a->nlits, b->nlits);
    assert_int_equal(a->noutputs, b->noutputs);
    for (uint32_t i = 0; i < a->nnodes; i++) {
        const Node *x = &a->nodes[i], *y = &b->nodes[i];
        assert_int_equal(x->kind, y->kind);
        assert_int_equal(x->op, y->op);
        assert_int_equal(x->nargs, y->nargs);
        assert_int_equal(x->nedges, y->nedges);
        assert_int_equal(x->in_first, y->in_first);
        assert_true(x->init == y->init);
        assert_true((x->name == NULL) == (y->name == NULL));
        if (x->name)
            assert_string_equal(x->name, y->name);
        for (int k = 0; k < x->nargs; k++) {
            assert_int_equal(x->args[k].is_lit, y->args[k].is_lit);
            assert_int_equal(x->args[k].ref, y->args[k].ref);
        }
        uint32_t l1, c1, l2, c2;
        source_line_col(sa, x->span.off, &l1, &c1);
        source_line_col(sb, y->span.off, &l2, &c2);
        assert_int_equal(l1, l2);
        assert_int_equal(c1, c2);
        assert_int_equal(x->span.len, y->span.len);
    }
    for (uint32_t e = 0; e < a->nedges; e++) {
        assert_int_equal(a->edges[e].from, b->edges[e].from);
        assert_int_equal(a->edges[e].to, b->edges[e].to);
        assert_int_equal(a->edges[e].slot, b->edges[e].slot);
    }
    for (uint32_t k = 0; k < a->nlits; k++)
        assert_true(a->lits[k] == b->lits[k]);
    for (uint32_t k = 0; k < a->noutputs; k++)
        assert_int_equal(a->outputs[k], b->outputs[k]);
    if (titles && (a->title || b->title))
        assert_string_equal(a->title, b->title);
}

static const char NEURON[] = "model \"Single sigmoid neuron\"     # optional title\n"
                             "input  x1 = 0.5\n"
                             "input  x2 = 0.8\n"
                             "param  w1 = 0.3\n"
                             "param  w2 = -0.2\n"
                             "const  target = 0.7\n"
                             "\n"
                             "z = w1*x1 + w2*x2                 # named intermediate node\n"
                             "y = sigmoid(z)\n"
                             "loss L = (y - target)^2\n";

static void test_crlf_and_tabs(void **state)
{
    (void)state;
    /* the same model with CRLF endings, and with tabs between tokens */
    Buf crlf = {0}, tabs = {0};
    for (const char *p = NEURON; *p; p++) {
        if (*p == '\n')
            buf_puts(&crlf, "\r\n");
        else
            buf_append(&crlf, p, 1);
        buf_append(&tabs, *p == ' ' ? "\t" : p, 1);
    }
    Source s1, s2, s3;
    Graph *a = must_parse(&s1, NEURON, NULL);
    Graph *b = must_parse(&s2, crlf.data, NULL);
    Graph *c = must_parse(&s3, tabs.data, NULL);
    expect_same_graph(&s1, a, &s2, b, true);
    expect_same_graph(&s1, a, &s3, c, false);
    assert_string_equal(a->title, "Single sigmoid neuron");
    assert_string_equal(c->title, "Single\tsigmoid\tneuron"); /* inside the string, tabs are text */
    graph_free(a);
    graph_free(b);
    graph_free(c);
    source_free(&s1);
    source_free(&s2);
    source_free(&s3);
    buf_free(&crlf);
    buf_free(&tabs);
}

static void test_neuron_structure(void **state)
{
    (void)state;
    Source s;
    double *v;
    Graph *g = must_parse(&s, NEURON, &v);
    /* leaves 0-4, then w1*x1, w2*x2, +, sigmoid, -, ^2 */
    assert_int_equal(g->nnodes, 11);
    assert_int_equal(g->nedges, 10); /* 2+2+2 for the products and sum, 1 into σ, 2 into −, 1 into ^2 */
    uint32_t L = node_named(g, "L"), y = node_named(g, "y"), z = node_named(g, "z");
    assert_int_equal(g->outputs[0], L);
    assert_int_equal(g->nodes[L].op, OP_POW);
    assert_int_equal(g->nodes[y].op, OP_SIGMOID);
    assert_int_equal(g->nodes[z].op, OP_ADD);
    uint32_t d = operand(g, L, 0);
    assert_int_equal(g->nodes[d].op, OP_SUB);
    assert_null(g->nodes[d].name);
    assert_int_equal(operand(g, d, 0), y);
    assert_int_equal(operand(g, d, 1), node_named(g, "target"));
    /* values from the model's numbers, by hand */
    double zz = 0.3 * 0.5 + -0.2 * 0.8, yy = 1 / (1 + exp(-zz));
    assert_close(v[z], zz, 1e-15, 1e-17);
    assert_close(v[L], (yy - 0.7) * (yy - 0.7), 1e-14, 0);
    /* ids are topological: every operand precedes its consumer */
    for (uint32_t e = 0; e < g->nedges; e++)
        assert_true(g->edges[e].from < g->edges[e].to);
    /* spans: a leaf's span is its name; line numbers follow the file */
    uint32_t line, col;
    source_line_col(&s, g->nodes[node_named(g, "w2")].span.off, &line, &col);
    assert_int_equal(line, 5);
    assert_int_equal(col, 8);
    source_line_col(&s, g->nodes[L].span.off, &line, &col);
    assert_int_equal(line, 10);
    free(v);
    graph_free(g);
    source_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_table),
        cmocka_unit_test(test_nesting_limit),
        cmocka_unit_test(test_size_limits),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_literal_folding),
        cmocka_unit_test(test_names_and_numbers),
        cmocka_unit_test(test_outputs),
        cmocka_unit_test(test_crlf_and_tabs),
        cmocka_unit_test(test_neuron_structure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
