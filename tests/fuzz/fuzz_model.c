/* fuzz_model: libFuzzer target over the whole gradviz pipeline, in memory.
 *
 * The input is a model file. It goes through everything a real run does up to the bytes of
 * the JSON and DOT outputs: parse_model -> ad_run -> ad_check (small graphs) -> the non-finite
 * warnings of main.c -> the Jacobian passes (small graphs: jac_reverse, jac_forward,
 * jac_tangents, jac_via, jac_check) -> tracejson_write with their blocks -> dotgraph_build
 * (final drawing and, for small graphs, one --steps frame) -> agwrite. Nothing is laid out (layout is slow and Graphviz's
 * own code, not ours) and no file is written.
 *
 * Beyond "does not crash", the outputs are checked with independent parsers, so an escaping
 * bug that produces invalid JSON or DOT aborts the run like a crash would:
 *   - the JSON trace must parse with cJSON and hold nnodes nodes, nedges edges, nbwd steps;
 *     every node's value and gradient and every edge's local derivative reads back as exactly
 *     the double computed (null where it is not finite);
 *   - the primary output's row of the reverse-mode Jacobian equals the backward pass's
 *     gradients on the leaves exactly (jac.h promises the same order of summation);
 *   - the DOT text must read back with cgraph's own parser (agmemread) with nnodes nodes and
 *     nedges edges;
 *   - every HTML-like label (graph, nodes, edges) must be well-formed XML in valid UTF-8, as
 *     Graphviz's expat-based HTML label parser requires at layout time: tags nest and close,
 *     attribute values are quoted, every '&' starts an entity. A model string that got into a
 *     label unescaped (the title, a name) breaks this.
 *
 * Built by `make fuzz` with clang -fsanitize=fuzzer,address,undefined over a separate copy of
 * the library (build/fuzz). main.c is included (with `main` renamed) to reach its static
 * warn_nonfinite and model_stem, as the unit tests include the .c files they test. */
#define _POSIX_C_SOURCE 200809L /* open_memstream; main.c defines the same */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* main.c prints warnings to stderr; send them to a sink instead (glibc's stderr is a macro
 * too, so this only redirects the uses in the included file). */
static FILE *fuzz_sink(void);
#undef stderr
#define stderr fuzz_sink()
#define main gradviz_main
int gradviz_main(int argc, char **argv);
#include "../../src/main.c"
#undef main
#undef stderr

#include <cJSON.h>

#include "dotgraph.h"
#include "tracejson.h"

/* Graphs above this many nodes skip the gradient check, the step frame and the DOT re-read:
 * they are quadratic or slow, and the small graphs exercise the same code. */
#define SMALL_GRAPH 300

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *fuzz_sink(void)
{
    static FILE *sink;
    if (!sink)
        sink = fopen("/dev/null", "w");
    return sink;
}

/* Aborts with a message: libFuzzer saves the input as a crash. */
static void fail(const char *what, const char *detail)
{
    fprintf(stdout, "fuzz_model: invariant broken: %s\n", what);
    if (detail)
        fprintf(stdout, "%.2000s\n", detail);
    fflush(stdout);
    abort();
}

static int cjson_array_size(const cJSON *doc, const char *key)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(doc, key);
    return cJSON_IsArray(a) ? cJSON_GetArraySize(a) : -1;
}

/* A JSON number must read back as exactly v; null stands for a non-finite v. */
static void same_number(const cJSON *item, double v, const char *what, const char *doc)
{
    char msg[160];
    if (isfinite(v) ? cJSON_IsNumber(item) && (item->valuedouble == v) : cJSON_IsNull(item))
        return;
    snprintf(msg, sizeof msg, "%s (%.17g) is written as %s", what, v,
             cJSON_IsNumber(item) ? "another number" : cJSON_IsNull(item) ? "null" : "something else");
    fail(msg, doc);
}

