/* flow_cli: `gradviz flow` — runs the vanishing-gradient experiment, prints the lecture's
 * table and writes flow.json, flow.svg, and on request flow.pdf and flow.html (staged, then
 * renamed into place together, so a failed run leaves the old files). The chart is drawn once
 * (flowchart_experiment) and written as SVG, replayed in the PDF (flowpdf) and inlined in the
 * HTML page, so all three show the same picture; the PDF and HTML pages also carry the table
 * of stdout, typeset. */
#define _POSIX_C_SOURCE 200809L
#include "flow_cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "flowchart.h"
#include "flowpdf.h"
#include "outfile.h"
#include "strconv.h"
#include "version.h"

static const char FLOW_USAGE[] =
    "Usage: gradviz flow [--layers N] [--trials N] [--act LIST] [--seed N] [-o DIR] [-f LIST]\n"
    "\n"
    "The vanishing-gradient experiment: for each activation, a chain of N layers whose\n"
    "pre-activations z are drawn from N(0, 1); the gradient starts at 1 and is multiplied by each\n"
    "layer's local derivative (sigmoid'(z) <= 0.25, 1 - tanh^2(z) <= 1, relu: 0 or 1). Prints the\n"
    "mean |gradient| over the trials at about five depths (layers 10, 20, ..., 50 for N = 50), and\n"
    "writes every layer's mean (flow.json) and a chart on a log scale (flow.svg); flow.pdf and\n"
    "flow.html hold the chart and the table, for print and for the browser.\n"
    "\n"
    "Options:\n"
    "      --layers N      layers in the chain, 1-10000 (default 50)\n"
    "      --trials N      random chains per activation, 1-10000000 (default 100);\n"
    "                      layers x trials at most 200000000 (about 20 seconds)\n"
    "      --act LIST      comma list of sigmoid,tanh,relu (default: all three)\n"
    "      --seed N        seed of the generator (default 42); the same seed gives the same table\n"
    "  -o, --out DIR       output directory (default: out/flow/)\n"
    "  -f, --format LIST   comma list of json,svg,pdf,html (default: json,svg)\n"
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

/* Splits a comma list, calling item(name, len, shown, ctx) for each element, shown being the
 * element as a string (its first 60 bytes) for the messages; false stops. */
