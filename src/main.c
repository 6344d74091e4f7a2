/* main: the command line. The only file that sees every module and the only one that prints:
 * it reads the model, parses it, applies --set, runs the passes, reports warnings, runs the
 * emitters into staged files and commits them all at once. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>
#include <graphviz/graphviz_version.h>

#include "ad.h"
#include "dotgraph.h"
#include "emit.h"
#include "frames.h"
#include "fmt.h"
#include "flow_cli.h"
#include "gen.h"
#include "jac.h"
#include "lex.h"
#include "parse.h"
#include "strconv.h"
#include "tracejson.h"
#include "version.h"

/* warnings about non-finite numbers printed before summarising the rest */
#define MAX_WARNINGS 20
/* Time budget (seconds) of the mode comparison in a run without -v. jac_compare runs every
 * sweep when they fit and extrapolates from a sample otherwise; its full budget
 * (JAC_COMPARE_BUDGET, the issue's ~10 s) is for -v, where the comparison is printed. With
 * 0.5 s a 1,000,000-node model spends about 0.3-1 s on it (measured; samples of a few sweeps
 * each) and a lecture model about 60 ms (jac_compare repeats tiny sweeps for 20 ms per mode
 * so the clock can resolve them). */
#define COMPARE_BUDGET_QUIET 0.5
/* Work (sweeps × (nodes + edges)) of the Jacobian a run computes without being asked for it
 * (no --mode both, --via, or --check with several outputs): about 4 s at ~10 ns per unit.
 * Above it the jacobian block is skipped with a note; asked for, JAC_MAX_WORK applies. */
#define JAC_UNASKED_WORK 4e8
/* Largest matrix -v prints as a table */
#define MAX_PRINTED_COLS 8
#define MAX_PRINTED_ROWS 16

typedef struct SetOpt {
    const char *name;
    double value;
} SetOpt;

typedef struct Opts {
    const char *model;
    const char *out_dir;
    const char *formats;   /* NULL: the default list */
    bool steps, check, quiet, verbose;
    SetOpt *sets; size_t nsets, sets_cap;
    int precision;
    bool rankdir_tb;
    const char *paper;
    const char *template_dir;
    SweepMode mode;        /* --mode, default reverse */
    const char *wrt;       /* --wrt NAME or NULL (the first input) */
    const char *via;       /* --via NAMES or NULL */
    bool reproducible;     /* --reproducible or SOURCE_DATE_EPOCH set: the outputs are a function
                            * of the input alone (the mode comparison is counted, not timed) */
} Opts;

static const char USAGE[] =
    "Usage: gradviz [options] MODEL.grad\n"
    "       gradviz gen mlp SIZES [--act tanh|relu|sigmoid] [--init uniform|xavier|he|normal] [--seed N]\n"
    "       gradviz gen chain N [--act tanh|relu|sigmoid] [--seed N]\n"
    "\n"
    "Builds the computational graph of MODEL.grad, runs the forward and backward passes and\n"
    "writes the annotated graph (values, local derivatives, gradients) in several formats.\n"
    "\n"
    "Options:\n"
    "  -o, --out DIR         output directory (default: out/<model file stem>/)\n"
    "  -f, --format LIST     comma list of dot,svg,png,pdf,json,html (default: %s)\n"
    "      --steps           also write one frame per backward step (<stem>-stepNN .dot/.svg/.png, PDF\n"
    "                        pages) and, with --mode forward|both, per forward-mode step (<stem>-fwdNN)\n"
    "      --check           numeric gradient check by central differences (of the whole Jacobian\n"
    "                        when there are several outputs); exit 4 if over tolerance\n"
    "      --set NAME=VALUE  override a leaf's value (repeatable)\n"
    "      --precision N     significant digits in labels, 1-17 (default 4)\n"
    "      --rankdir LR|TB   graph direction (default LR)\n"
    "      --paper a4|letter PDF paper size (default a4)\n"
    "      --template DIR    HTML report templates (default: built in)\n"
    "      --mode M          reverse, forward or both: how the Jacobian of all outputs w.r.t.\n"
    "                        all inputs and params is computed (default reverse); forward and\n"
    "                        both also trace the forward-mode tangents of one input (--wrt)\n"
    "      --wrt NAME        the input or param of the forward-mode sweep (default: the first input)\n"
    "      --via NAMES       comma list of nodes that cut every input from every output: also\n"
    "                        compute J_f (outputs w.r.t. the cut), J_g (cut w.r.t. the inputs)\n"
    "                        and check J_f · J_g = J_h\n"
    "      --reproducible    byte-identical outputs for identical input: the reverse/forward mode\n"
    "                        comparison keeps its sweep and operation counts but is not timed (no\n"
    "                        seconds, no time ratio); also set by SOURCE_DATE_EPOCH\n"
    "  -q, --quiet           print errors only\n"
    "  -v, --verbose         print what is written, the gradient check table, the Jacobian and\n"
    "                        the reverse/forward mode comparison (measured with a 10 s budget)\n"
    "  -h, --help            show this help\n"
    "      --version         show the version\n"
    "\n"
    "Environment:\n"
    "  SOURCE_DATE_EPOCH     when set (seconds since 1970, the reproducible-builds convention), as\n"
    "                        --reproducible; gradviz writes no date, so the value is only checked\n"
    "\n"
    "Exit status: 0 success, 1 model error, 2 usage error, 3 I/O error, 4 gradient check failed.\n";

/* The default format list: every format whose emitter exists. */
static void default_formats(char *out, size_t cap)
{
    static const char *const order[] = {"dot", "pdf", "json", "html"};
    out[0] = '\0';
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        const Emitter *em = emit_find(order[i], strlen(order[i]));
        if (em && em->write) {
            if (out[0])
                strncat(out, ",", cap - strlen(out) - 1);
            strncat(out, order[i], cap - strlen(out) - 1);
        }
    }
}

