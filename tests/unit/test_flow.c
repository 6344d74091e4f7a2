/* Unit tests of flow (the vanishing-gradient experiment and the per-depth profile) and
 * flowchart (the chart's geometry and SVG).
 *
 * Expected values come from outside the code under test: E[f'(z)] and E[f'(z)²] for
 * z ~ N(0, 1) by Simpson's rule over closed-form derivatives written here; the tolerance of a
 * Monte-Carlo mean is a multiple of its standard error computed from those moments; depths by
 * a memoised depth-first search (not flow.c's reverse pass); gradients of a small model by
 * hand. */
#include "util.h"

#include <cJSON.h>

#include "ad.h"
#include "flow.h"
#include "flowchart.h"
#include "gen.h"
#include "parse.h"

/* ---- Independent moments of the local derivatives ---- */

static double d_sigmoid(double z)
{
    double e = exp(-fabs(z)); /* σ'(z) = e^−|z| / (1 + e^−|z|)², exact in both tails */
    return e / ((1 + e) * (1 + e));
}
static double d_tanh(double z)
{
    double c = cosh(z);
    return 1.0 / (c * c);
}
static double d_relu(double z) { return z > 0 ? 1.0 : 0.0; }

static double (*const DERIV[FLOW_ACT_COUNT])(double) = {
    [FLOW_SIGMOID] = d_sigmoid, [FLOW_TANH] = d_tanh, [FLOW_RELU] = d_relu};

/* E[f(z)^power] for z ~ N(0, 1): Simpson's rule on [0, 10] and [-10, 0] separately, so relu's
 * jump at 0 sits on an end point (where its one-sided limit is used). */
static double moment(FlowAct a, int power)
{
    const int n = 20000; /* even */
    const double h = 10.0 / n;
    double total = 0;
    for (int side = -1; side <= 1; side += 2) {
        double sum = 0;
        for (int i = 0; i <= n; i++) {
            double z = side * i * h;
            double zf = i == 0 ? side * 1e-300 : z; /* the one-sided limit at 0 */
            double f = pow(DERIV[a](zf), power) * exp(-0.5 * z * z);
            sum += f * (i == 0 || i == n ? 1 : i % 2 ? 4 : 2);
        }
        total += sum * h / 3;
    }
    return total / sqrt(2 * 3.14159265358979323846);
}

static void test_expected_factors(void **state)
{
    (void)state;
    /* the lecture's numbers, to their four digits */
    assert_close(moment(FLOW_SIGMOID, 1), 0.2066, 0, 0.00005);
    assert_close(moment(FLOW_TANH, 1), 0.6057, 0, 0.00005);
    assert_close(moment(FLOW_RELU, 1), 0.5, 0, 1e-12);
    for (int a = 0; a < FLOW_ACT_COUNT; a++)
        assert_close(flow_act_expected((FlowAct)a), moment((FlowAct)a, 1), 1e-7, 1e-9);
    assert_close(flow_act_bound(FLOW_SIGMOID), 0.25, 0, 0);
    assert_close(flow_act_bound(FLOW_TANH), 1, 0, 0);
    assert_close(flow_act_bound(FLOW_RELU), 1, 0, 0);
}

static void test_local_derivatives(void **state)
{
    (void)state;
    static const double Z[] = {-30, -4, -1.5, -0.3, 0, 1e-9, 0.2, 1, 2.5, 7, 30};
    for (size_t i = 0; i < ARRAY_LEN(Z); i++)
        for (int a = 0; a < FLOW_ACT_COUNT; a++)
            /* the engine's rules s(1 − s) and 1 − tanh² lose the far tails to rounding
             * (absolute error ~1e-16); the experiment's z ~ N(0, 1) hardly reaches them */
            assert_close(flow_act_local((FlowAct)a, Z[i]), DERIV[a](Z[i]), 1e-12, 1e-15);
    assert_close(flow_act_local(FLOW_RELU, 0), 0, 0, 0); /* the rule: 1 if z > 0 else 0 */
    FlowAct a;
    assert_true(flow_act_parse("tanh", 4, &a) && a == FLOW_TANH);
    assert_true(flow_act_parse("relu,x", 4, &a) && a == FLOW_RELU);
    assert_false(flow_act_parse("sigmoi", 6, &a));
    assert_false(flow_act_parse("", 0, &a));
    assert_string_equal(flow_act_name(FLOW_SIGMOID), "sigmoid");
}

