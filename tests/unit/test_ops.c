/* Unit tests of the operator table: forward values against libm, every local derivative
 * against central differences and against closed forms written here, the conventions at the
 * edges of the domain, numerical stability at ±800, and the function-name lookups. */
#include "util.h"

#include "ops.h"

/* ---- references, written independently of ops.c ---- */

static double ref_forward(Op op, const double *a)
{
    switch (op) {
    case OP_ADD: return a[0] + a[1];
    case OP_SUB: return a[0] - a[1];
    case OP_MUL: return a[0] * a[1];
    case OP_DIV: return a[0] / a[1];
    case OP_NEG: return -a[0];
    case OP_POW: return pow(a[0], a[1]);
    case OP_SIN: return sin(a[0]);
    case OP_COS: return cos(a[0]);
    case OP_TAN: return tan(a[0]);
    case OP_EXP: return exp(a[0]);
    case OP_LOG: return log(a[0]);
    case OP_SQRT: return sqrt(a[0]);
    case OP_TANH: return tanh(a[0]);
    case OP_SIGMOID: return 1.0 / (1.0 + exp(-a[0]));
    case OP_RELU: return a[0] > 0 ? a[0] : 0.0;
    case OP_ABS: return fabs(a[0]);
    case OP_SOFTPLUS: return log1p(exp(a[0])); /* fine for the moderate points used here */
    case OP_MAX: return fmax(a[0], a[1]);
    case OP_MIN: return fmin(a[0], a[1]);
    case OP_COUNT: break;
    }
    return NAN;
}

/* ∂f/∂a[slot] in closed form (the derivative rules of SPEC §2, recomputed from scratch). */
static double ref_local(Op op, const double *a, int slot)
{
    double x = a[0], y = a[1];
    switch (op) {
    case OP_ADD: return 1;
    case OP_SUB: return slot ? -1 : 1;
    case OP_MUL: return slot ? x : y;
    case OP_DIV: return slot ? -x / (y * y) : 1 / y;
    case OP_NEG: return -1;
    case OP_POW: return slot ? pow(x, y) * log(x) : y * pow(x, y - 1);
    case OP_SIN: return cos(x);
    case OP_COS: return -sin(x);
    case OP_TAN: return 1 / (cos(x) * cos(x));
    case OP_EXP: return exp(x);
    case OP_LOG: return 1 / x;
    case OP_SQRT: return 0.5 / sqrt(x);
    case OP_TANH: return 1 / (cosh(x) * cosh(x));
    case OP_SIGMOID: return exp(-x) / ((1 + exp(-x)) * (1 + exp(-x)));
    case OP_RELU: return x > 0 ? 1 : 0;
    case OP_ABS: return x > 0 ? 1 : x < 0 ? -1 : 0;
    case OP_SOFTPLUS: return 1 / (1 + exp(-x));
    case OP_MAX: return (slot == 0) == (x >= y) ? 1 : 0;
    case OP_MIN: return (slot == 0) == (x <= y) ? 1 : 0;
    case OP_COUNT: break;
    }
    return NAN;
}

/* Points per operator, away from kinks and singularities, negatives included. */
typedef struct OpPoints {
    Op op;
    int n;
    double p[8][2];
} OpPoints;

