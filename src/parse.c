/* parse: the recursive-descent parser. Each function is named after its grammar rule and
 * opens with it. Expressions evaluate to a Val: either a folded literal or a node id. */
#include "parse.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lex.h"

typedef struct Parser {
    const Source *src;
    Lexer lx;
    Token tok;          /* current token */
    Graph *g;
    Err *err;
    int depth;
    uint32_t stmt_first; /* first node id created by the current statement */
} Parser;

typedef struct Val {
    bool is_lit;
    double lit;
    uint32_t node;
    Span span;          /* the whole sub-expression */
} Val;

static const char *tok_text(const Parser *p) { return p->src->text + p->tok.span.off; }

/* "expected WHAT, found 'TOKEN'". A string token is described, not quoted: it may hold any
 * character, and echoing a C1 control or a bidi override would act on the terminal. */
static bool unexpected(Parser *p, const char *what)
{
    if (p->tok.kind == TOK_STRING)
        return err_at(p->err, p->tok.span, "expected %s, found a string", what);
    return err_at(p->err, p->tok.span, "expected %s, found '%.*s'", what, (int)p->tok.span.len, tok_text(p));
}

static bool advance(Parser *p) { return lex_next(&p->lx, &p->tok, p->err); }

/* The token after the current one, without consuming anything. */
static bool peek(const Parser *p, Token *next)
{
    Lexer save = p->lx;
    return lex_next(&save, next, p->err);
}

static bool is_keyword(TokKind k) { return k >= TOK_MODEL && k <= TOK_LOSS; }

static bool keyword_as_name(Parser *p)
{
    return err_at(p->err, p->tok.span, "'%.*s' is a keyword and cannot be used as a name", (int)p->tok.span.len,
                  tok_text(p));
}

/* The smallest span covering both a and b, in either order. */
static Span join(Span a, Span b)
{
    uint32_t start = a.off < b.off ? a.off : b.off;
    uint32_t end = b.off + b.len > a.off + a.len ? b.off + b.len : a.off + a.len;
    return (Span){start, end - start};
}

static bool expect(Parser *p, TokKind k, const char *what)
{
    if (p->tok.kind != k) {
        if (p->tok.kind == TOK_NEWLINE || p->tok.kind == TOK_EOF)
            return err_at(p->err, p->tok.span, "expected %s before %s", what, lex_kind_name(p->tok.kind));
        return unexpected(p, what);
    }
    return advance(p);
}

static bool enter(Parser *p)
{
    if (++p->depth > PARSE_MAX_DEPTH)
        return err_at(p->err, p->tok.span, "expression nested deeper than %d levels", PARSE_MAX_DEPTH);
    return true;
}

/* Builds op over operands v[0..arity): folds all-literal operations to a literal. */
static bool make_op(Parser *p, Op op, const Val *v, Span op_span, Val *out)
{
    int arity = op_info(op)->arity;
    bool all_lit = true;
    double a[OP_MAX_ARITY] = {0};
    Arg args[OP_MAX_ARITY];
    for (int i = 0; i < arity; i++) {
        all_lit = all_lit && v[i].is_lit;
        a[i] = v[i].lit;
        args[i] = v[i].is_lit ? (Arg){true, 0} : (Arg){false, v[i].node};
    }
    out->span = join(join(v[0].span, v[arity - 1].span), op_span);
    if (all_lit) {
        out->is_lit = true;
        out->lit = op_forward(op, a);
        return true;
    }
    uint32_t id = graph_add_op(p->g, op, args, a, op_span, p->err);
    if (id == UINT32_MAX)
        return false;
    out->is_lit = false;
    out->node = id;
    return true;
}

/* Suggests the defined name nearest to name[0..len), or NULL. Only runs on the error path. */
static const char *suggest_name(const Graph *g, const char *name, size_t len)
{
    Suggest s;
    suggest_init(&s, name, len);
    for (uint32_t i = 0; i < g->nnodes; i++)
        if (g->nodes[i].name)
            suggest_offer(&s, g->nodes[i].name);
    return s.best;
}

/* The infix operators under their trace names, which users try to call: add(a, b). */
static const struct { Op op; const char *form; } INFIX_FORMS[] = {
    {OP_ADD, "a + b"}, {OP_SUB, "a - b"}, {OP_MUL, "a * b"}, {OP_DIV, "a / b"}, {OP_NEG, "-a"},
};

static bool expr(Parser *p, Val *out);

