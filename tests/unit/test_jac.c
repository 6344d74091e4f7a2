/* Unit tests of jac: the Jacobian of examples/jacobian.grad and its factors J_f, J_g through
 * the cut u1,u2,u3 against closed-form derivatives written here; cuts with nested, leaf and
 * output nodes; bad cuts and names; and, on generated models, forward-mode columns against
 * reverse-mode rows and central differences, the tangent sweep's per-edge record, the size
 * limit, the Jacobian's central-difference check, and the mode comparison's sweep and operation counts (derived by hand for the
 * example, from the generator's shapes for MLPs). */
#include "util.h"

#include "ad.h"
#include "gen.h"
#include "jac.h"
#include "parse.h"

typedef struct Run {
    Source src;
    Graph *g;
    Trace *t;
} Run;

static void run_mem(Run *r, const char *text, size_t len)
{
    src_init_mem(&r->src, text, len);
    Err err = {0};
    r->g = parse_model(&r->src, &err);
    if (!r->g)
        print_error("parse: %s\n", err.msg);
    assert_non_null(r->g);
    r->t = ad_run(r->g, &r->src, &err);
    assert_non_null(r->t);
}

static void run_text(Run *r, const char *text) { run_mem(r, text, strlen(text)); }

static void run_file(Run *r, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s (run the tests from the repository root)", path);
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    run_mem(r, buf, n);
}

/* A generated model (gen_mlp when mlp, else gen_chain with sizes[0] layers) with `extra` model
 * lines appended (more outputs). */
static void run_gen(Run *r, bool mlp, const uint32_t *sizes, size_t n, GenAct act, const char *extra)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_true(mlp ? gen_mlp(f, sizes, n, act, 7) : gen_chain(f, sizes[0], act, 7));
    fputs(extra, f);
    assert_int_equal(fclose(f), 0);
    run_mem(r, buf, len);
    free(buf);
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
    if (id == UINT32_MAX)
        fail_msg("no node named %s", name);
    return id;
}

/* Checks J against want[i][j] for the named rows and columns, in that order. */
static void expect_matrix(const Run *r, const Jacobian *J, const char *const *rows, uint32_t nr,
                          const char *const *cols, uint32_t nc, const double *want)
{
    assert_int_equal(J->nrows, nr);
    assert_int_equal(J->ncols, nc);
    for (uint32_t i = 0; i < nr; i++) {
        assert_int_equal(J->rows[i], id_of(r, rows[i]));
        for (uint32_t j = 0; j < nc; j++) {
            assert_int_equal(J->cols[j], id_of(r, cols[j]));
            double got = jac_at(J, i, j);
            if (!num_close(got, want[i * nc + j], 1e-14, 1e-15))
                print_error("J[%s][%s] = %.17g, want %.17g\n", rows[i], cols[j], got, want[i * nc + j]);
            assert_close(got, want[i * nc + j], 1e-14, 1e-15);
        }
    }
}

/* ---- examples/jacobian.grad: g(x) = (x1², x1·x2, x2²), f(u) = (sin u1 + u2, u2·u3) at (1, 2) ---- */

static const double X1 = 1, X2 = 2;
static const char *const XS[] = {"x1", "x2"};
static const char *const YS[] = {"y1", "y2"};
static const char *const US[] = {"u1", "u2", "u3"};

/* J_h: y1 = sin(x1²) + x1·x2, y2 = x1·x2·x2² = x1·x2³ */
static void want_h(double J[4])
{
    J[0] = 2 * X1 * cos(X1 * X1) + X2; /* ∂y1/∂x1 */
    J[1] = X1;                         /* ∂y1/∂x2 */
    J[2] = X2 * X2 * X2;               /* ∂y2/∂x1 */
    J[3] = 3 * X1 * X2 * X2;           /* ∂y2/∂x2 */
}

static void test_example_jacobian(void **state)
{
    (void)state;
    Run r;
    run_file(&r, "examples/jacobian.grad");
    assert_int_equal(r.g->noutputs, 2);
    double want[4];
    want_h(want);
    Err err = {0};
    Jacobian J;
    assert_true(jac_reverse(r.t, &J, &err));
    expect_matrix(&r, &J, YS, 2, XS, 2, want);
    jac_free(&J);
    assert_true(jac_forward(r.t, &J, &err));
    expect_matrix(&r, &J, YS, 2, XS, 2, want);
    jac_free(&J);
    jac_free(&J); /* freeing a zeroed Jacobian is harmless */
    jac_free(NULL);
    run_free(&r);
}

