/* flow: the vanishing-gradient experiment and the per-depth gradient profile.
 *
 * The experiment draws from splitmix64 streams, one per trial, seeded by hashing (seed, trial):
 * a trial's z's depend only on the seed and its index, not on the trial count, the layer count
 * or which activations run (they all see the same z's). Normal variates come from Box-Muller,
 * both of each pair used. Gradients are carried as logarithms, so a mean far below the smallest
 * double (0.2066^1000 ≈ 1e-685) is still reported. */
#include "flow.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "strconv.h"

/* ---- Activations ---- */

static const struct {
    const char *name;
    Op op;
    double bound; /* sup f' */
} ACTS[FLOW_ACT_COUNT] = {
    [FLOW_SIGMOID] = {"sigmoid", OP_SIGMOID, 0.25},
    [FLOW_TANH] = {"tanh", OP_TANH, 1.0},
    [FLOW_RELU] = {"relu", OP_RELU, 1.0},
};

const char *flow_act_name(FlowAct a) { return ACTS[a].name; }
double flow_act_bound(FlowAct a) { return ACTS[a].bound; }

bool flow_act_parse(const char *name, size_t len, FlowAct *a)
{
    for (int i = 0; i < FLOW_ACT_COUNT; i++)
        if (strlen(ACTS[i].name) == len && memcmp(ACTS[i].name, name, len) == 0) {
            *a = (FlowAct)i;
            return true;
        }
    return false;
}

double flow_act_local(FlowAct a, double z)
{
    Op op = ACTS[a].op;
    double d;
    op_local(op, &z, op_forward(op, &z), &d);
    return d;
}

double flow_act_expected(FlowAct a)
{
    /* Midpoint rule on [-12, 12] with h = 0.001: error O(h²) ≈ 1e-8 for the smooth rules, and
     * relu's jump at 0 falls on a panel boundary. The normal tail beyond 12 is below 1e-32. */
    const double h = 0.001, lo = -12.0;
    const int n = 24000;
    double sum = 0;
    for (int i = 0; i < n; i++) {
        double z = lo + (i + 0.5) * h;
        sum += flow_act_local(a, z) * exp(-0.5 * z * z);
    }
    return sum * h / sqrt(2.0 * 3.14159265358979323846);
}

/* ---- Random numbers ---- */

typedef struct Rng {
    uint64_t s;
    double spare; /* the second normal of the last Box-Muller pair */
    bool has_spare;
} Rng;

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t rng_next(Rng *r) { return mix64(r->s += 0x9E3779B97F4A7C15ull); }

/* uniform in [0, 1) with 53 random bits */
static double rng_unit(Rng *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }

static double rng_normal(Rng *r)
{
    if (r->has_spare) {
        r->has_spare = false;
        return r->spare;
    }
    /* 1 - u keeps the log argument in (0, 1] */
    double u = 1.0 - rng_unit(r), v = rng_unit(r);
    double rad = sqrt(-2.0 * log(u)), ang = 2.0 * 3.14159265358979323846 * v;
    r->spare = rad * sin(ang);
    r->has_spare = true;
    return rad * cos(ang);
}

static Rng rng_for_trial(uint64_t seed, uint32_t trial)
{
    return (Rng){.s = mix64(seed ^ mix64((uint64_t)trial + 0x632BE59BD9B4E019ull))};
}

/* ---- Experiment ---- */

