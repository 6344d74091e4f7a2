/* ops: the operator table. Each operator is a forward function and a local-derivative
 * function side by side, as in llm.c; the backward pass multiplies the local derivatives by
 * the consumer's gradient and accumulates (ad.c), so nothing here knows about gradients.
 *
 * Conventions at the edges of the domain follow PyTorch, so our numbers agree with it:
 * relu'(0) = 0, |x|'(0) = 0, ∂(a^b)/∂a = 0 when b = 0, ∂(a^b)/∂b = 0 when a = 0 and b >= 0.
 * max/min give the whole gradient to the selected operand (the first one on a tie, the NaN
 * one when an operand is NaN), as SPEC §2 says, where PyTorch would split a tie in halves. */
#include "ops.h"

#include <math.h>
#include <string.h>

#include "base.h"

static double sigmoid(double a)
{
    /* the two forms avoid overflow of exp for large |a| */
    if (a >= 0)
        return 1.0 / (1.0 + exp(-a));
    double e = exp(a);
    return e / (1.0 + e);
}

static double f_add(const double *a) { return a[0] + a[1]; }
static void d_add(const double *a, double y, double *d) { (void)a, (void)y; d[0] = 1; d[1] = 1; }
static double f_sub(const double *a) { return a[0] - a[1]; }
static void d_sub(const double *a, double y, double *d) { (void)a, (void)y; d[0] = 1; d[1] = -1; }
static double f_mul(const double *a) { return a[0] * a[1]; }
static void d_mul(const double *a, double y, double *d) { (void)y; d[0] = a[1]; d[1] = a[0]; }
static double f_div(const double *a) { return a[0] / a[1]; }
static void d_div(const double *a, double y, double *d)
{
    (void)y;
    d[0] = 1.0 / a[1];
    /* −a/b² as (−a/b)/b: b² alone overflows or underflows where the quotient does not
     * (a = b = 1e200 gives −1e-200, not 0; a = 0, b = 1e-300 gives 0, not NaN) */
    d[1] = -(a[0] / a[1]) / a[1];
}
static double f_neg(const double *a) { return -a[0]; }
static void d_neg(const double *a, double y, double *d) { (void)a, (void)y; d[0] = -1; }
static double f_pow(const double *a) { return pow(a[0], a[1]); }
static void d_pow(const double *a, double y, double *d)
{
    d[0] = a[1] == 0 ? 0 : a[1] * pow(a[0], a[1] - 1);
    d[1] = a[0] == 0 && a[1] >= 0 ? 0 : y * log(a[0]);
}
static double f_sin(const double *a) { return sin(a[0]); }
static void d_sin(const double *a, double y, double *d) { (void)y; d[0] = cos(a[0]); }
static double f_cos(const double *a) { return cos(a[0]); }
static void d_cos(const double *a, double y, double *d) { (void)y; d[0] = -sin(a[0]); }
static double f_tan(const double *a) { return tan(a[0]); }
static void d_tan(const double *a, double y, double *d) { (void)a; d[0] = 1 + y * y; }
static double f_exp(const double *a) { return exp(a[0]); }
static void d_exp(const double *a, double y, double *d) { (void)a; d[0] = y; }
static double f_log(const double *a) { return log(a[0]); }
static void d_log(const double *a, double y, double *d) { (void)y; d[0] = 1.0 / a[0]; }
static double f_sqrt(const double *a) { return sqrt(a[0]); }
static void d_sqrt(const double *a, double y, double *d) { (void)a; d[0] = 1.0 / (2.0 * y); }
static double f_tanh(const double *a) { return tanh(a[0]); }
static void d_tanh(const double *a, double y, double *d)
{
    /* 1 - tanh²(a) = sech²(a) = 4e^(-2|a|) / (1 + e^(-2|a|))²: the same number, but 1 - y·y
     * cancels to 0 once |a| > ~19 (tanh rounds to ±1), and the gradient-flow chart needs
     * these tiny factors with their relative precision (e.g. 3.5e-26 at a = 30) */
    (void)y;
    double e = exp(-2 * fabs(a[0]));
    d[0] = 4 * e / ((1 + e) * (1 + e));
}
static double f_sigmoid(const double *a) { return sigmoid(a[0]); }
static void d_sigmoid(const double *a, double y, double *d)
{
    /* σ(a)(1 - σ(a)) = e^(-|a|) / (1 + e^(-|a|))²: 1 - y loses the relative precision of the
     * result for large positive a (y rounds towards 1); this form keeps it on both sides */
    (void)y;
    double e = exp(-fabs(a[0]));
    d[0] = e / ((1 + e) * (1 + e));
}
static double f_relu(const double *a) { return a[0] > 0 ? a[0] : isnan(a[0]) ? a[0] : 0.0; }
static void d_relu(const double *a, double y, double *d) { (void)y; d[0] = a[0] > 0 ? 1 : 0; }
static double f_abs(const double *a) { return fabs(a[0]); }
static void d_abs(const double *a, double y, double *d)
{
    (void)y;
    d[0] = a[0] > 0 ? 1 : a[0] < 0 ? -1 : isnan(a[0]) ? a[0] : 0;
}
static double f_softplus(const double *a)
{
    /* log(1 + e^a) without overflow: max(a, 0) + log1p(e^-|a|) */
    return (a[0] > 0 ? a[0] : 0) + log1p(exp(-fabs(a[0])));
}
static void d_softplus(const double *a, double y, double *d) { (void)y; d[0] = sigmoid(a[0]); }
static double f_max(const double *a)
{
    if (isnan(a[0]) || isnan(a[1]))
        return NAN;
    return a[0] >= a[1] ? a[0] : a[1];
}
/* The selected operand is the one whose value the result takes: on a tie the first, and
 * with a NaN operand the NaN (the result is NaN), so the gradient follows the NaN. */