static void test_example_via(void **state)
{
    (void)state;
    Run r;
    run_file(&r, "examples/jacobian.grad");
    Err err = {0};
    uint32_t *cut;
    size_t ncut;
    assert_true(jac_parse_names(r.g, "u1,u2,u3", "--via", &cut, &ncut, &err));
    assert_int_equal(ncut, 3);
    ViaResult v;
    assert_true(jac_via(r.t, cut, ncut, &v, &err));
    double u1 = X1 * X1, u2 = X1 * X2, u3 = X2 * X2;
    /* J_g = ∂(x1², x1·x2, x2²)/∂(x1, x2) */
    const double jg[6] = {2 * X1, 0, X2, X1, 0, 2 * X2};
    /* J_f = ∂(sin u1 + u2, u2·u3)/∂(u1, u2, u3) */
    const double jf[6] = {cos(u1), 1, 0, 0, u3, u2};
    expect_matrix(&r, &v.g, US, 3, XS, 2, jg);
    expect_matrix(&r, &v.f, YS, 2, US, 3, jf);
    double want[4];
    want_h(want);
    expect_matrix(&r, &v.prod, YS, 2, XS, 2, want);
    expect_matrix(&r, &v.h, YS, 2, XS, 2, want);
    assert_true(v.agree);
    assert_true(v.max_abs_diff <= 1e-15);
    jac_via_free(&v);
    free(cut);

    /* the cut's order is the order given */
    assert_true(jac_parse_names(r.g, " u3 , u1,u2", "--via", &cut, &ncut, &err));
    assert_true(jac_via(r.t, cut, ncut, &v, &err));
    static const char *const US2[] = {"u3", "u1", "u2"};
    const double jf2[6] = {0, cos(u1), 1, u2, 0, u3};
    expect_matrix(&r, &v.f, YS, 2, US2, 3, jf2);
    expect_matrix(&r, &v.prod, YS, 2, XS, 2, want);
    jac_via_free(&v);
    jac_via_free(NULL);
    free(cut);
    assert_true(err_ok(&err));
    run_free(&r);
}

/* A cut holding an input itself, or an output itself, or every input, is a cut. */
static void test_via_leaf_and_output_in_cut(void **state)
{
    (void)state;
    Run r;
    run_file(&r, "examples/jacobian.grad");
    double want[4];
    want_h(want);
    Err err = {0};
    uint32_t *cut;
    size_t ncut;
    ViaResult v;

    /* x1 instead of u1: y1's path x1 -> u1 -> sin -> y1 now ends at x1 */
    assert_true(jac_parse_names(r.g, "x1,u2,u3", "--via", &cut, &ncut, &err));
    assert_true(jac_via(r.t, cut, ncut, &v, &err));
    static const char *const C1[] = {"x1", "u2", "u3"};
    const double jf1[6] = {2 * X1 * cos(X1 * X1), 1, 0, 0, X2 * X2, X1 * X2};
    const double jg1[6] = {1, 0, X2, X1, 0, 2 * X2};
    expect_matrix(&r, &v.f, YS, 2, C1, 3, jf1);
    expect_matrix(&r, &v.g, C1, 3, XS, 2, jg1);
    expect_matrix(&r, &v.prod, YS, 2, XS, 2, want);
    assert_true(v.agree);
    jac_via_free(&v);
    free(cut);

    /* the inputs themselves: J_f = J_h, J_g = I */
    assert_true(jac_parse_names(r.g, "x1,x2", "--via", &cut, &ncut, &err));
    assert_true(jac_via(r.t, cut, ncut, &v, &err));
    const double eye[4] = {1, 0, 0, 1};
    expect_matrix(&r, &v.f, YS, 2, XS, 2, want);
    expect_matrix(&r, &v.g, XS, 2, XS, 2, eye);
    jac_via_free(&v);
    free(cut);

    /* y2 in the cut: ∂y2/∂y2 = 1 and J_g's row for y2 is y2's total derivative */
    assert_true(jac_parse_names(r.g, "u1,u2,y2", "--via", &cut, &ncut, &err));
    assert_true(jac_via(r.t, cut, ncut, &v, &err));
    static const char *const C3[] = {"u1", "u2", "y2"};
    const double jf3[6] = {cos(X1 * X1), 1, 0, 0, 0, 1};
    const double jg3[6] = {2 * X1, 0, X2, X1, want[2], want[3]};
    expect_matrix(&r, &v.f, YS, 2, C3, 3, jf3);
    expect_matrix(&r, &v.g, C3, 3, XS, 2, jg3);
    expect_matrix(&r, &v.prod, YS, 2, XS, 2, want);
    jac_via_free(&v);
    free(cut);
    assert_true(err_ok(&err));
    run_free(&r);
}

/* b depends on a and y on both: the path x -> a -> y is credited to a (J_f partial), the
 * path x -> a -> b -> y to b, and J_g holds b's total derivative through a. */
