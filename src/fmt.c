/* fmt: number and label text shared by every drawn format. */
#include "fmt.h"

#include <math.h>
#include <string.h>

static char *format(char out[FMT_NUM_MAX], double v, int precision, const char *minus)
{
    if (precision < 1)
        precision = 1;
    if (precision > 17)
        precision = 17;
    if (isnan(v))
        return strcpy(out, "NaN");
    if (isinf(v)) {
        snprintf(out, FMT_NUM_MAX, "%s∞", v < 0 ? minus : "");
        return out;
    }
    if (v == 0)
        v = 0; /* -0 reads as 0 on a diagram */
    char tmp[FMT_NUM_MAX];
    snprintf(tmp, sizeof tmp, "%.*g", precision, v);
    /* replace every '-' (sign and exponent sign) with `minus` */
    size_t o = 0, ml = strlen(minus);
    for (const char *p = tmp; *p && o + ml < FMT_NUM_MAX; p++) {
        if (*p == '-') {
            memcpy(out + o, minus, ml);
            o += ml;
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
    return out;
}

char *fmt_num(char out[FMT_NUM_MAX], double v, int precision) { return format(out, v, precision, "−"); }
char *fmt_num_ascii(char out[FMT_NUM_MAX], double v, int precision) { return format(out, v, precision, "-"); }

const char *fmt_nonfinite(double v)
{
    if (isnan(v))
        return "nan";
    if (isinf(v))
        return v > 0 ? "inf" : "-inf";
    return NULL;
}

/* A literal operand as shown in a symbol. Next to an infix operator a negative one is
 * parenthesised so "×(−2)" reads right; inside a call's argument list it needs no brackets:
 * "max(·, −1)". */
static void lit_text(Buf *b, double v, int precision, bool infix)
{
    char num[FMT_NUM_MAX];
    fmt_num(num, v, precision);
    if (infix && v < 0)
        buf_printf(b, "(%s)", num);
    else
        buf_puts(b, num);
}

void fmt_node_symbol(Buf *b, const Graph *g, uint32_t id, int precision)
{
    const Node *n = &g->nodes[id];
    if (n->kind != NODE_OP) {
        buf_puts(b, n->name);
        return;
    }
    const OpInfo *oi = op_info((Op)n->op);
    bool lit0 = n->nargs > 0 && n->args[0].is_lit, lit1 = n->nargs > 1 && n->args[1].is_lit;
    if (!lit0 && !lit1) {
        buf_puts(b, oi->symbol);
        return;
    }
    if (oi->infix) { /* binary infix with one literal, in the order written: 2×, ×2, ^2, 2^ */
        if (lit0)
            lit_text(b, graph_lit(g, n, 0), precision, true);
        buf_puts(b, oi->symbol);
        if (lit1)
            lit_text(b, graph_lit(g, n, 1), precision, true);
        return;
    }
    /* binary function with a literal: max(·, 0) */
    buf_printf(b, "%s(", oi->symbol);
    for (int i = 0; i < n->nargs; i++) {
        if (i)
            buf_puts(b, ", ");
        if (n->args[i].is_lit)
            lit_text(b, graph_lit(g, n, i), precision, false);
        else
            buf_puts(b, "·");
    }
    buf_puts(b, ")");
}

void fmt_node_name(Buf *b, const Graph *g, uint32_t id, int precision)
{
    const Node *n = &g->nodes[id];
    if (n->name) {
        buf_puts(b, n->name);
        return;
    }
    buf_printf(b, "#%u ", id);
    fmt_node_symbol(b, g, id, precision);
}

const char *fmt_output_name(const Trace *t)
{
    const char *nm = t->g->nodes[t->primary].name;
    return nm ? nm : "L";
}