static FlowExperiment experiment(uint32_t layers, uint32_t trials, uint64_t seed)
{
    FlowExperiment x = {.layers = layers, .trials = trials, .seed = seed,
                        .acts = {FLOW_SIGMOID, FLOW_TANH, FLOW_RELU}, .nacts = 3};
    Err err = {0};
    if (!flow_run(&x, &err))
        print_error("flow_run: %s\n", err.msg);
    assert_true(err_ok(&err));
    return x;
}

/* The mean of T independent products of n independent factors has expectation E^n and
 * standard error sqrt((E[f²]^n − E^2n) / T). Five standard errors: a false alarm once in
 * ~3.5 million runs, and the seed is fixed. */
static void test_mean_converges_to_expectation(void **state)
{
    (void)state;
    const uint32_t T = 200000;
    FlowExperiment x = experiment(10, T, 20240607);
    for (uint32_t a = 0; a < x.nacts; a++) {
        double e1 = moment(x.acts[a], 1), e2 = moment(x.acts[a], 2);
        static const uint32_t N[] = {1, 10};
        for (size_t i = 0; i < ARRAY_LEN(N); i++) {
            uint32_t n = N[i];
            double want = pow(e1, n);
            double se = sqrt((pow(e2, n) - pow(e1, 2.0 * n)) / T);
            double got = flow_mean(&x, a, n);
            if (fabs(got - want) > 5 * se)
                print_error("%s after %u layers: mean %.6g, expected %.6g ± %.3g (5 SE)\n",
                            flow_act_name(x.acts[a]), n, got, want, 5 * se);
            assert_true(fabs(got - want) <= 5 * se);
        }
    }
    flow_experiment_free(&x);
}

static void test_bounds_and_relu(void **state)
{
    (void)state;
    FlowExperiment x = experiment(50, 500, 42);
    for (uint32_t k = 1; k <= x.layers; k++) {
        /* every sigmoid trial is at most 0.25^k, so is their mean */
        assert_true(flow_mean(&x, 0, k) <= pow(0.25, k) * (1 + 1e-12));
        assert_true(flow_mean(&x, 0, k) > 0);
        /* a relu gradient is exactly 0 or exactly 1: the mean is the share of non-zero trials */
        assert_close(flow_mean(&x, 2, k), (double)x.nonzero[2 * x.layers + k - 1] / x.trials, 1e-15, 0);
        /* and a trial once 0 stays 0 */
        if (k > 1)
            assert_true(x.nonzero[2 * x.layers + k - 1] <= x.nonzero[2 * x.layers + k - 2]);
        assert_int_equal(x.nonzero[k - 1], x.trials); /* sigmoid never hits exactly 0 here */
    }
    assert_close(flow_mean(&x, 1, 0), 1, 0, 0);
    /* the log10 column agrees with the means */
    for (uint32_t a = 0; a < 3; a++)
        for (uint32_t k = 1; k <= x.layers; k++) {
            double m = flow_mean(&x, a, k);
            if (m > 0)
                assert_close(flow_log10_mean(&x, a, k), log10(m), 0, 1e-12);
            else
                assert_true(flow_log10_mean(&x, a, k) == -INFINITY);
        }
    flow_experiment_free(&x);
}

static char *table_text(const FlowExperiment *x);

static void test_below_the_smallest_double(void **state)
{
    (void)state;
    /* 2,000 sigmoid layers: the mean (~0.2066^2000 ≈ 1e-1370) underflows a double, its log
     * does not. Each trial's log is a sum of 2,000 terms of mean ln 0.2066 minus a spread: the
     * mean over trials lies between the bound and the typical trial. */
    FlowExperiment x = {.layers = 2000, .trials = 200, .seed = 5, .acts = {FLOW_SIGMOID}, .nacts = 1};
    Err err = {0};
    assert_true(flow_run(&x, &err));
    double lg = flow_log10_mean(&x, 0, 2000);
    assert_true(flow_mean(&x, 0, 2000) == 0);
    assert_true(isfinite(lg));
    assert_true(lg <= 2000 * log10(0.25));
    assert_true(lg >= 2000 * log10(0.2066) - 200); /* within 200 decades of E^n: a loose floor */
    assert_int_equal(x.nonzero[1999], 200);
    /* and the table prints it */
    char *t = table_text(&x);
    assert_non_null(strstr(t, "e-1"));
    assert_null(strstr(t, "nan"));
    assert_null(strstr(t, "inf"));
    free(t);
    flow_experiment_free(&x);
}

static char *table_text(const FlowExperiment *x)
{
    MemOut m;
    mem_open(&m);
    assert_true(flow_write_table(x, m.f));
    return mem_close(&m);
}

