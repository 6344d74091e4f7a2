/* gen: generated models. Numbers are printed with 6 significant digits so the files stay
 * readable; the generator (splitmix64) is seeded so a seed always gives the same model. */
#include "gen.h"

#include <math.h>
#include <string.h>

static const char *const ACT_NAMES[] = {"tanh", "relu", "sigmoid"};

bool gen_parse_act(const char *s, GenAct *act)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(s, ACT_NAMES[i]) == 0) {
            *act = (GenAct)i;
            return true;
        }
    return false;
}

typedef struct Rng {
    uint64_t s;
} Rng;

static uint64_t rng_next(Rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* uniform in [0, 1) with 53 random bits */
static double rng_unit(Rng *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }
static double rng_uniform(Rng *r, double lo, double hi) { return lo + (hi - lo) * rng_unit(r); }
static double rng_normal(Rng *r)
{
    /* Box-Muller; 1 - u keeps the log argument in (0, 1] */
    double u = 1.0 - rng_unit(r), v = rng_unit(r);
    return sqrt(-2.0 * log(u)) * cos(2.0 * 3.14159265358979323846 * v);
}

uint64_t gen_mlp_nodes(const uint32_t *sizes, size_t n)
{
    uint64_t nodes = sizes[0];
    for (size_t l = 1; l < n; l++) {
        uint64_t in = sizes[l - 1], out = sizes[l];
        /* per neuron: in weights, a bias, in products, in additions, and an activation in the
         * hidden layers only (the output layer is linear) */
        nodes += out * (3 * in + 1 + (l < n - 1));
    }
    uint64_t outs = sizes[n - 1];
    return nodes + outs * 3 + (outs - 1); /* targets, differences, squares, and outs-1 sums */
}

/* Terms per line of a long sum. A wider sum continues in named partial sums (`y0_s1 = ...`,
 * `y0_s2 = y0_s1 + ...`): they build exactly the left-nested chain of additions one long line
 * would, in the same node order, so the graph is unchanged while every line stays far below
 * LEX_MAX_LINE (1,000 terms are ~25 KB; a layer of 100,000 inputs on one line would not parse). */
#define GEN_TERMS_PER_LINE 1000u

/* Writes the sum term(0) + ... + term(n-1) [+ tail] as the right-hand side of `head`
 * ("y0 = ", "h1_0 = tanh(") and closes it with `close`, continuing in partial sums named
 * `name`_sK when it is long. */
typedef void (*TermFn)(FILE *f, uint32_t i, const void *ctx);

static void write_sum(FILE *f, const char *name, const char *head, uint32_t n, TermFn term, const void *ctx,
                      const char *tail, const char *close)
{
    uint32_t i = 0, part = 0;
    while (n - i > GEN_TERMS_PER_LINE) {
        part++;
        fprintf(f, "%s_s%u = ", name, part);
        if (part > 1)
            fprintf(f, "%s_s%u + ", name, part - 1);
        for (uint32_t k = 0; k < GEN_TERMS_PER_LINE; k++, i++) {
            if (k)
                fputs(" + ", f);
            term(f, i, ctx);
        }
        fputc('\n', f);
    }
    fputs(head, f);
    if (part)
        fprintf(f, "%s_s%u + ", name, part);
    for (uint32_t k = 0; i < n; k++, i++) {
        if (k)
            fputs(" + ", f);
        term(f, i, ctx);
    }
    if (tail)
        fprintf(f, "%s%s", n ? " + " : "", tail);
    fprintf(f, "%s\n", close);
}

typedef struct NeuronCtx {
    size_t l;
    uint32_t j;
} NeuronCtx;

/* w_l_j_i * (x_i or h_{l-1}_i) */
static void neuron_term(FILE *f, uint32_t i, const void *ctx)
{
    const NeuronCtx *c = ctx;
    if (c->l == 1)
        fprintf(f, "w%zu_%u_%u*x%u", c->l, c->j, i, i);
    else
        fprintf(f, "w%zu_%u_%u*h%zu_%u", c->l, c->j, i, c->l - 1, i);
}

/* (y_j - t_j)^2 */
static void loss_term(FILE *f, uint32_t j, const void *ctx)
{
    (void)ctx;
    fprintf(f, "(y%u - t%u)^2", j, j);
}

static const char *const INIT_NAMES[] = {"uniform", "xavier", "he", "normal"};

bool gen_parse_init(const char *s, GenInit *init)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, INIT_NAMES[i]) == 0) {
            *init = (GenInit)i;
            return true;
        }
    return false;
}

