/* flow_cli: `gradviz flow` — runs the vanishing-gradient experiment, prints the lecture's
 * table and writes flow.json and flow.svg (staged, then renamed into place together, so a
 * failed run leaves the old files). pdf and html join the format list when their emitters can
 * draw the chart. */
#define _POSIX_C_SOURCE 200809L
#include "flow_cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "flowchart.h"
#include "outfile.h"

static const char FLOW_USAGE[] =
    "Usage: gradviz flow [--layers N] [--trials N] [--act LIST] [--seed N] [-o DIR] [-f LIST]\n"
    "\n"
    "The vanishing-gradient experiment: for each activation, a chain of N layers whose\n"
    "pre-activations z are drawn from N(0, 1); the gradient starts at 1 and is multiplied by each\n"
    "layer's local derivative (sigmoid'(z) <= 0.25, 1 - tanh^2(z) <= 1, relu: 0 or 1). Prints the\n"
    "mean |gradient| over the trials at about five depths (layers 10, 20, ..., 50 for N = 50), and\n"
    "writes every layer's mean (flow.json) and a chart on a log scale (flow.svg).\n"
    "\n"
    "Options:\n"
    "      --layers N      layers in the chain, 1-10000 (default 50)\n"
    "      --trials N      random chains per activation, 1-10000000 (default 100);\n"
    "                      layers x trials at most 200000000 (about 20 seconds)\n"
    "      --act LIST      comma list of sigmoid,tanh,relu (default: all three)\n"
    "      --seed N        seed of the generator (default 42); the same seed gives the same table\n"
    "  -o, --out DIR       output directory (default: out/flow/)\n"
    "  -f, --format LIST   comma list of json,svg (default: json,svg)\n"
    "  -q, --quiet         do not report the files written\n"
    "  -h, --help          show this help\n"
    "\n"
    "Exit status: 0 success, 2 usage error, 3 I/O error.\n";

static int usage(const char *fmt, const char *arg)
{
    fputs("gradviz: error: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\nTry 'gradviz flow --help' for more information.\n", stderr);
    return ERR_USAGE;
}

static bool parse_u64(const char *s, unsigned long long max, unsigned long long *v)
{
    if (!*s || *s == '-' || *s == '+' || *s == ' ')
        return false;
    char *end;
    errno = 0;
    *v = strtoull(s, &end, 10);
    return *end == '\0' && errno == 0 && *v <= max;
}

/* Splits a comma list, calling item(name, len) for each element; false stops. */
static bool for_each_item(const char *list, bool (*item)(const char *, size_t, void *), void *ctx)
{
    const char *p = list;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (!item(p, len, ctx))
            return false;
        if (!comma)
            return true;
        p = comma + 1;
    }
}

typedef struct ActList {
    FlowExperiment *x;
    int rc;
} ActList;

static bool add_act(const char *name, size_t len, void *ctx)
{
    ActList *l = ctx;
    char shown[64];
    snprintf(shown, sizeof shown, "%.*s", (int)(len < 60 ? len : 60), name);
    FlowAct a;
    if (!flow_act_parse(name, len, &a)) {
        l->rc = usage("unknown activation '%s' (expected sigmoid, tanh or relu)", shown);
        return false;
    }
    for (uint32_t i = 0; i < l->x->nacts; i++)
        if (l->x->acts[i] == a) {
            l->rc = usage("activation '%s' is listed twice", shown);
            return false;
        }
    l->x->acts[l->x->nacts++] = a;
    return true;
}

typedef struct FormatList {
    bool json, svg;
    int rc;
} FormatList;

static bool add_format(const char *name, size_t len, void *ctx)
{
    FormatList *l = ctx;
    char shown[64];
    snprintf(shown, sizeof shown, "%.*s", (int)(len < 60 ? len : 60), name);
    if (len == 4 && memcmp(name, "json", 4) == 0)
        l->json = true;
    else if (len == 3 && memcmp(name, "svg", 3) == 0)
        l->svg = true;
    else if ((len == 3 && memcmp(name, "pdf", 3) == 0) || (len == 4 && memcmp(name, "html", 4) == 0)) {
        l->rc = usage("gradviz flow cannot write %s yet (available: json, svg)", shown);
        return false;
    } else {
        l->rc = usage("unknown format '%s' for gradviz flow (expected json or svg)", shown);
        return false;
    }
    return true;
}

/* Stages dir/flow.<ext> with the bytes of b. */
static bool stage(OutSet *out, const char *dir, const char *ext, const Buf *b, Err *err)
{
    if (b->oom)
        return err_set(err, ERR_IO, "out of memory");
    char *path = outfile_path(dir, "flow", NULL, ext);
    if (!path)
        return err_set(err, ERR_IO, "out of memory");
    bool ok = outfile_write_all(out, path, b->data ? b->data : "", b->len, err);
    free(path);
    return ok;
}