static void test_via_nested_cut(void **state)
{
    (void)state;
    Run r;
    run_text(&r, "input x = 0.7\n"
                 "a = sin(x)\n"
                 "b = a*a\n"
                 "output y = a + 3*b\n");
    double x = 0.7, a = sin(x);
    Err err = {0};
    uint32_t *cut;
    size_t ncut;
    ViaResult v;
    assert_true(jac_parse_names(r.g, "a,b", "--via", &cut, &ncut, &err));
    assert_true(jac_via(r.t, cut, ncut, &v, &err));
    static const char *const Y[] = {"y"}, *const X[] = {"x"}, *const C[] = {"a", "b"};
    const double jf[2] = {1, 3};                      /* partials of a + 3b */
    const double jg[2] = {cos(x), 2 * a * cos(x)};    /* da/dx, db/dx = 2a·a' */
    const double jh[1] = {cos(x) + 6 * a * cos(x)};   /* d/dx (sin x + 3 sin² x) */
    expect_matrix(&r, &v.f, Y, 1, C, 2, jf);
    expect_matrix(&r, &v.g, C, 2, X, 1, jg);
    expect_matrix(&r, &v.prod, Y, 1, X, 1, jh);
    expect_matrix(&r, &v.h, Y, 1, X, 1, jh);
    assert_true(v.agree);
    jac_via_free(&v);
    free(cut);
    run_free(&r);
}

/* A leaf declared after the primary output: its gradient column needs no work, its Jacobian
 * column is still filled, and the comparison counts a sweep that touches nothing. */
static void test_leaf_after_primary(void **state)
{
    (void)state;
    Run r;
    run_text(&r, "param w = 2\noutput y = w*w\ninput late = 3\noutput z = late + y\n");
    static const char *const ROWS[] = {"y", "z"}, *const COLS[] = {"w", "late"};
    const double want[4] = {2 * 2, 0, 2 * 2, 1};
    Err err = {0};
    Jacobian J;
    assert_true(jac_reverse(r.t, &J, &err));
    expect_matrix(&r, &J, ROWS, 2, COLS, 2, want);
    jac_free(&J);
    assert_true(jac_forward(r.t, &J, &err));
    expect_matrix(&r, &J, ROWS, 2, COLS, 2, want);
    jac_free(&J);
    ModeStats s;
    assert_true(jac_compare(r.t, 0, &s, &err));
    assert_int_equal(s.ninputs, 1);
    assert_int_equal(s.nparams, 1);
    const ModeTask *gi = &s.task[MODE_GRAD_INPUTS], *jt = &s.task[MODE_JACOBIAN];
    assert_int_equal(gi->forward.sweeps, 1);
    assert_true(gi->forward.nodes == 0 && gi->forward.edges == 0);
    /* to z (id 3): from w (0) the op nodes y, z (2 + 2 edges); from late (2) only z (2 edges) */
    assert_int_equal(jt->forward.sweeps, 2);
    assert_true(jt->forward.nodes == 3 && jt->forward.edges == 6);
    assert_int_equal(jt->reverse.sweeps, 2);
    run_free(&r);
}

/* Both modes follow only the edges on a path from the leaf to the output: the infinite local
 * derivative of sqrt at 0 makes ∂f/∂x NaN (inf · 0) in both, but must not leak into ∂f/∂y,
 * although x is a leaf inside y's forward sweep. */
static void test_nonfinite_off_path(void **state)
{
    (void)state;
    Run r;
    run_text(&r, "input y = 1\ninput x = 0\na = sqrt(x)\noutput f = y*2 + a*0\n");
    Err err = {0};
    Jacobian R, F;
    assert_true(jac_reverse(r.t, &R, &err));
    assert_true(jac_forward(r.t, &F, &err));
    assert_true(jac_at(&R, 0, 0) == 2 && jac_at(&F, 0, 0) == 2);
    assert_true(isnan(jac_at(&R, 0, 1)) && isnan(jac_at(&F, 0, 1)));
    jac_free(&R);
    jac_free(&F);
    run_free(&r);
}

/* ---- bad cuts and names ---- */

typedef struct BadCut {
    const char *names;
    const char *msg;  /* expected substring of the message */
    const char *hint; /* expected substring of the hint, or NULL */
} BadCut;