bool flow_run(FlowExperiment *x, Err *err)
{
    if (x->layers < 1 || x->layers > FLOW_MAX_LAYERS)
        return err_set(err, ERR_USAGE, "--layers must be from 1 to %u, got %u", FLOW_MAX_LAYERS, x->layers);
    if (x->trials < 1 || x->trials > FLOW_MAX_TRIALS)
        return err_set(err, ERR_USAGE, "--trials must be from 1 to %u, got %u", FLOW_MAX_TRIALS, x->trials);
    if ((uint64_t)x->layers * x->trials > FLOW_MAX_WORK)
        return err_set(err, ERR_USAGE, "--layers × --trials must be at most %llu, got %llu",
                       (unsigned long long)FLOW_MAX_WORK, (unsigned long long)x->layers * x->trials);
    if (x->nacts < 1 || x->nacts > FLOW_ACT_COUNT)
        return err_set(err, ERR_USAGE, "give from 1 to %d activations", FLOW_ACT_COUNT);
    for (uint32_t a = 0; a < x->nacts; a++)
        for (uint32_t b = 0; b < a; b++)
            if (x->acts[a] == x->acts[b])
                return err_set(err, ERR_USAGE, "activation '%s' is listed twice", flow_act_name(x->acts[a]));

    size_t cells = (size_t)x->nacts * x->layers;
    flow_experiment_free(x);
    x->mean = calloc(cells, sizeof *x->mean);
    x->log10_mean = calloc(cells, sizeof *x->log10_mean);
    x->nonzero = calloc(cells, sizeof *x->nonzero);
    /* Sums of |gradient| over the trials, kept as sum[i] · e^top[i] (top[i] = the largest log
     * so far), so that gradients far below the smallest double still add up: a sigmoid chain
     * of 1,000 layers ends near 1e-685. */
    double *sum = calloc(cells, sizeof *sum), *top = malloc(cells * sizeof *top);
    if (!x->mean || !x->log10_mean || !x->nonzero || !sum || !top) {
        free(sum);
        free(top);
        flow_experiment_free(x);
        return err_set(err, ERR_IO, "out of memory");
    }
    for (size_t i = 0; i < cells; i++)
        top[i] = -INFINITY;
    for (uint32_t t = 0; t < x->trials; t++) {
        Rng r = rng_for_trial(x->seed, t);
        double lg[FLOW_ACT_COUNT]; /* ln |gradient|, -inf once a factor was 0 */
        for (uint32_t a = 0; a < x->nacts; a++)
            lg[a] = 0.0;
        for (uint32_t k = 0; k < x->layers; k++) {
            double z = rng_normal(&r);
            for (uint32_t a = 0; a < x->nacts; a++) {
                if (lg[a] == -INFINITY)
                    continue;
                double f = fabs(flow_act_local(x->acts[a], z));
                lg[a] = f > 0 ? lg[a] + log(f) : -INFINITY;
                if (lg[a] == -INFINITY)
                    continue;
                size_t i = (size_t)a * x->layers + k;
                x->nonzero[i]++;
                if (lg[a] > top[i]) {
                    sum[i] = sum[i] * exp(top[i] - lg[a]) + 1.0;
                    top[i] = lg[a];
                } else {
                    sum[i] += exp(lg[a] - top[i]);
                }
            }
        }
    }
    for (size_t i = 0; i < cells; i++) {
        if (x->nonzero[i] == 0) {
            x->mean[i] = 0;
            x->log10_mean[i] = -INFINITY;
            continue;
        }
        /* relu's trials are exactly 0 or 1 (top = 0): the mean is then exactly nonzero/trials */
        x->mean[i] = sum[i] / x->trials * exp(top[i]);
        x->log10_mean[i] = (top[i] + log(sum[i] / x->trials)) / log(10.0);
    }
    free(sum);
    free(top);
    return true;
}

void flow_experiment_free(FlowExperiment *x)
{
    free(x->mean);
    free(x->log10_mean);
    free(x->nonzero);
    x->mean = NULL;
    x->log10_mean = NULL;
    x->nonzero = NULL;
}

double flow_mean(const FlowExperiment *x, uint32_t a, uint32_t layer)
{
    return layer == 0 ? 1.0 : x->mean[(size_t)a * x->layers + layer - 1];
}

double flow_log10_mean(const FlowExperiment *x, uint32_t a, uint32_t layer)
{
    return layer == 0 ? 0.0 : x->log10_mean[(size_t)a * x->layers + layer - 1];
}

bool flow_sci_parts(double lg, double *m, int *e)
{
    if (lg == -INFINITY)
        return false;
    double fe = floor(lg), fm = pow(10.0, lg - fe);
    if (fm >= 9.99995) { /* would print as 10.0000 */
        fm /= 10;
        fe += 1;
    }
    *m = fm;
    *e = (int)fe;
    return true;
}

/* 10^lg as "1.4605e-07" (also beyond the range of doubles: "2.3456e-685"), or "0" for an
 * exact zero (a relu column is often exactly 0, and should say so). */
static void sci(char out[32], double lg)
{
    double m;
    int e;
    if (!flow_sci_parts(lg, &m, &e))
        snprintf(out, 32, "0");
    else
        snprintf(out, 32, "%.4fe%c%02d", m, e < 0 ? '-' : '+', abs(e));
}

