/* test_strconv: JSON numbers (null for what JSON cannot write), XML escapes and the reader of
 * decimal counts. Expected texts are written by hand from the JSON and XML rules and from
 * %g's layout; read-back is checked with strtod, not with our own printer. */
#include "util.h"

#include <limits.h>

#include "strconv.h"

static void test_json_num(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *text;
    } cases[] = {
        {0.1, "0.1"}, {-2.5, "-2.5"}, {3, "3"}, {1e-7, "1e-07"}, {0.0001, "0.0001"}, {1e21, "1e+21"},
        {-0.0, "-0"}, {0.1 + 0.2, "0.30000000000000004"}, {1.0 / 3.0, "0.3333333333333333"},
        {NAN, "null"}, {INFINITY, "null"}, {-INFINITY, "null"},
    };
    char s[STRCONV_NUM_MAX];
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        assert_ptr_equal(strconv_json_num(s, cases[i].v), s);
        assert_string_equal(s, cases[i].text);
    }
    /* every finite double reads back exactly: walk the exponents, both signs */
    for (int e = -1074; e <= 1023; e += 7) {
        double v = ldexp(1.2345678901234567, e);
        strconv_json_num(s, v);
        assert_true(strtod(s, NULL) == v);
        strconv_json_num(s, -v);
        assert_true(strtod(s, NULL) == -v);
    }
}

static void test_put_numbers(void **state)
{
    (void)state;
    Buf b = {0};
    strconv_put_json_num(&b, 0.5);
    buf_puts(&b, ",");
    strconv_put_json_num(&b, NAN);
    buf_puts(&b, ",");
    strconv_put_uint(&b, 0);
    buf_puts(&b, ",");
    strconv_put_uint(&b, UINT64_MAX);
    assert_false(b.oom);
    assert_string_equal(b.data, "0.5,null,0,18446744073709551615");
    assert_int_equal(b.len, strlen(b.data));
    buf_free(&b);
}

static void test_put_xml(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        bool apos;
        const char *out;
    } cases[] = {
        {"", false, ""},
        {"plain ∂L/∂x · σ", false, "plain ∂L/∂x · σ"}, /* UTF-8 passes through */
        {"a<b && c>d", false, "a&lt;b &amp;&amp; c&gt;d"},
        {"say \"hi\"", false, "say &quot;hi&quot;"},
        {"sigmoid'(z)", false, "sigmoid'(z)"},
        {"sigmoid'(z)", true, "sigmoid&#39;(z)"},
        {"<'&'>", true, "&lt;&#39;&amp;&#39;&gt;"},
        {"&amp;", false, "&amp;amp;"}, /* escaping is not idempotent: escape once */
        {"a\\Gb\\\\", false, "a\\Gb\\\\"}, /* XML has no backslash escapes */
        /* XML 1.0 has no C0 control but tab, LF, CR, even as &#N;: U+FFFD; DEL too */
        {"a\x01" "b\x1b[31m\x7f", false, "a\xEF\xBF\xBD" "b\xEF\xBF\xBD[31m\xEF\xBF\xBD"},
        {"t\tl\nr\r", false, "t\tl\nr\r"},
        /* bytes that are not UTF-8 (a Latin-1 file name), truncated and overlong sequences */
        {"caf\xE9.grad", false, "caf\xEF\xBF\xBD.grad"},
        {"\xE2\x88", false, "\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"\xC0\xAF", false, "\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"\xF0\x9F\x98\x80", false, "\xF0\x9F\x98\x80"}, /* a 4-byte character is kept */
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        Buf b = {0};
        buf_puts(&b, "["); /* appends, does not overwrite */
        strconv_put_xml(&b, cases[i].in, cases[i].apos);
        buf_puts(&b, "]");
        char want[128];
        snprintf(want, sizeof want, "[%s]", cases[i].out);
        assert_false(b.oom);
        assert_string_equal(b.data, want);
        buf_free(&b);
    }
}

/* In a Graphviz label a backslash starts an escape (\G is the graph's name) even after
 * entities are decoded, so each one is doubled; the rest is the XML escape, ' included. */
static void test_put_dot_html(void **state)
{
    (void)state;
    Buf b = {0};
    strconv_put_dot_html(&b, "\\G 'a' <\\\\> \x01");
    assert_string_equal(b.data, "\\\\G &#39;a&#39; &lt;\\\\\\\\&gt; \xEF\xBF\xBD");
    buf_free(&b);
}

static void test_parse_uint(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        unsigned long long max;
        bool ok;
        unsigned long long v;
    } cases[] = {
        {"0", 10, true, 0},
        {"10", 10, true, 10},
        {"11", 10, false, 0},
        {"007", 10, true, 7},
        {"18446744073709551615", ULLONG_MAX, true, ULLONG_MAX},
        {"18446744073709551616", ULLONG_MAX, false, 0}, /* one over: ERANGE */
        {"99999999999999999999999", ULLONG_MAX, false, 0},
        {"", 10, false, 0},
        {"-1", ULLONG_MAX, false, 0}, /* strtoull alone would give ULLONG_MAX */
        {"-0", 10, false, 0},
        {"+1", 10, false, 0},
        {" 1", 10, false, 0},
        {"\t1", 10, false, 0},
        {"\n1", 10, false, 0},
        {"1 ", 10, false, 0},
        {"1x", 10, false, 0},
        {"0x10", 100, false, 0},
        {"1e3", 10000, false, 0},
        {"1.0", 10, false, 0},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        unsigned long long v = 12345;
        bool ok = strconv_parse_uint(cases[i].s, cases[i].max, &v);
        if (ok != cases[i].ok)
            fail_msg("strconv_parse_uint(\"%s\", %llu) returned %d", cases[i].s, cases[i].max, ok);
        if (ok)
            assert_int_equal(v, cases[i].v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_num),
        cmocka_unit_test(test_put_numbers),
        cmocka_unit_test(test_put_xml),
        cmocka_unit_test(test_put_dot_html),
        cmocka_unit_test(test_parse_uint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