static void test_same_seed_same_table(void **state)
{
    (void)state;
    FlowExperiment a = experiment(50, 100, 42), b = experiment(50, 100, 42), c = experiment(50, 100, 43);
    size_t cells = (size_t)a.nacts * a.layers;
    assert_memory_equal(a.mean, b.mean, cells * sizeof *a.mean);
    assert_memory_equal(a.nonzero, b.nonzero, cells * sizeof *a.nonzero);
    char *ta = table_text(&a), *tb = table_text(&b), *tc = table_text(&c);
    assert_string_equal(ta, tb);
    assert_string_not_equal(ta, tc);
    assert_memory_not_equal(a.mean, c.mean, cells * sizeof *a.mean);
    /* the table's shape: rows at 10, 20, ..., 50, one column per activation */
    assert_non_null(strstr(ta, "sigmoid"));
    assert_non_null(strstr(ta, "0.25^n"));
    int rows = 0;
    for (const char *p = ta; (p = strchr(p, '\n')); p++) {
        unsigned layer;
        if (sscanf(p + 1, "%u", &layer) == 1) {
            rows++;
            assert_int_equal(layer, 10u * rows);
            /* the sigmoid column is the mean after that layer, printed to 5 digits */
            double v;
            assert_int_equal(sscanf(p + 1, "%u %lf", &layer, &v), 2);
            assert_close(v, flow_mean(&a, 0, layer), 1e-4, 0);
        }
    }
    assert_int_equal(rows, 5);

    /* fewer layers: the same first rows; one activation alone: the same column */
    FlowExperiment s = {.layers = 10, .trials = 100, .seed = 42, .acts = {FLOW_RELU, FLOW_TANH}, .nacts = 2};
    Err err = {0};
    assert_true(flow_run(&s, &err));
    for (uint32_t k = 1; k <= 10; k++) {
        assert_true(flow_mean(&s, 0, k) == flow_mean(&a, 2, k));
        assert_true(flow_mean(&s, 1, k) == flow_mean(&a, 1, k));
    }
    free(ta);
    free(tb);
    free(tc);
    flow_experiment_free(&a);
    flow_experiment_free(&b);
    flow_experiment_free(&c);
    flow_experiment_free(&s);
}

static void test_run_rejects_bad_input(void **state)
{
    (void)state;
    FlowExperiment bad[] = {
        {.layers = 0, .trials = 10, .acts = {FLOW_TANH}, .nacts = 1},
        {.layers = 10, .trials = 0, .acts = {FLOW_TANH}, .nacts = 1},
        {.layers = FLOW_MAX_LAYERS + 1, .trials = 1, .acts = {FLOW_TANH}, .nacts = 1},
        {.layers = 10, .trials = 10, .nacts = 0},
        {.layers = 10, .trials = 10, .acts = {FLOW_TANH, FLOW_TANH}, .nacts = 2},
        {.layers = FLOW_MAX_LAYERS, .trials = FLOW_MAX_TRIALS, .acts = {FLOW_TANH}, .nacts = 1},
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        Err err = {0};
        assert_false(flow_run(&bad[i], &err));
        assert_int_equal(err.kind, ERR_USAGE);
        assert_null(bad[i].mean);
    }
}

static void test_experiment_json(void **state)
{
    (void)state;
    FlowExperiment x = experiment(20, 300, 9);
    Buf b = {0};
    flow_experiment_json(&x, &b);
    assert_false(b.oom);
    cJSON *doc = cJSON_Parse(b.data);
    assert_non_null(doc);
    assert_string_equal(cJSON_GetObjectItem(doc, "format")->valuestring, "gradviz-flow");
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "experiment"), "layers")->valueint, 20);
    cJSON *acts = cJSON_GetObjectItem(doc, "activations");
    assert_int_equal(cJSON_GetArraySize(acts), 3);
    for (int a = 0; a < 3; a++) {
        cJSON *act = cJSON_GetArrayItem(acts, a);
        assert_string_equal(cJSON_GetObjectItem(act, "name")->valuestring, flow_act_name(x.acts[a]));
        cJSON *mean = cJSON_GetObjectItem(act, "mean"), *nz = cJSON_GetObjectItem(act, "nonzero");
        assert_int_equal(cJSON_GetArraySize(mean), 20);
        for (int k = 0; k < 20; k++) {
            /* cJSON reads with strtod: the numbers must round-trip exactly */
            assert_true(cJSON_GetArrayItem(mean, k)->valuedouble == flow_mean(&x, (uint32_t)a, (uint32_t)k + 1));
            assert_int_equal(cJSON_GetArrayItem(nz, k)->valueint, x.nonzero[a * 20 + k]);
        }
    }
    cJSON_Delete(doc);
    buf_free(&b);
    flow_experiment_free(&x);
}

