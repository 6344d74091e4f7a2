/* emit_html: the interactive HTML report (issue 4), one self-contained file that steps through
 * the backward pass offline. The page is a viewer of the public JSON trace: it embeds the very
 * document `-f json` writes (tracejson_write), Graphviz's own SVG of the drawing (dotgraph, with
 * label-cell ids, and with the run's Jacobian results as `-f svg` draws them: tangent cells and
 * the Jacobian table), the model's source lines, and the DOT and JSON files as download links; and
 * the gradient-by-depth chart (flow_profile + flowchart_profile, the chart the PDF replays).
 *
 * The front-end lives in templates/report.{html,css,js}, embedded at build time
 * (build/gen/templates.h, made by templates/embed.sh) or read from --template DIR. report.html's
 * placeholders `{{NAME}}` are filled by name in one pass (inserted text is never rescanned);
 * templates/README.md lists them with the escaping each needs, which is done here: every string
 * from the model is HTML-escaped in text and attributes, and `<` is written as \u003c in JSON
 * inside <script>, so neither a title nor a comment can close an element. */
#define _POSIX_C_SOURCE 200809L
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dotgraph.h"
#include "emit.h"
#include "flow.h"
#include "flowchart.h"
#include "fmt.h"
#include "tracejson.h"
#include "version.h"

#include "templates.h" /* generated: tpl_report_html[], tpl_report_css[], tpl_report_js[] */

/* A --template file larger than this is refused: the built-in page is ~80 KB. */
#define TEMPLATE_MAX_BYTES (16u << 20)

typedef struct Text {
    const char *data;
    size_t len;
    char *owned; /* owned (malloc) when read from --template DIR, else NULL */
} Text;

/* Everything the placeholders need, prepared before the output file is opened. */
typedef struct Page {
    Text html, css, js;
    const char *title; /* borrowed: the model title or the file stem */
    int precision;
    char *svg;  size_t svg_len;  /* owned (gvRenderData via dotgraph_render) */
    char *json; size_t json_len; /* owned (open_memstream): the trace, as -f json writes it */
    char *dot;  size_t dot_len;  /* owned (open_memstream): the DOT file, as -f dot writes it */
    Buf flow;                    /* owned: the <svg> of the gradient-by-depth chart */
    const Source *src;           /* borrowed: the model text */
} Page;

/* ---- templates ---- */

static Text builtin(const unsigned char *data, size_t size)
{
    return (Text){.data = (const char *)data, .len = size - 1}; /* embed.sh adds a NUL */
}

static bool read_template(const char *dir, const char *name, Text *out, Err *err)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *path = malloc(n);
    if (!path)
        return err_set(err, ERR_IO, "out of memory");
    snprintf(path, n, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    bool ok = f != NULL;
    if (!ok)
        err_set(err, ERR_IO, "cannot read HTML template '%s': %s", path, strerror(errno));
    char *data = NULL;
    size_t len = 0, cap = 0;
    while (ok) {
        if (len == cap) {
            cap = cap ? cap * 2 : 64u << 10;
            char *p = cap <= TEMPLATE_MAX_BYTES ? realloc(data, cap + 1) : NULL;
            if (!p) {
                ok = cap <= TEMPLATE_MAX_BYTES
                         ? err_set(err, ERR_IO, "out of memory")
                         : err_set(err, ERR_IO, "HTML template '%s' is larger than %u MB", path,
                                   TEMPLATE_MAX_BYTES >> 20);
                break;
            }
            data = p;
        }
        size_t got = fread(data + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f))
                ok = err_set(err, ERR_IO, "cannot read HTML template '%s': %s", path, strerror(errno));
            break;
        }
    }
    if (f)
        fclose(f);
    if (ok) {
        data[len] = '\0';
        *out = (Text){.data = data, .len = len, .owned = data};
    } else {
        free(data);
    }
    free(path);
    return ok;
}