/* call := IDENT '(' expr { ',' expr } ')' — the IDENT is the current token */
static bool call(Parser *p, Val *out)
{
    Span name = p->tok.span;
    const char *nm = tok_text(p);
    Op op = op_function(nm, name.len);
    if (op == OP_COUNT) {
        if (graph_lookup(p->g, nm, name.len) != UINT32_MAX)
            return err_at(p->err, name, "'%.*s' is a value, not a function", (int)name.len, nm);
        for (size_t i = 0; i < sizeof INFIX_FORMS / sizeof INFIX_FORMS[0]; i++) {
            const char *opname = op_info(INFIX_FORMS[i].op)->name;
            if (strlen(opname) == name.len && memcmp(opname, nm, name.len) == 0) {
                err_at(p->err, name, "unknown function '%.*s'", (int)name.len, nm);
                err_hint(p->err, "%s is an operator: write %s", opname, INFIX_FORMS[i].form);
                return false;
            }
        }
        const char *s = op_suggest_function(nm, name.len);
        if (s)
            return err_at(p->err, name, "unknown function '%.*s' (did you mean '%s'?)", (int)name.len, nm, s);
        err_at(p->err, name, "unknown function '%.*s'", (int)name.len, nm);
        err_hint(p->err, "functions: sin cos tan exp log sqrt tanh sigmoid relu abs softplus pow max min");
        return false;
    }
    /* a call is a level of nesting like '(': sin(sin(sin(... recurses once per call */
    if (!enter(p) || !advance(p) || !advance(p)) /* name, '(' */
        return false;
    Val v[OP_MAX_ARITY + 1];
    int n = 0;
    for (;;) {
        Val a;
        if (!expr(p, &a))
            return false;
        if (n <= OP_MAX_ARITY)
            v[n] = a;
        n++;
        if (p->tok.kind != TOK_COMMA)
            break;
        if (!advance(p))
            return false;
    }
    Span close = p->tok.span;
    if (!expect(p, TOK_RPAREN, "')' or ','"))
        return false;
    int arity = op_info(op)->arity;
    if (n != arity)
        return err_at(p->err, join(name, close), "%s takes %d argument%s, got %d", op_info(op)->name, arity,
                      arity == 1 ? "" : "s", n);
    if (!make_op(p, op, v, name, out))
        return false;
    out->span = join(name, close);
    p->depth--;
    return true;
}

/* primary := NUMBER | IDENT | IDENT '(' expr { ',' expr } ')' | '(' expr ')' */
static bool primary(Parser *p, Val *out)
{
    Token t = p->tok;
    switch (t.kind) {
    case TOK_NUMBER:
        *out = (Val){.is_lit = true, .lit = t.number, .span = t.span};
        return advance(p);
    case TOK_IDENT: {
        const char *nm = tok_text(p);
        /* peek: a '(' right after the name makes it a call */
        Token next;
        if (!peek(p, &next))
            return false;
        if (next.kind == TOK_LPAREN)
            return call(p, out);
        uint32_t id = graph_lookup(p->g, nm, t.span.len);
        if (id == UINT32_MAX) {
            if (op_function(nm, t.span.len) != OP_COUNT)
                return err_at(p->err, t.span, "'%.*s' is a function; call it as %.*s(...)", (int)t.span.len, nm,
                              (int)t.span.len, nm);
            const char *s = suggest_name(p->g, nm, t.span.len);
            if (s)
                return err_at(p->err, t.span, "undefined name '%.*s' (did you mean '%s'?)", (int)t.span.len, nm, s);
            return err_at(p->err, t.span, "undefined name '%.*s'", (int)t.span.len, nm);
        }
        *out = (Val){.is_lit = false, .node = id, .span = t.span};
        return advance(p);
    }
    case TOK_LPAREN: {
        if (!enter(p) || !advance(p) || !expr(p, out))
            return false;
        Span close = p->tok.span;
        if (p->tok.kind != TOK_RPAREN) {
            /* not lx.line_start: after an end-of-line token the lexer is on the next line */
            uint32_t line, col;
            source_line_col(p->src, t.span.off, &line, &col);
            return err_at(p->err, p->tok.span, "expected ')' to close the '(' at column %u", col);
        }
        if (!advance(p))
            return false;
        out->span = join(t.span, close);
        p->depth--;
        return true;
    }
    case TOK_NEWLINE:
    case TOK_EOF:
        return err_at(p->err, t.span, "expected an expression before %s", lex_kind_name(t.kind));
    default:
        if (is_keyword(t.kind))
            return keyword_as_name(p);
        return unexpected(p, "an expression");
    }
}

static bool unary(Parser *p, Val *out);

/* power := primary [ '^' unary ]   ('^' is right-associative and binds tighter than unary minus) */
static bool power(Parser *p, Val *out)
{
    Val v[2];
    if (!primary(p, &v[0]))
        return false;
    if (p->tok.kind != TOK_CARET) {
        *out = v[0];
        return true;
    }
    Span op = p->tok.span;
    if (!enter(p) || !advance(p) || !unary(p, &v[1]))
        return false;
    p->depth--;
    return make_op(p, OP_POW, v, op, out);
}

