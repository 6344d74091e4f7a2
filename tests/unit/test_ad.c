/* Unit tests of the passes: forward and backward on small models with closed-form gradients
 * written here, the trace invariants of SPEC §4 on hand-written and generated models (checked
 * by an independent replay of the backward pass), trace_grad_ready, and the numeric check. */
#include "util.h"

#include "ad.h"
#include "gen.h"
#include "parse.h"

typedef struct Run {
    Source src;
    Graph *g;
    Trace *t;
} Run;

static void run_text(Run *r, const char *text)
{
    src_init(&r->src, text);
    Err err = {0};
    r->g = parse_model(&r->src, &err);
    if (!r->g)
        print_error("parse: %s\n%s\n", err.msg, text);
    assert_non_null(r->g);
    r->t = ad_run(r->g, &r->src, &err);
    assert_non_null(r->t);
}

static void run_free(Run *r)
{
    trace_free(r->t);
    graph_free(r->g);
    source_free(&r->src);
}

static uint32_t id_of(const Run *r, const char *name)
{
    uint32_t id = graph_lookup(r->g, name, strlen(name));
    assert_true(id != UINT32_MAX);
    return id;
}

static double grad_of(const Run *r, const char *name) { return r->t->grad[id_of(r, name)]; }
static double value_of(const Run *r, const char *name) { return r->t->value[id_of(r, name)]; }

/* The edge from `from` into slot `slot` of `to`. */
static uint32_t edge_of(const Graph *g, uint32_t from, uint32_t to, uint32_t slot)
{
    for (uint32_t e = 0; e < g->nedges; e++)
        if (g->edges[e].from == from && g->edges[e].to == to && g->edges[e].slot == slot)
            return e;
    fail_msg("no edge %u -> %u slot %u", from, to, slot);
    return UINT32_MAX;
}

/* ---- the invariants, checked by replaying the backward pass independently ---- */