static int usage_error(const char *fmt, ...) GV_PRINTF(1, 2);
static int usage_error(const char *fmt, ...)
{
    fputs("gradviz: error: ", stderr);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'gradviz --help' for more information.\n", stderr);
    return ERR_USAGE;
}

/* Reports the option getopt_long just rejected ('?') as a usage error. optopt tells the cases
 * apart: 0 for an unknown long option (named by argv[optind - 1]); one of our own options for
 * a long option given a value it does not take (--steps=1); any other character for an
 * unknown short option, named by optopt because argv[optind - 1] may be an earlier argument
 * when it sits inside a cluster such as -zq. */
static int option_error(char **argv, const char *shortopts)
{
    if (optopt == 0)
        return usage_error("unknown option '%s'", argv[optind - 1]);
    if (optopt >= 256 || strchr(shortopts, optopt))
        return usage_error("option '%s' does not take a value", argv[optind - 1]);
    char opt[3] = {'-', (char)optopt, '\0'};
    return usage_error("unknown option '%s'", opt);
}

/* Parses a whole string as a number (strtod syntax, so also inf and nan, which let a user
 * see how a non-finite leaf spreads). A finite number too large for a double is refused, as
 * the model language refuses it, rather than silently becoming infinity. */
static bool parse_double(const char *s, double *v)
{
    if (!*s || isspace((unsigned char)*s))
        return false;
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return *end == '\0' && !(errno == ERANGE && isinf(*v));
}

/* ---- gen ---- */

static int run_gen(int argc, char **argv)
{
    if (argc < 3)
        return usage_error("%s", "gen needs a kind: 'gen mlp SIZES' or 'gen chain N'");
    const char *kind = argv[1];
    if (strcmp(kind, "mlp") != 0 && strcmp(kind, "chain") != 0)
        return usage_error("unknown generator '%s' (expected mlp or chain)", kind);
    const char *shape = NULL;
    GenAct act = strcmp(kind, "mlp") == 0 ? GEN_TANH : GEN_SIGMOID;
    GenInit init = GEN_INIT_UNIFORM;
    bool init_given = false;
    unsigned long long seed = 1;
    static const struct option longopts[] = {
        {"act", required_argument, NULL, 'a'},
        {"init", required_argument, NULL, 'i'},
        {"seed", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 2;
    opterr = 0; /* we print our own messages, in our format */
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'a':
            if (!gen_parse_act(optarg, &act))
                return usage_error("unknown activation '%s' (expected tanh, relu or sigmoid)", optarg);
            break;
        case 'i':
            if (!gen_parse_init(optarg, &init))
                return usage_error("unknown initialisation '%s' (expected uniform, xavier, he or normal)", optarg);
            init_given = true;
            break;
        case 's':
            if (!strconv_parse_uint(optarg, UINT64_MAX, &seed))
                return usage_error("--seed needs a non-negative integer, got '%s'", optarg);
            break;
        case 'h': {
            char deflist[64];
            default_formats(deflist, sizeof deflist);
            printf(USAGE, deflist);
            return 0;
        }
        case ':':
            return usage_error("option '%s' needs a value", argv[optind - 1]);
        default:
            return option_error(argv, "h");
        }
    }
    if (optind != argc - 1)
        return usage_error("%s", optind < argc ? "gen takes one shape argument" : "gen needs a shape argument");
    shape = argv[optind];
    /* A closed pipe (gen ... | head) is a normal end, not an error: see EPIPE below. */
    signal(SIGPIPE, SIG_IGN);
    bool ok;
    if (strcmp(kind, "chain") == 0) {
        if (init_given)
            return usage_error("%s", "--init is for gen mlp; gen chain draws weights from N(0, 1)");
        /* a chain has 1 + 5·N nodes (the input; w_k, b_k, ×, +, act per layer) */
        const unsigned long long max_layers = (GRAPH_MAX_NODES - 1) / 5;
        unsigned long long n;
        if (!strconv_parse_uint(shape, max_layers, &n) || n == 0)
            return usage_error("gen chain needs a layer count from 1 to %llu, got '%s'", max_layers, shape);
        ok = gen_chain(stdout, (uint32_t)n, act, seed);
    } else {
        uint32_t sizes[64];
        size_t n = 0;
        const char *p = shape;
        for (;;) {
            char *end;
            errno = 0;
            unsigned long v = strtoul(p, &end, 10);
            if (end == p || *p == '-' || *p == '+' || errno || v == 0 || v > 1000000 || n == 64 ||
                (*end != ',' && *end != '\0'))
                return usage_error("gen mlp needs layer sizes like 2,3,1 (each 1 to 1000000, at most 64 layers), got '%s'",
                                   shape);
            sizes[n++] = (uint32_t)v;
            if (*end == '\0')
                break;
            p = end + 1;
        }
        if (n < 2)
            return usage_error("gen mlp needs at least two sizes (inputs and outputs), got '%s'", shape);
        if (gen_mlp_nodes(sizes, n) > GRAPH_MAX_NODES)
            return usage_error("gen mlp %s would have more nodes than a model may hold", shape);
        ok = gen_mlp_init(stdout, sizes, n, act, init, seed);
    }
    ok = fflush(stdout) == 0 && ok;
    if (!ok) {
        if (errno == EPIPE) { /* the reader has all it wanted; main must not report it again */
            clearerr(stdout);
            return 0;
        }
        fprintf(stderr, "gradviz: error: writing the model failed: %s\n", strerror(errno));
        return ERR_IO;
    }
    return 0;
}

/* ---- reading the model ---- */

