/* Unit tests of fmt: numbers as labels show them (significant digits, a true minus sign,
 * non-finite values), node symbols with folded literals in the order written, node names. */
#include "util.h"

#include "fmt.h"
#include "parse.h"

#define MINUS "\xe2\x88\x92" /* U+2212 */
#define INF "\xe2\x88\x9e"   /* ∞ */

static void test_fmt_num(void **state)
{
    (void)state;
    static const struct {
        double v;
        int prec;
        const char *want;
    } rows[] = {
        {0.5, 4, "0.5"},
        {-0.2, 4, MINUS "0.2"},
        {1234.5678, 4, "1235"},
        {123456, 4, "1.235e+05"},
        {1e4, 4, "1e+04"},
        {100, 4, "100"},
        {1e-5, 4, "1e" MINUS "05"},
        {-1.5e-7, 3, MINUS "1.5e" MINUS "07"},
        {-1e-300, 2, MINUS "1e" MINUS "300"},
        {1e21, 4, "1e+21"},
        {0.0, 4, "0"},
        {-0.0, 4, "0"}, /* -0 reads as 0 on a diagram */
        {2.0 / 3.0, 4, "0.6667"},
        {0.12345, 2, "0.12"},
        {-0.15, 1, MINUS "0.1"}, /* -0.15 is -0.1499999... in binary */
        {0.1, 17, "0.10000000000000001"},
        {1.25, 0, "1"},                    /* precision below 1 counts as 1 */
        {3.14159, 100, "3.1415899999999999"}, /* and above 17 as 17 */
        {1.0, 4, "1"},
        {NAN, 4, "NaN"},
        {INFINITY, 4, INF},
        {-INFINITY, 4, MINUS INF},
    };
    for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
        char out[FMT_NUM_MAX];
        char *got = fmt_num(out, rows[i].v, rows[i].prec);
        assert_ptr_equal(got, out);
        if (strcmp(out, rows[i].want) != 0)
            print_error("fmt_num(%.17g, %d) = '%s', want '%s'\n", rows[i].v, rows[i].prec, out, rows[i].want);
        assert_string_equal(out, rows[i].want);
    }
    /* the longest numbers fit */
    char out[FMT_NUM_MAX];
    fmt_num(out, -1.2345678901234567e-308, 17);
    assert_string_equal(out, MINUS "1.2345678901234567e" MINUS "308");
    fmt_num(out, -4.9406564584124654e-324, 17);
    assert_true(strlen(out) < FMT_NUM_MAX);

    fmt_num_ascii(out, -2.5, 4);
    assert_string_equal(out, "-2.5");
    fmt_num_ascii(out, -1e-5, 4);
    assert_string_equal(out, "-1e-05");
    fmt_num_ascii(out, -0.0, 4);
    assert_string_equal(out, "0");
    fmt_num_ascii(out, -INFINITY, 4);
    assert_string_equal(out, "-" INF);

    assert_string_equal(fmt_nonfinite(NAN), "nan");
    assert_string_equal(fmt_nonfinite(INFINITY), "inf");
    assert_string_equal(fmt_nonfinite(-INFINITY), "-inf");
    assert_null(fmt_nonfinite(0.0));
    assert_null(fmt_nonfinite(-1e308));
}

static Graph *parse_or_fail(Source *s, const char *text)
{
    src_init(s, text);
    Err err = {0};
    Graph *g = parse_model(s, &err);
    if (!g)
        print_error("%s: %s\n", text, err.msg);
    assert_non_null(g);
    return g;
}

static void test_node_symbols(void **state)
{
    (void)state;
    static const struct {
        const char *expr;
        int prec;
        const char *want;
    } rows[] = {
        {"2*x", 4, "2\xc3\x97"},
        {"x*2", 4, "\xc3\x97" "2"},
        {"x^2", 4, "^2"},
        {"pow(x, 2)", 4, "^2"},
        {"2^x", 4, "2^"},
        {"x^-1", 4, "^(" MINUS "1)"},
        {"(-2)^x", 4, "(" MINUS "2)^"},
        {"x*-2", 4, "\xc3\x97(" MINUS "2)"},
        {"x - -2", 4, MINUS "(" MINUS "2)"},
        {"x - 1", 4, MINUS "1"},
        {"1 - x", 4, "1" MINUS},
        {"x/4", 4, "\xc3\xb7" "4"},
        {"x + 1e-5", 4, "+1e" MINUS "05"},
        {"x*3.14159", 3, "\xc3\x97" "3.14"},
        {"x/(1/0)", 4, "\xc3\xb7" INF},
        {"max(x, 0)", 4, "max(\xc2\xb7, 0)"},
        {"min(0.5, x)", 4, "min(0.5, \xc2\xb7)"},
        {"max(x, -1)", 4, "max(\xc2\xb7, " MINUS "1)"}, /* no brackets needed inside a call */
        {"x*x", 4, "\xc3\x97"},
        {"x + x", 4, "+"},
        {"-x", 4, MINUS},
        {"sigmoid(x)", 4, "\xcf\x83"},
        {"tanh(x)", 4, "tanh"},
        {"max(x, x)", 4, "max"},
    };
    for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
        char text[100];
        snprintf(text, sizeof text, "input x = 1.5\ny = %s\n", rows[i].expr);
        Source s;
        Graph *g = parse_or_fail(&s, text);
        Buf b = {0};
        fmt_node_symbol(&b, g, graph_lookup(g, "y", 1), rows[i].prec);
        if (strcmp(b.data, rows[i].want) != 0)
            print_error("symbol of %s: '%s', want '%s'\n", rows[i].expr, b.data, rows[i].want);
        assert_string_equal(b.data, rows[i].want);
        buf_free(&b);
        /* a leaf's symbol is its name */
        fmt_node_symbol(&b, g, 0, 4);
        assert_string_equal(b.data, "x");
        buf_free(&b);
        graph_free(g);
        source_free(&s);
    }
}

static void test_node_names(void **state)
{
    (void)state;
    Source s;
    Graph *g = parse_or_fail(&s, "input x = 1\nloss y = 2*x + 1\n");
    Buf b = {0};
    fmt_node_name(&b, g, 0, 4);
    assert_string_equal(b.data, "x");
    buf_free(&b);
    fmt_node_name(&b, g, 1, 4); /* the unnamed 2*x */
    assert_string_equal(b.data, "#1 2\xc3\x97");
    buf_free(&b);
    fmt_node_name(&b, g, 2, 4);
    assert_string_equal(b.data, "y");
    buf_free(&b);
    Trace t = {.g = g, .primary = 2};
    assert_string_equal(fmt_output_name(&t), "y");
    graph_free(g);
    source_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fmt_num),
        cmocka_unit_test(test_node_symbols),
        cmocka_unit_test(test_node_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
