/* graph: the computational graph as a tape. Nodes are created in an order where every operand
 * exists before its consumer, so ascending id order is a topological order and descending id
 * order is a reverse topological one: the passes never sort. An edge runs from an operand
 * node to the op node that consumes it; `x*x` has two edges from x. Literal operands are
 * folded into their op node (Arg with is_lit) and have no edge.
 *
 * Nodes and edges refer to each other by uint32 index; those indices are the ids used in DOT
 * and JSON. Node and edge arrays are malloc'd vectors owned by the Graph (they grow while
 * parsing; an arena would waste up to half its size on abandoned copies); names live in the
 * Graph's arena. */
#ifndef GRADVIZ_GRAPH_H
#define GRADVIZ_GRAPH_H

#include "base.h"
#include "ops.h"

/* Largest number of nodes a graph may hold (also bounds edges at 2x). Ids are uint32. */
#define GRAPH_MAX_NODES 50000000u

typedef enum NodeKind { NODE_INPUT, NODE_PARAM, NODE_CONST, NODE_OP } NodeKind;

typedef struct Arg {
    bool is_lit;  /* a folded numeric literal */
    uint32_t ref; /* !is_lit: index of the in-edge in Graph.edges; is_lit: index in Graph.lits */
} Arg;

typedef struct Node {
    uint8_t kind;      /* NodeKind */
    uint8_t op;        /* Op, if kind == NODE_OP */
    uint8_t nargs;     /* operands, literals included (0 for leaves) */
    uint8_t nedges;    /* in-edges (operands that are nodes) */
    uint32_t in_first; /* in-edges are edges[in_first .. in_first+nedges), in slot order */
    const char *name;  /* NULL for an unnamed op node; in the graph's arena */
    Span span;         /* leaves: the name; op nodes (named or not): the operator or function name */
    Arg args[OP_MAX_ARITY];
    double init;       /* leaves: the value written in the model (or set by --set) */
} Node;

typedef struct Edge {
    uint32_t from, to; /* operand node -> consumer node */
    uint32_t slot;     /* index into to's args (literals included) */
} Edge;

typedef struct Graph {
    Node *nodes;  uint32_t nnodes; size_t node_cap;  /* owned */
    Edge *edges;  uint32_t nedges; size_t edge_cap;  /* owned */
    double *lits; uint32_t nlits;  size_t lit_cap;   /* owned: folded literal operands */
    uint32_t *outputs; uint32_t noutputs; size_t out_cap; /* owned: marked outputs, primary first */
    /* Out-edge lists in CSR form, built by graph_finish: the out-edges of node n are
     * out_edges[out_first[n] .. out_first[n+1]), in increasing edge id. Owned. */
    uint32_t *out_first, *out_edges;
    const char *title;  /* model "..." title or NULL; in arena */
    Arena arena;        /* names, title */
    /* name -> node id, open addressing; owned */
    uint32_t *name_slots; size_t name_cap; uint32_t nnamed;
} Graph;

/* Returns an empty graph, or NULL on OOM. */
Graph *graph_new(void);
/* graph_free(NULL) is a no-op. */
void graph_free(Graph *g);

/* Adds a leaf; `name` must not already be defined (check with graph_lookup). Returns the node
 * id, or UINT32_MAX with err set (too many nodes, OOM). */
uint32_t graph_add_leaf(Graph *g, NodeKind kind, const char *name, size_t name_len, Span span,
                        double value, Err *err);
/* Adds an op node over `args` (nargs = op arity). Each operand is either a node id
 * (is_lit false, ref = node id) or a literal value (is_lit true, value in lits[i]). Edges are
 * created in slot order. Returns the node id or UINT32_MAX with err set. */
uint32_t graph_add_op(Graph *g, Op op, const Arg *args, const double *lits, Span span, Err *err);
/* Gives node `id` a name (an assignment `name = expr`). false with err set on OOM. */
bool graph_name_node(Graph *g, uint32_t id, const char *name, size_t name_len, Err *err);
/* Node id named name[0..len), or UINT32_MAX. */
uint32_t graph_lookup(const Graph *g, const char *name, size_t len);
/* Appends a marked output. */
bool graph_add_output(Graph *g, uint32_t id, Err *err);
/* Builds the out-edge lists; call once after the last node is added. */
bool graph_finish(Graph *g, Err *err);

static inline uint32_t graph_out_count(const Graph *g, uint32_t n) { return g->out_first[n + 1] - g->out_first[n]; }
static inline bool node_is_leaf(const Node *n) { return n->kind != NODE_OP; }
/* "input", "param", "const" or "op" */
const char *node_kind_name(NodeKind k);
/* Literal value of argument i of node n (n->args[i].is_lit must be true). */
static inline double graph_lit(const Graph *g, const Node *n, int i) { return g->lits[n->args[i].ref]; }

#endif
