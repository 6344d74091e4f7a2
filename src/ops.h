/* ops: one table row per operator — its name in the trace, the symbol drawn in diagrams,
 * arity, the forward function, the local derivatives and the rule text. Adding an operator
 * means adding one enum value and one row in ops.c, nothing else.
 *
 * Values are scalars today. An operator works on an argument vector `a` (one double per
 * operand); a vector-valued extension adds element counts to the row, not a new API. */
#ifndef GRADVIZ_OPS_H
#define GRADVIZ_OPS_H

#include <stdbool.h>

typedef enum Op {
    OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_NEG, OP_POW,
    OP_SIN, OP_COS, OP_TAN, OP_EXP, OP_LOG, OP_SQRT, OP_TANH, OP_SIGMOID, OP_RELU, OP_ABS,
    OP_SOFTPLUS, OP_MAX, OP_MIN,
    OP_COUNT
} Op;

#define OP_MAX_ARITY 2

typedef struct OpInfo {
    const char *name;    /* trace name: "add", "sigmoid", ... (SPEC §4) */
    const char *symbol;  /* drawn symbol: "+", "×", "σ", "tanh", ... (UTF-8) */
    int arity;           /* 1 or 2 */
    bool infix;          /* written as a op b (or -a), not f(a, b) */
    /* y = f(a[0..arity)) */
    double (*forward)(const double *a);
    /* d[i] = ∂y/∂a[i] at a, given the forward result y (many rules reuse it) */
    void (*local)(const double *a, double y, double *d);
    const char *rule[OP_MAX_ARITY]; /* the local-derivative rule for each operand, UTF-8 */
} OpInfo;

/* The row for `op`; op must be < OP_COUNT. */
const OpInfo *op_info(Op op);
/* The operator called `name` as a function in the model language (sin, pow, max, ...),
 * or OP_COUNT if there is none. Infix-only operators (add, mul, ...) are not functions. */
Op op_function(const char *name, unsigned len);
/* Nearest function name within edit distance 2 of name[0..len) (1 for names of 3 bytes or
 * fewer), or NULL. For did-you-mean. */
const char *op_suggest_function(const char *name, unsigned len);

/* True when operand `slot`'s local derivative is 0 because a branch switched it off, not by
 * arithmetic: relu at a <= 0, the operand max/min did not select, a^b's ∂/∂a at b = 0 and
 * ∂/∂b at a = 0, b >= 0. Such an edge passes on exactly 0, even from an infinite or NaN
 * gradient (0 · inf would be NaN), as PyTorch and JAX do: the output does not depend on the
 * operand near these values, so its derivative is 0 whatever happens downstream. */
bool op_switched_off(Op op, const double *a, int slot);

/* Convenience: evaluate and differentiate. */
static inline double op_forward(Op op, const double *a) { return op_info(op)->forward(a); }
static inline void op_local(Op op, const double *a, double y, double *d) { op_info(op)->local(a, y, d); }

#endif