static void check_invariants(const Trace *t)
{
    const Graph *g = t->g;
    uint32_t nn = g->nnodes, ne = g->nedges, primary = g->outputs[0];
    assert_int_equal(t->primary, primary);
    uint8_t *reach = calloc(nn, 1);
    double *running = calloc(nn, sizeof *running);
    uint32_t *last_step = malloc(nn * sizeof *last_step);
    bool *done = calloc(nn, sizeof *done);
    assert_true(reach && running && last_step && done);
    for (uint32_t i = 0; i < nn; i++)
        last_step[i] = 0;

    /* forward: every op node's value is its operator over its operands, exactly */
    for (uint32_t i = 0; i < nn; i++) {
        const Node *n = &g->nodes[i];
        if (n->kind != NODE_OP) {
            assert_true(t->value[i] == n->init || (isnan(t->value[i]) && isnan(n->init)));
            continue;
        }
        double a[OP_MAX_ARITY];
        for (int k = 0; k < n->nargs; k++)
            a[k] = n->args[k].is_lit ? graph_lit(g, n, k) : t->value[g->edges[n->args[k].ref].from];
        double v = op_forward((Op)n->op, a), d[OP_MAX_ARITY];
        assert_true(t->value[i] == v || (isnan(v) && isnan(t->value[i])));
        /* every in-edge's local derivative is the operator's, for its slot */
        op_local((Op)n->op, a, v, d);
        for (uint32_t e = n->in_first; e < n->in_first + n->nedges; e++) {
            assert_int_equal(g->edges[e].to, i);
            double want = d[g->edges[e].slot];
            assert_true(t->local[e] == want || (isnan(want) && isnan(t->local[e])));
        }
    }

    /* reachability by a reverse sweep over the edges (from < to always) */
    reach[primary] = 1;
    for (uint32_t e = ne; e-- > 0;) {
        assert_true(g->edges[e].from < g->edges[e].to);
        if (reach[g->edges[e].to])
            reach[g->edges[e].from] = 1;
    }
    for (uint32_t i = 0; i < nn; i++)
        assert_int_equal(t->reach[i] != 0, reach[i]);

    /* backward order: primary first, strictly decreasing ids, every reachable op node once */
    uint32_t nreach_ops = 0;
    for (uint32_t i = 0; i < nn; i++)
        nreach_ops += reach[i] && g->nodes[i].kind == NODE_OP;
    assert_int_equal(t->nbwd, nreach_ops);
    if (g->nodes[primary].kind == NODE_OP)
        assert_int_equal(t->bwd[0], primary);
    for (uint32_t s = 0; s < t->nbwd; s++) {
        uint32_t k = t->bwd[s];
        assert_true(k < nn);
        if (s > 0)
            assert_true(k < t->bwd[s - 1]);
        assert_int_equal(g->nodes[k].kind, NODE_OP);
        assert_true(reach[k]);
        assert_false(done[k]);
        done[k] = true;
        assert_int_equal(t->bwd_step[k], s);
    }
    for (uint32_t i = 0; i < nn; i++)
        if (!done[i])
            assert_int_equal(t->bwd_step[i], UINT32_MAX);

    /* replay: contributions, running sums (accum) and the step each gradient completes */
    assert_true(t->grad[primary] == 1.0);
    for (uint32_t s = 0; s < t->nbwd; s++) {
        uint32_t k = t->bwd[s];
        const Node *n = &g->nodes[k];
        double dout = t->grad[k];
        for (uint32_t e = n->in_first; e < n->in_first + n->nedges; e++) {
            uint32_t from = g->edges[e].from;
            double want = dout * t->local[e];
            if (isnan(want) && t->local[e] == 0) { /* 0 · inf: 0 if a branch switched the edge off */
                double a[OP_MAX_ARITY];
                const Node *to = &g->nodes[k];
                for (int i = 0; i < to->nargs; i++)
                    a[i] = to->args[i].is_lit ? g->lits[to->args[i].ref] : t->value[g->edges[to->args[i].ref].from];
                if (op_switched_off((Op)to->op, a, g->edges[e].slot))
                    want = 0;
            }
            assert_true(t->egrad[e] == want || (isnan(t->egrad[e]) && isnan(want)));
            if (g->nodes[from].kind == NODE_CONST) {
                assert_true(t->accum[e] == 0); /* const nodes get nothing */
                continue;
            }
            running[from] += t->egrad[e];
            last_step[from] = s;
            assert_true(t->accum[e] == running[from] || (isnan(running[from]) && isnan(t->accum[e])));
        }
    }
    for (uint32_t e = 0; e < ne; e++)
        if (!reach[g->edges[e].to]) {
            assert_true(t->egrad[e] == 0);
            assert_true(t->accum[e] == 0);
        }

    for (uint32_t i = 0; i < nn; i++) {
        const Node *n = &g->nodes[i];
        if (n->kind == NODE_CONST || !reach[i]) {
            assert_true(t->grad[i] == 0); /* const leaves and nodes not reaching the primary */
            continue;
        }
        if (i == primary)
            continue;
        /* the completed gradient is the replayed running sum, exactly ... */
        assert_true(t->grad[i] == running[i] || (isnan(running[i]) && isnan(t->grad[i])));
        /* ... and the sum of the out-edges' contributions, in any order up to rounding */
        double sum = 0, mag = 0;
        for (uint32_t k = g->out_first[i]; k < g->out_first[i + 1]; k++) {
            uint32_t e = g->out_edges[k];
            assert_int_equal(g->edges[e].from, i);
            sum += t->egrad[e];
            mag += fabs(t->egrad[e]);
        }
        if (isfinite(mag))
            assert_close(t->grad[i], sum, 1e-12, 1e-15 * mag);
    }

    /* trace_grad_ready: the step of the last contribution; 0 for the primary and for nodes
     * that do not reach it (their gradient is 0 throughout) */
    for (uint32_t i = 0; i < nn; i++) {
        if (g->nodes[i].kind == NODE_CONST)
            continue; /* no gradient to be ready */
        uint32_t ready = trace_grad_ready(t, i);
        if (i == primary || !reach[i])
            assert_int_equal(ready, 0);
        else
            assert_int_equal(ready, last_step[i]);
    }

    free(reach);
    free(running);
    free(last_step);
    free(done);
}

/* ---- closed forms ---- */

static const char NEURON[] = "model \"Single sigmoid neuron\"\n"
                             "input  x1 = 0.5\ninput  x2 = 0.8\nparam  w1 = 0.3\nparam  w2 = -0.2\n"
                             "const  target = 0.7\n"
                             "z = w1*x1 + w2*x2\ny = sigmoid(z)\nloss L = (y - target)^2\n";

