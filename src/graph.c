/* graph: node and edge storage, the name table, and the out-edge lists (CSR) built once the
 * graph is complete. */
#include "graph.h"

#include <stdlib.h>
#include <string.h>

#define NO_NODE UINT32_MAX

Graph *graph_new(void)
{
    return calloc(1, sizeof(Graph));
}

void graph_free(Graph *g)
{
    if (!g)
        return;
    free(g->nodes);
    free(g->edges);
    free(g->lits);
    free(g->outputs);
    free(g->out_first);
    free(g->out_edges);
    free(g->name_slots);
    arena_free(&g->arena);
    free(g);
}

const char *node_kind_name(NodeKind k)
{
    static const char *const names[] = {"input", "param", "const", "op"};
    return names[k];
}

/* FNV-1a: names are short identifiers; this is plenty. */
static uint64_t hash_name(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

uint32_t graph_lookup(const Graph *g, const char *name, size_t len)
{
    if (!g->name_cap)
        return NO_NODE;
    size_t mask = g->name_cap - 1;
    for (size_t i = hash_name(name, len) & mask;; i = (i + 1) & mask) {
        uint32_t id = g->name_slots[i];
        if (id == NO_NODE)
            return NO_NODE;
        const char *nm = g->nodes[id].name;
        if (strncmp(nm, name, len) == 0 && nm[len] == '\0')
            return id;
    }
}

static void name_insert(uint32_t *slots, size_t cap, const Graph *g, uint32_t id)
{
    const char *nm = g->nodes[id].name;
    size_t mask = cap - 1;
    size_t i = hash_name(nm, strlen(nm)) & mask;
    while (slots[i] != NO_NODE)
        i = (i + 1) & mask;
    slots[i] = id;
}

bool graph_name_node(Graph *g, uint32_t id, const char *name, size_t name_len, Err *err)
{
    /* keep the table at most half full */
    if ((size_t)(g->nnamed + 1) * 2 > g->name_cap) {
        size_t cap = g->name_cap ? g->name_cap * 2 : 64;
        uint32_t *slots = malloc(cap * sizeof *slots);
        if (!slots)
            return err_set(err, ERR_IO, "out of memory");
        memset(slots, 0xff, cap * sizeof *slots);
        for (size_t i = 0; i < g->name_cap; i++)
            if (g->name_slots[i] != NO_NODE)
                name_insert(slots, cap, g, g->name_slots[i]);
        free(g->name_slots);
        g->name_slots = slots;
        g->name_cap = cap;
    }
    char *nm = arena_strndup(&g->arena, name, name_len);
    if (!nm)
        return err_set(err, ERR_IO, "out of memory");
    g->nodes[id].name = nm;
    name_insert(g->name_slots, g->name_cap, g, id);
    g->nnamed++;
    return true;
}

static Node *new_node(Graph *g, Err *err)
{
    if (g->nnodes >= GRAPH_MAX_NODES) {
        err_set(err, ERR_MODEL, "the model has more than %u nodes", GRAPH_MAX_NODES);
        return NULL;
    }
    if (!vec_reserve((void **)&g->nodes, &g->node_cap, (size_t)g->nnodes + 1, sizeof(Node))) {
        err_set(err, ERR_IO, "out of memory");
        return NULL;
    }
    Node *n = &g->nodes[g->nnodes++];
    memset(n, 0, sizeof *n);
    return n;
}

uint32_t graph_add_leaf(Graph *g, NodeKind kind, const char *name, size_t name_len, Span span,
                        double value, Err *err)
{
    Node *n = new_node(g, err);
    if (!n)
        return NO_NODE;
    n->kind = (uint8_t)kind;
    n->span = span;
    n->init = value;
    uint32_t id = g->nnodes - 1;
    if (!graph_name_node(g, id, name, name_len, err))
        return NO_NODE;
    return id;
}

uint32_t graph_add_op(Graph *g, Op op, const Arg *args, const double *lits, Span span, Err *err)
{
    int arity = op_info(op)->arity;
    if (!vec_reserve((void **)&g->edges, &g->edge_cap, (size_t)g->nedges + (size_t)arity, sizeof(Edge)) ||
        !vec_reserve((void **)&g->lits, &g->lit_cap, (size_t)g->nlits + (size_t)arity, sizeof(double))) {
        err_set(err, ERR_IO, "out of memory");
        return NO_NODE;
    }
    Node *n = new_node(g, err);
    if (!n)
        return NO_NODE;
    uint32_t id = g->nnodes - 1;
    n->kind = NODE_OP;
    n->op = (uint8_t)op;
    n->nargs = (uint8_t)arity;
    n->span = span;
    n->in_first = g->nedges;
    for (int i = 0; i < arity; i++) {
        if (args[i].is_lit) {
            n->args[i] = (Arg){true, g->nlits};
            g->lits[g->nlits++] = lits[i];
        } else {
            n->args[i] = (Arg){false, g->nedges};
            g->edges[g->nedges++] = (Edge){args[i].ref, id, (uint32_t)i};
            n->nedges++;
        }
    }
    return id;
}

bool graph_add_output(Graph *g, uint32_t id, Err *err)
{
    if (!vec_reserve((void **)&g->outputs, &g->out_cap, (size_t)g->noutputs + 1, sizeof(uint32_t)))
        return err_set(err, ERR_IO, "out of memory");
    g->outputs[g->noutputs++] = id;
    return true;
}

bool graph_finish(Graph *g, Err *err)
{
    free(g->out_first);
    free(g->out_edges);
    g->out_first = calloc((size_t)g->nnodes + 1, sizeof(uint32_t));
    g->out_edges = malloc(((size_t)g->nedges + 1) * sizeof(uint32_t));
    if (!g->out_first || !g->out_edges)
        return err_set(err, ERR_IO, "out of memory");
    /* counting sort of edges by `from`; edge ids stay increasing within each list */
    for (uint32_t e = 0; e < g->nedges; e++)
        g->out_first[g->edges[e].from + 1]++;
    for (uint32_t n = 0; n < g->nnodes; n++)
        g->out_first[n + 1] += g->out_first[n];
    uint32_t *fill = malloc(((size_t)g->nnodes + 1) * sizeof(uint32_t));
    if (!fill)
        return err_set(err, ERR_IO, "out of memory");
    memcpy(fill, g->out_first, ((size_t)g->nnodes + 1) * sizeof(uint32_t));
    for (uint32_t e = 0; e < g->nedges; e++)
        g->out_edges[fill[g->edges[e].from]++] = e;
    free(fill);
    return true;
}