static void test_via_bad_cuts(void **state)
{
    (void)state;
    Run r;
    run_file(&r, "examples/jacobian.grad");
    static const BadCut cases[] = {
        /* x2 reaches y2 through u3 */
        {"u1,u2", "the path x2 -> u3 -> y2 passes through none of its nodes", "every path from an input"},
        /* an unnamed node appears as its operator symbol */
        {"u2,u3", "the path x1 -> u1 -> sin -> y1 passes through none", "every path"},
        {"y1", "the path x1 -> u2 -> y2 passes", NULL},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        Err err = {0};
        uint32_t *cut;
        size_t ncut;
        assert_true(jac_parse_names(r.g, cases[i].names, "--via", &cut, &ncut, &err));
        ViaResult v;
        v.agree = true; /* must be zeroed on failure */
        assert_false(jac_via(r.t, cut, ncut, &v, &err));
        assert_int_equal(err.kind, ERR_USAGE);
        if (!strstr(err.msg, cases[i].msg))
            print_error("--via %s: message '%s', want '%s'\n", cases[i].names, err.msg, cases[i].msg);
        assert_non_null(strstr(err.msg, cases[i].msg));
        if (cases[i].hint)
            assert_non_null(strstr(err.hint, cases[i].hint));
        assert_null(v.f.d);
        assert_false(v.agree);
        free(cut);
    }
    /* ids that cannot be a cut */
    Err err = {0};
    ViaResult v;
    assert_false(jac_via(r.t, NULL, 0, &v, &err));
    assert_int_equal(err.kind, ERR_USAGE);
    assert_non_null(strstr(err.msg, "empty"));
    uint32_t twice[] = {id_of(&r, "u1"), id_of(&r, "u2"), id_of(&r, "u3"), id_of(&r, "u2")};
    err = (Err){0};
    assert_false(jac_via(r.t, twice, 4, &v, &err));
    assert_string_equal(err.msg, "the cut lists 'u2' twice");
    uint32_t range[] = {id_of(&r, "u1"), 999};
    err = (Err){0};
    assert_false(jac_via(r.t, range, 2, &v, &err));
    assert_int_equal(err.kind, ERR_USAGE);
    assert_non_null(strstr(err.msg, "node 999"));
    run_free(&r);

    /* a const carries no derivative */
    run_text(&r, "input x = 1\nconst k = 2\nb = x*k\noutput y = b + 1\n");
    uint32_t withk[] = {id_of(&r, "b"), id_of(&r, "k")};
    err = (Err){0};
    assert_false(jac_via(r.t, withk, 2, &v, &err));
    assert_string_equal(err.msg, "the cut names the const 'k', which carries no derivative");
    /* ...and is not a source: b alone separates x from y even though k -> b -> y bypasses nothing */
    err = (Err){0};
    assert_true(jac_via(r.t, withk, 1, &v, &err));
    assert_true(v.agree);
    jac_via_free(&v);
    run_free(&r);
}

typedef struct BadName {
    const char *list;
    const char *msg;
    const char *hint;
} BadName;

static void test_parse_names_and_find_leaf(void **state)
{
    (void)state;
    Run r;
    run_text(&r, "input x1 = 1\nparam w = 2\nconst c = 3\nu1 = x1*w\noutput y = u1 + c\n");
    static const BadName bad[] = {
        {"", "--via needs a comma list of node names, got ''", ""},
        {"u1,,x1", "--via needs a comma list of node names, got 'u1,,x1'", ""},
        {"u1,", "--via needs a comma list", ""},
        {"u2", "--via: the model has no node named 'u2'", "did you mean 'u1'?"},
        {"u1,zzzzzz", "--via: the model has no node named 'zzzzzz'", ""},
        {"u1,x1,u1", "--via: 'u1' is listed twice", ""},
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        Err err = {0};
        uint32_t *ids = (uint32_t *)&err; /* must come back NULL */
        size_t n = 99;
        assert_false(jac_parse_names(r.g, bad[i].list, "--via", &ids, &n, &err));
        assert_null(ids);
        assert_int_equal(n, 0);
        assert_int_equal(err.kind, ERR_USAGE);
        if (strcmp(err.msg, bad[i].msg) != 0 && !strstr(err.msg, bad[i].msg))
            print_error("'%s': message '%s', want '%s'\n", bad[i].list, err.msg, bad[i].msg);
        assert_non_null(strstr(err.msg, bad[i].msg));
        assert_string_equal(err.hint, bad[i].hint);
    }
    Err err = {0};
    uint32_t *ids;
    size_t n;
    assert_true(jac_parse_names(r.g, "y,\tw ,x1", "--via", &ids, &n, &err));
    assert_int_equal(n, 3);
    assert_int_equal(ids[0], id_of(&r, "y"));
    assert_int_equal(ids[1], id_of(&r, "w"));
    assert_int_equal(ids[2], id_of(&r, "x1"));
    free(ids);

    assert_int_equal(jac_find_leaf(r.g, "x1", "--wrt", &err), id_of(&r, "x1"));
    assert_int_equal(jac_find_leaf(r.g, "w", "--wrt", &err), id_of(&r, "w"));
    assert_true(err_ok(&err));
    assert_int_equal(jac_find_leaf(r.g, "u1", "--wrt", &err), UINT32_MAX);
    assert_string_equal(err.msg, "--wrt: 'u1' is computed, not an input or param");
    err = (Err){0};
    assert_int_equal(jac_find_leaf(r.g, "c", "--wrt", &err), UINT32_MAX);
    assert_string_equal(err.msg, "--wrt: 'c' is a const, which has no derivative; name an input or param");
    err = (Err){0};
    assert_int_equal(jac_find_leaf(r.g, "x2", "--wrt", &err), UINT32_MAX);
    assert_string_equal(err.msg, "--wrt: the model has no node named 'x2'");
    assert_string_equal(err.hint, "did you mean 'x1'?");
    assert_int_equal(err.kind, ERR_USAGE);
    run_free(&r);
}

/* ---- generated models ---- */