/* ---- Profile ---- */

typedef struct Model {
    Source src;
    Graph *g;
    Trace *t;
} Model;

static void model_load(Model *m, const char *text)
{
    src_init(&m->src, text);
    Err err = {0};
    m->g = parse_model(&m->src, &err);
    if (!m->g)
        print_error("parse: %s\n", err.msg);
    assert_non_null(m->g);
    m->t = ad_run(m->g, &m->src, &err);
    assert_non_null(m->t);
}

static void model_free(Model *m)
{
    trace_free(m->t);
    graph_free(m->g);
    source_free(&m->src);
}

static uint32_t node(const Model *m, const char *name)
{
    uint32_t id = graph_lookup(m->g, name, strlen(name));
    assert_int_not_equal(id, UINT32_MAX);
    return id;
}

/* Longest path from n to `target` by depth-first search over out-edges, memoised in memo
 * (UINT32_MAX - 1 = not computed, UINT32_MAX = target unreachable). */
static uint32_t dfs_depth(const Graph *g, uint32_t n, uint32_t target, uint32_t *memo)
{
    if (memo[n] != UINT32_MAX - 1)
        return memo[n];
    uint32_t best = n == target ? 0 : UINT32_MAX;
    for (uint32_t i = g->out_first[n]; i < g->out_first[n + 1]; i++) {
        uint32_t d = dfs_depth(g, g->edges[g->out_edges[i]].to, target, memo);
        if (d != UINT32_MAX && (best == UINT32_MAX || d + 1 > best))
            best = d + 1;
    }
    return memo[n] = best;
}

/* Checks p against depths found by DFS and per-depth statistics of the trace's gradients. */
static void check_profile_against_trace(const Trace *t, const FlowProfile *p)
{
    const Graph *g = t->g;
    uint32_t *memo = malloc(g->nnodes * sizeof *memo);
    assert_non_null(memo);
    for (uint32_t i = 0; i < g->nnodes; i++)
        memo[i] = UINT32_MAX - 1;
    uint32_t deepest = 0;
    for (uint32_t i = 0; i < g->nnodes; i++) {
        uint32_t d = dfs_depth(g, i, t->primary, memo);
        assert_int_equal(p->depth[i], d);
        assert_int_equal(d != UINT32_MAX, t->reach[i] != 0);
        if (d != UINT32_MAX && g->nodes[i].kind != NODE_CONST && d > deepest)
            deepest = d;
    }
    assert_int_equal(p->nlevels, deepest + 1);
    for (uint32_t d = 0; d < p->nlevels; d++) {
        double sum = 0, max = 0;
        uint32_t count = 0;
        for (uint32_t i = 0; i < g->nnodes; i++)
            if (memo[i] == d && g->nodes[i].kind != NODE_CONST) {
                sum += fabs(t->grad[i]);
                max = fmax(max, fabs(t->grad[i]));
                count++;
            }
        assert_int_equal(p->levels[d].nodes, count);
        if (count == 0)
            continue;
        assert_close(p->levels[d].mean, sum / count, 1e-12, 0);
        assert_close(p->levels[d].max, max, 0, 0);
    }
    free(memo);
}