static void test_neuron(void **state)
{
    (void)state;
    Run r;
    run_text(&r, NEURON);
    const double x1 = 0.5, x2 = 0.8, w1 = 0.3, w2 = -0.2, target = 0.7;
    double z = w1 * x1 + w2 * x2;
    double y = 1 / (1 + exp(-z));
    double L = (y - target) * (y - target);
    double dy = 2 * (y - target);
    double dz = dy * y * (1 - y);
    assert_close(value_of(&r, "z"), z, 1e-15, 1e-17);
    assert_close(value_of(&r, "y"), y, 1e-15, 0);
    assert_close(value_of(&r, "L"), L, 1e-14, 0);
    assert_close(grad_of(&r, "L"), 1.0, 0, 0);
    assert_close(grad_of(&r, "y"), dy, 1e-14, 0);
    assert_close(grad_of(&r, "z"), dz, 1e-14, 0);
    assert_close(grad_of(&r, "w1"), dz * x1, 1e-14, 0);
    assert_close(grad_of(&r, "w2"), dz * x2, 1e-14, 0);
    assert_close(grad_of(&r, "x1"), dz * w1, 1e-14, 0);
    assert_close(grad_of(&r, "x2"), dz * w2, 1e-14, 0);
    assert_true(grad_of(&r, "target") == 0);
    /* the edge from target into '−' (slot 1): local −1, contribution −dy, no accum */
    uint32_t tgt = id_of(&r, "target"), sub = r.g->edges[r.g->out_edges[r.g->out_first[tgt]]].to;
    uint32_t e = edge_of(r.g, tgt, sub, 1);
    assert_true(r.t->local[e] == -1);
    assert_close(r.t->egrad[e], -dy, 1e-14, 0);
    assert_true(r.t->accum[e] == 0);
    /* L's step is the first; y's gradient is ready once '−' has run (step 1) */
    assert_int_equal(r.t->bwd[0], id_of(&r, "L"));
    assert_int_equal(trace_grad_ready(r.t, id_of(&r, "y")), 1);
    assert_int_equal(r.t->nonfinite, 0);
    check_invariants(r.t);
    run_free(&r);
}

static void test_chain_rule(void **state)
{
    (void)state;
    Run r;
    run_text(&r, "input x = 2\nh = sin(x^2)\n");
    uint32_t x = id_of(&r, "x"), h = id_of(&r, "h"), sq = x + 1;
    assert_int_equal(r.g->nodes[sq].op, OP_POW);
    assert_close(value_of(&r, "h"), sin(4.0), 1e-15, 0);
    assert_close(grad_of(&r, "x"), cos(4.0) * 4.0, 1e-15, 0);
    uint32_t e_sq = edge_of(r.g, x, sq, 0), e_h = edge_of(r.g, sq, h, 0);
    assert_close(r.t->local[e_sq], 4.0, 1e-15, 0);
    assert_close(r.t->local[e_h], cos(4.0), 1e-15, 0);
    assert_close(r.t->egrad[e_h], cos(4.0), 1e-15, 0);
    assert_close(r.t->egrad[e_sq], 4.0 * cos(4.0), 1e-15, 0);
    check_invariants(r.t);
    run_free(&r);
}

static void test_fanout(void **state)
{
    (void)state;
    Run r;
    run_text(&r, "input x = 1.5\ninput y = -0.5\nf = x*y + sin(x) + x*x\n");
    const double x = 1.5, y = -0.5;
    assert_close(value_of(&r, "f"), x * y + sin(x) + x * x, 1e-15, 0);
    assert_close(grad_of(&r, "x"), y + cos(x) + 2 * x, 1e-15, 0);
    assert_close(grad_of(&r, "y"), x, 1e-15, 0);
    /* x*x: two edges from x, each with local x and contribution x; x feeds four edges */
    uint32_t xi = id_of(&r, "x");
    assert_int_equal(graph_out_count(r.g, xi), 4);
    uint32_t sq = UINT32_MAX;
    for (uint32_t i = 0; i < r.g->nnodes; i++)
        if (r.g->nodes[i].op == OP_MUL && r.g->nodes[i].nedges == 2 &&
            r.g->edges[r.g->nodes[i].in_first].from == xi && r.g->edges[r.g->nodes[i].in_first + 1].from == xi)
            sq = i;
    assert_true(sq != UINT32_MAX);
    uint32_t e0 = edge_of(r.g, xi, sq, 0), e1 = edge_of(r.g, xi, sq, 1);
    assert_true(r.t->local[e0] == x && r.t->local[e1] == x);
    assert_true(r.t->egrad[e0] == x && r.t->egrad[e1] == x);
    /* x*x is the last op before f's sum, so it runs before x*y and sin(x): its two edges are the
     * first contributions to x */
    assert_true(r.t->accum[e0] == x);
    assert_true(r.t->accum[e1] == 2 * x);
    check_invariants(r.t);
    run_free(&r);
}