int flow_main(int argc, char **argv)
{
    enum { OPT_LAYERS = 256, OPT_TRIALS, OPT_ACT, OPT_SEED };
    static const struct option longopts[] = {
        {"layers", required_argument, NULL, OPT_LAYERS},
        {"trials", required_argument, NULL, OPT_TRIALS},
        {"act", required_argument, NULL, OPT_ACT},
        {"seed", required_argument, NULL, OPT_SEED},
        {"out", required_argument, NULL, 'o'},
        {"format", required_argument, NULL, 'f'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    FlowExperiment x = {.layers = 50, .trials = 100, .seed = 42};
    const char *acts = "sigmoid,tanh,relu", *formats = "json,svg", *dir = "out/flow";
    bool quiet = false;
    unsigned long long v;
    optind = 1;
    opterr = 0; /* we print our own messages, in our format */
    int c;
    while ((c = getopt_long(argc, argv, ":o:f:qh", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_LAYERS:
            if (!parse_u64(optarg, FLOW_MAX_LAYERS, &v) || v == 0)
                return usage("--layers needs a number from 1 to 10000, got '%s'", optarg);
            x.layers = (uint32_t)v;
            break;
        case OPT_TRIALS:
            if (!parse_u64(optarg, FLOW_MAX_TRIALS, &v) || v == 0)
                return usage("--trials needs a number from 1 to 10000000, got '%s'", optarg);
            x.trials = (uint32_t)v;
            break;
        case OPT_ACT:
            acts = optarg;
            break;
        case OPT_SEED:
            if (!parse_u64(optarg, UINT64_MAX, &v))
                return usage("--seed needs a non-negative integer, got '%s'", optarg);
            x.seed = v;
            break;
        case 'o':
            if (!*optarg)
                return usage("%s", "-o needs a directory name, got an empty one");
            dir = optarg;
            break;
        case 'f':
            formats = optarg;
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            fputs(FLOW_USAGE, stdout);
            return 0;
        case ':':
            return usage("option '%s' needs a value", argv[optind - 1]);
        default:
            if (optopt == 0)
                return usage("unknown option '%s'", argv[optind - 1]);
            if (optopt >= 256 || strchr("qh", optopt))
                return usage("option '%s' does not take a value", argv[optind - 1]);
            char opt[3] = {'-', (char)optopt, '\0'};
            return usage("unknown option '%s'", opt);
        }
    }
    if (optind < argc)
        return usage("gradviz flow takes no arguments besides options, got '%s'", argv[optind]);
    ActList al = {&x, 0};
    if (!for_each_item(acts, add_act, &al))
        return al.rc;
    FormatList fl = {0};
    if (!for_each_item(formats, add_format, &fl))
        return fl.rc;
    if ((uint64_t)x.layers * x.trials > FLOW_MAX_WORK) {
        char msg[160];
        snprintf(msg, sizeof msg, "--layers × --trials is %llu, more than the %llu random draws one run may take",
                 (unsigned long long)x.layers * x.trials, (unsigned long long)FLOW_MAX_WORK);
        return usage("%s", msg);
    }

    Err err = {0};
    OutSet out = {0};
    Buf json = {0}, svg = {0};
    FlowDrawing chart = {0};
    int rc = 0;
    if (!flow_run(&x, &err))
        goto done;
    if (fl.json) {
        flow_experiment_json(&x, &json);
    }
    if (fl.svg) {
        if (!flowchart_experiment(&x, &chart, &err))
            goto done;
        buf_puts(&svg, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        flowchart_svg(&chart, &svg);
    }
    if (!outfile_mkdirs(dir, &err))
        goto done;
    if (fl.json && !stage(&out, dir, "json", &json, &err))
        goto done;
    if (fl.svg && !stage(&out, dir, "svg", &svg, &err))
        goto done;
    if (!outfile_commit(&out, &err))
        goto done;
    flow_write_table(&x, stdout);
    if (fflush(stdout) != 0) {
        err_set(&err, ERR_IO, "writing the table failed: %s", strerror(errno));
        goto done;
    }
    if (!quiet)
        fprintf(stderr, "gradviz: wrote %zu file%s to %s/\n", out.n, out.n == 1 ? "" : "s", dir);
done:
    outfile_discard(&out);
    if (!err_ok(&err)) {
        err_write(stderr, NULL, &err);
        rc = err.kind;
    }
    buf_free(&json);
    buf_free(&svg);
    flowchart_drawing_free(&chart);
    flow_experiment_free(&x);
    return rc;
}