/* true if s[0..n) contains needle, ASCII case-insensitively (needle lower-case). */
static bool contains_ci(const char *s, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++) {
        size_t j = 0;
        while (j < k && (s[i + j] | (s[i + j] >= 'A' && s[i + j] <= 'Z' ? 0x20 : 0)) == needle[j])
            j++;
        if (j == k)
            return true;
    }
    return false;
}

/* The CSS and JS are inlined verbatim, so they must not end their element early. */
static bool check_inlined(const Page *p, const char *where, Err *err)
{
    if (contains_ci(p->css.data, p->css.len, "</style"))
        return err_set(err, ERR_IO, "HTML template %sreport.css contains '</style', which would end the page's <style> early",
                       where);
    if (contains_ci(p->js.data, p->js.len, "</script"))
        return err_set(err, ERR_IO, "HTML template %sreport.js contains '</script', which would end the page's <script> early",
                       where);
    if (contains_ci(p->js.data, p->js.len, "<!--"))
        return err_set(err, ERR_IO, "HTML template %sreport.js contains '<!--', which changes how the page's <script> is parsed",
                       where);
    return true;
}

static bool load_templates(Page *p, const char *dir, Err *err)
{
    if (!dir) {
        p->html = builtin(tpl_report_html, sizeof tpl_report_html);
        p->css = builtin(tpl_report_css, sizeof tpl_report_css);
        p->js = builtin(tpl_report_js, sizeof tpl_report_js);
        return check_inlined(p, "(built in) ", err);
    }
    if (!read_template(dir, "report.html", &p->html, err) || !read_template(dir, "report.css", &p->css, err) ||
        !read_template(dir, "report.js", &p->js, err))
        return false;
    char where[64];
    snprintf(where, sizeof where, "%.50s/", dir);
    return check_inlined(p, where, err);
}

/* ---- the embedded documents ---- */

static bool render_svg(const Trace *t, const EmitOpts *o, Page *p, Err *err)
{
    DotOpts d = {.precision = o->precision, .rankdir_tb = o->rankdir_tb, .frame = UINT32_MAX, .cell_anchors = true,
                 .jac = o->jac};
    assert(o->gvc); /* the caller's one context (needs_layout) */
    Agraph_t *g = dotgraph_build(t, &d, err);
    if (!g)
        return false;
    bool ok = dotgraph_render(o->gvc, g, "svg", &p->svg, &p->svg_len, err);
    dotgraph_free(g);
    return ok;
}

/* The DOT file of the download link: the graph `-f dot` writes (no cell anchors, no layout). */
static bool write_dot(const Trace *t, const EmitOpts *o, Page *p, Err *err)
{
    DotOpts d = {.precision = o->precision, .rankdir_tb = o->rankdir_tb, .frame = UINT32_MAX, .jac = o->jac};
    Agraph_t *g = dotgraph_build(t, &d, err);
    if (!g)
        return false;
    FILE *f = open_memstream(&p->dot, &p->dot_len);
    bool ok = f && agwrite(g, f) == 0;
    ok = (f && fclose(f) == 0) && ok;
    dotgraph_free(g);
    return ok || err_set(err, ERR_IO, "cannot write the DOT source into the HTML report (out of memory?)");
}

static bool write_json(const Trace *t, const EmitOpts *o, Page *p, Err *err)
{
    FILE *f = open_memstream(&p->json, &p->json_len);
    if (!f)
        return err_set(err, ERR_IO, "out of memory");
    bool ok = tracejson_write(t, o->jac, o->model_path, f, err);
    if (fclose(f) != 0 && ok)
        ok = err_set(err, ERR_IO, "out of memory");
    return ok;
}

/* The gradient-by-depth chart as an inline <svg> (no XML prolog: flowchart_svg writes none). */
static bool render_flow(const Trace *t, Page *p, Err *err)
{
    FlowProfile fp = {0};
    FlowDrawing d = {0};
    bool ok = flow_profile(t, &fp, err) && flowchart_profile(&fp, t->g->title, fmt_output_name(t), &d, err);
    if (ok)
        flowchart_svg(&d, &p->flow);
    if (ok && (p->flow.oom || !p->flow.data))
        ok = err_set(err, ERR_IO, "out of memory");
    flowchart_drawing_free(&d);
    flow_profile_free(&fp);
    return ok;
}