static void test_binary_closed_forms(void **state)
{
    (void)state;
    Run r;
    /* both operands of pow and div are nodes */
    run_text(&r, "input x = 2\nparam y = 3\nf = x^y + x/y\n");
    assert_close(value_of(&r, "f"), 8.0 + 2.0 / 3.0, 1e-15, 0);
    assert_close(grad_of(&r, "x"), 3.0 * 4.0 + 1.0 / 3.0, 1e-15, 0);
    assert_close(grad_of(&r, "y"), 8.0 * log(2.0) - 2.0 / 9.0, 1e-15, 0);
    check_invariants(r.t);
    run_free(&r);

    /* a tie in max sends everything to the first operand */
    run_text(&r, "input a = 1\ninput b = 1\nm = max(a, b)*3\n");
    assert_true(grad_of(&r, "a") == 3.0);
    assert_true(grad_of(&r, "b") == 0.0);
    check_invariants(r.t);
    run_free(&r);

    /* relu at 0 and abs at 0 pass nothing back */
    run_text(&r, "input a = 0\ninput b = 0\nm = relu(a) + abs(b)\n");
    assert_true(grad_of(&r, "a") == 0.0);
    assert_true(grad_of(&r, "b") == 0.0);
    run_free(&r);

    /* every unary function composed with a product, against its derivative by hand */
    static const struct {
        const char *f;
        double x, dfdx; /* of f(2x) at x, i.e. 2·f'(2x) */
    } rows[] = {
        {"sin", 0.3, 2 * 0.825335614909678297},       /* cos(0.6) */
        {"cos", 0.3, -2 * 0.564642473395035357},      /* -sin(0.6) */
        {"tan", 0.3, 2 * 1.46804317252795750},        /* 1/cos²(0.6) */
        {"exp", 0.3, 2 * 1.82211880039050898},        /* e^0.6 */
        {"log", 0.3, 2 / 0.6},
        {"sqrt", 0.3, 1 / 0.774596669241483377},      /* 2 · 1/(2√0.6) */
        {"tanh", 0.3, 2 * (1 - 0.537049566998035 * 0.537049566998035)},
        {"sigmoid", 0.3, 2 * 0.645656306225795 * (1 - 0.645656306225795)},
        {"relu", -0.3, 0},
        {"abs", -0.3, -2},
        {"softplus", 0.3, 2 * 0.645656306225795},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char text[100];
        snprintf(text, sizeof text, "input x = %.17g\nf = %s(2*x)\n", rows[i].x, rows[i].f);
        run_text(&r, text);
        if (!num_close(grad_of(&r, "x"), rows[i].dfdx, 1e-13, 1e-15))
            print_error("d %s(2x)/dx = %.17g, want %.17g\n", rows[i].f, grad_of(&r, "x"), rows[i].dfdx);
        assert_close(grad_of(&r, "x"), rows[i].dfdx, 1e-13, 1e-15);
        check_invariants(r.t);
        run_free(&r);
    }
}

static void test_unreachable_and_outputs(void **state)
{
    (void)state;
    Run r;
    /* y and z come after the primary output and do not reach it */
    run_text(&r, "input x = 2\nconst c = 4\nloss L = x*3\ny = x*5\nz = y + c\noutput w = x - c\n");
    assert_true(grad_of(&r, "x") == 3.0);
    assert_true(grad_of(&r, "y") == 0.0);
    assert_true(grad_of(&r, "z") == 0.0);
    assert_true(grad_of(&r, "w") == 0.0);
    assert_true(grad_of(&r, "c") == 0.0);
    assert_false(r.t->reach[id_of(&r, "y")]);
    assert_int_equal(r.t->nbwd, 1);
    /* their edges still get their local derivative, but carry no gradient */
    uint32_t e = edge_of(r.g, id_of(&r, "x"), id_of(&r, "y"), 0);
    assert_true(r.t->local[e] == 5.0);
    assert_true(r.t->egrad[e] == 0.0);
    assert_int_equal(trace_grad_ready(r.t, id_of(&r, "y")), 0);
    check_invariants(r.t);
    run_free(&r);

    /* a node before the primary that does not reach it */
    run_text(&r, "input x = 2\ninput u = 1\nd = u*7\nloss L = x*x\n");
    assert_true(grad_of(&r, "u") == 0.0);
    assert_true(grad_of(&r, "d") == 0.0);
    assert_true(grad_of(&r, "x") == 4.0);
    check_invariants(r.t);
    run_free(&r);
}