/* Columns are every input and param in id order, consts excluded. */
static void check_columns(const Run *r, const Jacobian *J)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < r->g->nnodes; i++) {
        NodeKind kind = (NodeKind)r->g->nodes[i].kind;
        if (kind == NODE_INPUT || kind == NODE_PARAM) {
            assert_true(k < J->ncols);
            assert_int_equal(J->cols[k++], i);
        }
    }
    assert_int_equal(k, J->ncols);
    assert_int_equal(jac_leaves(r->g, NULL, 0), J->ncols);
    assert_int_equal(J->nrows, r->g->noutputs);
    for (uint32_t i = 0; i < J->nrows; i++)
        assert_int_equal(J->rows[i], r->g->outputs[i]);
}

/* Largest |entry| of J, for an absolute tolerance that follows the scale. */
static double max_abs(const Jacobian *J)
{
    double m = 0;
    for (size_t k = 0; k < (size_t)J->nrows * J->ncols; k++)
        m = fmax(m, fabs(J->d[k]));
    return m;
}

/* Value of node `out` with leaf `leaf` set to x (others at their init), by a fresh forward pass. */
typedef struct Probe {
    const Graph *g;
    Graph *gm;
    uint32_t leaf, out;
    double *v;
} Probe;

static double probe_eval(double x, const void *ctx)
{
    const Probe *p = ctx;
    double saved = p->gm->nodes[p->leaf].init;
    p->gm->nodes[p->leaf].init = x;
    ad_forward(p->g, p->v);
    p->gm->nodes[p->leaf].init = saved;
    return p->v[p->out];
}

/* Forward-mode columns equal reverse-mode rows; the primary's row is t->grad exactly; every
 * column agrees with central differences (smooth activations only); one tangent sweep with
 * e_j reproduces column j and records local · tangent on every edge. */
static void check_model(Run *r, bool smooth)
{
    const Trace *t = r->t;
    const Graph *g = r->g;
    Err err = {0};
    Jacobian R, F;
    assert_true(jac_reverse(t, &R, &err));
    assert_true(jac_forward(t, &F, &err));
    check_columns(r, &R);
    check_columns(r, &F);
    double scale = max_abs(&R);
    for (uint32_t i = 0; i < R.nrows; i++)
        for (uint32_t j = 0; j < R.ncols; j++)
            assert_close(jac_at(&F, i, j), jac_at(&R, i, j), 1e-11, 1e-13 * scale);
    for (uint32_t j = 0; j < R.ncols; j++)
        assert_true(jac_at(&R, 0, j) == t->grad[R.cols[j]]); /* same sums in the same order */

    double *v = malloc(g->nnodes * sizeof *v);
    assert_non_null(v);
    Probe p = {.g = g, .gm = r->g, .v = v};
    for (uint32_t j = 0; j < R.ncols; j++) {
        uint32_t leaf = R.cols[j];
        TangentSweep s;
        assert_true(jac_tangents(t, leaf, &s, &err));
        assert_int_equal(s.leaf, leaf);
        assert_true(s.node[leaf] == 1.0);
        for (uint32_t i = 0; i < R.nrows; i++)
            assert_close(s.node[R.rows[i]], jac_at(&R, i, j), 1e-11, 1e-13 * scale);
        /* the record: each edge carries local · tangent of its operand (0 off the leaf's
         * paths), each op node's tangent is the sum of its in-edges', the steps are the nodes
         * that depend on the leaf in increasing id, and nothing below the leaf moves */
        uint32_t step = 0;
        for (uint32_t k = 0; k < g->nnodes; k++) {
            const Node *n = &g->nodes[k];
            if (k < leaf)
                assert_true(s.node[k] == 0.0);
            if (n->kind != NODE_OP) {
                if (k != leaf)
                    assert_true(s.node[k] == 0.0);
                continue;
            }
            bool dep = false;
            double sum = 0;
            for (uint32_t e = n->in_first; e < n->in_first + n->nedges; e++) {
                uint32_t from = g->edges[e].from;
                assert_close(s.edge[e], t->local[e] * s.node[from], 0, 0);
                sum += s.edge[e];
            }
            dep = step < s.nsteps && s.steps[step] == k;
            if (dep)
                step++;
            else
                assert_true(s.node[k] == 0.0);
            assert_close(s.node[k], sum, 1e-15, 0);
        }
        assert_int_equal(step, s.nsteps);
        /* independent: every output's tangent against central differences of a fresh forward pass */
        if (smooth)
            for (uint32_t i = 0; i < R.nrows; i++) {
                p.leaf = leaf;
                p.out = R.rows[i];
                double num = central_diff(probe_eval, &p, t->value[leaf]);
                assert_close(s.node[p.out], num, 1e-5, 1e-7 * (1 + scale));
            }
        jac_tangents_free(&s);
    }
    jac_tangents_free(NULL);
    free(v);
    jac_free(&R);
    jac_free(&F);
}