/* ---- escapes, each writing to f ---- */

/* HTML text and attribute values: the five characters that can start or end markup. */
static void put_html(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: putc(*s, f);
        }
    }
}

/* JSON text inside <script>: with no '<' in it, it can contain neither "</script" nor "<!--".
 * "\u003c" is the same character to JSON.parse. A trailing newline is dropped. */
static void put_json_in_script(FILE *f, const char *s, size_t n)
{
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    size_t from = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '<') {
            fwrite(s + from, 1, i - from, f);
            fputs("\\u003c", f);
            from = i + 1;
        }
    }
    fwrite(s + from, 1, n - from, f);
}

/* One JSON string (quotes included) of s[0..n), '<' as \u003c. The text is UTF-8 (the lexer
 * checked it), so bytes >= 0x80 are copied; controls, '"' and '\' are escaped. */
static void put_json_string(FILE *f, const char *s, size_t n)
{
    putc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\t': fputs("\\t", f); break;
        case '\r': fputs("\\r", f); break;
        case '\n': fputs("\\n", f); break;
        case '<': fputs("\\u003c", f); break;
        default:
            if (c < 0x20 || c == 0x7f)
                fprintf(f, "\\u%04x", c);
            else
                putc(c, f);
        }
    }
    putc('"', f);
}

/* The model's lines as a JSON array, line 1 first, without line ends (LF or CRLF). A final line
 * end does not start another line, so the array has one string per line an editor shows. */
static void put_source_json(FILE *f, const Source *src)
{
    putc('[', f);
    if (src && src->text) {
        size_t n = src->len;
        if (n > 0 && src->text[n - 1] == '\n')
            n--;
        size_t start = 0;
        for (size_t i = 0; n > 0 && i <= n; i++) {
            if (i < n && src->text[i] != '\n')
                continue;
            size_t end = i;
            if (end > start && src->text[end - 1] == '\r')
                end--;
            if (start > 0)
                putc(',', f);
            put_json_string(f, src->text + start, end - start);
            start = i + 1;
        }
    }
    putc(']', f);
}

static void put_data_url(FILE *f, const char *mime, const char *s, size_t n)
{
    static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    fprintf(f, "data:%s;base64,", mime);
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        unsigned long v = (unsigned long)u[i] << 16 | (unsigned long)u[i + 1] << 8 | u[i + 2];
        char q[4] = {B64[v >> 18], B64[(v >> 12) & 63], B64[(v >> 6) & 63], B64[v & 63]};
        fwrite(q, 1, 4, f);
    }
    if (i < n) {
        unsigned long v = (unsigned long)u[i] << 16 | (i + 1 < n ? (unsigned long)u[i + 1] << 8 : 0);
        char q[4] = {B64[v >> 18], B64[(v >> 12) & 63], i + 1 < n ? B64[(v >> 6) & 63] : '=', '='};
        fwrite(q, 1, 4, f);
    }
}

/* ---- filling report.html ---- */

static const char *const PLACEHOLDERS[] = {"TITLE",     "CSS",     "JS",          "SVG",
                                           "TRACE_JSON", "SOURCE_JSON", "PRECISION", "VERSION",
                                           "DOT_DATAURL", "JSON_DATAURL", "FLOW_SVG"};
enum { PH_TITLE, PH_CSS, PH_JS, PH_SVG, PH_TRACE_JSON, PH_SOURCE_JSON, PH_PRECISION, PH_VERSION, PH_DOT_DATAURL,
       PH_JSON_DATAURL, PH_FLOW_SVG, PH_COUNT };

