/* base: what every other module needs and nothing else — an arena, the one error type with
 * a source location, the source file with its line map, a growable string buffer, and a few
 * string helpers. Depends on nothing but libc. */
#ifndef GRADVIZ_BASE_H
#define GRADVIZ_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#if defined(__GNUC__)
#define GV_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define GV_PRINTF(f, a)
#endif

/* ---- Arena: bump allocator in chunks; everything is freed at once by arena_free. ---- */
typedef struct ArenaChunk ArenaChunk;
typedef struct Arena {
    ArenaChunk *head; /* owned: singly linked list of chunks, newest first */
} Arena;

/* Returns zeroed memory aligned for any type, or NULL if out of memory. */
void *arena_alloc(Arena *a, size_t size);
/* Copies n bytes of s and adds a NUL. Returns NULL if out of memory. */
char *arena_strndup(Arena *a, const char *s, size_t n);
/* Frees every chunk; the arena may be reused afterwards. arena_free on an empty arena is a no-op. */
void arena_free(Arena *a);

/* ---- Growable arrays (malloc'd, owned by whoever holds the Vec). ---- */
/* Ensures room for `need` elements of `elem` bytes in *data (capacity in *cap). false on OOM. */
bool vec_reserve(void **data, size_t *cap, size_t need, size_t elem);

/* ---- Source text and locations ---- */
typedef struct Span {
    uint32_t off; /* byte offset into Source.text */
    uint32_t len; /* bytes; 0 points at a position */
} Span;

typedef struct Source {
    const char *path;   /* as given by the user; borrowed */
    char *text;         /* owned (malloc), NUL-terminated, may contain NULs before len */
    size_t len;
    uint32_t *lines;    /* owned (malloc): byte offset of the start of each line */
    uint32_t nlines;
} Source;

/* Builds the line map of src->text. false on OOM. */
bool source_index_lines(Source *src);
/* 1-based line and byte column of byte offset `off`. */
void source_line_col(const Source *src, uint32_t off, uint32_t *line, uint32_t *col);
/* Frees text and line map; source_free(NULL) is a no-op. */
void source_free(Source *src);

/* ---- Errors ---- */
/* Exit codes of the command line; ErrKind doubles as the exit status (SPEC §3). */
typedef enum ErrKind {
    ERR_NONE = 0,
    ERR_MODEL = 1, /* the model file is wrong */
    ERR_USAGE = 2, /* the command line is wrong */
    ERR_IO = 3,    /* reading or writing a file failed, or out of memory */
    ERR_CHECK = 4, /* the gradient check found an error over tolerance */
} ErrKind;

typedef struct Err {
    ErrKind kind;
    bool has_span;   /* span points into the model source */
    Span span;
    char msg[512];
    char hint[256];  /* optional second line ("note: ..."), empty if none */
} Err;

/* Records the first error only; later calls are ignored. Both return false so callers can
 * write `return err_set(...)`. */
bool err_set(Err *err, ErrKind kind, const char *fmt, ...) GV_PRINTF(3, 4);
bool err_at(Err *err, Span span, const char *fmt, ...) GV_PRINTF(3, 4);  /* kind ERR_MODEL */
/* Adds a hint to the recorded error (ignored if there is none or it has one). */
void err_hint(Err *err, const char *fmt, ...) GV_PRINTF(2, 3);
static inline bool err_ok(const Err *err) { return err->kind == ERR_NONE; }

/* Writes `path:line:col: SEVERITY: msg`, the source line and a ^~~~ underline (or just
 * `gradviz: error: msg` without a span) to `out`. severity is "error" or "warning". */
void diag_write(FILE *out, const Source *src, const char *severity, bool has_span, Span span,
                const char *msg, const char *hint);
void err_write(FILE *out, const Source *src, const Err *err);

/* ---- Strings ---- */
typedef struct Buf {
    char *data; /* owned (malloc), always NUL-terminated once anything was appended */
    size_t len, cap;
    bool oom;   /* set when an append failed; later appends are ignored */
} Buf;
void buf_append(Buf *b, const char *s, size_t n);
void buf_puts(Buf *b, const char *s);
void buf_printf(Buf *b, const char *fmt, ...) GV_PRINTF(2, 3);
void buf_free(Buf *b);

/* Edit distance with adjacent transpositions (optimal string alignment: a swap of two
 * neighbouring bytes costs 1, like an insertion, deletion or substitution), capped: returns
 * cap+1 as soon as it exceeds cap. Strings over 64 bytes are never near anything. */
size_t edit_distance(const char *a, size_t alen, const char *b, size_t blen, size_t cap);

/* "Did you mean": offer every candidate, then read best (NULL when none is near enough). */
typedef struct Suggest {
    const char *name; /* what the user typed, name[0..len) */
    size_t len;
    const char *best;
    size_t best_d;
    bool extend; /* also suggest a longer name as far as the typed one is long ('x' -> 'x1'):
                  * for a name on the command line, where the model is not in view */
} Suggest;
void suggest_init(Suggest *s, const char *name, size_t len);
void suggest_offer(Suggest *s, const char *cand);
/* Returns the byte length of the valid UTF-8 prefix of s[0..n). */
size_t utf8_valid_prefix(const unsigned char *s, size_t n);
/* NULL if s is valid UTF-8 (or on OOM); else a malloc'd copy with each byte that does not
 * belong to a valid character replaced by U+FFFD. For file names shown in the outputs. */
char *utf8_repair(const char *s);

#endif
