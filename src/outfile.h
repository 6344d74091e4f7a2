/* outfile: atomic output. Every output file is first written to a temporary file in its
 * destination directory; only when every emitter has succeeded are the temporaries renamed
 * over their destinations (rename(2) is atomic within a directory), so a failed or killed run
 * leaves each file either as it was or complete. Permissions are 0666 & ~umask, like fopen. */
#ifndef GRADVIZ_OUTFILE_H
#define GRADVIZ_OUTFILE_H

#include "base.h"

typedef struct OutFile {
    char *tmp;    /* owned: temporary path */
    char *path;   /* owned: final path */
} OutFile;

typedef struct OutSet {
    OutFile *files; size_t n, cap; /* owned */
} OutSet;

/* Makes SIGINT, SIGTERM and SIGHUP remove set's staged temporaries before the process dies
 * (by the signal, as it would have). NULL restores the default actions. */
void outfile_catch_signals(OutSet *set);
/* Creates `dir` and its parents if missing. false with ERR_IO on failure. */
bool outfile_mkdirs(const char *dir, Err *err);
/* Opens a temporary file for `path` (in the same directory) and stages it in `set`.
 * Returns the stream, or NULL with ERR_IO. Close it with outfile_close. */
FILE *outfile_open(OutSet *set, const char *path, Err *err);
/* Closes a stream from outfile_open, checking for write errors (disk full). false with ERR_IO. */
bool outfile_close(FILE *f, const char *path, Err *err);
/* Convenience: stages `path` with the given bytes. */
bool outfile_write_all(OutSet *set, const char *path, const void *data, size_t len, Err *err);
/* Renames every staged file into place. false with ERR_IO (files not yet renamed are removed). */
bool outfile_commit(OutSet *set, Err *err);
/* Removes every staged temporary that was not committed and frees the set. */
void outfile_discard(OutSet *set);

/* "dir/stem.ext" (or "dir/stem-suffix.ext" when suffix is not NULL), malloc'd; NULL on OOM. */
char *outfile_path(const char *dir, const char *stem, const char *suffix, const char *ext);

#endif
