/* lex: bytes -> tokens for the .grad model language (SPEC §2). The whole text is checked for
 * UTF-8 and NUL bytes first; the lexer then hands out one token at a time. */
#ifndef GRADVIZ_LEX_H
#define GRADVIZ_LEX_H

#include "base.h"

/* Longest line accepted, in bytes. A generated MLP layer of 1,000 inputs writes ~20 bytes
 * per input on one line; 1 MiB leaves room for 50,000 inputs and still bounds the work. */
#define LEX_MAX_LINE (1u << 20)
/* Largest model file, in bytes. A 1,000,000-node generated model is ~25 MB. */
#define LEX_MAX_FILE (256u << 20)
/* Longest name and longest title (bytes): every name is drawn in labels and tables, and a
 * PDF string holds at most 65,535 bytes */
#define LEX_MAX_NAME 256u
#define LEX_MAX_TITLE 1024u

typedef enum TokKind {
    TOK_EOF, TOK_NEWLINE, TOK_IDENT, TOK_NUMBER, TOK_STRING,
    TOK_MODEL, TOK_INPUT, TOK_PARAM, TOK_CONST, TOK_OUTPUT, TOK_LOSS, /* keywords */
    TOK_EQ, TOK_PLUS, TOK_MINUS, TOK_STAR, TOK_SLASH, TOK_CARET, TOK_LPAREN, TOK_RPAREN, TOK_COMMA,
} TokKind;

typedef struct Token {
    TokKind kind;
    Span span;     /* the token's bytes; for TOK_STRING the quotes included */
    double number; /* TOK_NUMBER: its value */
} Token;

typedef struct Lexer {
    const Source *src;
    uint32_t pos;        /* next byte to read */
    uint32_t line_start; /* start of the current line, for the line-length limit */
} Lexer;

/* Checks the whole source for size, invalid UTF-8 and NUL bytes (errors at the first bad byte). */
bool lex_check_source(const Source *src, Err *err);
void lex_init(Lexer *lx, const Source *src);
/* Reads the next token into *tok. false with a located error on a bad token. */
bool lex_next(Lexer *lx, Token *tok, Err *err);
/* Printable name of a token kind for messages: "'='", "a name", "end of line", ... */
const char *lex_kind_name(TokKind k);

#endif