static void test_nonfinite(void **state)
{
    (void)state;
    Run r;
    run_text(&r, "input x = 0\nloss y = log(x)*2\n");
    assert_true(isinf(value_of(&r, "y")));
    assert_true(r.t->nonfinite >= 1);
    check_invariants(r.t);
    run_free(&r);
    run_text(&r, "input x = -1\nloss y = sqrt(x) + 1\n");
    assert_true(isnan(value_of(&r, "y")));
    assert_true(r.t->nonfinite >= 2);
    run_free(&r);
}

/* ---- generated models ---- */

static char *gen_text(bool mlp, const uint32_t *sizes, size_t n, GenAct act, uint64_t seed)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    bool ok = mlp ? gen_mlp(f, sizes, n, act, seed) : gen_chain(f, sizes[0], act, seed);
    assert_true(ok);
    assert_int_equal(fclose(f), 0);
    return buf;
}

static void test_generated_invariants(void **state)
{
    (void)state;
    static const uint32_t shapes[][4] = {{3, 4, 2, 0}, {2, 3, 3, 1}, {1, 1, 0, 0}, {5, 1, 0, 0}, {2, 2, 3, 0}};
    static const size_t nshape[] = {3, 4, 2, 2, 3};
    for (int act = GEN_TANH; act <= GEN_SIGMOID; act++) {
        for (size_t s = 0; s < ARRAY_LEN(shapes); s++) {
            char *text = gen_text(true, shapes[s], nshape[s], (GenAct)act, 7 + s);
            Run r;
            run_text(&r, text);
            /* gen_mlp_nodes is the node count of the model it writes */
            assert_int_equal(gen_mlp_nodes(shapes[s], nshape[s]), r.g->nnodes);
            check_invariants(r.t);
            Err err = {0};
            assert_true(ad_check(r.t, 0, &err));
            if (act != GEN_RELU) /* relu can sit exactly on its kink only by accident */
                assert_true(r.t->check->passed);
            run_free(&r);
            free(text);
        }
        uint32_t layers[] = {30};
        char *text = gen_text(false, layers, 1, (GenAct)act, 3);
        Run r;
        run_text(&r, text);
        assert_int_equal(r.g->nnodes, 1 + 30 * 5); /* h0, then w, b, ×, +, act per layer */
        check_invariants(r.t);
        run_free(&r);
        free(text);
    }
    /* the seed decides the model */
    uint32_t sz[] = {2, 2, 1};
    char *a = gen_text(true, sz, 3, GEN_TANH, 1), *b = gen_text(true, sz, 3, GEN_TANH, 1);
    char *c = gen_text(true, sz, 3, GEN_TANH, 2);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    free(a);
    free(b);
    free(c);
}

/* The value written in the model for the leaf named by the printf format. */
static double init_of(const Run *r, const char *fmt, ...) GV_PRINTF(2, 3);
static double init_of(const Run *r, const char *fmt, ...)
{
    char name[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    return r->g->nodes[id_of(r, name)].init;
}

/* Layers wider than one line can hold: gen continues long sums in named partial sums. The
 * loss and gradients are recomputed here from the leaves' values. */
static void test_generated_wide_layers(void **state)
{
    (void)state;
    uint32_t wide_in[] = {2500, 1};
    char *text = gen_text(true, wide_in, 2, GEN_TANH, 3);
    size_t longest = 0;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        longest = len > longest ? len : longest;
        p += len + (nl != NULL);
    }
    assert_true(longest < 64 * 1024);
    Run r;
    run_text(&r, text);
    assert_int_equal(gen_mlp_nodes(wide_in, 2), r.g->nnodes);
    double y = init_of(&r, "b1_%u", 0);
    for (uint32_t i = 0; i < 2500; i++)
        y += init_of(&r, "w1_0_%u", i) * init_of(&r, "x%u", i);
    double t = init_of(&r, "t%u", 0);
    assert_close(value_of(&r, "y0"), y, 1e-12, 1e-12);
    assert_close(value_of(&r, "L"), (y - t) * (y - t), 1e-12, 1e-12);
    assert_close(grad_of(&r, "w1_0_1234"), 2 * (y - t) * init_of(&r, "x%u", 1234), 1e-12, 1e-12);
    check_invariants(r.t);
    run_free(&r);
    free(text);

    uint32_t wide_out[] = {1, 2100};
    text = gen_text(true, wide_out, 2, GEN_SIGMOID, 4);
    run_text(&r, text);
    assert_int_equal(gen_mlp_nodes(wide_out, 2), r.g->nnodes);
    double x0 = init_of(&r, "x%u", 0), L = 0, dx0 = 0;
    for (uint32_t j = 0; j < 2100; j++) {
        double w = init_of(&r, "w1_%u_0", j);
        double yj = w * x0 + init_of(&r, "b1_%u", j), tj = init_of(&r, "t%u", j);
        L += (yj - tj) * (yj - tj);
        dx0 += 2 * (yj - tj) * w;
    }
    assert_close(value_of(&r, "L"), L, 1e-12, 1e-12);
    assert_close(grad_of(&r, "x0"), dx0, 1e-12, 1e-12);
    check_invariants(r.t);
    run_free(&r);
    free(text);
}