static bool for_each_item(const char *list, bool (*item)(const char *, size_t, const char *, void *), void *ctx)
{
    const char *p = list;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char shown[64];
        snprintf(shown, sizeof shown, "%.*s", (int)(len < 60 ? len : 60), p);
        if (!item(p, len, shown, ctx))
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

static bool add_act(const char *name, size_t len, const char *shown, void *ctx)
{
    ActList *l = ctx;
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
    bool json, svg, pdf, html;
    int rc;
} FormatList;

static bool add_format(const char *name, size_t len, const char *shown, void *ctx)
{
    FormatList *l = ctx;
    if (len == 4 && memcmp(name, "json", 4) == 0)
        l->json = true;
    else if (len == 3 && memcmp(name, "svg", 3) == 0)
        l->svg = true;
    else if (len == 3 && memcmp(name, "pdf", 3) == 0)
        l->pdf = true;
    else if (len == 4 && memcmp(name, "html", 4) == 0)
        l->html = true;
    else {
        l->rc = usage("unknown format '%s' for gradviz flow (expected json, svg, pdf or html)", shown);
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

/* ---- The table of stdout, for the PDF and HTML pages ---- */


/* 10^lg with five significant digits, as "1.4605 × 10⁻⁷" (exponent in Unicode superscripts;
 * also below the range of doubles), "0" for an exact zero, plain "1.0000" for 10⁰. */
static void sci_text(char out[64], double lg)
{
    double m;
    int k;
    if (!flow_sci_parts(lg, &m, &k)) {
        snprintf(out, 64, "0");
        return;
    }
    char pow10[48];
    flowchart_pow10_label(pow10, k);
    if (k == 0)
        snprintf(out, 64, "%.4f", m);
    else
        snprintf(out, 64, "%.4f × %s", m, pow10);
}

typedef struct Table {
    FlowTable t;
    const char **head, **cells, **notes; /* owned (malloc); the strings are in `arena` */
    Arena arena;                         /* owned */
    bool oom;
} Table;

static const char *table_str(Table *tb, const char *fmt, ...) GV_PRINTF(2, 3);
static const char *table_str(Table *tb, const char *fmt, ...)
{
    char s[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s, sizeof s, fmt, ap);
    va_end(ap);
    char *p = arena_strndup(&tb->arena, s, strlen(s));
    if (!p)
        tb->oom = true;
    return p ? p : "";
}

static bool has_act(const FlowExperiment *x, FlowAct act, uint32_t *index)
{
    for (uint32_t a = 0; a < x->nacts; a++)
        if (x->acts[a] == act) {
            *index = a;
            return true;
        }
    return false;
}

/* The table of stdout as cells: layer, one column per activation, the 0.25ⁿ bound (with
 * sigmoid), the share of relu trials still non-zero (with relu); then the notes. */
static bool table_build(const FlowExperiment *x, Table *tb, Err *err)
{
    uint32_t relu = 0, sig = 0;
    bool has_sig = has_act(x, FLOW_SIGMOID, &sig), has_relu = has_act(x, FLOW_RELU, &relu);
    uint32_t step = flow_table_step(x->layers); /* the rows stdout shows */
    size_t ncols = 1 + x->nacts + has_sig + has_relu, nrows = (x->layers + step - 1) / step;
    tb->head = calloc(ncols, sizeof *tb->head);
    tb->cells = calloc(nrows * ncols, sizeof *tb->cells);
    tb->notes = calloc(4, sizeof *tb->notes);
    if (!tb->head || !tb->cells || !tb->notes)
        return err_set(err, ERR_IO, "out of memory");
    size_t c = 0;
    tb->head[c++] = "layer n";
    for (uint32_t a = 0; a < x->nacts; a++)
        tb->head[c++] = flow_act_name(x->acts[a]);
    if (has_sig)
        tb->head[c++] = "bound 0.25ⁿ";
    if (has_relu)
        tb->head[c++] = "relu non-zero";
    size_t r = 0;
    char num[64];
    for (uint32_t n = step; n < x->layers + step; n += step, r++) {
        uint32_t layer = n > x->layers ? x->layers : n;
        const char **row = tb->cells + r * ncols;
        c = 0;
        row[c++] = table_str(tb, "%u", layer);
        for (uint32_t a = 0; a < x->nacts; a++) {
            sci_text(num, flow_log10_mean(x, a, layer));
            row[c++] = table_str(tb, "%s", num);
        }
        if (has_sig) {
            sci_text(num, layer * log10(0.25));
            row[c++] = table_str(tb, "%s", num);
        }
        if (has_relu)
            row[c++] = table_str(tb, "%u/%u", x->nonzero[(size_t)relu * x->layers + layer - 1], x->trials);
    }
    char factors[160] = "";
    for (uint32_t a = 0; a < x->nacts; a++) {
        size_t used = strlen(factors);
        snprintf(factors + used, sizeof factors - used, "%s %s %.4f", a ? "," : "", flow_act_name(x->acts[a]),
                 flow_act_expected(x->acts[a]));
    }
    size_t nn = 0;
    tb->notes[nn++] = table_str(tb, "Expected factor per layer, E[f′(z)] for z ~ N(0, 1):%s. The layers are "
                                    "independent, so the expected mean after n layers is that factor to the n.", factors);
    if (has_sig)
        tb->notes[nn++] = "σ′(z) ≤ 0.25 for every z: n sigmoid layers keep at most 0.25ⁿ of the gradient.";
    if (has_relu)
        tb->notes[nn++] = "A relu gradient is exactly 1 or exactly 0 (once some z ≤ 0): its mean is the share of "
                          "trials still non-zero, about 0.5ⁿ.";
    tb->t = (FlowTable){.title = table_str(tb, "Mean |gradient| after n layers (%u trial%s, z ~ N(0, 1), seed %llu)",
                                           x->trials, x->trials == 1 ? "" : "s", (unsigned long long)x->seed),
                        .ncols = ncols, .nrows = nrows, .head = tb->head, .cells = tb->cells, .notes = tb->notes,
                        .nnotes = nn};
    return !tb->oom || err_set(err, ERR_IO, "out of memory");
}

static void table_free(Table *tb)
{
    free(tb->head);
    free(tb->cells);
    free(tb->notes);
    arena_free(&tb->arena);
}

/* ---- flow.html: the chart and the table in one small self-contained page ---- */

/* The chart's colours (flowchart.c) mapped onto the page's light and dark palettes; the same
 * mapping as templates/report.css's. */
static const char FLOW_CSS[] =
    ":root{color-scheme:light;--bg:#f6f8fa;--surface:#fff;--fg:#1f2328;--muted:#59636e;--border:#d1d9e0;"
    "--border-strong:#afb8c1;--grid:#e4e4e4;--c-vermillion:#d55e00;--c-blue:#0072b2;--c-green:#009e73}\n"
    "@media (prefers-color-scheme:dark){:root{color-scheme:dark;--bg:#0d1117;--surface:#151b23;--fg:#e6edf3;"
    "--muted:#9198a1;--border:#3d444d;--border-strong:#656c76;--grid:#262c36;--c-vermillion:#ff8f4d;"
    "--c-blue:#5cb3f0;--c-green:#3fcf9f}}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,\"Segoe UI\","
    "\"DejaVu Sans\",Helvetica,Arial,sans-serif;font-variant-numeric:tabular-nums}\n"
    "main{max-width:62rem;margin:0 auto;padding:1.25rem}\n"
    "h1{font-size:1.5rem;margin:0 0 .2rem}h2{font-size:1.1rem;margin:0 0 .6rem}\n"
    ".sub{margin:0 0 1rem;color:var(--muted)}.sub code{font-family:\"DejaVu Sans Mono\",ui-monospace,monospace;"
    "font-size:.92em}\n"
    ".card{background:var(--surface);border:1px solid var(--border);border-radius:10px;padding:1rem;"
    "margin-bottom:1rem;box-shadow:0 1px 2px rgba(31,35,40,.06)}\n"
    ".table-wrap{overflow-x:auto}\n"
    "table{border-collapse:collapse;width:100%;font-size:.95rem}\n"
    "th,td{padding:.35rem .7rem;border-bottom:1px solid var(--border);text-align:right;white-space:nowrap}\n"
    "th{font-size:.8rem;text-transform:uppercase;letter-spacing:.03em;color:var(--muted)}\n"
    "th:first-child{text-align:left}tbody th{font-size:inherit;text-transform:none;letter-spacing:0;"
    "color:var(--fg);font-weight:700}\n"
    ".notes{margin:.8rem 0 0;color:var(--muted);font-size:.9rem}.notes p{margin:.25rem 0}\n"
    "footer{color:var(--muted);font-size:.82rem;text-align:center;padding:0 1rem 1.5rem}\n"
    ".gradviz-flowchart{display:block;max-width:100%;height:auto;margin:0 auto}\n"
    ".gradviz-flowchart [fill=\"#FFFFFF\"]{fill:var(--surface)}\n"
    ".gradviz-flowchart [fill=\"#222222\"]{fill:var(--fg)}.gradviz-flowchart [stroke=\"#222222\"]{stroke:var(--fg)}\n"
    ".gradviz-flowchart [fill=\"#555555\"]{fill:var(--muted)}.gradviz-flowchart [stroke=\"#555555\"]{stroke:var(--muted)}\n"
    ".gradviz-flowchart [stroke=\"#E4E4E4\"]{stroke:var(--grid)}\n"
    ".gradviz-flowchart [stroke=\"#BBBBBB\"]{stroke:var(--border-strong)}\n"
    ".gradviz-flowchart [stroke=\"#D55E00\"]{stroke:var(--c-vermillion)}"
    ".gradviz-flowchart [fill=\"#D55E00\"]{fill:var(--c-vermillion)}\n"
    ".gradviz-flowchart [stroke=\"#0072B2\"]{stroke:var(--c-blue)}.gradviz-flowchart [fill=\"#0072B2\"]{fill:var(--c-blue)}\n"
    ".gradviz-flowchart [stroke=\"#009E73\"]{stroke:var(--c-green)}"
    ".gradviz-flowchart [fill=\"#009E73\"]{fill:var(--c-green)}\n";

static void flow_html(const FlowDrawing *chart, const Table *tb, const char *command, Buf *b)
{
    const FlowTable *t = &tb->t;
    buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                "<meta name=\"generator\" content=\"gradviz " GRADVIZ_VERSION "\">\n"
                "<title>Vanishing gradients · gradviz flow</title>\n<style>\n");
    buf_puts(b, FLOW_CSS);
    buf_puts(b, "</style>\n</head>\n<body>\n<main>\n<h1>Vanishing gradients</h1>\n<p class=\"sub\">How much of the "
                "gradient survives a chain of activations: <code>");
    strconv_put_xml(b, command, false);
    buf_puts(b, "</code></p>\n<section class=\"card\" aria-label=\"Chart\">\n");
    flowchart_svg(chart, b);
    buf_puts(b, "</section>\n<section class=\"card\" aria-labelledby=\"flow-table-h\">\n<h2 id=\"flow-table-h\">");
    strconv_put_xml(b, t->title, false);
    buf_puts(b, "</h2>\n<div class=\"table-wrap\"><table id=\"flow-table\">\n<thead><tr>");
    for (size_t c = 0; c < t->ncols; c++) {
        buf_puts(b, "<th scope=\"col\">");
        strconv_put_xml(b, t->head[c], false);
        buf_puts(b, "</th>");
    }
    buf_puts(b, "</tr></thead>\n<tbody>\n");
    for (size_t r = 0; r < t->nrows; r++) {
        buf_puts(b, "<tr>");
        for (size_t c = 0; c < t->ncols; c++) {
            buf_puts(b, c ? "<td>" : "<th scope=\"row\">");
            strconv_put_xml(b, t->cells[r * t->ncols + c], false);
            buf_puts(b, c ? "</td>" : "</th>");
        }
        buf_puts(b, "</tr>\n");
    }
    buf_puts(b, "</tbody>\n</table></div>\n<div class=\"notes\">\n");
    for (size_t i = 0; i < t->nnotes; i++) {
        buf_puts(b, "<p>");
        strconv_put_xml(b, t->notes[i], false);
        buf_puts(b, "</p>\n");
    }
    buf_puts(b, "</div>\n</section>\n</main>\n<footer>Made with gradviz " GRADVIZ_VERSION
                " · this page is one file and works offline.</footer>\n</body>\n</html>\n");
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
            if (!strconv_parse_uint(optarg, FLOW_MAX_LAYERS, &v) || v == 0)
                return usage("--layers needs a number from 1 to 10000, got '%s'", optarg);
            x.layers = (uint32_t)v;
            break;
        case OPT_TRIALS:
            if (!strconv_parse_uint(optarg, FLOW_MAX_TRIALS, &v) || v == 0)
                return usage("--trials needs a number from 1 to 10000000, got '%s'", optarg);
            x.trials = (uint32_t)v;
            break;
        case OPT_ACT:
            acts = optarg;
            break;
        case OPT_SEED:
            if (!strconv_parse_uint(optarg, UINT64_MAX, &v))
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
    Buf json = {0}, svg = {0}, html = {0};
    FlowDrawing chart = {0};
    Table table = {0};
    char command[200];
    int rc = 0;
    /* the command that makes this run again, for the pages' footers */
    snprintf(command, sizeof command, "gradviz flow --layers %u --trials %u --act ", x.layers, x.trials);
    for (uint32_t a = 0; a < x.nacts; a++) {
        size_t used = strlen(command);
        snprintf(command + used, sizeof command - used, "%s%s", a ? "," : "", flow_act_name(x.acts[a]));
    }
    size_t used = strlen(command);
    snprintf(command + used, sizeof command - used, " --seed %llu", (unsigned long long)x.seed);
    if (!flow_run(&x, &err))
        goto done;
    if (fl.json) {
        flow_experiment_json(&x, &json);
    }
    if (fl.svg || fl.pdf || fl.html) {
        if (!flowchart_experiment(&x, &chart, &err))
            goto done;
    }
    if (fl.svg) {
        buf_puts(&svg, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        flowchart_svg(&chart, &svg);
    }
    if ((fl.pdf || fl.html) && !table_build(&x, &table, &err))
        goto done;
    if (fl.html)
        flow_html(&chart, &table, command, &html);
    if (!outfile_mkdirs(dir, &err))
        goto done;
    if (fl.json && !stage(&out, dir, "json", &json, &err))
        goto done;
    if (fl.svg && !stage(&out, dir, "svg", &svg, &err))
        goto done;
    if (fl.pdf) {
        char *path = outfile_path(dir, "flow", NULL, "pdf");
        FILE *f = path ? outfile_open(&out, path, &err) : NULL;
        bool ok = f && flowpdf_document(&chart, &table.t, "Vanishing gradients", command, f, &err);
        if (f)
            ok = outfile_close(f, path, &err) && ok;
        if (!path)
            err_set(&err, ERR_IO, "out of memory");
        free(path);
        if (!ok)
            goto done;
    }
    if (fl.html && !stage(&out, dir, "html", &html, &err))
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
    buf_free(&html);
    table_free(&table);
    flowchart_drawing_free(&chart);
    flow_experiment_free(&x);
    return rc;
}