static void test_profile_by_hand(void **state)
{
    (void)state;
    /* x reaches L along paths of 1 (x*c), 2 (z) and 3 (y) edges: its depth is 3. u, a second
     * output, cannot reach L; the const c is given a depth but not counted. */
    Model m;
    model_load(&m, "input x = 0.5\n"
                   "const c = 3\n"
                   "y = sin(x)\n"
                   "z = y*x\n"
                   "loss L = z + x*c\n"
                   "output u = exp(x)\n");
    FlowProfile p;
    Err err = {0};
    assert_true(flow_profile(m.t, &p, &err));
    assert_int_equal(p.depth[node(&m, "L")], 0);
    assert_int_equal(p.depth[node(&m, "z")], 1);
    assert_int_equal(p.depth[node(&m, "y")], 2);
    assert_int_equal(p.depth[node(&m, "x")], 3);
    assert_int_equal(p.depth[node(&m, "c")], 2);
    assert_int_equal(p.depth[node(&m, "u")], UINT32_MAX);
    assert_int_equal(p.nlevels, 4);
    double x = 0.5, c = 3;
    /* L = sin(x)·x + x·c: ∂L/∂z = ∂L/∂(x·c) = 1, ∂L/∂y = x, ∂L/∂x = cos(x)·x + sin(x) + c */
    static const uint32_t NODES[] = {1, 2, 1, 1};
    double mean[] = {1, 1, x, cos(x) * x + sin(x) + c};
    for (uint32_t d = 0; d < 4; d++) {
        assert_int_equal(p.levels[d].nodes, NODES[d]);
        assert_int_equal(p.levels[d].nonfinite, 0);
        assert_close(p.levels[d].mean, mean[d], 1e-14, 0);
        assert_close(p.levels[d].max, mean[d], 1e-14, 0);
    }
    check_profile_against_trace(m.t, &p);

    Buf b = {0};
    flow_profile_json(&p, &b);
    cJSON *doc = cJSON_Parse(b.data);
    assert_non_null(doc);
    cJSON *levels = cJSON_GetObjectItem(doc, "levels");
    assert_int_equal(cJSON_GetArraySize(levels), 4);
    cJSON *l3 = cJSON_GetArrayItem(levels, 3);
    assert_int_equal(cJSON_GetObjectItem(l3, "depth")->valueint, 3);
    assert_true(cJSON_GetObjectItem(l3, "mean")->valuedouble == p.levels[3].mean);
    assert_int_equal(cJSON_GetObjectItem(l3, "nodes")->valueint, 1);
    cJSON_Delete(doc);
    buf_free(&b);
    flow_profile_free(&p);
    model_free(&m);
}

static void test_profile_nonfinite(void **state)
{
    (void)state;
    /* ∂L/∂x = 1/(2·sqrt(0)) = inf: left out of mean and max, counted apart */
    Model m;
    model_load(&m, "input x = 0\ninput w = 2\nloss L = sqrt(x) + w*3\n");
    FlowProfile p;
    Err err = {0};
    assert_true(flow_profile(m.t, &p, &err));
    assert_int_equal(p.nlevels, 3);
    assert_int_equal(p.levels[1].nodes, 2); /* sqrt(x), w*3 */
    assert_int_equal(p.levels[2].nodes, 1); /* w: 3 */
    assert_int_equal(p.levels[2].nonfinite, 1); /* x */
    assert_close(p.levels[2].mean, 3, 0, 0);
    Buf b = {0};
    flow_profile_json(&p, &b);
    cJSON *doc = cJSON_Parse(b.data);
    assert_non_null(doc);
    cJSON_Delete(doc);
    buf_free(&b);
    flow_profile_free(&p);
    model_free(&m);
}

static char *gen_text(bool (*write)(FILE *, void *), void *ctx)
{
    MemOut m;
    mem_open(&m);
    assert_true(write(m.f, ctx));
    return mem_close(&m);
}

static bool write_sigmoid_chain(FILE *f, void *ctx)
{
    (void)ctx;
    return gen_chain(f, 30, GEN_SIGMOID, 7);
}

/* mean of levels [from, to) */
static double level_mean(const FlowProfile *p, uint32_t from, uint32_t to)
{
    double s = 0;
    for (uint32_t d = from; d < to; d++)
        s += p->levels[d].mean;
    return s / (to - from);
}

static void test_profile_sigmoid_chain_decays(void **state)
{
    (void)state;
    char *text = gen_text(write_sigmoid_chain, NULL);
    Model m;
    model_load(&m, text);
    FlowProfile p;
    Err err = {0};
    assert_true(flow_profile(m.t, &p, &err));
    /* a layer h_k = σ(w_k·h_{k−1} + b_k) is three edges deep: σ, +, × */
    assert_int_equal(p.nlevels, 3 * 30 + 1);
    double top = level_mean(&p, 0, 30), deep = level_mean(&p, 61, 91);
    if (!(deep < 1e-6 * top))
        print_error("deep %.3g, top %.3g\n", deep, top);
    assert_true(deep < 1e-6 * top);
    /* least-squares slope of log10(mean) against depth: each layer multiplies by
     * w·σ'(z) with |σ'| ≤ 0.25, so well below zero */
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    uint32_t n = p.nlevels;
    for (uint32_t d = 0; d < n; d++) {
        double y = log10(p.levels[d].mean);
        sx += d, sy += y, sxx += (double)d * d, sxy += d * y;
    }
    double slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
    assert_true(slope < -0.1);
    check_profile_against_trace(m.t, &p);
    flow_profile_free(&p);
    model_free(&m);
    free(text);
}