static const OpPoints POINTS[] = {
    {OP_ADD, 4, {{1.5, -2.25}, {-0.7, 3.1}, {2, 0.5}, {-3, -4}}},
    {OP_SUB, 4, {{1.5, -2.25}, {-0.7, 3.1}, {2, 0.5}, {-3, -4}}},
    {OP_MUL, 5, {{1.5, -2.25}, {-0.7, 3.1}, {2, 0.5}, {-3, -4}, {0, 7}}},
    {OP_DIV, 5, {{1.5, -2.25}, {-0.7, 3.1}, {2, 0.5}, {-3, -4}, {0, 7}}},
    {OP_NEG, 3, {{-2, 0}, {0.3, 0}, {5, 0}}},
    {OP_POW, 6, {{1.5, 2.5}, {2, -1.5}, {0.7, 3}, {3, 0.5}, {0.25, -0.5}, {5, 1}}},
    {OP_SIN, 5, {{-2, 0}, {-0.5, 0}, {0, 0}, {0.3, 0}, {4, 0}}},
    {OP_COS, 5, {{-2, 0}, {-0.5, 0}, {0, 0}, {0.3, 0}, {4, 0}}},
    {OP_TAN, 5, {{-1.2, 0}, {-0.5, 0}, {0, 0}, {0.3, 0}, {1.2, 0}}},
    {OP_EXP, 5, {{-3, 0}, {-0.5, 0}, {0, 0}, {1.5, 0}, {5, 0}}},
    {OP_LOG, 5, {{0.1, 0}, {0.5, 0}, {1, 0}, {2.5, 0}, {100, 0}}},
    {OP_SQRT, 4, {{0.04, 0}, {1, 0}, {2, 0}, {9, 0}}},
    {OP_TANH, 5, {{-3, 0}, {-0.5, 0}, {0, 0}, {0.8, 0}, {2, 0}}},
    {OP_SIGMOID, 5, {{-5, 0}, {-1, 0}, {0, 0}, {0.5, 0}, {4, 0}}},
    {OP_RELU, 4, {{-2, 0}, {-0.1, 0}, {0.1, 0}, {3, 0}}},
    {OP_ABS, 4, {{-2, 0}, {-0.1, 0}, {0.1, 0}, {3, 0}}},
    {OP_SOFTPLUS, 5, {{-20, 0}, {-2, 0}, {0, 0}, {1.5, 0}, {30, 0}}},
    {OP_MAX, 5, {{1, 2}, {3, -1}, {-2, -5}, {0.5, 0.25}, {-1, 1}}},
    {OP_MIN, 5, {{1, 2}, {3, -1}, {-2, -5}, {0.5, 0.25}, {-1, 1}}},
};

typedef struct Probe {
    Op op;
    double a[2];
    int slot;
} Probe;

/* op's forward value as a function of operand `slot` alone */
static double along_slot(double t, const void *ctx)
{
    const Probe *pr = ctx;
    double a[2] = {pr->a[0], pr->a[1]};
    a[pr->slot] = t;
    return op_forward(pr->op, a);
}

static void test_every_op_has_points(void **state)
{
    (void)state;
    bool seen[OP_COUNT] = {false};
    for (size_t i = 0; i < ARRAY_LEN(POINTS); i++)
        seen[POINTS[i].op] = true;
    for (int op = 0; op < OP_COUNT; op++) {
        if (!seen[op])
            print_error("no test points for %s\n", op_info((Op)op)->name);
        assert_true(seen[op]);
    }
}

static void test_forward_against_libm(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(POINTS); i++) {
        const OpPoints *op = &POINTS[i];
        for (int k = 0; k < op->n; k++) {
            double got = op_forward(op->op, op->p[k]);
            double want = ref_forward(op->op, op->p[k]);
            if (!num_close(got, want, 1e-15, 1e-300))
                print_error("%s(%g, %g) = %.17g, want %.17g\n", op_info(op->op)->name, op->p[k][0], op->p[k][1],
                            got, want);
            assert_close(got, want, 1e-15, 1e-300);
        }
    }
}

static void test_local_against_central_differences(void **state)
{
    (void)state;
    int checked = 0;
    for (size_t i = 0; i < ARRAY_LEN(POINTS); i++) {
        const OpPoints *op = &POINTS[i];
        const OpInfo *oi = op_info(op->op);
        for (int k = 0; k < op->n; k++) {
            const double *a = op->p[k];
            double y = op_forward(op->op, a), d[OP_MAX_ARITY] = {NAN, NAN};
            op_local(op->op, a, y, d);
            for (int slot = 0; slot < oi->arity; slot++) {
                Probe pr = {op->op, {a[0], a[1]}, slot};
                double numeric = central_diff(along_slot, &pr, a[slot]);
                double closed = ref_local(op->op, a, slot);
                /* tolerance as in llm.c's check_tensor: relative plus absolute */
                bool ok_num = num_close(d[slot], numeric, 1e-6, 1e-7);
                bool ok_closed = num_close(d[slot], closed, 1e-13, 1e-15);
                if (!ok_num || !ok_closed)
                    print_error("d%s/da%d at (%g, %g): %.17g; central difference %.17g, closed form %.17g\n",
                                oi->name, slot, a[0], a[1], d[slot], numeric, closed);
                assert_true(ok_num);
                assert_true(ok_closed);
                checked++;
            }
        }
    }
    assert_true(checked >= 100);
}