static void check_json(const Trace *t, const JacResults *jr)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return;
    Err err = {0};
    bool ok = tracejson_write(t, jr, "fuzz.grad", f, &err);
    fclose(f);
    if (!ok) {
        free(buf);
        return; /* out of memory: not a bug */
    }
    cJSON *doc = cJSON_ParseWithLength(buf, len);
    if (!doc)
        fail("the JSON trace does not parse", buf);
    const Graph *g = t->g;
    if (cjson_array_size(doc, "nodes") != (int)g->nnodes || cjson_array_size(doc, "edges") != (int)g->nedges ||
        cjson_array_size(doc, "backward") != (int)t->nbwd || cjson_array_size(doc, "outputs") != (int)g->noutputs)
        fail("the JSON trace has the wrong number of nodes, edges, steps or outputs", buf);
    const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(doc, "nodes");
    uint32_t i = 0;
    for (const cJSON *n = nodes->child; n; n = n->next, i++) {
        same_number(cJSON_GetObjectItemCaseSensitive(n, "value"), t->value[i], "a node value", buf);
        if (g->nodes[i].kind != NODE_CONST)
            same_number(cJSON_GetObjectItemCaseSensitive(n, "grad"), t->grad[i], "a node gradient", buf);
    }
    const cJSON *edges = cJSON_GetObjectItemCaseSensitive(doc, "edges");
    i = 0;
    for (const cJSON *e = edges->child; e; e = e->next, i++)
        same_number(cJSON_GetObjectItemCaseSensitive(e, "local"), t->local[i], "an edge's local derivative", buf);
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(doc, "model");
    const cJSON *title = cJSON_GetObjectItemCaseSensitive(model, "title");
    if (g->title ? !cJSON_IsString(title) || strcmp(title->valuestring, g->title) != 0 : !cJSON_IsNull(title))
        fail("the JSON title does not read back as the model title", buf);
    cJSON_Delete(doc);
    free(buf);
}