static void test_profile_relu_chain_keeps_gradient(void **state)
{
    (void)state;
    /* h_k = relu(1·h_{k−1} + 0.5) from h0 = 1: every pre-activation is positive, so every
     * relu passes the gradient on unchanged: ∂L/∂h_k = 1 all the way down, ∂L/∂w_k = h_{k−1}
     * ≥ 1, ∂L/∂b_k = 1. */
    Buf b = {0};
    buf_puts(&b, "input h0 = 1\n");
    for (int k = 1; k <= 25; k++)
        buf_printf(&b, "param w%d = 1\nparam b%d = 0.5\n%sh%d = relu(w%d*h%d + b%d)\n", k, k, k == 25 ? "output " : "",
                   k, k, k - 1, k);
    Model m;
    model_load(&m, b.data);
    FlowProfile p;
    Err err = {0};
    assert_true(flow_profile(m.t, &p, &err));
    assert_int_equal(p.nlevels, 3 * 25 + 1);
    for (uint32_t d = 0; d < p.nlevels; d++) {
        assert_true(p.levels[d].mean >= 1 - 1e-12);
        assert_true(p.levels[d].max >= 1 - 1e-12);
    }
    assert_true(p.levels[p.nlevels - 1].mean >= p.levels[0].mean);
    /* depth 3 holds h24 and w25, whose gradient is h24 = 1 + 0.5·24; the deepest, h0 and w1 */
    assert_close(p.levels[3].max, 1 + 0.5 * 24, 1e-12, 0);
    assert_close(p.levels[3 * 25].max, 1, 1e-12, 0);
    check_profile_against_trace(m.t, &p);
    flow_profile_free(&p);
    model_free(&m);
    buf_free(&b);
}

static bool write_mlp(FILE *f, void *ctx)
{
    (void)ctx;
    static const uint32_t sizes[] = {3, 5, 4, 2};
    return gen_mlp(f, sizes, 4, GEN_TANH, 11);
}

static void test_profile_matches_trace_mlp(void **state)
{
    (void)state;
    char *text = gen_text(write_mlp, NULL);
    Model m;
    model_load(&m, text);
    FlowProfile p;
    Err err = {0};
    assert_true(flow_profile(m.t, &p, &err));
    check_profile_against_trace(m.t, &p);
    flow_profile_free(&p);
    model_free(&m);
    free(text);
}

/* ---- Chart ---- */

static const FlowOp *find_text(const FlowDrawing *d, const char *needle)
{
    for (size_t i = 0; i < d->nops; i++)
        if (d->ops[i].kind == FLOWOP_TEXT && strstr(d->ops[i].text, needle))
            return &d->ops[i];
    return NULL;
}

static void check_inside(const FlowDrawing *d)
{
    for (size_t i = 0; i < d->nops; i++) {
        const FlowOp *o = &d->ops[i];
        for (size_t k = 0; k < o->npts; k++) {
            assert_true(o->pts[2 * k] >= 0 && o->pts[2 * k] <= d->width);
            assert_true(o->pts[2 * k + 1] >= 0 && o->pts[2 * k + 1] <= d->height);
        }
        if (o->kind == FLOWOP_TEXT || o->kind == FLOWOP_CIRCLE) {
            assert_true(o->x >= 0 && o->x <= d->width);
            assert_true(o->y >= 0 && o->y <= d->height);
        }
    }
}

