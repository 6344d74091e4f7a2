/* fuzz_parse: libFuzzer target over the front end alone — UTF-8 and size checks, the lexer
 * and the parser — and the compiler-style error rendering (caret snippet), plus the JSON
 * number printer (numfmt) on every number the lexer reads and on the input's first 8 bytes
 * taken as a double. Many times faster per input than fuzz_model, so it explores the
 * grammar's corners further.
 *
 * Invariants checked beyond "does not crash":
 *   - the lexer always moves forward and ends at TOK_EOF or a located error;
 *   - every token's span lies inside the text;
 *   - parse_model returns a graph with at least one output, or fails with an error set;
 *   - the rendered diagnostic (message, source line, caret, note) sends nothing but text to
 *     the terminal: valid UTF-8 without control characters (C0 but tab and newline, DEL, C1
 *     U+0080..U+009F) or bidirectional controls (U+202A..U+202E, U+2066..U+2069), whatever
 *     bytes the model holds;
 *   - every node's source span lies inside the text;
 *   - numfmt_double writes a JSON number (RFC 8259 grammar) that strtod reads back to exactly
 *     the same double, and numfmt_uint the integer itself;
 *   - node ids are topological (every edge runs from a smaller id to a larger one), and
 *     each op node's in-edges are consecutive and in slot order. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <math.h>

#include "lex.h"
#include "numfmt.h"
#include "parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stdout, "fuzz_parse: invariant broken: %s\n", what);
    fflush(stdout);
    abort();
}

/* True if s is a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool json_number(const char *s)
{
    if (*s == '-')
        s++;
    if (*s == '0')
        s++;
    else if (*s >= '1' && *s <= '9')
        while (*s >= '0' && *s <= '9')
            s++;
    else
        return false;
    if (*s == '.') {
        s++;
        if (!(*s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!(*s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return *s == '\0';
}

static void check_numfmt(double v)
{
    if (!isfinite(v))
        return;
    char out[NUMFMT_MAX + 8];
    memset(out, 0x55, sizeof out);
    size_t n = numfmt_double(out, v);
    if (n >= NUMFMT_MAX || out[n] != '\0' || strlen(out) != n || out[NUMFMT_MAX] != 0x55)
        fail("numfmt_double: wrong length or past NUMFMT_MAX");
    if (!json_number(out)) {
        fprintf(stdout, "numfmt_double(%a) = \"%s\"\n", v, out);
        fail("numfmt_double wrote something that is not a JSON number");
    }
    double back = strtod(out, NULL);
    if (memcmp(&back, &v, sizeof v) != 0 && !(back == 0 && v == 0 && signbit(back) == signbit(v))) {
        fprintf(stdout, "numfmt_double(%a) = \"%s\" reads back as %a\n", v, out, back);
        fail("numfmt_double does not round-trip");
    }
}

static void check_numfmt_uint(uint64_t v)
{
    char out[NUMFMT_MAX];
    size_t n = numfmt_uint(out, v);
    if (n >= NUMFMT_MAX || strlen(out) != n || strtoull(out, NULL, 10) != v || (n > 1 && out[0] == '0'))
        fail("numfmt_uint does not write the integer");
}

/* Renders the error as the command line would and checks it is terminal-safe text. */
static void render_error(const Source *src, const Err *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return;
    err_write(f, src, err);
    fclose(f);
    const unsigned char *t = (const unsigned char *)buf;
    if (utf8_valid_prefix(t, len) != len) {
        fprintf(stdout, "diagnostic:\n%s\n", buf);
        fail("the diagnostic is not valid UTF-8");
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = t[i];
        bool bad = (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f ||
                   (c == 0xC2 && i + 1 < len && t[i + 1] >= 0x80 && t[i + 1] < 0xA0) ||
                   (c == 0xE2 && i + 2 < len &&
                    ((t[i + 1] == 0x80 && t[i + 2] >= 0xAA && t[i + 2] <= 0xAE) ||
                     (t[i + 1] == 0x81 && t[i + 2] >= 0xA6 && t[i + 2] <= 0xA9)));
        if (bad) {
            fprintf(stdout, "diagnostic (byte %zu is 0x%02X):\n%s\n", i, c, buf);
            fail("the diagnostic sends a control character to the terminal");
        }
    }
    free(buf);
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
            render_error(src, &err);
            return;
        }
        if ((size_t)tok.span.off + tok.span.len > src->len)
            fail("token span outside the text");
        if (tok.kind == TOK_EOF)
            return;
        if (tok.kind == TOK_NUMBER) {
            check_numfmt(tok.number);
            check_numfmt(-tok.number);
        }
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
    if (size >= 8) {
        double d;
        uint64_t u;
        memcpy(&d, data, 8);
        memcpy(&u, data, 8);
        check_numfmt(d);
        check_numfmt_uint(u);
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
        render_error(&src, &err);
    }
    source_free(&src);
    return 0;
}