static bool read_model(const char *path, Source *src, Err *err)
{
    src->path = path;
    bool is_stdin = strcmp(path, "-") == 0;
    if (is_stdin)
        src->path = "<stdin>";
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f)
        return err_set(err, ERR_IO, "cannot read '%s': %s", path, strerror(errno));
    struct stat st;
    bool have_st = fstat(fileno(f), &st) == 0;
    if (have_st && S_ISDIR(st.st_mode)) {
        if (!is_stdin)
            fclose(f);
        return err_set(err, ERR_IO, "cannot read '%s': it is a directory", path);
    }
    /* A regular file over the limit is refused from its size, before any of it is read; a pipe
     * is read up to one byte past the limit, which is enough for the lexer to refuse it. */
    if (!is_stdin && have_st && S_ISREG(st.st_mode) && (uintmax_t)st.st_size > LEX_MAX_FILE) {
        fclose(f);
        return err_set(err, ERR_MODEL, "the model file is larger than %u MiB", LEX_MAX_FILE >> 20);
    }
    size_t cap = 0, len = 0;
    char *text = NULL;
    for (;;) {
        if (!vec_reserve((void **)&text, &cap, len + 65536 + 1, 1)) {
            free(text);
            if (!is_stdin)
                fclose(f);
            return err_set(err, ERR_IO, "out of memory reading '%s'", path);
        }
        size_t want = cap - len - 1;
        if (want > (size_t)LEX_MAX_FILE + 1 - len)
            want = (size_t)LEX_MAX_FILE + 1 - len;
        size_t n = fread(text + len, 1, want, f);
        len += n;
        if (n == 0 || len > LEX_MAX_FILE)
            break;
    }
    bool bad = ferror(f);
    int e = errno;
    if (!is_stdin)
        fclose(f);
    if (bad) {
        free(text);
        return err_set(err, ERR_IO, "cannot read '%s': %s", path, strerror(e));
    }
    text[len] = '\0';
    src->text = text;
    src->len = len;
    if (!source_index_lines(src))
        return err_set(err, ERR_IO, "out of memory");
    return true;
}

/* The output stem: the model's file name without directories and without its extension
 * (".grad", or whatever the file is called: model.txt gives model), with anything outside
 * [A-Za-z0-9_.-] replaced so the outputs stay inside the output directory. A leading dot is
 * not an extension (.hidden stays .hidden, then becomes _.hidden). */