static void local2(Op op, double a0, double a1, double *d)
{
    double a[2] = {a0, a1};
    d[0] = d[1] = NAN;
    op_local(op, a, op_forward(op, a), d);
}

static void test_edge_conventions(void **state)
{
    (void)state;
    double d[2];
    /* relu'(0) = 0 and |x|'(0) = 0 (PyTorch's choice) */
    local2(OP_RELU, 0, 0, d);
    assert_true(d[0] == 0);
    local2(OP_RELU, -0.0, 0, d);
    assert_true(d[0] == 0);
    local2(OP_ABS, 0, 0, d);
    assert_true(d[0] == 0);
    local2(OP_ABS, -0.0, 0, d);
    assert_true(d[0] == 0);
    /* ∂(a^b)/∂a = 0 when b = 0, whatever a is (0^-1 would give inf·0) */
    static const double bases[] = {0, 2, -3, 0.5};
    for (size_t i = 0; i < ARRAY_LEN(bases); i++) {
        local2(OP_POW, bases[i], 0, d);
        assert_true(d[0] == 0);
    }
    /* ∂(a^b)/∂b = 0 when a = 0 and b >= 0 (0·log 0 would be NaN) */
    static const double exps[] = {0, 0.5, 1, 2, 3.5};
    for (size_t i = 0; i < ARRAY_LEN(exps); i++) {
        local2(OP_POW, 0, exps[i], d);
        if (d[1] != 0)
            print_error("d(0^%g)/db = %g\n", exps[i], d[1]);
        assert_true(d[1] == 0);
    }
    /* 0^1: ∂/∂a = 1·0^0 = 1; 0^2: ∂/∂a = 0 */
    local2(OP_POW, 0, 1, d);
    assert_true(d[0] == 1);
    local2(OP_POW, 0, 2, d);
    assert_true(d[0] == 0);
    /* a negative base with an integer exponent: ∂/∂a is fine */
    local2(OP_POW, -2, 3, d);
    assert_close(d[0], 12.0, 1e-15, 0);
    /* max/min: a tie gives the whole gradient to the first operand; the value is that operand */
    double tie[2] = {1.5, 1.5};
    assert_true(op_forward(OP_MAX, tie) == 1.5);
    assert_true(op_forward(OP_MIN, tie) == 1.5);
    local2(OP_MAX, 1.5, 1.5, d);
    assert_true(d[0] == 1 && d[1] == 0);
    local2(OP_MIN, 1.5, 1.5, d);
    assert_true(d[0] == 1 && d[1] == 0);
    local2(OP_MAX, -0.0, 0.0, d);
    assert_true(d[0] == 1 && d[1] == 0);
    /* the selected operand gets 1, the other 0 */
    local2(OP_MAX, 1, 2, d);
    assert_true(d[0] == 0 && d[1] == 1);
    local2(OP_MIN, 1, 2, d);
    assert_true(d[0] == 1 && d[1] == 0);
    /* NaN propagates through relu, max and min instead of being hidden */
    double nan1[2] = {NAN, 1}, nan2[2] = {1, NAN};
    assert_true(isnan(op_forward(OP_RELU, nan1)));
    assert_true(isnan(op_forward(OP_MAX, nan1)));
    assert_true(isnan(op_forward(OP_MAX, nan2)));
    assert_true(isnan(op_forward(OP_MIN, nan1)));
    assert_true(isnan(op_forward(OP_MIN, nan2)));
    assert_true(isnan(op_forward(OP_ABS, nan1)));
    /* ...and the gradient follows the NaN operand, the one the result takes its value from */
    local2(OP_MAX, NAN, 0.49, d);
    assert_true(d[0] == 1 && d[1] == 0);
    local2(OP_MAX, 0.49, NAN, d);
    assert_true(d[0] == 0 && d[1] == 1);
    local2(OP_MIN, 0.49, NAN, d);
    assert_true(d[0] == 0 && d[1] == 1);
    local2(OP_MIN, NAN, NAN, d);
    assert_true(d[0] == 1 && d[1] == 0);
}

/* ∂(a/b)/∂b = −a/b² wherever that is a double, even when b² is not (found by the PyTorch
 * cross-check): the expected values are exact powers of ten written by hand */
