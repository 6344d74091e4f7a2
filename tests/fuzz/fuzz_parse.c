/* fuzz_parse: libFuzzer target over the front end alone — UTF-8 and size checks, the lexer
 * and the parser — and the compiler-style error rendering (caret snippet). Several times
 * faster per input than fuzz_model, so it explores the grammar's corners further.
 *
 * Invariants checked beyond "does not crash":
 *   - the lexer always moves forward and ends at TOK_EOF or a located error;
 *   - every token's span lies inside the text;
 *   - parse_model returns a graph with at least one output, or fails with an error set;
 *   - every node's source span lies inside the text;
 *   - node ids are topological (every edge runs from a smaller id to a larger one), and
 *     each op node's in-edges are consecutive and in slot order. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lex.h"
#include "parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stdout, "fuzz_parse: invariant broken: %s\n", what);
    fflush(stdout);
    abort();
}

static FILE *sink(void)
{
    static FILE *f;
    if (!f)
        f = fopen("/dev/null", "w");
    return f;
}

static void lex_all(const Source *src)
{
    Err err = {0};
    if (!lex_check_source(src, &err))
        return;
    Lexer lx;
    lex_init(&lx, src);
    Token tok;
    uint32_t last = 0;
    for (;;) {
        if (!lex_next(&lx, &tok, &err)) {
            if (err_ok(&err))
                fail("lex_next failed without an error");
            if (err.has_span && err.span.off > src->len)
                fail("lexer error outside the text");
            err_write(sink(), src, &err);
            return;
        }
        if ((size_t)tok.span.off + tok.span.len > src->len)
            fail("token span outside the text");
        if (tok.kind == TOK_EOF)
            return;
        if (lx.pos <= last)
            fail("the lexer did not advance");
        last = lx.pos;
    }
}

static void check_graph(const Graph *g, const Source *src)
{
    if (g->noutputs == 0)
        fail("graph without an output");
    for (uint32_t i = 0; i < g->noutputs; i++)
        if (g->outputs[i] >= g->nnodes || g->nodes[g->outputs[i]].kind != NODE_OP)
            fail("an output is not an op node");
    for (uint32_t e = 0; e < g->nedges; e++)
        if (g->edges[e].from >= g->edges[e].to || g->edges[e].to >= g->nnodes)
            fail("an edge is not in topological order");
    for (uint32_t i = 0; i < g->nnodes; i++) {
        const Node *n = &g->nodes[i];
        if ((size_t)n->span.off + n->span.len > src->len)
            fail("a node's span lies outside the text");
        if (n->kind != NODE_OP) {
            if (!n->name)
                fail("a leaf without a name");
            continue;
        }
        uint32_t k = 0;
        for (int s = 0; s < n->nargs; s++) {
            if (n->args[s].is_lit)
                continue;
            uint32_t e = n->args[s].ref;
            if (e != n->in_first + k || g->edges[e].to != i || g->edges[e].slot != (uint32_t)s)
                fail("in-edges out of slot order");
            k++;
        }
        if (k != n->nedges)
            fail("nedges does not count the node operands");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Source src = {.path = "fuzz.grad"};
    src.text = malloc(size + 1);
    if (!src.text)
        return 0;
    memcpy(src.text, data, size);
    src.text[size] = '\0';
    src.len = size;
    if (!source_index_lines(&src)) {
        source_free(&src);
        return 0;
    }
    lex_all(&src);
    Err err = {0};
    Graph *g = parse_model(&src, &err);
    if (g) {
        check_graph(g, &src);
        graph_free(g);
    } else {
        if (err_ok(&err))
            fail("parse_model failed without an error");
        err_write(sink(), &src, &err);
    }
    source_free(&src);
    return 0;
}