/* unary := '-' unary | power */
static bool unary(Parser *p, Val *out)
{
    if (p->tok.kind != TOK_MINUS)
        return power(p, out);
    Span op = p->tok.span;
    Val v;
    if (!enter(p) || !advance(p) || !unary(p, &v))
        return false;
    p->depth--;
    return make_op(p, OP_NEG, &v, op, out);
}

/* term := unary { ('*' | '/') unary } */
static bool term(Parser *p, Val *out)
{
    Val v[2];
    if (!unary(p, &v[0]))
        return false;
    while (p->tok.kind == TOK_STAR || p->tok.kind == TOK_SLASH) {
        Op op = p->tok.kind == TOK_STAR ? OP_MUL : OP_DIV;
        Span sp = p->tok.span;
        if (!advance(p) || !unary(p, &v[1]) || !make_op(p, op, v, sp, &v[0]))
            return false;
    }
    *out = v[0];
    return true;
}

/* expr := term { ('+' | '-') term } */
static bool expr(Parser *p, Val *out)
{
    Val v[2];
    if (!term(p, &v[0]))
        return false;
    while (p->tok.kind == TOK_PLUS || p->tok.kind == TOK_MINUS) {
        Op op = p->tok.kind == TOK_PLUS ? OP_ADD : OP_SUB;
        Span sp = p->tok.span;
        if (!advance(p) || !term(p, &v[1]) || !make_op(p, op, v, sp, &v[0]))
            return false;
    }
    *out = v[0];
    return true;
}

static bool end_of_statement(Parser *p)
{
    if (p->tok.kind == TOK_NEWLINE || p->tok.kind == TOK_EOF)
        return true;
    return unexpected(p, "end of line");
}

/* A name being defined: an identifier that is not a function and not yet defined. */
static bool new_name(Parser *p, const char *what)
{
    Token t = p->tok;
    if (is_keyword(t.kind))
        return keyword_as_name(p);
    if (t.kind != TOK_IDENT)
        return expect(p, TOK_IDENT, what);
    const char *nm = tok_text(p);
    if (op_function(nm, t.span.len) != OP_COUNT)
        return err_at(p->err, t.span, "'%.*s' is a function name and cannot be assigned", (int)t.span.len, nm);
    uint32_t prev = graph_lookup(p->g, nm, t.span.len);
    if (prev != UINT32_MAX) {
        uint32_t line, col;
        source_line_col(p->src, p->g->nodes[prev].span.off, &line, &col);
        err_at(p->err, t.span, "'%.*s' is already defined", (int)t.span.len, nm);
        err_hint(p->err, "first defined on line %u; every name is assigned once", line);
        return false;
    }
    return true;
}

/* leaf := ('input' | 'param' | 'const') IDENT '=' ['-'] NUMBER */
static bool leaf(Parser *p)
{
    NodeKind kind = p->tok.kind == TOK_INPUT ? NODE_INPUT : p->tok.kind == TOK_PARAM ? NODE_PARAM : NODE_CONST;
    const char *kw = node_kind_name(kind);
    if (!advance(p) || !new_name(p, "a name"))
        return false;
    Token name = p->tok;
    if (!advance(p) || !expect(p, TOK_EQ, "'='"))
        return false;
    bool neg = false;
    Span val = p->tok.span;
    if (p->tok.kind == TOK_MINUS) {
        neg = true;
        if (!advance(p))
            return false;
    }
    if (p->tok.kind != TOK_NUMBER) {
        err_at(p->err, p->tok.span, "the value of %s '%.*s' must be a number", kw, (int)name.span.len,
               p->src->text + name.span.off);
        err_hint(p->err, "leaves hold numbers; compute expressions in an assignment: y = ...");
        return false;
    }
    double v = neg ? -p->tok.number : p->tok.number;
    val = join(val, p->tok.span);
    if (!advance(p))
        return false;
    if (p->tok.kind != TOK_NEWLINE && p->tok.kind != TOK_EOF) {
        err_at(p->err, p->tok.span, "the value of %s '%.*s' must be a single number", kw, (int)name.span.len,
               p->src->text + name.span.off);
        err_hint(p->err, "leaves hold numbers; compute expressions in an assignment: y = ...");
        return false;
    }
    (void)val;
    return graph_add_leaf(p->g, kind, p->src->text + name.span.off, name.span.len, name.span, v, p->err) !=
           UINT32_MAX;
}