/* A weight connecting layers of fan_in and fan_out neurons. */
static double draw_weight(Rng *r, GenInit init, uint32_t fan_in, uint32_t fan_out)
{
    switch (init) {
    case GEN_INIT_XAVIER: return rng_normal(r) * sqrt(2.0 / ((double)fan_in + (double)fan_out));
    case GEN_INIT_HE: return rng_normal(r) * sqrt(2.0 / (double)fan_in);
    case GEN_INIT_NORMAL: return rng_normal(r);
    case GEN_INIT_UNIFORM: break;
    }
    return rng_uniform(r, -1, 1);
}

static double draw_bias(Rng *r, GenInit init)
{
    switch (init) {
    case GEN_INIT_XAVIER:
    case GEN_INIT_HE: return 0;
    case GEN_INIT_NORMAL: return rng_normal(r);
    case GEN_INIT_UNIFORM: break;
    }
    return rng_uniform(r, -1, 1);
}

bool gen_mlp(FILE *f, const uint32_t *sizes, size_t n, GenAct act, uint64_t seed)
{
    return gen_mlp_init(f, sizes, n, act, GEN_INIT_UNIFORM, seed);
}

bool gen_mlp_init(FILE *f, const uint32_t *sizes, size_t n, GenAct act, GenInit init, uint64_t seed)
{
    Rng r = {seed};
    fprintf(f, "# A scalar multi-layer perceptron generated by `gradviz gen mlp");
    for (size_t l = 0; l < n; l++)
        fprintf(f, "%s%u", l ? "," : " ", sizes[l]);
    fprintf(f, " --act %s", ACT_NAMES[act]);
    if (init != GEN_INIT_UNIFORM)
        fprintf(f, " --init %s", INIT_NAMES[init]);
    fprintf(f, " --seed %llu`.\n", (unsigned long long)seed);
    fprintf(f, "# Every weight, bias and sum is its own node: the graph shows backprop through a\n"
               "# network neuron by neuron. Hidden layers use %s; the output layer is linear and\n"
               "# the loss is the squared error against constant targets.\n", ACT_NAMES[act]);
    fprintf(f, "model \"MLP");
    for (size_t l = 0; l < n; l++)
        fprintf(f, "%s%u", l ? "-" : " ", sizes[l]);
    fprintf(f, " (%s)\"\n", ACT_NAMES[act]);
    for (uint32_t i = 0; i < sizes[0]; i++)
        fprintf(f, "input x%u = %.6g\n", i, rng_uniform(&r, -1, 1));
    for (size_t l = 1; l < n; l++) {
        bool last = l == n - 1;
        for (uint32_t j = 0; j < sizes[l]; j++) {
            for (uint32_t i = 0; i < sizes[l - 1]; i++)
                fprintf(f, "param w%zu_%u_%u = %.6g\n", l, j, i, draw_weight(&r, init, sizes[l - 1], sizes[l]));
            fprintf(f, "param b%zu_%u = %.6g\n", l, j, draw_bias(&r, init));
            char name[64], head[96], bias[64];
            if (last)
                snprintf(name, sizeof name, "y%u", j);
            else
                snprintf(name, sizeof name, "h%zu_%u", l, j);
            if (last)
                snprintf(head, sizeof head, "%s = ", name);
            else
                snprintf(head, sizeof head, "%s = %s(", name, ACT_NAMES[act]);
            snprintf(bias, sizeof bias, "b%zu_%u", l, j);
            NeuronCtx ctx = {l, j};
            write_sum(f, name, head, sizes[l - 1], neuron_term, &ctx, bias, last ? "" : ")");
        }
    }
    for (uint32_t j = 0; j < sizes[n - 1]; j++)
        fprintf(f, "const t%u = %.6g\n", j, rng_uniform(&r, -1, 1));
    write_sum(f, "L", "loss L = ", sizes[n - 1], loss_term, NULL, NULL, "");
    return !ferror(f);
}

bool gen_chain(FILE *f, uint32_t layers, GenAct act, uint64_t seed)
{
    Rng r = {seed};
    fprintf(f, "# A chain of %u %s layers generated by `gradviz gen chain %u --act %s --seed %llu`.\n", layers,
            ACT_NAMES[act], layers, ACT_NAMES[act], (unsigned long long)seed);
    fprintf(f, "# Each layer multiplies the gradient by w_k·%s'(pre-activation): watch it shrink or\n"
               "# survive with depth.\n", ACT_NAMES[act]);
    fprintf(f, "model \"Chain of %u %s layers\"\n", layers, ACT_NAMES[act]);
    fprintf(f, "input h0 = %.6g\n", rng_normal(&r));
    for (uint32_t k = 1; k <= layers; k++) {
        fprintf(f, "param w%u = %.6g\nparam b%u = %.6g\n", k, rng_normal(&r), k, rng_normal(&r));
        fprintf(f, "%sh%u = %s(w%u*h%u + b%u)\n", k == layers ? "output " : "", k, ACT_NAMES[act], k, k - 1, k);
    }
    return !ferror(f);
}