static void d_max(const double *a, double y, double *d)
{
    (void)y;
    d[0] = isnan(a[0]) || (!isnan(a[1]) && a[0] >= a[1]) ? 1 : 0;
    d[1] = 1 - d[0];
}
static double f_min(const double *a)
{
    if (isnan(a[0]) || isnan(a[1]))
        return NAN;
    return a[0] <= a[1] ? a[0] : a[1];
}
static void d_min(const double *a, double y, double *d)
{
    (void)y;
    d[0] = isnan(a[0]) || (!isnan(a[1]) && a[0] <= a[1]) ? 1 : 0;
    d[1] = 1 - d[0];
}

static const OpInfo OPS[OP_COUNT] = {
    [OP_ADD] = {"add", "+", 2, true, f_add, d_add, {"∂(a+b)/∂a = 1", "∂(a+b)/∂b = 1"}},
    [OP_SUB] = {"sub", "−", 2, true, f_sub, d_sub, {"∂(a−b)/∂a = 1", "∂(a−b)/∂b = −1"}},
    [OP_MUL] = {"mul", "×", 2, true, f_mul, d_mul, {"∂(a·b)/∂a = b", "∂(a·b)/∂b = a"}},
    [OP_DIV] = {"div", "÷", 2, true, f_div, d_div, {"∂(a/b)/∂a = 1/b", "∂(a/b)/∂b = −a/b²"}},
    [OP_NEG] = {"neg", "−", 1, true, f_neg, d_neg, {"∂(−a)/∂a = −1", NULL}},
    [OP_POW] = {"pow", "^", 2, true, f_pow, d_pow, {"∂(a^b)/∂a = b·a^(b−1)", "∂(a^b)/∂b = a^b·ln(a)"}},
    [OP_SIN] = {"sin", "sin", 1, false, f_sin, d_sin, {"∂sin(a)/∂a = cos(a)", NULL}},
    [OP_COS] = {"cos", "cos", 1, false, f_cos, d_cos, {"∂cos(a)/∂a = −sin(a)", NULL}},
    [OP_TAN] = {"tan", "tan", 1, false, f_tan, d_tan, {"∂tan(a)/∂a = 1 + tan²(a)", NULL}},
    [OP_EXP] = {"exp", "exp", 1, false, f_exp, d_exp, {"∂exp(a)/∂a = exp(a)", NULL}},
    [OP_LOG] = {"log", "log", 1, false, f_log, d_log, {"∂log(a)/∂a = 1/a", NULL}},
    [OP_SQRT] = {"sqrt", "√", 1, false, f_sqrt, d_sqrt, {"∂√a/∂a = 1/(2√a)", NULL}},
    [OP_TANH] = {"tanh", "tanh", 1, false, f_tanh, d_tanh, {"∂tanh(a)/∂a = 1 − tanh²(a)", NULL}},
    [OP_SIGMOID] = {"sigmoid", "σ", 1, false, f_sigmoid, d_sigmoid, {"∂σ(a)/∂a = σ(a)(1 − σ(a))", NULL}},
    [OP_RELU] = {"relu", "relu", 1, false, f_relu, d_relu, {"∂relu(a)/∂a = 1 if a > 0 else 0", NULL}},
    [OP_ABS] = {"abs", "|·|", 1, false, f_abs, d_abs, {"∂|a|/∂a = sign(a), 0 at a = 0", NULL}},
    [OP_SOFTPLUS] = {"softplus", "softplus", 1, false, f_softplus, d_softplus, {"∂softplus(a)/∂a = σ(a)", NULL}},
    [OP_MAX] = {"max", "max", 2, false, f_max, d_max,
                {"∂max(a,b)/∂a = 1 if a ≥ b else 0", "∂max(a,b)/∂b = 1 if b > a else 0"}},
    [OP_MIN] = {"min", "min", 2, false, f_min, d_min,
                {"∂min(a,b)/∂a = 1 if a ≤ b else 0", "∂min(a,b)/∂b = 1 if b < a else 0"}},
};

bool op_switched_off(Op op, const double *a, int slot)
{
    double d[OP_MAX_ARITY];
    switch (op) {
    case OP_RELU:
        return a[0] <= 0;
    case OP_MAX:
    case OP_MIN:
        op_local(op, a, 0, d);
        return d[slot] == 0;
    case OP_POW:
        return slot == 0 ? a[1] == 0 : a[0] == 0 && a[1] >= 0;
    default:
        return false;
    }
}

const OpInfo *op_info(Op op) { return &OPS[op]; }

Op op_function(const char *name, unsigned len)
{
    for (int i = 0; i < OP_COUNT; i++) {
        /* infix operators are not callable, except pow which is both `a^b` and pow(a, b) */
        if (OPS[i].infix && i != OP_POW)
            continue;
        if (strlen(OPS[i].name) == len && memcmp(OPS[i].name, name, len) == 0)
            return (Op)i;
    }
    return OP_COUNT;
}

const char *op_suggest_function(const char *name, unsigned len)
{
    Suggest s;
    suggest_init(&s, name, len);
    for (int i = 0; i < OP_COUNT; i++)
        if (!OPS[i].infix || i == OP_POW)
            suggest_offer(&s, OPS[i].name);
    return s.best;
}