/* assignment := ['output' | 'loss'] IDENT '=' expr */
static bool assignment(Parser *p, uint32_t *last)
{
    bool marked = p->tok.kind == TOK_OUTPUT || p->tok.kind == TOK_LOSS;
    if (marked && !advance(p))
        return false;
    if (!new_name(p, "a name"))
        return false;
    Token name = p->tok;
    const char *nm = p->src->text + name.span.off;
    if (!advance(p))
        return false;
    if (p->tok.kind != TOK_EQ) {
        if (!marked && (p->tok.kind == TOK_IDENT))
            return err_at(p->err, name.span, "unknown statement '%.*s'", (int)name.span.len, nm);
        return expect(p, TOK_EQ, "'='");
    }
    if (!advance(p))
        return false;
    p->stmt_first = p->g->nnodes;
    p->depth = 0;
    Val v;
    if (!expr(p, &v) || !end_of_statement(p))
        return false;
    if (v.is_lit) {
        err_at(p->err, v.span, "'%.*s' has a constant value; an assignment needs an operation on a node",
               (int)name.span.len, nm);
        if (!isfinite(v.lit)) { /* `const k = inf` would not parse: inf is a name */
            err_hint(p->err, "its value is %s, not a finite number a const leaf could hold",
                     isnan(v.lit) ? "NaN" : v.lit > 0 ? "infinite" : "-infinite");
            return false;
        }
        /* the shortest form that reads back as the same double: 2*0.1 suggests 0.2, not
         * 0.20000000000000001 */
        char num[32];
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(num, sizeof num, "%.*g", prec, v.lit);
            if (strtod(num, NULL) == v.lit)
                break;
        }
        err_hint(p->err, "declare a constant leaf instead: const %.*s = %s", (int)name.span.len, nm, num);
        return false;
    }
    if (v.node < p->stmt_first) {
        const char *other = p->g->nodes[v.node].name;
        err_at(p->err, v.span, "'%.*s = %s' only gives '%s' another name", (int)name.span.len, nm, other, other);
        err_hint(p->err, "use '%s' directly", other);
        return false;
    }
    if (!graph_name_node(p->g, v.node, nm, name.span.len, p->err))
        return false;
    if (marked && !graph_add_output(p->g, v.node, p->err))
        return false;
    *last = v.node;
    return true;
}

/* statement := 'model' STRING | leaf | assignment */
static bool statement(Parser *p, bool *have_title, uint32_t *last)
{
    if (is_keyword(p->tok.kind)) {
        /* `loss = ...`, `input = 3`: the user meant a name, not the statement keyword */
        Token next;
        if (!peek(p, &next))
            return false;
        if (next.kind == TOK_EQ)
            return keyword_as_name(p);
    }
    switch (p->tok.kind) {
    case TOK_MODEL: {
        Span kw = p->tok.span;
        if (*have_title)
            return err_at(p->err, kw, "the model title is given twice");
        if (!advance(p))
            return false;
        if (p->tok.kind != TOK_STRING)
            return expect(p, TOK_STRING, "a title in double quotes");
        const char *text = tok_text(p) + 1;
        size_t n = p->tok.span.len - 2, k = 0;
        while (k < n && (text[k] == ' ' || text[k] == '\t'))
            k++;
        /* a blank title is no title: every output then headlines the file name */
        if (k < n) {
            p->g->title = arena_strndup(&p->g->arena, text, n);
            if (!p->g->title)
                return err_set(p->err, ERR_IO, "out of memory");
        }
        *have_title = true;
        return advance(p) && end_of_statement(p);
    }
    case TOK_INPUT:
    case TOK_PARAM:
    case TOK_CONST:
        return leaf(p);
    case TOK_OUTPUT:
    case TOK_LOSS:
    case TOK_IDENT:
        return assignment(p, last);
    default:
        return err_at(p->err, p->tok.span, "expected a statement, found %s", lex_kind_name(p->tok.kind));
    }
}

Graph *parse_model(const Source *src, Err *err)
{
    if (!lex_check_source(src, err))
        return NULL;
    Parser p = {.src = src, .err = err, .g = graph_new()};
    if (!p.g) {
        err_set(err, ERR_IO, "out of memory");
        return NULL;
    }
    lex_init(&p.lx, src);
    bool have_title = false;
    uint32_t last = UINT32_MAX;
    if (!advance(&p))
        goto fail;
    while (p.tok.kind != TOK_EOF) {
        if (p.tok.kind == TOK_NEWLINE) {
            if (!advance(&p))
                goto fail;
            continue;
        }
        if (!statement(&p, &have_title, &last))
            goto fail;
    }
    if (p.g->noutputs == 0) {
        if (last == UINT32_MAX) {
            err_set(err, ERR_MODEL, "the model has no output: it needs at least one assignment 'name = expression'");
            goto fail;
        }
        if (!graph_add_output(p.g, last, err))
            goto fail;
    }
    if (!graph_finish(p.g, err))
        goto fail;
    return p.g;
fail:
    graph_free(p.g);
    return NULL;
}
