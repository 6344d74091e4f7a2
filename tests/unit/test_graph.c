/* Unit tests of the graph: the name table under thousands of names, op nodes with literal and
 * node operands, edges in slot order, and the out-edge lists built by graph_finish. */
#include "util.h"

#include "graph.h"

static void test_names_table(void **state)
{
    (void)state;
    Graph *g = graph_new();
    assert_non_null(g);
    Err err = {0};
    assert_int_equal(graph_lookup(g, "x", 1), UINT32_MAX); /* empty table */
    enum { N = 20000 };
    char name[32];
    for (uint32_t i = 0; i < N; i++) {
        int n = snprintf(name, sizeof name, "v%u", i);
        uint32_t id = graph_add_leaf(g, (NodeKind)(i % 3), name, (size_t)n, (Span){i, (uint32_t)n}, i * 0.5, &err);
        assert_int_equal(id, i);
    }
    assert_true(err_ok(&err));
    assert_int_equal(g->nnodes, N);
    assert_int_equal(g->nnamed, N);
    assert_true(g->name_cap >= 2 * (size_t)N); /* at most half full */
    for (uint32_t i = 0; i < N; i++) {
        int n = snprintf(name, sizeof name, "v%u", i);
        assert_int_equal(graph_lookup(g, name, (size_t)n), i);
        assert_string_equal(g->nodes[i].name, name);
        assert_true(g->nodes[i].init == i * 0.5);
        assert_int_equal(g->nodes[i].kind, i % 3);
    }
    /* absent names, and slices: "v12" is found through a slice of "v123" only with length 3 */
    assert_int_equal(graph_lookup(g, "v20000", 6), UINT32_MAX);
    assert_int_equal(graph_lookup(g, "w1", 2), UINT32_MAX);
    assert_int_equal(graph_lookup(g, "v", 1), UINT32_MAX);
    assert_int_equal(graph_lookup(g, "V1", 2), UINT32_MAX);
    assert_int_equal(graph_lookup(g, "v123", 3), 12);
    assert_int_equal(graph_lookup(g, "v12)", 3), 12);
    assert_int_equal(graph_lookup(g, "v1", 1), UINT32_MAX);
    graph_free(g);
    graph_free(NULL);
}