static void test_chart_experiment(void **state)
{
    (void)state;
    FlowExperiment x = experiment(50, 100, 42);
    FlowDrawing d;
    Err err = {0};
    assert_true(flowchart_experiment(&x, &d, &err));
    check_inside(&d);
    /* legend names, the bound, the y axis from 10⁰ down to a power of ten with a label */
    assert_non_null(find_text(&d, "sigmoid"));
    assert_non_null(find_text(&d, "tanh"));
    assert_non_null(find_text(&d, "relu"));
    assert_non_null(find_text(&d, "0.25ⁿ"));
    const FlowOp *top = find_text(&d, "10⁰");
    assert_non_null(top);
    /* 100 trials of 50 relu layers all end at 0: the note says from where */
    assert_non_null(find_text(&d, "relu = 0 from n = "));

    /* the bound 0.25^n is the one dashed path with 51 points, and on a log scale it is a
     * straight line: equal steps in y for equal steps in n */
    const FlowOp *bound = NULL;
    for (size_t i = 0; i < d.nops; i++)
        if (d.ops[i].kind == FLOWOP_PATH && d.ops[i].dash[0] > 0 && d.ops[i].npts == 51) {
            assert_null(bound);
            bound = &d.ops[i];
        }
    assert_non_null(bound);
    double dy = bound->pts[3] - bound->pts[1];
    assert_true(dy > 0); /* smaller values lower on the page */
    for (size_t k = 1; k < 51; k++) {
        assert_close(bound->pts[2 * k] - bound->pts[2 * k - 2], bound->pts[2] - bound->pts[0], 1e-9, 1e-9);
        assert_close(bound->pts[2 * k + 1] - bound->pts[2 * k - 1], dy, 1e-9, 1e-9);
    }
    /* it starts at 1 = 10⁰: the height of that tick label's baseline, less its offset */
    assert_close(bound->pts[1], top->y - 4.2, 0, 1e-9);
    /* and a decade is log10(4) steps of n */
    const FlowOp *lab = find_text(&d, "10⁻¹⁰");
    if (lab)
        assert_close(lab->y - top->y, 10 * dy / log10(4.0), 1e-9, 1e-9);

    Buf b = {0};
    flowchart_svg(&d, &b);
    assert_false(b.oom);
    assert_true(strncmp(b.data, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39) == 0);
    assert_non_null(strstr(b.data, "stroke-dasharray=\"7 4\""));
    assert_non_null(strstr(b.data, ">tanh: E[1 − tanh²(z)] = 0.6057 per layer</text>"));
    assert_non_null(strstr(b.data, "</svg>\n"));
    buf_free(&b);
    flowchart_drawing_free(&d);
    flow_experiment_free(&x);
}

static void test_chart_generic(void **state)
{
    (void)state;
    /* a label with XML specials, a series with gaps (a 0 followed by more, NaN) and one all
     * zero; values are log10 */
    double xs[] = {0, 1, 2, 3, 4, 5};
    double y1[] = {log10(3e-3), -INFINITY, log10(2e-2), NAN, NAN, log10(4e-1)};
    double y2[] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY};
    FlowSeries s[] = {
        {.label = "a < b & \"c\"", .x = xs, .y = y1, .n = 6, .rgb = 0x123456, .markers = true},
        {.label = "zeros", .x = xs, .y = y2, .n = 6, .rgb = 0x654321},
    };
    FlowChart ch = {.title = "T <1>", .xlabel = "x", .ylabel = "y", .xvar = "x", .series = s, .nseries = 2};
    FlowDrawing d;
    Err err = {0};
    assert_true(flowchart_layout(&ch, &d, &err));
    check_inside(&d);
    /* three drawable points in three separate runs: no path of the series, three markers */
    int markers = 0, paths = 0;
    for (size_t i = 0; i < d.nops; i++) {
        markers += d.ops[i].kind == FLOWOP_CIRCLE && d.ops[i].stroke == 0x123456;
        paths += d.ops[i].kind == FLOWOP_PATH && d.ops[i].stroke == 0x123456 && d.ops[i].npts > 2;
    }
    assert_int_equal(markers, 3 + 1); /* and one in the legend */
    assert_int_equal(paths, 0);
    /* y from 10⁻³ to 10⁰ */
    assert_non_null(find_text(&d, "10⁻³"));
    assert_non_null(find_text(&d, "10⁰"));
    Buf b = {0};
    flowchart_svg(&d, &b);
    assert_non_null(strstr(b.data, ">a &lt; b &amp; &quot;c&quot;</text>"));
    assert_non_null(strstr(b.data, "<title>T &lt;1&gt;</title>"));
    assert_null(strstr(b.data, "nan"));
    assert_null(strstr(b.data, "inf"));
    buf_free(&b);
    flowchart_drawing_free(&d);

    /* a drop to zero that crosses the whole plot leaves no room for its note: the legend
     * carries it instead; a steep one gets its note beside the drop */
    double xs3[] = {0, 1, 2}, shallow[] = {0, log10(2), -INFINITY};
    const char *wide = "a series whose name is long enough to be crossed by its own drop";
    FlowSeries one = {.label = wide, .x = xs3, .y = shallow, .n = 3, .rgb = 0x123456};
    FlowChart drop = {.title = "D", .xlabel = "x", .ylabel = "y", .xvar = "x", .series = &one, .nseries = 1};
    assert_true(flowchart_layout(&drop, &d, &err));
    assert_null(find_text(&d, "= 0 from x = 2"));
    assert_non_null(find_text(&d, "own drop   (0 from x = 2)"));
    check_inside(&d);
    flowchart_drawing_free(&d);
    double xs50[50], steep[50];
    for (int i = 0; i < 50; i++) {
        xs50[i] = i;
        steep[i] = i < 5 ? -0.3 * i : -INFINITY;
    }
    one = (FlowSeries){.label = "s", .x = xs50, .y = steep, .n = 50, .rgb = 0x123456};
    assert_true(flowchart_layout(&drop, &d, &err));
    assert_non_null(find_text(&d, "s = 0 from x = 5"));
    assert_null(find_text(&d, "(0 from"));
    check_inside(&d);
    flowchart_drawing_free(&d);

    /* a series of 200,000 points is thinned to what a drawing can show, keeping its extremes */
    size_t big = 200000;
    double *bx = malloc(big * sizeof *bx), *by = malloc(big * sizeof *by);
    assert_true(bx && by);
    for (size_t i = 0; i < big; i++) {
        bx[i] = (double)i;
        by[i] = -(double)i / 20000 + (i == 123457 ? 3 : 0); /* one spike */
    }
    one = (FlowSeries){.label = "big", .x = bx, .y = by, .n = big, .rgb = 0x123456};
    assert_true(flowchart_layout(&drop, &d, &err));
    const FlowOp *line_op = NULL;
    for (size_t i = 0; i < d.nops; i++)
        if (d.ops[i].kind == FLOWOP_PATH && d.ops[i].stroke == 0x123456 && d.ops[i].npts > 2)
            line_op = &d.ops[i];
    assert_non_null(line_op);
    assert_true(line_op->npts < 6000);
    /* the y axis runs from 10⁰ to 10⁻¹⁰; where the spike must be drawn: */
    const FlowOp *t0 = find_text(&d, "10⁰"), *t10 = find_text(&d, "10⁻¹⁰");
    assert_true(t0 && t10);
    double spike = t0->y - 4.2 + (6.17285 - 3) / 10 * (t10->y - t0->y); /* labels sit 4.2 below */
    bool kept = false;
    for (size_t k = 0; k < line_op->npts; k++)
        kept = kept || fabs(line_op->pts[2 * k + 1] - spike) < 1e-6;
    assert_true(kept);
    flowchart_drawing_free(&d);
    free(bx);
    free(by);

    /* nothing drawable at all */
    FlowChart empty = {.title = "E", .xlabel = "x", .ylabel = "y", .xvar = "x", .series = s + 1, .nseries = 1};
    assert_true(flowchart_layout(&empty, &d, &err));
    assert_non_null(find_text(&d, "no non-zero value"));
    check_inside(&d);
    flowchart_drawing_free(&d);
}