static char *model_stem(const char *path)
{
    if (strcmp(path, "-") == 0)
        path = "stdin";
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    const char *dot = strrchr(base, '.');
    if (dot && dot > base)
        n = (size_t)(dot - base);
    if (n > 200)
        n = 200;
    char *s = malloc(n + 2);
    if (!s)
        return NULL;
    size_t o = 0;
    if (n == 0 || base[0] == '.')
        s[o++] = '_';
    for (size_t i = 0; i < n; i++) {
        char c = base[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                  c == '-' || c == '.';
        s[o++] = ok ? c : '_';
    }
    s[o] = '\0';
    return s;
}

/* ---- warnings ---- */

/* Reports where non-finite numbers start: a node whose value is non-finite while its operands
 * are finite, and a node whose gradient is non-finite while its consumers' are finite. */
static void warn_nonfinite(const Trace *t, const Source *src, int precision)
{
    const Graph *g = t->g;
    uint32_t shown = 0, more = 0;
    for (uint32_t i = 0; i < g->nnodes; i++) {
        const Node *n = &g->nodes[i];
        bool origin_v = !isfinite(t->value[i]), origin_g = false;
        for (int k = 0; origin_v && k < n->nedges; k++)
            origin_v = isfinite(t->value[g->edges[n->in_first + k].from]);
        if (n->kind != NODE_CONST && !isfinite(t->grad[i]) && isfinite(t->value[i])) {
            origin_g = true;
            for (uint32_t k = g->out_first[i]; k < g->out_first[i + 1]; k++) {
                uint32_t to = g->edges[g->out_edges[k]].to;
                if (t->reach[to] && !isfinite(t->grad[to]))
                    origin_g = false;
            }
        }
        if (!origin_v && !origin_g)
            continue;
        if (shown >= MAX_WARNINGS) {
            more++;
            continue;
        }
        shown++;
        Buf nm = {0}, msg = {0};
        fmt_node_name(&nm, g, i, precision);
        char num[FMT_NUM_MAX];
        if (origin_v)
            buf_printf(&msg, "node '%s' has a non-finite value (%s)", nm.data, fmt_num_ascii(num, t->value[i], 17));
        else
            buf_printf(&msg, "the gradient of node '%s' is non-finite (%s)", nm.data,
                       fmt_num_ascii(num, t->grad[i], 17));
        diag_write(stderr, src, "warning", true, n->span, msg.data, NULL);
        buf_free(&nm);
        buf_free(&msg);
    }
    if (more) {
        char msg[64];
        snprintf(msg, sizeof msg, "%u more nodes with non-finite numbers", more);
        diag_write(stderr, src, "warning", false, (Span){0}, msg, NULL);
    }
}

/* ---- the main run ---- */

static bool apply_sets(Graph *g, const Opts *o, Err *err)
{
    for (size_t i = 0; i < o->nsets; i++) {
        uint32_t id = graph_lookup(g, o->sets[i].name, strlen(o->sets[i].name));
        if (id == UINT32_MAX)
            return err_set(err, ERR_USAGE, "--set: the model has no leaf named '%s'", o->sets[i].name);
        if (g->nodes[id].kind == NODE_OP)
            return err_set(err, ERR_USAGE, "--set: '%s' is computed, not a leaf (input, param or const)",
                           o->sets[i].name);
        g->nodes[id].init = o->sets[i].value;
    }
    return true;
}

/* v for printf: a NaN with its sign bit set prints as "-nan", which means nothing to a reader */
static double shown(double v) { return isnan(v) ? fabs(v) : v; }

static void print_check(const Trace *t, bool verbose)
{
    const Check *c = t->check;
    if (verbose) {
        printf("%-16s %14s %14s %10s %10s\n", "leaf", "analytic", "numeric", "abs err", "rel err");
        for (uint32_t i = 0; i < c->nentries; i++) {
            const CheckEntry *e = &c->entries[i];
            printf("%-16s %14.6g %14.6g %10.2e %10.2e %s\n", t->g->nodes[e->node].name, shown(e->analytic),
                   shown(e->numeric), shown(e->abs_error), shown(e->rel_error), e->passed ? "ok" : "FAIL");
        }
    }
    printf("gradient check: %u leaves, max relative error %.3g, max absolute error %.3g: %s\n", c->nentries,
           shown(c->max_rel_error), shown(c->max_abs_error), c->passed ? "passed" : "FAILED");
}

/* ---- Jacobians, forward mode and the mode comparison (issue 5) ---- */

/* Everything the jac pass computed for one run. Owned here; lent to the emitters as `res`,
 * whose pointers point into this struct (or are NULL for what was not computed). */
typedef struct JacRun {
    Jacobian jac, jac_fwd;
    ViaResult via;
    ModeStats modes;
    TangentSweep tangents;
    JacCheck check;
    uint32_t *cut;     /* --via, owned */
    size_t ncut;
    uint32_t wrt;      /* the leaf of the forward-mode sweep, or UINT32_MAX */
    JacResults res;
} JacRun;

static void jacrun_free(JacRun *r)
{
    jac_free(&r->jac);
    jac_free(&r->jac_fwd);
    jac_via_free(&r->via);
    jac_tangents_free(&r->tangents);
    jac_check_free(&r->check);
    free(r->cut);
}

static const char *const MODE_NAME[] = {"reverse", "forward", "both"};

/* Resolves --via and --wrt against the graph, before any pass runs. */
static bool jac_resolve(const Graph *g, const Opts *o, JacRun *r, Err *err)
{
    r->wrt = UINT32_MAX;
    if (o->via && !jac_parse_names(g, o->via, "--via", &r->cut, &r->ncut, err))
        return false;
    if (o->mode == SWEEP_REVERSE)
        return true;
    if (o->wrt) {
        r->wrt = jac_find_leaf(g, o->wrt, "--wrt", err);
        return r->wrt != UINT32_MAX;
    }
    /* the first input, else the first param */
    for (int pass = 0; pass < 2 && r->wrt == UINT32_MAX; pass++)
        for (uint32_t i = 0; i < g->nnodes && r->wrt == UINT32_MAX; i++)
            if (g->nodes[i].kind == (pass == 0 ? NODE_INPUT : NODE_PARAM))
                r->wrt = i;
    if (r->wrt == UINT32_MAX)
        return err_set(err, ERR_USAGE, "--mode %s: the model has no input or param to take forward-mode tangents for",
                       MODE_NAME[o->mode]);
    return true;
}

/* Max |a - b| over two Jacobians of one shape; entries equal (the same infinity) or both NaN
 * agree; NaN when only one of a pair is NaN. */
static double jac_max_abs_diff(const Jacobian *a, const Jacobian *b)
{
    double m = 0;
    size_t n = (size_t)a->nrows * a->ncols;
    for (size_t k = 0; k < n; k++) {
        double x = a->d[k], y = b->d[k];
        if (x == y || (isnan(x) && isnan(y)))
            continue;
        double d = fabs(x - y);
        if (isnan(d))
            return NAN;
        m = fmax(m, d);
    }
    return m;
}

/* Runs the jac pass after ad_run: the Jacobian (by --mode), the cut factorisation (--via), the
 * tangent sweep (--mode forward|both), the Jacobian check (--check with several outputs) and,
 * when `compare`, the mode comparison. A Jacobian nobody asked for (no --mode both, --via or
 * --check with several outputs) that is over the size or work limits is skipped with a note. */
static bool jac_compute(const Trace *t, const Opts *o, bool compare, JacRun *r, Err *err)
{
    const Graph *g = t->g;
    JacResults *res = &r->res;
    res->mode = o->mode;
    bool asked = o->mode == SWEEP_BOTH || r->cut || (o->check && g->noutputs > 1);
    bool fwd = o->mode == SWEEP_FORWARD;
    double sweeps = fwd ? jac_leaves(g, NULL, 0) : g->noutputs;
    double per = (double)g->nnodes + g->nedges;
    Err jerr = {0};
    bool ok;
    if (!asked && sweeps * per > JAC_UNASKED_WORK)
        ok = err_set(&jerr, ERR_USAGE,
                     "%s mode would need %.0f sweeps over %.3g nodes and edges (%.3g in all; unasked, gradviz "
                     "computes up to %.3g)",
                     MODE_NAME[o->mode], sweeps, per, sweeps * per, JAC_UNASKED_WORK);
    else
        ok = fwd ? jac_forward(t, &r->jac, &jerr) : jac_reverse(t, &r->jac, &jerr);
    if (ok && o->mode == SWEEP_BOTH)
        ok = jac_forward(t, &r->jac_fwd, &jerr);
    if (!ok) {
        if (asked || jerr.kind != ERR_USAGE) {
            *err = jerr;
            return false;
        }
        jac_free(&r->jac);
        if (!o->quiet)
            fprintf(stderr, "gradviz: note: no jacobian block: %s\n", jerr.msg);
    } else {
        res->jac = &r->jac;
        if (o->mode == SWEEP_BOTH) {
            res->jac_fwd = &r->jac_fwd;
            res->fwd_max_abs_diff = jac_max_abs_diff(&r->jac, &r->jac_fwd);
        }
    }
    if (r->cut) {
        if (!jac_via(t, r->cut, r->ncut, &r->via, err))
            return false;
        res->via = &r->via;
    }
    if (r->wrt != UINT32_MAX) {
        if (!jac_tangents(t, r->wrt, &r->tangents, err))
            return false;
        res->tangents = &r->tangents;
    }
    if (o->check && g->noutputs > 1 && res->jac) {
        if (!jac_check(t, res->jac, 0, &r->check, err))
            return false;
        res->jcheck = &r->check;
    }
    if (compare) {
        /* --reproducible: the counts only; the clock is never read, and the ~60 ms of timing
         * repetitions a lecture model costs are not spent */
        if (o->reproducible ? !jac_compare_counts(t, &r->modes, err)
                            : !jac_compare(t, o->verbose ? 0 : COMPARE_BUDGET_QUIET, &r->modes, err))
            return false;
        res->modes = &r->modes;
    }
    return true;
}

/* A node's name for a printed table: its name, else "#id". */
static const char *label_of(const Graph *g, uint32_t id, char buf[16])
{
    if (g->nodes[id].name)
        return g->nodes[id].name;
    snprintf(buf, 16, "#%u", id);
    return buf;
}

static void print_matrix(const char *title, const Graph *g, const uint32_t *rows, uint32_t nrows,
                         const uint32_t *cols, uint32_t ncols, const double *d)
{
    if (nrows > MAX_PRINTED_ROWS || ncols > MAX_PRINTED_COLS) {
        printf("%s: %u × %u, too large to print (see the JSON trace)\n", title, nrows, ncols);
        return;
    }
    char b[16];
    printf("%s:\n  %-12s", title, "");
    for (uint32_t j = 0; j < ncols; j++)
        printf(" %13.13s", label_of(g, cols[j], b));
    putchar('\n');
    for (uint32_t i = 0; i < nrows; i++) {
        printf("  %-12.12s", label_of(g, rows[i], b));
        for (uint32_t j = 0; j < ncols; j++)
            printf(" %13.6g", shown(d[(size_t)i * ncols + j]));
        putchar('\n');
    }
}

static void print_jac_check(const Trace *t, const JacRun *r, bool verbose)
{
    const Jacobian *J = r->res.jac;
    const JacCheck *c = &r->check;
    const Graph *g = t->g;
    char b1[16], b2[16];
    size_t n = (size_t)J->nrows * J->ncols;
    if (verbose && n <= (size_t)MAX_PRINTED_ROWS * MAX_PRINTED_COLS) {
        printf("%-24s %14s %14s %10s %10s\n", "entry", "analytic", "numeric", "abs err", "rel err");
        for (uint32_t i = 0; i < J->nrows; i++)
            for (uint32_t j = 0; j < J->ncols; j++) {
                JacCheckEntry en = jac_check_entry(J, c, i, j);
                char entry[64];
                snprintf(entry, sizeof entry, "∂%s/∂%s", label_of(g, J->rows[i], b1), label_of(g, J->cols[j], b2));
                printf("%-28s %14.6g %14.6g %10.2e %10.2e %s\n", entry, shown(en.analytic), shown(en.numeric),
                       shown(en.abs_error), shown(en.rel_error), en.passed ? "ok" : "FAIL");
            }
    }
    printf("Jacobian check: %u outputs × %u input%s and params, max relative error %.3g, max absolute error %.3g: %s",
           J->nrows, J->ncols, J->ncols == 1 ? "" : "s", shown(c->max_rel_error), shown(c->max_abs_error),
           c->passed ? "passed" : "FAILED");
    if (!c->passed)
        printf(" (%u entries; worst ∂%s/∂%s)", c->nfailed, label_of(g, J->rows[c->worst_row], b1),
               label_of(g, J->cols[c->worst_col], b2));
    putchar('\n');
}

/* "1 sweep", "1000 sweeps" */
static const char *plural(uint64_t n) { return n == 1 ? "" : "s"; }

/* The mode comparison as a table: per task the sweeps of each mode and their measured time,
 * or, without timings (--reproducible), their multiply-adds; then the lecture's demonstration
 * (many inputs, one output). */
static void print_modes(const ModeStats *s)
{
    static const char *const what[MODE_NTASKS] = {"Jacobian", "gradient w.r.t. inputs", "gradient w.r.t. all"};
    if (s->timed) {
        printf("mode comparison (budget %g s; ~ marks times extrapolated from a sample of the sweeps):\n", s->budget);
        printf("  %-24s %-11s %-22s %-30s %s\n", "task", "size", "reverse mode", "forward mode", "fwd/rev");
    } else {
        printf("mode comparison (timings omitted for reproducible output: --reproducible or SOURCE_DATE_EPOCH;\n"
               "  ~ marks counts extrapolated from a sample):\n");
        printf("  %-24s %-11s %-30s %-30s %s\n", "task", "size", "reverse mode", "forward mode",
               "fwd/rev multiply-adds");
    }
    for (int k = 0; k < MODE_NTASKS; k++) {
        const ModeTask *m = &s->task[k];
        const ModeCost *rc = &m->reverse, *fc = &m->forward;
        char size[32], rev[64], fwd[64], ratio[32];
        snprintf(size, sizeof size, "%u×%u", m->nrows, m->ncols);
        const char *rt = rc->estimated ? "~" : "", *ft = s->timed && fc->estimated ? "~" : "";
        double rq = s->timed ? rc->seconds : rc->edges, fq = s->timed ? fc->seconds : fc->edges;
        const char *unit = s->timed ? "%llu sweep%s, %s%.3g s" : "%llu sweep%s, %s%.0f multiply-adds";
        snprintf(rev, sizeof rev, unit, (unsigned long long)rc->sweeps, plural(rc->sweeps), rt, rq);
        snprintf(fwd, sizeof fwd, unit, (unsigned long long)fc->sweeps, plural(fc->sweeps), ft, fq);
        if (rq > 0)
            snprintf(ratio, sizeof ratio, "%s%.3g×", rc->estimated || (s->timed && fc->estimated) ? "~" : "",
                     s->timed ? m->ratio : fq / rq);
        else
            snprintf(ratio, sizeof ratio, "-");
        /* "×" is two bytes and one column */
        printf(s->timed ? "  %-24s %-12s %-22s %-30s %s\n" : "  %-24s %-12s %-30s %-30s %s\n", what[k], size, rev,
               fwd, ratio);
    }
    const ModeTask *gi = &s->task[MODE_GRAD_INPUTS];
    if (s->noutputs != 1 || s->ninputs <= 1)
        return;
    printf("reverse mode: %llu sweep%s; forward mode: %llu sweeps (w.r.t. the %u inputs)",
           (unsigned long long)gi->reverse.sweeps, plural(gi->reverse.sweeps),
           (unsigned long long)gi->forward.sweeps, s->ninputs);
    if (s->timed && gi->reverse.seconds > 0)
        printf(gi->ratio < 10 ? " — measured ratio ~%.2g×" : " — measured ratio ~%.0f×", gi->ratio);
    if (s->timed && gi->forward.estimated)
        printf(" (forward mode timed on %llu of the %llu sweeps and extrapolated: all of them would take ~%.3g s)",
               (unsigned long long)gi->forward.timed, (unsigned long long)gi->forward.sweeps, gi->forward.seconds);
    putchar('\n');
}

/* What the jac pass prints after the outputs are written: the mode agreement and the cut
 * (unless -q), the Jacobian and the comparison (-v), the Jacobian check (--check). */
static void print_jac(const Trace *t, const JacRun *r, const Opts *o)
{
    const JacResults *res = &r->res;
    const Graph *g = t->g;
    if (o->verbose && res->jac) {
        char title[64];
        snprintf(title, sizeof title, "Jacobian (%s mode)", o->mode == SWEEP_FORWARD ? "forward" : "reverse");
        print_matrix(title, g, res->jac->rows, res->jac->nrows, res->jac->cols, res->jac->ncols, res->jac->d);
    }
    if (res->jac_fwd && !o->quiet)
        printf("reverse and forward mode Jacobians (%u × %u): max |difference| %.3g\n", res->jac->nrows,
               res->jac->ncols, res->fwd_max_abs_diff);
    if (res->via && (!o->quiet || !res->via->agree)) {
        const ViaResult *v = res->via;
        if (o->verbose) {
            print_matrix("J_f (outputs w.r.t. the cut, partials)", g, v->f.rows, v->f.nrows, v->f.cols, v->f.ncols, v->f.d);
            print_matrix("J_g (the cut w.r.t. inputs and params)", g, v->g.rows, v->g.nrows, v->g.cols, v->g.ncols, v->g.d);
            print_matrix("J_f · J_g", g, v->prod.rows, v->prod.nrows, v->prod.cols, v->prod.ncols, v->prod.d);
        }
        printf("J_f · J_g through the cut %s: %s J_h (max absolute difference %.3g, relative %.3g)\n", o->via,
               v->agree ? "equals" : "DIFFERS FROM", v->max_abs_diff, v->max_rel_diff);
    }
    if (res->tangents && o->verbose) {
        char b[16];
        printf("forward mode: the tangents w.r.t. %s reach %u op nodes (forward_mode in the JSON trace)\n",
               label_of(g, res->tangents->leaf, b), res->tangents->nsteps);
    }
    if (res->modes && o->verbose)
        print_modes(res->modes);
    if (res->jcheck && (!o->quiet || !res->jcheck->passed))
        print_jac_check(t, r, o->verbose || !res->jcheck->passed);
}

/* Refuses to let an output replace the model file itself. */
static bool check_not_model(const OutSet *set, const char *model, Err *err)
{
    struct stat ms, os;
    if (strcmp(model, "-") == 0 || stat(model, &ms) != 0)
        return true;
    for (size_t i = 0; i < set->n; i++)
        if (stat(set->files[i].path, &os) == 0 && os.st_dev == ms.st_dev && os.st_ino == ms.st_ino)
            return err_set(err, ERR_USAGE, "refusing to overwrite the model file '%s' with an output", model);
    return true;
}

static int run_model(const Opts *o)
{
    GVC_t *gvc = NULL; /* created on first need; see EmitOpts.gvc */
    Err err = {0};
    Source src = {0};
    Graph *g = NULL;
    Trace *t = NULL;
    OutSet out = {0};
    JacRun jr = {0};
    char *stem = NULL, *dir = NULL, *upath = NULL;
    char deflist[64];
    const Emitter *chosen[16];
    bool explicit_fmt[16];
    size_t nchosen = 0;
    int rc = 0;

    /* formats first: a usage error should not wait for a big model to parse */
    default_formats(deflist, sizeof deflist);
    const char *list = o->formats ? o->formats : deflist;
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const Emitter *em = emit_find(p, len);
        if (!em) {
            err_set(&err, ERR_USAGE, "unknown format '%.*s' (expected dot, svg, png, pdf, json or html)", (int)len, p);
            goto done;
        }
        if (!em->write) {
            err_set(&err, ERR_USAGE, "the %s format is not available in this version of gradviz", em->name);
            goto done;
        }
        bool dup = false;
        for (size_t i = 0; i < nchosen; i++)
            dup = dup || chosen[i] == em;
        if (!dup && nchosen < 16) {
            explicit_fmt[nchosen] = o->formats != NULL;
            chosen[nchosen++] = em;
        }
        p += len + (comma ? 1 : 0);
    }
    if (nchosen == 0) {
        err_set(&err, ERR_USAGE, "no output format given");
        goto done;
    }

    outfile_catch_signals(&out);
    if (!read_model(o->model, &src, &err))
        goto done;
    /* the path titles the drawing and is model.source in the trace: both must be UTF-8 */
    upath = utf8_repair(src.path);
    if (upath)
        src.path = upath;
    g = parse_model(&src, &err);
    if (!g || !apply_sets(g, o, &err) || !jac_resolve(g, o, &jr, &err))
        goto done;
    t = ad_run(g, &src, &err);
    if (!t)
        goto done;
    if (t->nonfinite && !o->quiet)
        warn_nonfinite(t, &src, o->precision);
    if (o->check && !ad_check(t, 0, &err))
        goto done;
    /* the mode comparison goes into the JSON trace (which the HTML report embeds), the PDF's
     * Jacobian page and the -v table; a run writing none of them does not spend its time */
    bool compare = o->verbose;
    for (size_t i = 0; i < nchosen; i++)
        compare = compare || strcmp(chosen[i]->name, "json") == 0 || strcmp(chosen[i]->name, "html") == 0 ||
                  strcmp(chosen[i]->name, "pdf") == 0;
    if (!jac_compute(t, o, compare, &jr, &err))
        goto done;

    stem = model_stem(o->model);
    if (!stem) {
        err_set(&err, ERR_IO, "out of memory");
        goto done;
    }
    if (o->out_dir) {
        dir = strdup(o->out_dir);
    } else {
        dir = malloc(strlen(stem) + 5);
        if (dir)
            sprintf(dir, "out/%s", stem);
    }
    if (!dir) {
        err_set(&err, ERR_IO, "out of memory");
        goto done;
    }
    if (o->steps) {
        /* the frames --steps would write, per kind: backward steps, forward-mode steps */
        uint32_t nb = dotgraph_frame_count(t, &jr.res, false), nf = dotgraph_frame_count(t, &jr.res, true);
        if (nb > FRAMES_MAX || nf > FRAMES_MAX) {
            err_set(&err, ERR_USAGE, "--steps would write %u frames; it is meant for models of up to %u steps",
                    nb > nf ? nb : nf, FRAMES_MAX);
            goto done;
        }
    }
    EmitOpts eo = {.precision = o->precision, .rankdir_tb = o->rankdir_tb, .steps = o->steps, .paper = o->paper,
                   .template_dir = o->template_dir, .model_path = src.path,
                   .stem = stem, .verbose = o->verbose, .jac = &jr.res};
    if (!outfile_mkdirs(dir, &err))
        goto done;
    for (size_t i = 0; i < nchosen; i++) {
        const Emitter *em = chosen[i];
        if (em->needs_layout && g->nnodes > EMIT_LAYOUT_MAX_NODES) {
            if (explicit_fmt[i]) {
                err_set(&err, ERR_USAGE,
                        "the %s format needs a Graphviz layout, which is limited to %u nodes; this model has %u "
                        "(dot and json work at any size)",
                        em->name, EMIT_LAYOUT_MAX_NODES, g->nnodes);
                goto done;
            }
            if (!o->quiet)
                fprintf(stderr, "gradviz: note: skipping %s: the model has %u nodes, more than the %u a layout accepts\n",
                        em->name, g->nnodes, EMIT_LAYOUT_MAX_NODES);
            continue;
        }
        char why[256];
        if (em->needs_layout && !dotgraph_layout_ok(t, why, sizeof why)) {
            if (explicit_fmt[i]) {
                err_set(&err, ERR_USAGE,
                        "the %s format needs a Graphviz layout, and this model is too dense for one: %s "
                        "(dot and json work at any size)",
                        em->name, why);
                goto done;
            }
            if (!o->quiet)
                fprintf(stderr, "gradviz: note: skipping %s: %s\n", em->name, why);
            continue;
        }
        if (em->needs_layout && !gvc && !(gvc = gvContext())) {
            err_set(&err, ERR_IO, "Graphviz could not start");
            goto done;
        }
        eo.gvc = gvc;
        if (!em->write(t, &eo, &out, dir, &err))
            goto done;
    }
    if (!check_not_model(&out, o->model, &err) || !outfile_commit(&out, &err))
        goto done;
    if (o->verbose)
        for (size_t i = 0; i < out.n; i++)
            fprintf(stderr, "wrote %s\n", out.files[i].path);
    else if (!o->quiet)
        fprintf(stderr, "gradviz: wrote %zu file%s to %s/\n", out.n, out.n == 1 ? "" : "s", dir);
    if (t->check) {
        if (!o->quiet || !t->check->passed)
            print_check(t, o->verbose || !t->check->passed);
        if (!t->check->passed)
            rc = ERR_CHECK;
    }
    print_jac(t, &jr, o);
    if (jr.res.jcheck && !jr.res.jcheck->passed)
        rc = ERR_CHECK;
done:
    outfile_discard(&out);
    outfile_catch_signals(NULL);
    if (gvc)
        gvFreeContext(gvc);
    if (!err_ok(&err)) {
        err_write(stderr, &src, &err);
        if (err.kind == ERR_USAGE)
            fputs("Try 'gradviz --help' for more information.\n", stderr);
        rc = err.kind;
    }
    jacrun_free(&jr);
    trace_free(t);
    graph_free(g);
    source_free(&src);
    free(upath);
    free(stem);
    free(dir);
    return rc;
}