/* Length of the entity at s ("&amp;", "&#39;", "&#x2212;"), or 0 if s is not one. */
static size_t entity_len(const char *s)
{
    size_t i = 1;
    if (s[i] == '#') {
        i++;
        bool hex = s[i] == 'x' || s[i] == 'X';
        i += hex;
        size_t start = i;
        while ((s[i] >= '0' && s[i] <= '9') || (hex && ((s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F'))))
            i++;
        return i > start && s[i] == ';' ? i + 1 : 0;
    }
    size_t start = i;
    while ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9'))
        i++;
    return i > start && s[i] == ';' ? i + 1 : 0;
}

static bool is_name_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
}

/* NULL if html is a well-formed XML fragment (the subset Graphviz's HTML labels use), else
 * what is wrong. */
static const char *html_problem(const char *html)
{
    const char *stack[64];
    size_t stack_len[64];
    int depth = 0;
    size_t n = strlen(html);
    if (utf8_valid_prefix((const unsigned char *)html, n) != n)
        return "invalid UTF-8";
    for (const char *p = html; *p;) {
        if (*p == '&') {
            size_t k = entity_len(p);
            if (!k)
                return "'&' that does not start an entity";
            p += k;
        } else if (*p == '<') {
            bool closing = p[1] == '/';
            const char *name = p + 1 + closing;
            size_t len = 0;
            while (is_name_char(name[len]))
                len++;
            if (!len)
                return "'<' that does not start a tag";
            p = name + len;
            if (closing) {
                if (depth == 0 || stack_len[depth - 1] != len || memcmp(stack[depth - 1], name, len) != 0)
                    return "closing tag that does not match the open one";
                depth--;
                if (*p != '>')
                    return "closing tag without '>'";
                p++;
                continue;
            }
            for (;;) { /* attributes */
                while (*p == ' ')
                    p++;
                if (*p == '>' || (p[0] == '/' && p[1] == '>'))
                    break;
                size_t al = 0;
                while (is_name_char(p[al]))
                    al++;
                if (!al || p[al] != '=' || p[al + 1] != '"')
                    return "malformed attribute";
                p += al + 2;
                while (*p && *p != '"') {
                    if (*p == '<')
                        return "'<' inside an attribute value";
                    if (*p == '&') {
                        size_t k = entity_len(p);
                        if (!k)
                            return "'&' in an attribute value that does not start an entity";
                        p += k;
                    } else {
                        p++;
                    }
                }
                if (*p != '"')
                    return "unterminated attribute value";
                p++;
            }
            if (*p == '/') {
                p += 2; /* self-closing: <br/> */
                continue;
            }
            if (depth == 64)
                return "tags nested too deep";
            stack[depth] = name;
            stack_len[depth++] = len;
            p++;
        } else {
            p++;
        }
    }
    return depth ? "unclosed tag" : NULL;
}

static void check_label(void *obj, const char *what)
{
    char *label = agget(obj, (char *)"label");
    if (!label || !aghtmlstr(label))
        return;
    const char *problem = html_problem(label);
    if (problem) {
        char msg[160];
        snprintf(msg, sizeof msg, "the HTML-like label of a %s is not well-formed: %s", what, problem);
        fail(msg, label);
    }
}

static void check_labels(Agraph_t *ag)
{
    check_label(ag, "graph");
    for (Agnode_t *n = agfstnode(ag); n; n = agnxtnode(ag, n)) {
        check_label(n, "node");
        for (Agedge_t *e = agfstout(ag, n); e; e = agnxtout(ag, e))
            check_label(e, "edge");
    }
}

/* The Jacobian passes of issue 5 on a small graph; fills *jr for the JSON writer. */
typedef struct JacState {
    Jacobian rev, fwd;
    TangentSweep tan;
    ViaResult via;
    JacCheck check;
    uint32_t *leaves;
} JacState;

static void jac_run(const Trace *t, JacState *js, JacResults *jr)
{
    const Graph *g = t->g;
    Err err = {0};
    *jr = (JacResults){.mode = SWEEP_BOTH};
    if (!jac_reverse(t, &js->rev, &err))
        return;
    jr->jac = &js->rev;
    /* the primary's row is the backward pass's gradient, summed in the same order */
    for (uint32_t j = 0; j < js->rev.ncols; j++) {
        double a = jac_at(&js->rev, 0, j), b = t->grad[js->rev.cols[j]];
        if (!(a == b || (isnan(a) && isnan(b))))
            fail("the reverse-mode Jacobian's primary row differs from the backward pass", NULL);
    }
    Err ferr = {0};
    if (jac_forward(t, &js->fwd, &ferr)) {
        jr->jac_fwd = &js->fwd;
        jr->fwd_max_abs_diff = 0;
    }
    uint32_t nleaves = jac_leaves(g, NULL, 0);
    if (nleaves) {
        js->leaves = malloc(nleaves * sizeof *js->leaves);
        if (js->leaves) {
            jac_leaves(g, js->leaves, nleaves);
            Err terr = {0}, verr = {0};
            if (jac_tangents(t, js->leaves[0], &js->tan, &terr))
                jr->tangents = &js->tan;
            /* every leaf-to-output path starts at a leaf: the leaves always form a cut */
            if (jac_via(t, js->leaves, nleaves, &js->via, &verr))
                jr->via = &js->via;
            else if (verr.kind != ERR_IO)
                fail("jac_via rejected the cut of all inputs and params", verr.msg);
        }
    }
    Err cerr = {0};
    if (jac_check(t, &js->rev, 1e5, &js->check, &cerr))
        jr->jcheck = &js->check;
}

static void jac_done(JacState *js)
{
    jac_free(&js->rev);
    jac_free(&js->fwd);
    jac_tangents_free(&js->tan);
    jac_via_free(&js->via);
    jac_check_free(&js->check);
    free(js->leaves);
}

static void check_dot(const Trace *t, uint32_t frame, bool tb, bool anchors, int precision, bool reread)
{
    DotOpts o = {.precision = precision, .rankdir_tb = tb, .frame = frame, .cell_anchors = anchors};
    Err err = {0};
    Agraph_t *ag = dotgraph_build(t, &o, &err);
    if (!ag)
        return;
    if (reread)
        check_labels(ag);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        dotgraph_free(ag);
        return;
    }
    int rc = agwrite(ag, f);
    fclose(f);
    dotgraph_free(ag);
    if (rc != 0) {
        free(buf);
        return;
    }
    if (reread) {
        Agraph_t *back = agmemread(buf);
        if (!back)
            fail("the DOT output does not parse back with cgraph", buf);
        if ((uint32_t)agnnodes(back) != t->g->nnodes || (uint32_t)agnedges(back) != t->g->nedges)
            fail("the DOT output reads back with a different number of nodes or edges", buf);
        agclose(back);
    }
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* lex_check_source rejects anything above LEX_MAX_FILE; libFuzzer inputs are far smaller */
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
    Err err = {0};
    Graph *g = parse_model(&src, &err);
    if (!g) {
        if (err_ok(&err))
            fail("parse_model failed without an error", NULL);
        err_write(fuzz_sink(), &src, &err); /* the caret snippet of a located error */
        source_free(&src);
        return 0;
    }
    if (g->noutputs == 0)
        fail("parse_model returned a graph without an output", NULL);
    Trace *t = ad_run(g, &src, &err);
    if (!t) {
        graph_free(g);
        source_free(&src);
        return 0;
    }
    /* vary the drawing options with the input so all of them get covered */
    int precision = 1 + (int)(size % 17);
    bool tb = size & 1, anchors = size & 2;
    bool small = g->nnodes <= SMALL_GRAPH;
    if (small) {
        Err cerr = {0};
        ad_check(t, 1e5, &cerr);
    }
    if (t->nonfinite)
        warn_nonfinite(t, &src, precision);
    if (g->title) {
        char *stem = model_stem(g->title);
        free(stem);
    }
    JacState js = {0};
    JacResults jr = {0};
    if (small)
        jac_run(t, &js, &jr);
    check_json(t, small ? &jr : NULL);
    jac_done(&js);
    check_dot(t, UINT32_MAX, tb, anchors, precision, small);
    if (small && t->nbwd > 0)
        check_dot(t, (uint32_t)(size % t->nbwd), !tb, !anchors, precision, true);
    trace_free(t);
    graph_free(g);
    source_free(&src);
    return 0;
}