static void test_div_extremes(void **state)
{
    (void)state;
    double d[2];
    local2(OP_DIV, 1e200, 1e200, d); /* b² overflows: −1e200/1e400 = −1e-200 */
    assert_close(d[1], -1e-200, 1e-15, 0);
    local2(OP_DIV, 1e-300, 1e-160, d); /* b² = 1e-320 is subnormal: precision lost */
    assert_close(d[1], -1e20, 1e-15, 0);
    local2(OP_DIV, 0, 1e-300, d); /* b² underflows to 0: 0/0 */
    assert_true(d[1] == 0);
    local2(OP_DIV, 1, 1e-200, d); /* the true value overflows: −inf, as it should */
    assert_true(isinf(d[1]) && d[1] < 0);
    local2(OP_DIV, INFINITY, 1e308, d);
    assert_true(isinf(d[1]) && d[1] < 0);
}

static void test_stability_at_800(void **state)
{
    (void)state;
    double d[2];
    double hi[1] = {800}, lo[1] = {-800};
    /* sigmoid: 1 and 0 in the limits, derivative 0, nothing infinite or NaN */
    assert_true(op_forward(OP_SIGMOID, hi) == 1.0);
    double s = op_forward(OP_SIGMOID, lo);
    assert_true(isfinite(s) && s >= 0 && s < 1e-300);
    local2(OP_SIGMOID, 800, 0, d);
    assert_true(isfinite(d[0]) && d[0] >= 0 && d[0] < 1e-300);
    local2(OP_SIGMOID, -800, 0, d);
    assert_true(isfinite(d[0]) && d[0] >= 0 && d[0] < 1e-300);
    /* softplus(a) = log(1 + e^a): a for large a, e^a for very negative a */
    assert_true(op_forward(OP_SOFTPLUS, hi) == 800.0);
    double sp = op_forward(OP_SOFTPLUS, lo);
    assert_true(isfinite(sp) && sp >= 0 && sp < 1e-300);
    local2(OP_SOFTPLUS, 800, 0, d);
    assert_true(d[0] == 1.0);
    local2(OP_SOFTPLUS, -800, 0, d);
    assert_true(isfinite(d[0]) && d[0] >= 0 && d[0] < 1e-300);
    /* and accurately in between: e^-40 (log1p(u) = u - u²/2 + ..., u = e^-40) */
    double m40[1] = {-40}, p40[1] = {40};
    assert_close(op_forward(OP_SOFTPLUS, m40), exp(-40) - exp(-80) / 2, 1e-14, 0);
    assert_close(op_forward(OP_SOFTPLUS, p40), 40.0, 1e-15, 0);
    assert_close(op_forward(OP_SIGMOID, m40), exp(-40) / (1 + exp(-40)), 1e-14, 0);
    local2(OP_SIGMOID, -40, 0, d);
    assert_close(d[0], exp(-40) / ((1 + exp(-40)) * (1 + exp(-40))), 1e-12, 0);
    /* far in the tails the derivatives keep their relative precision (the gradient-flow
     * analysis multiplies many such factors): σ'(±30) = e^-30/(1+e^-30)², tanh'(±30) =
     * 4e^-60/(1+e^-60)² */
    static const double tails[] = {-30, -20, 20, 30, 100};
    for (size_t i = 0; i < ARRAY_LEN(tails); i++) {
        double x = fabs(tails[i]);
        local2(OP_SIGMOID, tails[i], 0, d);
        assert_close(d[0], exp(-x) / ((1 + exp(-x)) * (1 + exp(-x))), 1e-13, 0);
        local2(OP_TANH, tails[i], 0, d);
        assert_close(d[0], 4 * exp(-2 * x) / ((1 + exp(-2 * x)) * (1 + exp(-2 * x))), 1e-13, 0);
        assert_true(d[0] > 0);
    }
    /* tanh saturates the same way */
    assert_true(op_forward(OP_TANH, hi) == 1.0);
    assert_true(op_forward(OP_TANH, lo) == -1.0);
    local2(OP_TANH, 800, 0, d);
    assert_true(d[0] == 0);
}