/* The reproducible-builds convention (reproducible-builds.org/specs/source-date-epoch): a
 * SOURCE_DATE_EPOCH in the environment asks for output that depends on the input alone, so it
 * sets *reproducible like --reproducible. gradviz writes no date or time stamp, so the value
 * itself is only checked: a decimal count of seconds up to the end of year 9999 (as clang
 * accepts it); anything else is a usage error, as the convention asks. Empty counts as unset. */
static bool source_date_epoch(bool *reproducible)
{
    const char *v = getenv("SOURCE_DATE_EPOCH");
    unsigned long long secs;
    if (!v || !*v)
        return true;
    if (!strconv_parse_uint(v, 253402300799ULL, &secs)) { /* digits only, up to the year 9999 */
        char shown[41]; /* the value as typed, control and non-ASCII bytes as '?' */
        size_t n = 0;
        for (; v[n] && n < sizeof shown - 1; n++)
            shown[n] = (unsigned char)v[n] >= 0x20 && (unsigned char)v[n] < 0x7f ? v[n] : '?';
        shown[n] = '\0';
        usage_error("SOURCE_DATE_EPOCH must be a number of seconds since 1970-01-01 (a non-negative integer), got '%s%s'",
                    shown, v[n] ? "..." : "");
        return false;
    }
    *reproducible = true;
    return true;
}