static void test_ops_edges_and_outputs(void **state)
{
    (void)state;
    Graph *g = graph_new();
    assert_non_null(g);
    Err err = {0};
    uint32_t x = graph_add_leaf(g, NODE_INPUT, "x", 1, (Span){0, 1}, 2.0, &err);
    uint32_t c = graph_add_leaf(g, NODE_CONST, "c", 1, (Span){2, 1}, 3.0, &err);
    /* m = x*x: two edges from x */
    Arg a1[2] = {{false, x}, {false, x}};
    double l1[2] = {0, 0};
    uint32_t m = graph_add_op(g, OP_MUL, a1, l1, (Span){4, 1}, &err);
    /* p = 2^m: a literal in slot 0, an edge in slot 1 */
    Arg a2[2] = {{true, 0}, {false, m}};
    double l2[2] = {2.0, 0};
    uint32_t p = graph_add_op(g, OP_POW, a2, l2, (Span){6, 1}, &err);
    /* s = sin(c) and q = p - x */
    Arg a3[1] = {{false, c}};
    uint32_t s = graph_add_op(g, OP_SIN, a3, l1, (Span){8, 1}, &err);
    Arg a4[2] = {{false, p}, {false, x}};
    uint32_t q = graph_add_op(g, OP_SUB, a4, l1, (Span){10, 1}, &err);
    assert_true(err_ok(&err));
    assert_int_equal(g->nnodes, 6);
    assert_int_equal(g->nedges, 6);
    assert_int_equal(g->nlits, 1);

    const Node *nm = &g->nodes[m], *np = &g->nodes[p];
    assert_int_equal(nm->kind, NODE_OP);
    assert_int_equal(nm->op, OP_MUL);
    assert_int_equal(nm->nargs, 2);
    assert_int_equal(nm->nedges, 2);
    assert_null(nm->name);
    for (uint32_t k = 0; k < 2; k++) {
        const Edge *e = &g->edges[nm->in_first + k];
        assert_int_equal(e->from, x);
        assert_int_equal(e->to, m);
        assert_int_equal(e->slot, k);
        assert_false(nm->args[k].is_lit);
        assert_int_equal(nm->args[k].ref, nm->in_first + k);
    }
    assert_int_equal(np->nargs, 2);
    assert_int_equal(np->nedges, 1);
    assert_true(np->args[0].is_lit);
    assert_true(graph_lit(g, np, 0) == 2.0);
    assert_false(np->args[1].is_lit);
    assert_int_equal(g->edges[np->in_first].slot, 1); /* slot counts the literal */
    assert_int_equal(g->edges[np->in_first].from, m);

    /* naming an op node makes it findable */
    assert_true(graph_name_node(g, q, "q", 1, &err));
    assert_int_equal(graph_lookup(g, "q", 1), q);
    assert_string_equal(g->nodes[q].name, "q");

    assert_true(graph_add_output(g, q, &err));
    assert_true(graph_add_output(g, s, &err));
    assert_int_equal(g->noutputs, 2);
    assert_int_equal(g->outputs[0], q);
    assert_int_equal(g->outputs[1], s);

    /* out-edge lists: x feeds m twice and q once, in increasing edge id */
    assert_true(graph_finish(g, &err));
    assert_int_equal(graph_out_count(g, x), 3);
    assert_int_equal(graph_out_count(g, c), 1);
    assert_int_equal(graph_out_count(g, m), 1);
    assert_int_equal(graph_out_count(g, p), 1);
    assert_int_equal(graph_out_count(g, s), 0);
    assert_int_equal(graph_out_count(g, q), 0);
    uint32_t total = 0;
    for (uint32_t n = 0; n < g->nnodes; n++) {
        for (uint32_t k = g->out_first[n]; k < g->out_first[n + 1]; k++) {
            assert_int_equal(g->edges[g->out_edges[k]].from, n);
            if (k > g->out_first[n])
                assert_true(g->out_edges[k] > g->out_edges[k - 1]);
            total++;
        }
    }
    assert_int_equal(total, g->nedges);
    /* graph_finish may run again (it rebuilds the lists) */
    assert_true(graph_finish(g, &err));
    assert_int_equal(graph_out_count(g, x), 3);

    assert_true(node_is_leaf(&g->nodes[x]));
    assert_false(node_is_leaf(&g->nodes[m]));
    assert_string_equal(node_kind_name(NODE_INPUT), "input");
    assert_string_equal(node_kind_name(NODE_PARAM), "param");
    assert_string_equal(node_kind_name(NODE_CONST), "const");
    assert_string_equal(node_kind_name(NODE_OP), "op");
    graph_free(g);
}

static void test_large_fanout(void **state)
{
    (void)state;
    /* one leaf feeding 100,000 nodes, then a graph without edges */
    Graph *g = graph_new();
    Err err = {0};
    uint32_t x = graph_add_leaf(g, NODE_PARAM, "w", 1, (Span){0, 1}, 1.0, &err);
    Arg a[1] = {{false, x}};
    double l[1] = {0};
    for (int i = 0; i < 100000; i++)
        assert_int_equal(graph_add_op(g, OP_EXP, a, l, (Span){0, 1}, &err), (uint32_t)i + 1);
    assert_true(graph_finish(g, &err));
    assert_int_equal(graph_out_count(g, x), 100000);
    for (uint32_t k = 0; k < 100000; k++)
        assert_int_equal(g->edges[g->out_edges[g->out_first[x] + k]].to, k + 1);
    graph_free(g);

    g = graph_new();
    graph_add_leaf(g, NODE_INPUT, "a", 1, (Span){0, 1}, 1.0, &err);
    assert_true(graph_finish(g, &err));
    assert_int_equal(graph_out_count(g, 0), 0);
    graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_table),
        cmocka_unit_test(test_ops_edges_and_outputs),
        cmocka_unit_test(test_large_fanout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