static void test_table_rows(void **state)
{
    (void)state;
    /* SPEC §4's list of op names, in the enum's order */
    static const char *const names[] = {"add", "sub", "mul", "div", "neg", "pow", "sin", "cos", "tan", "exp",
                                        "log", "sqrt", "tanh", "sigmoid", "relu", "abs", "softplus", "max", "min"};
    assert_int_equal(ARRAY_LEN(names), OP_COUNT);
    for (int op = 0; op < OP_COUNT; op++) {
        const OpInfo *oi = op_info((Op)op);
        assert_string_equal(oi->name, names[op]);
        assert_non_null(oi->symbol);
        assert_true(oi->symbol[0] != '\0');
        assert_non_null(oi->forward);
        assert_non_null(oi->local);
        bool binary = op <= OP_POW ? op != OP_NEG : op >= OP_MAX;
        assert_int_equal(oi->arity, binary ? 2 : 1);
        assert_int_equal(oi->infix, op <= OP_POW);
        for (int k = 0; k < OP_MAX_ARITY; k++) {
            if (k < oi->arity) {
                assert_non_null(oi->rule[k]);
                assert_true(utf8_valid_prefix((const unsigned char *)oi->rule[k], strlen(oi->rule[k])) ==
                            strlen(oi->rule[k]));
            } else {
                assert_null(oi->rule[k]);
            }
        }
    }
    assert_string_equal(op_info(OP_MUL)->symbol, "\xc3\x97");    /* × */
    assert_string_equal(op_info(OP_SIGMOID)->symbol, "\xcf\x83"); /* σ */
    assert_string_equal(op_info(OP_SUB)->symbol, "\xe2\x88\x92"); /* − */
}

static void test_function_names(void **state)
{
    (void)state;
    static const char *const callable[] = {"sin", "cos", "tan", "exp", "log", "sqrt", "tanh", "sigmoid",
                                           "relu", "abs", "softplus", "pow", "max", "min"};
    for (size_t i = 0; i < ARRAY_LEN(callable); i++) {
        Op op = op_function(callable[i], (unsigned)strlen(callable[i]));
        assert_true(op != OP_COUNT);
        assert_string_equal(op_info(op)->name, callable[i]);
    }
    /* infix operators are not callable; names are case-sensitive and whole */
    static const char *const not_callable[] = {"add", "sub", "mul", "div", "neg", "Sin", "SIN", "sinh", "si",
                                               "sigmod", "ln", "", "powx", "e", "inf"};
    for (size_t i = 0; i < ARRAY_LEN(not_callable); i++)
        assert_int_equal(op_function(not_callable[i], (unsigned)strlen(not_callable[i])), OP_COUNT);
    assert_int_equal(op_function("pow", 3), OP_POW);
    /* the name is a slice: only [0, len) counts */
    assert_int_equal(op_function("sinx", 3), OP_SIN);
    assert_int_equal(op_function("tanh(", 3), OP_TAN);
    assert_int_equal(op_function("tanh(", 4), OP_TANH);

    static const struct {
        const char *typo, *want;
    } rows[] = {
        {"sigmod", "sigmoid"}, {"sigmoidd", "sigmoid"}, {"tanhh", "tanh"}, {"sqr", "sqrt"}, {"Sin", "sin"},
        {"softpuls", "softplus"}, {"mx", "max"}, {"expp", "exp"}, {"rleu", "relu"},
        {"foo", NULL}, {"xyz", NULL}, {"s", NULL}, {"add", NULL}, {"mul", NULL}, {"ln", NULL},
        {"logarithm", NULL}, {"", NULL},
    };
    for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
        const char *got = op_suggest_function(rows[i].typo, (unsigned)strlen(rows[i].typo));
        bool ok = rows[i].want ? got && strcmp(got, rows[i].want) == 0 : got == NULL;
        if (!ok)
            print_error("suggestion for '%s': %s, want %s\n", rows[i].typo, got ? got : "none",
                        rows[i].want ? rows[i].want : "none");
        assert_true(ok);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_op_has_points),
        cmocka_unit_test(test_forward_against_libm),
        cmocka_unit_test(test_local_against_central_differences),
        cmocka_unit_test(test_edge_conventions),
        cmocka_unit_test(test_div_extremes),
        cmocka_unit_test(test_stability_at_800),
        cmocka_unit_test(test_table_rows),
        cmocka_unit_test(test_function_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