uint32_t flow_table_step(uint32_t layers)
{
    for (uint32_t mag = 1;; mag *= 10) {
        if (mag * 5 >= layers)
            return mag;
        if (mag * 10 >= layers)
            return mag * 2;
        if (mag * 25 >= layers)
            return mag * 5;
    }
}

static bool has_act(const FlowExperiment *x, FlowAct act, uint32_t *index)
{
    for (uint32_t a = 0; a < x->nacts; a++)
        if (x->acts[a] == act) {
            if (index)
                *index = a;
            return true;
        }
    return false;
}

bool flow_write_table(const FlowExperiment *x, FILE *f)
{
    uint32_t relu = 0;
    bool sig = has_act(x, FLOW_SIGMOID, NULL), has_relu = has_act(x, FLOW_RELU, &relu);
    char num[32];
    fprintf(f, "Mean |gradient| after n layers (%u trial%s, z ~ N(0, 1), seed %llu)\n\n", x->trials,
            x->trials == 1 ? "" : "s", (unsigned long long)x->seed);
    fprintf(f, "%7s", "layer");
    for (uint32_t a = 0; a < x->nacts; a++)
        fprintf(f, "  %12s", flow_act_name(x->acts[a]));
    if (sig)
        fprintf(f, "  %12s", "0.25^n bound");
    if (has_relu)
        fprintf(f, "  %13s", "relu nonzero");
    fputc('\n', f);
    uint32_t step = flow_table_step(x->layers);
    for (uint32_t n = step; n < x->layers + step; n += step) {
        uint32_t layer = n > x->layers ? x->layers : n;
        fprintf(f, "%7u", layer);
        for (uint32_t a = 0; a < x->nacts; a++) {
            sci(num, flow_log10_mean(x, a, layer));
            fprintf(f, "  %12s", num);
        }
        if (sig) {
            sci(num, layer * log10(0.25));
            fprintf(f, "  %12s", num);
        }
        if (has_relu) {
            char frac[40];
            snprintf(frac, sizeof frac, "%u/%u", x->nonzero[(size_t)relu * x->layers + layer - 1], x->trials);
            fprintf(f, "  %13s", frac);
        }
        fputc('\n', f);
    }
    fprintf(f, "\nExpected factor per layer, E[f'(z)] for z ~ N(0, 1):");
    for (uint32_t a = 0; a < x->nacts; a++)
        fprintf(f, "%s %s %.4f", a ? "," : "", flow_act_name(x->acts[a]), flow_act_expected(x->acts[a]));
    fprintf(f, "\n(the layers are independent, so the expected mean after n layers is that factor to the n)\n");
    if (sig)
        fprintf(f, "sigmoid'(z) <= 0.25 for every z: n sigmoid layers keep at most 0.25^n of the gradient.\n");
    if (has_relu)
        fprintf(f, "A relu gradient is exactly 1 or exactly 0 (once z <= 0): its mean is the share of trials\n"
                   "still non-zero, about 0.5^n, and 0 once every trial has hit a z <= 0.\n");
    return !ferror(f);
}

/* Writes open (the text up to the array's "["), then v[0..n) as JSON numbers and the "]". */
static void put_row(Buf *b, const char *open, const double *v, uint32_t n)
{
    buf_puts(b, open);
    for (uint32_t k = 0; k < n; k++) {
        if (k)
            buf_puts(b, ", ");
        strconv_put_json_num(b, v[k]);
    }
    buf_puts(b, "]");
}

void flow_experiment_json(const FlowExperiment *x, Buf *b)
{
    buf_puts(b, "{\"format\": \"gradviz-flow\", \"version\": 1,\n"
                "\"experiment\": {\"layers\": ");
    strconv_put_uint(b, x->layers);
    buf_puts(b, ", \"trials\": ");
    strconv_put_uint(b, x->trials);
    buf_puts(b, ", \"seed\": ");
    strconv_put_uint(b, x->seed);
    buf_puts(b, ", \"preactivation\": \"normal(0, 1)\",\n"
                "  \"statistic\": \"mean over trials of |gradient| after each layer; element k of an "
                "array is after k + 1 layers\"},\n\"activations\": [");
    for (uint32_t a = 0; a < x->nacts; a++) {
        FlowAct act = x->acts[a];
        buf_puts(b, a ? ",\n  {\"name\": \"" : "\n  {\"name\": \"");
        buf_puts(b, flow_act_name(act));
        buf_puts(b, "\", \"bound_factor\": ");
        strconv_put_json_num(b, flow_act_bound(act));
        buf_puts(b, ", \"expected_factor\": ");
        strconv_put_json_num(b, flow_act_expected(act));
        size_t row = (size_t)a * x->layers;
        put_row(b, ",\n   \"mean\": [", x->mean + row, x->layers);
        put_row(b, ",\n   \"log10_mean\": [", x->log10_mean + row, x->layers);
        buf_puts(b, ",\n   \"nonzero\": [");
        for (uint32_t k = 0; k < x->layers; k++) {
            if (k)
                buf_puts(b, ", ");
            strconv_put_uint(b, x->nonzero[row + k]);
        }
        buf_puts(b, "]}");
    }
    buf_puts(b, "\n]}\n");
}

