/* parse: tokens -> graph. A recursive-descent parser over the grammar of SPEC §2 that builds
 * graph nodes directly (there is no syntax tree): every operator application becomes one op
 * node, literal operands are folded into their operator, all-literal operations are folded
 * to a literal. */
#ifndef GRADVIZ_PARSE_H
#define GRADVIZ_PARSE_H

#include "graph.h"

/* Deepest nesting of parentheses, unary minus, '^' and calls in one expression. The parser
 * recurses once per level (a few hundred bytes of stack each), so this bounds the stack. */
#define PARSE_MAX_DEPTH 256

/* Parses src into a new, finished graph with at least one output. Returns NULL with a
 * located error (ERR_MODEL) or ERR_IO on OOM. */
Graph *parse_model(const Source *src, Err *err);

#endif
