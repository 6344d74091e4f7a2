/* test_numfmt: the JSON number printer. Every double must read back exactly (strtod), be as
 * short as the shortest of %.15g/%.16g/%.17g that reads back, and look like %g. Powers of two
 * are the trap: the double below 2^e is twice as close as the one above (found by fuzzing). */
#include "util.h"

#include <float.h>

#include "numfmt.h"

/* The reference: the first of %.15g, %.16g, %.17g that reads back. */
static void shortest_ref(char *out, size_t cap, double v)
{
    for (int p = 15; p <= 17; p++) {
        snprintf(out, cap, "%.*g", p, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

static void check_one(double v)
{
    char got[NUMFMT_MAX], want[40];
    size_t n = numfmt_double(got, v);
    assert_int_equal(n, strlen(got));
    if (strtod(got, NULL) != v)
        fail_msg("%.17g printed as %s, which reads back as %.17g", v, got, strtod(got, NULL));
    shortest_ref(want, sizeof want, v);
    if (isnormal(v) && strlen(got) > strlen(want))
        fail_msg("%.17g printed as %s, longer than %s", v, got, want);
}

static void test_powers_of_two(void **state)
{
    (void)state;
    for (int e = -1022; e <= 1023; e++) {
        double v = ldexp(1.0, e);
        check_one(v);
        check_one(-v);
        check_one(nextafter(v, 0));
        check_one(nextafter(v, INFINITY));
    }
}

static void test_powers_of_ten_and_friends(void **state)
{
    (void)state;
    for (int e = -307; e <= 308; e++) {
        double v = pow(10, e);
        check_one(v);
        check_one(nextafter(v, 0));
        check_one(nextafter(v, INFINITY));
        check_one(-3 * v);
    }
    check_one(DBL_MAX);
    check_one(DBL_MIN);
    check_one(DBL_EPSILON);
    check_one(0.1 + 0.2);
    check_one(-0.05062372918794239); /* cJSON's %.15g loses this one */
}

static void test_random_bits(void **state)
{
    (void)state;
    uint64_t s = 88172645463325252ull;
    for (int i = 0; i < 300000; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        double v;
        memcpy(&v, &s, sizeof v);
        if (isfinite(v))
            check_one(v);
        check_one((double)(s >> 11) * 0x1.0p-53); /* uniform in [0, 1): computed-value-like */
    }
}

static void test_format(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *text;
    } cases[] = {
        {0.3, "0.3"}, {-0.5, "-0.5"}, {12, "12"}, {1e21, "1e+21"}, {1e-5, "1e-05"}, {1.5e-4, "0.00015"},
        {123456789012345678.0, "1.2345678901234568e+17"}, {0.0, "0"}, {-0.0, "-0"}, {100, "100"},
        {2.5e-300, "2.5e-300"},
    };
    char got[NUMFMT_MAX];
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        numfmt_double(got, cases[i].v);
        assert_string_equal(got, cases[i].text);
    }
    numfmt_double(got, 4.9406564584124654e-324); /* subnormal: still exact */
    assert_true(strtod(got, NULL) == 4.9406564584124654e-324);
    assert_int_equal(numfmt_uint(got, 0), 1);
    assert_string_equal(got, "0");
    numfmt_uint(got, UINT64_MAX);
    assert_string_equal(got, "18446744073709551615");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_powers_of_two),
        cmocka_unit_test(test_powers_of_ten_and_friends),
        cmocka_unit_test(test_random_bits),
        cmocka_unit_test(test_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