/* ---- the numeric check ---- */

static void test_check(void **state)
{
    (void)state;
    Run r;
    run_text(&r, NEURON);
    Err err = {0};
    assert_true(ad_check(r.t, 0, &err));
    const Check *c = r.t->check;
    assert_non_null(c);
    assert_true(c->passed);
    assert_int_equal(c->nentries, 4); /* x1 x2 w1 w2; not the const target */
    static const char *const names[] = {"x1", "x2", "w1", "w2"};
    for (uint32_t i = 0; i < c->nentries; i++) {
        assert_int_equal(c->entries[i].node, id_of(&r, names[i]));
        assert_true(c->entries[i].passed);
        assert_true(c->entries[i].analytic == grad_of(&r, names[i]));
        assert_close(c->entries[i].numeric, c->entries[i].analytic, 1e-7, 1e-10);
    }
    assert_true(c->max_rel_error <= c->rtol || c->max_abs_error <= c->atol);
    /* running it again replaces the old result (no leak under LeakSanitizer) */
    assert_true(ad_check(r.t, 0, &err));
    assert_true(r.t->check->passed);
    run_free(&r);

    /* a leaf after the primary output: gradient 0, numeric 0 */
    run_text(&r, "input x = 1\nloss L = x*2\ninput z = 3\nw = z*x\n");
    assert_true(ad_check(r.t, 0, &err));
    assert_true(r.t->check->passed);
    assert_int_equal(r.t->check->nentries, 2);
    assert_true(r.t->check->entries[1].numeric == 0 && r.t->check->entries[1].analytic == 0);
    run_free(&r);

    /* a kink exactly at the point: relu'(0) = 0 by convention, but the central difference sees
     * (h - 0)/2h = 1/2 */
    run_text(&r, "input x = 0\nloss y = relu(x)\n");
    assert_true(ad_check(r.t, 0, &err));
    assert_false(r.t->check->passed);
    assert_false(r.t->check->entries[0].passed);
    assert_true(r.t->check->entries[0].analytic == 0);
    assert_close(r.t->check->entries[0].numeric, 0.5, 1e-12, 0);
    assert_close(r.t->check->max_rel_error, 1.0, 1e-12, 0);
    run_free(&r);

    /* a NaN gradient fails the check and keeps NaN as the worst error */
    run_text(&r, "input x = -1\nloss y = sqrt(x)\n");
    assert_true(ad_check(r.t, 0, &err));
    assert_false(r.t->check->passed);
    assert_true(isnan(r.t->check->max_rel_error));
    run_free(&r);

    /* over budget: a usage error, no check */
    run_text(&r, NEURON);
    err = (Err){0};
    assert_false(ad_check(r.t, 10, &err));
    assert_int_equal(err.kind, ERR_USAGE);
    assert_null(r.t->check);
    assert_non_null(strstr(err.msg, "limit"));
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_neuron),
        cmocka_unit_test(test_chain_rule),
        cmocka_unit_test(test_fanout),
        cmocka_unit_test(test_binary_closed_forms),
        cmocka_unit_test(test_unreachable_and_outputs),
        cmocka_unit_test(test_nonfinite),
        cmocka_unit_test(test_generated_invariants),
        cmocka_unit_test(test_generated_wide_layers),
        cmocka_unit_test(test_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