static int run_cli(int argc, char **argv);

/* Whatever went to stdout (--help, --version, -v and --check tables, gen) must have arrived:
 * a full disk or a closed descriptor is an I/O error, not a silent success. A closed pipe
 * (gradviz ... | head) is a normal end. */
int main(int argc, char **argv)
{
    int rc = run_cli(argc, argv);
    if (rc != 0) /* an error already reported (gen and flow report their own write errors) */
        return rc;
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        int e = errno;
        if (e == EPIPE)
            return 0;
        fprintf(stderr, "gradviz: error: writing to standard output failed: %s\n", e ? strerror(e) : "write error");
        return ERR_IO;
    }
    return 0;
}

static int run_cli(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "gen") == 0)
        return run_gen(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "flow") == 0)
        return flow_main(argc - 1, argv + 1);

    Opts o = {.precision = 4, .paper = "a4"};
    enum {
        OPT_STEPS = 256, OPT_CHECK, OPT_SET, OPT_PRECISION, OPT_RANKDIR, OPT_VERSION, OPT_PAPER, OPT_TEMPLATE,
        OPT_MODE, OPT_WRT, OPT_VIA, OPT_REPRODUCIBLE
    };
    static const struct option longopts[] = {
        {"out", required_argument, NULL, 'o'},
        {"format", required_argument, NULL, 'f'},
        {"steps", no_argument, NULL, OPT_STEPS},
        {"check", no_argument, NULL, OPT_CHECK},
        {"set", required_argument, NULL, OPT_SET},
        {"precision", required_argument, NULL, OPT_PRECISION},
        {"rankdir", required_argument, NULL, OPT_RANKDIR},
        {"paper", required_argument, NULL, OPT_PAPER},
        {"template", required_argument, NULL, OPT_TEMPLATE},
        {"mode", required_argument, NULL, OPT_MODE},
        {"wrt", required_argument, NULL, OPT_WRT},
        {"via", required_argument, NULL, OPT_VIA},
        {"reproducible", no_argument, NULL, OPT_REPRODUCIBLE},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    int c, rc = 0;
    opterr = 0; /* we print our own messages */
    while ((c = getopt_long(argc, argv, ":o:f:qvh", longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            if (!*optarg) {
                rc = usage_error("%s", "-o needs a directory name, got an empty one");
                goto out;
            }
            o.out_dir = optarg;
            break;
        case 'f': o.formats = optarg; break;
        case OPT_STEPS: o.steps = true; break;
        case OPT_CHECK: o.check = true; break;
        case OPT_SET: {
            const char *eq = strchr(optarg, '=');
            double v;
            if (!eq || eq == optarg || !parse_double(eq + 1, &v)) {
                rc = usage_error("--set needs NAME=VALUE with a number, got '%s'", optarg);
                goto out;
            }
            if (!vec_reserve((void **)&o.sets, &o.sets_cap, o.nsets + 1, sizeof *o.sets)) {
                fputs("gradviz: error: out of memory\n", stderr);
                rc = ERR_IO;
                goto out;
            }
            optarg[eq - optarg] = '\0'; /* NAME ends at '=' */
            o.sets[o.nsets++] = (SetOpt){optarg, v};
            break;
        }
        case OPT_PRECISION: {
            unsigned long long p;
            if (!strconv_parse_uint(optarg, 17, &p) || p < 1) {
                rc = usage_error("--precision needs a number of digits from 1 to 17, got '%s'", optarg);
                goto out;
            }
            o.precision = (int)p;
            break;
        }
        case OPT_RANKDIR:
            if (strcmp(optarg, "LR") != 0 && strcmp(optarg, "TB") != 0) {
                rc = usage_error("--rankdir needs LR or TB, got '%s'", optarg);
                goto out;
            }
            o.rankdir_tb = optarg[0] == 'T';
            break;
        case OPT_PAPER:
            if (strcmp(optarg, "a4") != 0 && strcmp(optarg, "letter") != 0) {
                rc = usage_error("--paper needs a4 or letter, got '%s'", optarg);
                goto out;
            }
            o.paper = optarg;
            break;
        case OPT_TEMPLATE:
            if (!*optarg) {
                rc = usage_error("%s", "--template needs a directory name, got an empty one");
                goto out;
            }
            o.template_dir = optarg;
            break;
        case OPT_MODE:
            if (strcmp(optarg, "reverse") == 0)
                o.mode = SWEEP_REVERSE;
            else if (strcmp(optarg, "forward") == 0)
                o.mode = SWEEP_FORWARD;
            else if (strcmp(optarg, "both") == 0)
                o.mode = SWEEP_BOTH;
            else {
                rc = usage_error("--mode needs reverse, forward or both, got '%s'", optarg);
                goto out;
            }
            break;
        case OPT_WRT: o.wrt = optarg; break;
        case OPT_VIA: o.via = optarg; break;
        case OPT_REPRODUCIBLE: o.reproducible = true; break;
        case 'q': o.quiet = true; break;
        case 'v': o.verbose = true; break;
        case 'h': {
            char deflist[64];
            default_formats(deflist, sizeof deflist);
            printf(USAGE, deflist);
            goto out;
        }
        case OPT_VERSION:
            printf("gradviz %s (Graphviz %s, cJSON %s)\n", GRADVIZ_VERSION, PACKAGE_VERSION, cJSON_Version());
            goto out;
        case ':':
            rc = usage_error("option '%s' needs a value", argv[optind - 1]);
            goto out;
        default:
            rc = option_error(argv, "oqvfh");
            goto out;
        }
    }
    if (optind >= argc) {
        rc = usage_error("%s", "no model file given");
        goto out;
    }
    if (optind < argc - 1) {
        rc = usage_error("more than one model file given ('%s')", argv[optind + 1]);
        goto out;
    }
    if (o.quiet && o.verbose)
        o.verbose = false;
    if (o.wrt && o.mode == SWEEP_REVERSE) {
        rc = usage_error("--wrt %s picks the input of the forward-mode sweep: add --mode forward or --mode both",
                         o.wrt);
        goto out;
    }
    if (!source_date_epoch(&o.reproducible)) {
        rc = ERR_USAGE;
        goto out;
    }
    o.model = argv[optind];
    rc = run_model(&o);
out:
    free(o.sets);
    return rc;
}