static void test_chart_profile(void **state)
{
    (void)state;
    char *text = gen_text(write_sigmoid_chain, NULL);
    Model m;
    model_load(&m, text);
    FlowProfile p;
    Err err = {0};
    assert_true(flow_profile(m.t, &p, &err));
    FlowDrawing d;
    assert_true(flowchart_profile(&p, m.g->title, "h30", &d, &err));
    check_inside(&d);
    assert_non_null(find_text(&d, "mean |∂h30/∂node|"));
    assert_non_null(find_text(&d, "Chain of 30 sigmoid layers"));
    /* the mean line has one point per depth */
    bool found = false;
    for (size_t i = 0; i < d.nops; i++)
        found = found || (d.ops[i].kind == FLOWOP_PATH && d.ops[i].npts == p.nlevels);
    assert_true(found);
    flowchart_drawing_free(&d);
    flow_profile_free(&p);
    model_free(&m);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expected_factors),
        cmocka_unit_test(test_local_derivatives),
        cmocka_unit_test(test_mean_converges_to_expectation),
        cmocka_unit_test(test_bounds_and_relu),
        cmocka_unit_test(test_below_the_smallest_double),
        cmocka_unit_test(test_same_seed_same_table),
        cmocka_unit_test(test_run_rejects_bad_input),
        cmocka_unit_test(test_experiment_json),
        cmocka_unit_test(test_profile_by_hand),
        cmocka_unit_test(test_profile_nonfinite),
        cmocka_unit_test(test_profile_sigmoid_chain_decays),
        cmocka_unit_test(test_profile_relu_chain_keeps_gradient),
        cmocka_unit_test(test_profile_matches_trace_mlp),
        cmocka_unit_test(test_chart_experiment),
        cmocka_unit_test(test_chart_generic),
        cmocka_unit_test(test_chart_profile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