static void put_placeholder(FILE *f, const Page *p, int which)
{
    switch (which) {
    case PH_TITLE: put_html(f, p->title); break;
    case PH_CSS: fwrite(p->css.data, 1, p->css.len, f); break;
    case PH_JS: fwrite(p->js.data, 1, p->js.len, f); break;
    case PH_SVG: {
        /* Inline SVG in HTML: the XML prolog and DOCTYPE before <svg> do not belong there. */
        const char *s = strstr(p->svg, "<svg");
        fwrite(s, 1, p->svg_len - (size_t)(s - p->svg), f);
        break;
    }
    case PH_TRACE_JSON: put_json_in_script(f, p->json, p->json_len); break;
    case PH_SOURCE_JSON: put_source_json(f, p->src); break;
    case PH_PRECISION: fprintf(f, "%d", p->precision); break;
    case PH_VERSION: put_html(f, GRADVIZ_VERSION); break;
    case PH_DOT_DATAURL: put_data_url(f, "text/vnd.graphviz", p->dot, p->dot_len); break;
    case PH_JSON_DATAURL: put_data_url(f, "application/json", p->json, p->json_len); break;
    case PH_FLOW_SVG: fwrite(p->flow.data, 1, p->flow.len, f); break;
    default: break;
    }
}

/* Length of the placeholder name at s[0..n) after "{{" ([A-Z_]+ then "}}"), or 0. */
static size_t placeholder_name(const char *s, size_t n)
{
    size_t k = 0;
    while (k < n && ((s[k] >= 'A' && s[k] <= 'Z') || s[k] == '_'))
        k++;
    return k > 0 && k + 2 <= n && s[k] == '}' && s[k + 1] == '}' ? k : 0;
}

/* Writes report.html with its placeholders filled. false with err set on an unknown
 * placeholder (a typo in a --template file would otherwise show up as raw text). */
static bool fill(FILE *f, const Page *p, Err *err)
{
    const char *s = p->html.data;
    size_t n = p->html.len, from = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        if (s[i] != '{' || s[i + 1] != '{')
            continue;
        size_t k = placeholder_name(s + i + 2, n - i - 2);
        if (k == 0)
            continue;
        int which = -1;
        for (int j = 0; j < PH_COUNT; j++)
            if (strlen(PLACEHOLDERS[j]) == k && memcmp(PLACEHOLDERS[j], s + i + 2, k) == 0)
                which = j;
        if (which < 0)
            return err_set(err, ERR_IO, "HTML template report.html has an unknown placeholder {{%.*s}}",
                           (int)(k > 40 ? 40 : k), s + i + 2);
        fwrite(s + from, 1, i - from, f);
        put_placeholder(f, p, which);
        i += k + 3; /* "{{" NAME "}}", less the loop's i++ */
        from = i + 1;
    }
    fwrite(s + from, 1, n - from, f);
    return true;
}

bool emit_html(const Trace *t, const EmitOpts *o, OutSet *out, const char *dir, Err *err)
{
    Page p = {.title = t->g->title ? t->g->title : o->stem, .precision = o->precision, .src = t->src};
    char *path = NULL;
    bool ok = load_templates(&p, o->template_dir, err) && render_svg(t, o, &p, err) && write_json(t, o, &p, err) &&
              write_dot(t, o, &p, err) && render_flow(t, &p, err);
    if (ok && !strstr(p.svg, "<svg"))
        ok = err_set(err, ERR_IO, "Graphviz wrote no SVG for the HTML report");
    if (ok && !(path = outfile_path(dir, o->stem, NULL, "html")))
        ok = err_set(err, ERR_IO, "out of memory");
    if (ok) {
        FILE *f = outfile_open(out, path, err);
        ok = f && fill(f, &p, err);
        if (f)
            ok = outfile_close(f, path, err) && ok;
    }
    free(path);
    free(p.html.owned);
    free(p.css.owned);
    free(p.js.owned);
    free(p.svg);
    free(p.json);
    free(p.dot);
    buf_free(&p.flow);
    return ok;
}