/* ---- Profile ---- */

bool flow_profile(const Trace *t, FlowProfile *p, Err *err)
{
    const Graph *g = t->g;
    uint32_t nn = g->nnodes;
    *p = (FlowProfile){0};
    p->depth = malloc((nn ? nn : 1) * sizeof *p->depth);
    if (!p->depth)
        return err_set(err, ERR_IO, "out of memory");
    p->nnodes = nn;
    for (uint32_t i = 0; i < nn; i++)
        p->depth[i] = UINT32_MAX;
    /* Ids are topological: every consumer of a node has a larger id, so walking down from the
     * primary output finishes a node's depth before any of its operands is reached. */
    uint32_t deepest = 0;
    bool any = false;
    p->depth[t->primary] = 0;
    for (uint32_t to = t->primary + 1; to-- > 0;) {
        uint32_t d = p->depth[to];
        if (d == UINT32_MAX)
            continue;
        if (g->nodes[to].kind != NODE_CONST) {
            any = true;
            if (d > deepest)
                deepest = d;
        }
        const Node *n = &g->nodes[to];
        for (uint32_t e = n->in_first; e < n->in_first + n->nedges; e++) {
            uint32_t from = g->edges[e].from;
            if (p->depth[from] == UINT32_MAX || p->depth[from] < d + 1)
                p->depth[from] = d + 1;
        }
    }
    p->nlevels = any ? deepest + 1 : 0;
    p->levels = calloc(p->nlevels ? p->nlevels : 1, sizeof *p->levels);
    double *sum = calloc(p->nlevels ? p->nlevels : 1, sizeof *sum);
    if (!p->levels || !sum) {
        free(sum);
        flow_profile_free(p);
        return err_set(err, ERR_IO, "out of memory");
    }
    for (uint32_t i = 0; i < nn; i++) {
        uint32_t d = p->depth[i];
        if (d == UINT32_MAX || g->nodes[i].kind == NODE_CONST)
            continue;
        FlowLevel *l = &p->levels[d];
        double m = fabs(t->grad[i]);
        if (!isfinite(m)) {
            l->nonfinite++;
            continue;
        }
        l->nodes++;
        sum[d] += m;
        if (m > l->max)
            l->max = m;
    }
    for (uint32_t d = 0; d < p->nlevels; d++)
        p->levels[d].mean = p->levels[d].nodes ? sum[d] / p->levels[d].nodes : 0.0;
    free(sum);
    return true;
}

void flow_profile_free(FlowProfile *p)
{
    free(p->depth);
    free(p->levels);
    *p = (FlowProfile){0};
}

void flow_profile_json(const FlowProfile *p, Buf *b)
{
    buf_puts(b, "{\"depth\": \"longest path to the primary output, in edges\", \"levels\": [");
    for (uint32_t d = 0; d < p->nlevels; d++) {
        const FlowLevel *l = &p->levels[d];
        buf_puts(b, d ? ", {\"depth\": " : "{\"depth\": ");
        strconv_put_uint(b, d);
        buf_puts(b, ", \"nodes\": ");
        strconv_put_uint(b, l->nodes);
        buf_puts(b, ", \"nonfinite\": ");
        strconv_put_uint(b, l->nonfinite);
        /* no finite gradient at this depth: no mean, no max (NaN writes null) */
        buf_puts(b, ", \"mean\": ");
        strconv_put_json_num(b, l->nodes ? l->mean : NAN);
        buf_puts(b, ", \"max\": ");
        strconv_put_json_num(b, l->nodes ? l->max : NAN);
        buf_puts(b, "}");
    }
    buf_puts(b, "]}");
}