static void test_generated_models(void **state)
{
    (void)state;
    static const uint32_t s1[] = {3, 4, 3}, s2[] = {2, 3, 3, 2}, s3[] = {4, 1}, c1[] = {25};
    /* gen_mlp writes one loss; more outputs make the Jacobian more than a row */
    static const char *const more3 = "output o1 = sin(y1)\noutput o2 = y0*y2\n";
    static const char *const more2 = "output o1 = tanh(y0) + h1_2\n";
    struct {
        bool mlp;
        const uint32_t *sizes;
        size_t n;
        GenAct act;
        const char *extra;
    } cases[] = {
        {true, s1, 3, GEN_TANH, more3},     {true, s1, 3, GEN_SIGMOID, more3}, {true, s1, 3, GEN_RELU, more3},
        {true, s2, 4, GEN_TANH, more2},     {true, s3, 2, GEN_TANH, ""},       {false, c1, 1, GEN_SIGMOID, ""},
        {false, c1, 1, GEN_TANH, "output z = h3*h20\n"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        Run r;
        run_gen(&r, cases[i].mlp, cases[i].sizes, cases[i].n, cases[i].act, cases[i].extra);
        check_model(&r, cases[i].act != GEN_RELU);
        run_free(&r);
    }
}

/* Through the cut {y0, y1, y2} of an MLP (the linear outputs feed L, o1 and o2) and through a
 * cut of a whole hidden layer with the next layer's params, J_f · J_g = J_h; the hidden layer
 * alone is bypassed by the next layer's params, and the error names such a path. */
static void test_generated_via(void **state)
{
    (void)state;
    static const uint32_t s1[] = {3, 4, 3};
    Run r;
    run_gen(&r, true, s1, 3, GEN_TANH, "output o1 = sin(y1)\noutput o2 = y0*y2\n");
    Err err = {0};
    Jacobian F;
    assert_true(jac_forward(r.t, &F, &err));
    double scale = max_abs(&F);
    static const char *const cuts[] = {
        "y0,y1,y2",
        "h1_0,h1_1,h1_2,h1_3,w2_0_0,w2_0_1,w2_0_2,w2_0_3,b2_0,w2_1_0,w2_1_1,w2_1_2,w2_1_3,b2_1,"
        "w2_2_0,w2_2_1,w2_2_2,w2_2_3,b2_2",
    };
    for (size_t c = 0; c < ARRAY_LEN(cuts); c++) {
        uint32_t *cut;
        size_t ncut;
        assert_true(jac_parse_names(r.g, cuts[c], "--via", &cut, &ncut, &err));
        ViaResult v;
        assert_true(jac_via(r.t, cut, ncut, &v, &err));
        assert_true(v.agree);
        assert_int_equal(v.f.nrows, 3);
        assert_int_equal(v.f.ncols, ncut);
        assert_int_equal(v.g.nrows, ncut);
        assert_int_equal(v.g.ncols, F.ncols);
        for (uint32_t i = 0; i < F.nrows; i++)
            for (uint32_t j = 0; j < F.ncols; j++)
                assert_close(jac_at(&v.prod, i, j), jac_at(&F, i, j), 1e-11, 1e-13 * scale);
        jac_via_free(&v);
        free(cut);
    }
    /* the hidden layer alone: a second-layer param reaches the outputs around it */
    uint32_t *cut;
    size_t ncut;
    assert_true(jac_parse_names(r.g, "h1_0,h1_1,h1_2,h1_3", "--via", &cut, &ncut, &err));
    ViaResult v;
    assert_false(jac_via(r.t, cut, ncut, &v, &err));
    assert_int_equal(err.kind, ERR_USAGE);
    const char *p = strstr(err.msg, "the path ");
    assert_non_null(p);
    p += strlen("the path ");
    /* first node: a param of layer 2; last: an output; none of the cut in between */
    assert_true(strncmp(p, "w2_", 3) == 0 || strncmp(p, "b2_", 3) == 0);
    const char *end = strstr(p, " passes through");
    assert_non_null(end);
    const char *last = end;
    while (last > p && last[-1] != ' ')
        last--;
    char outname[16] = {0};
    memcpy(outname, last, (size_t)(end - last) < 15 ? (size_t)(end - last) : 15);
    assert_true(strcmp(outname, "L") == 0 || strcmp(outname, "o1") == 0 || strcmp(outname, "o2") == 0);
    assert_null(strstr(err.msg, "h1_"));
    free(cut);
    jac_free(&F);
    run_free(&r);

    /* a long bypass is shortened in the middle: with every weight and bias but w1, b1 in the
     * cut, w1 reaches h30 through all 30 layers (× + h each: 91 nodes with w1) */
    static const uint32_t c1[] = {30};
    run_gen(&r, false, c1, 1, GEN_TANH, "");
    uint32_t wb[58];
    for (int k = 2; k <= 30; k++) {
        char nm[16];
        snprintf(nm, sizeof nm, "w%d", k);
        wb[2 * (k - 2)] = id_of(&r, nm);
        snprintf(nm, sizeof nm, "b%d", k);
        wb[2 * (k - 2) + 1] = id_of(&r, nm);
    }
    err = (Err){0};
    assert_false(jac_via(r.t, wb, 58, &v, &err));
    const char *want = "the path w1 -> × -> + -> h1 -> × -> ... (81 more nodes) -> + -> h29 -> × -> + -> h30 "
                       "passes through none of its nodes";
    if (!strstr(err.msg, want))
        print_error("got '%s'\nwant '%s'\n", err.msg, want);
    assert_non_null(strstr(err.msg, want));
    run_free(&r);
}

/* A Jacobian over JAC_MAX_ENTRIES is refused before it is allocated. */
static void test_size_limit(void **state)
{
    (void)state;
    /* 3400 inputs × 5000 outputs = 1.7e7 entries > 2^24 */
    enum { NIN = 3400, NOUT = 5000 };
    Buf b = {0};
    for (int i = 0; i < NIN; i++)
        buf_printf(&b, "input x%d = %d\n", i, i);
    for (int k = 0; k < NOUT; k++)
        buf_printf(&b, "output o%d = 2*x%d\n", k, k % NIN);
    assert_false(b.oom);
    Run r;
    run_mem(&r, b.data, b.len);
    buf_free(&b);
    assert_true((uint64_t)NIN * NOUT > JAC_MAX_ENTRIES);
    Err err = {0};
    Jacobian J;
    J.d = (double *)&err;
    assert_false(jac_reverse(r.t, &J, &err));
    assert_int_equal(err.kind, ERR_USAGE);
    assert_non_null(strstr(err.msg, "5000 × 3400 = 1.7e+07 entries"));
    assert_non_null(strstr(err.msg, "up to 16777216 entries (128 MiB)"));
    assert_null(J.d);
    err = (Err){0};
    assert_false(jac_forward(r.t, &J, &err));
    assert_int_equal(err.kind, ERR_USAGE);
    run_free(&r);
}

/* ---- central differences of a whole Jacobian ---- */

static void test_check(void **state)
{
    (void)state;
    Run r;
    run_file(&r, "examples/jacobian.grad");
    double want[4];
    want_h(want);
    Err err = {0};
    Jacobian J;
    assert_true(jac_reverse(r.t, &J, &err));
    JacCheck c;
    assert_true(jac_check(r.t, &J, 0, &c, &err));
    assert_true(c.passed);
    assert_int_equal(c.nfailed, 0);
    for (int k = 0; k < 4; k++)
        assert_close(c.numeric[k], want[k], 1e-8, 1e-10);
    assert_true(c.max_rel_error < 1e-8);
    jac_check_free(&c);
    /* a wrong entry is caught and located */
    J.d[3] += 1e-3;
    assert_true(jac_check(r.t, &J, 0, &c, &err));
    assert_false(c.passed);
    assert_int_equal(c.nfailed, 1);
    assert_int_equal(c.worst_row, 1);
    assert_int_equal(c.worst_col, 1);
    assert_close(c.max_abs_error, 1e-3, 1e-5, 0);
    jac_check_free(&c);
    jac_check_free(NULL);
    /* over the budget: 2 columns × 8 nodes */
    assert_false(jac_check(r.t, &J, 15, &c, &err));
    assert_int_equal(err.kind, ERR_USAGE);
    assert_null(c.numeric);
    jac_free(&J);
    run_free(&r);
}

/* ---- mode comparison ---- */

static void test_compare_example(void **state)
{
    (void)state;
    Run r;
    run_file(&r, "examples/jacobian.grad");
    Err err = {0};
    ModeStats s;
    assert_true(jac_compare(r.t, 0, &s, &err));
    assert_int_equal(s.noutputs, 2);
    assert_int_equal(s.ninputs, 2);
    assert_int_equal(s.nparams, 0);
    assert_true(s.budget == JAC_COMPARE_BUDGET);
    /* ids: x1 0, x2 1, u1 2 (1 edge), u2 3 (2), u3 4 (1), sin 5 (1), y1 6 (2), y2 7 (2).
     * Forward from x1 or x2 to y2 visits op nodes 2..7: 6 nodes, 9 edges; to y1, 2..6: 5, 7.
     * Reverse from y1 reaches y1, sin, u1, u2: 4 nodes, 6 edges; from y2: y2, u2, u3: 3, 5. */
    const ModeTask *jt = &s.task[MODE_JACOBIAN], *gi = &s.task[MODE_GRAD_INPUTS],
                   *gl = &s.task[MODE_GRAD_LEAVES];
    assert_string_equal(jt->name, "jacobian");
    assert_string_equal(gi->name, "gradient_inputs");
    assert_string_equal(gl->name, "gradient_inputs_params");
    assert_int_equal(jt->nrows, 2);
    assert_int_equal(jt->ncols, 2);
    assert_int_equal(jt->reverse.sweeps, 2);
    assert_int_equal(jt->forward.sweeps, 2);
    assert_true(jt->forward.nodes == 12 && jt->forward.edges == 18);
    assert_true(jt->reverse.nodes == 7 && jt->reverse.edges == 11);
    assert_int_equal(gi->nrows, 1);
    assert_int_equal(gi->ncols, 2);
    assert_int_equal(gi->reverse.sweeps, 1);
    assert_int_equal(gi->forward.sweeps, 2);
    assert_true(gi->forward.nodes == 10 && gi->forward.edges == 14);
    assert_true(gi->reverse.nodes == 4 && gi->reverse.edges == 6);
    assert_int_equal(gl->forward.sweeps, 2);
    assert_true(gl->forward.nodes == 10);
    for (int k = 0; k < MODE_NTASKS; k++) {
        const ModeTask *m = &s.task[k];
        assert_false(m->reverse.estimated);
        assert_false(m->forward.estimated);
        assert_int_equal(m->reverse.timed, m->reverse.sweeps);
        assert_int_equal(m->forward.timed, m->forward.sweeps);
        assert_true(m->reverse.seconds > 0 && m->forward.seconds > 0);
        assert_close(m->ratio, m->forward.seconds / m->reverse.seconds, 1e-15, 0);
    }
    run_free(&r);
}

/* "Many inputs, one output": an MLP 20,5,1 needs 1 reverse sweep and 20 forward sweeps for
 * the gradient w.r.t. its inputs, 20 + 5·21 + 6 = 131 w.r.t. inputs and params. A budget far
 * below one sweep makes the forward mode sampled and estimated, the counts still exact. */
static void test_compare_mlp(void **state)
{
    (void)state;
    static const uint32_t sz[] = {20, 5, 1};
    Run r;
    run_gen(&r, true, sz, 3, GEN_RELU, "");
    Err err = {0};
    ModeStats s, e;
    assert_true(jac_compare(r.t, 0, &s, &err));
    assert_int_equal(s.ninputs, 20);
    assert_int_equal(s.nparams, 5 * 21 + 6);
    assert_int_equal(s.noutputs, 1);
    const ModeTask *gi = &s.task[MODE_GRAD_INPUTS], *gl = &s.task[MODE_GRAD_LEAVES], *jt = &s.task[MODE_JACOBIAN];
    assert_int_equal(gi->reverse.sweeps, 1);
    assert_int_equal(gi->forward.sweeps, 20);
    assert_int_equal(gl->reverse.sweeps, 1);
    assert_int_equal(gl->forward.sweeps, 131);
    assert_int_equal(jt->reverse.sweeps, 1);
    assert_int_equal(jt->forward.sweeps, 131);
    /* one reverse sweep visits every op node once (all reach L); a forward sweep from leaf j
     * visits every op node above j up to L */
    uint32_t nops = 0, nedges = 0;
    for (uint32_t k = 0; k < r.g->nnodes; k++)
        if (r.g->nodes[k].kind == NODE_OP && k <= r.t->primary) {
            nops++;
            nedges += r.g->nodes[k].nedges;
        }
    assert_true(gi->reverse.nodes == nops && gi->reverse.edges == nedges);
    double fn = 0;
    for (uint32_t k = 0; k < r.g->nnodes; k++) {
        if (r.g->nodes[k].kind != NODE_INPUT)
            continue;
        for (uint32_t m = k + 1; m <= r.t->primary; m++)
            fn += r.g->nodes[m].kind == NODE_OP;
    }
    assert_true(gi->forward.nodes == fn);
    assert_false(gi->forward.estimated);

    assert_true(jac_compare(r.t, 1e-9, &e, &err));
    const ModeTask *ge = &e.task[MODE_GRAD_LEAVES];
    assert_true(ge->forward.estimated);
    assert_true(ge->forward.timed >= 1 && ge->forward.timed < ge->forward.sweeps);
    assert_int_equal(ge->forward.sweeps, 131);
    assert_true(ge->forward.nodes == gl->forward.nodes && ge->forward.edges == gl->forward.edges);
    assert_true(ge->forward.seconds > 0);
    assert_false(ge->reverse.estimated); /* a single sweep is always run */
    assert_true(e.task[MODE_GRAD_INPUTS].forward.estimated);
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example_jacobian),
        cmocka_unit_test(test_example_via),
        cmocka_unit_test(test_via_leaf_and_output_in_cut),
        cmocka_unit_test(test_via_nested_cut),
        cmocka_unit_test(test_leaf_after_primary),
        cmocka_unit_test(test_nonfinite_off_path),
        cmocka_unit_test(test_via_bad_cuts),
        cmocka_unit_test(test_parse_names_and_find_leaf),
        cmocka_unit_test(test_generated_models),
        cmocka_unit_test(test_generated_via),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_compare_example),
        cmocka_unit_test(test_compare_mlp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
