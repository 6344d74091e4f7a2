/* fuzz_model: libFuzzer target over the whole gradviz pipeline, in memory.
 *
 * The input is a model file. It goes through everything a real run does up to the bytes of
 * the JSON and DOT outputs: parse_model -> ad_run -> ad_check (small graphs) -> the non-finite
 * warnings of main.c -> tracejson_write -> dotgraph_build (final drawing and, for small
 * graphs, one --steps frame) -> agwrite. Nothing is laid out (layout is slow and Graphviz's
 * own code, not ours) and no file is written.
 *
 * Beyond "does not crash", the outputs are checked with independent parsers, so an escaping
 * bug that produces invalid JSON or DOT aborts the run like a crash would:
 *   - the JSON trace must parse with cJSON and hold nnodes nodes, nedges edges, nbwd steps;
 *   - the DOT text must read back with cgraph's own parser (agmemread) with nnodes nodes and
 *     nedges edges.
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

static void check_json(const Trace *t)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return;
    Err err = {0};
    bool ok = tracejson_write(t, "fuzz.grad", f, &err);
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
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(doc, "model");
    const cJSON *title = cJSON_GetObjectItemCaseSensitive(model, "title");
    if (g->title ? !cJSON_IsString(title) || strcmp(title->valuestring, g->title) != 0 : !cJSON_IsNull(title))
        fail("the JSON title does not read back as the model title", buf);
    cJSON_Delete(doc);
    free(buf);
}

static void check_dot(const Trace *t, uint32_t frame, bool tb, bool anchors, int precision, bool reread)
{
    DotOpts o = {.precision = precision, .rankdir_tb = tb, .frame = frame, .cell_anchors = anchors};
    Err err = {0};
    Agraph_t *ag = dotgraph_build(t, &o, &err);
    if (!ag)
        return;
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
    check_json(t);
    check_dot(t, UINT32_MAX, tb, anchors, precision, small);
    if (small && t->nbwd > 0)
        check_dot(t, (uint32_t)(size % t->nbwd), !tb, !anchors, precision, true);
    trace_free(t);
    graph_free(g);
    source_free(&src);
    return 0;
}
