/* outfile: staged atomic writes. Temporaries are created with mkstemp next to their target
 * (rename is only atomic within one file system) and chmod'ed to 0666 & ~umask, the mode
 * fopen would have given. */
#define _POSIX_C_SOURCE 200809L
#include "outfile.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A temporary older than this whose process is gone was left by a SIGKILL'd run. */
#define STALE_SECONDS 60

static mode_t file_mode(void)
{
    mode_t mask = umask(0);
    umask(mask);
    return 0666 & ~mask;
}

bool outfile_mkdirs(const char *dir, Err *err)
{
    size_t n = strlen(dir);
    char *p = malloc(n + 1);
    if (!p)
        return err_set(err, ERR_IO, "out of memory");
    memcpy(p, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            err_set(err, ERR_IO, "cannot create directory '%s': %s", p, strerror(errno));
            free(p);
            return false;
        }
        p[i] = c;
    }
    struct stat st;
    bool ok = stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
    if (!ok)
        err_set(err, ERR_IO, "'%s' is not a directory", dir);
    free(p);
    return ok;
}

/* The set whose temporaries an interrupting signal (SIGINT, SIGTERM, SIGHUP) removes before
 * the process dies. A signal handler reaches state only through a global: this is gradviz's
 * one mutable global, written by outfile_catch_signals and read only by the handler. Every
 * change to a set's arrays happens with those signals blocked, so the handler never sees a
 * half-updated array. (SIGKILL cannot be caught: it leaves hidden .name.PID.XXXXXX files, which a later run writing
 * the same file removes once PID is gone: remove_stale.) */
static OutSet *volatile cleanup_set;

static void on_interrupt(int sig)
{
    OutSet *s = cleanup_set;
    if (s)
        for (size_t i = 0; i < s->n; i++)
            if (s->files[i].tmp)
                unlink(s->files[i].tmp); /* async-signal-safe */
    signal(sig, SIG_DFL);
    raise(sig);
}

static void block_signals(bool block, sigset_t *old)
{
    sigset_t set;
    if (block) {
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGHUP);
        sigprocmask(SIG_BLOCK, &set, old);
    } else {
        sigprocmask(SIG_SETMASK, old, NULL);
    }
}

void outfile_catch_signals(OutSet *set)
{
    cleanup_set = set;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = set ? on_interrupt : SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

/* Removes the temporaries of `path` that a run killed by SIGKILL left behind: ".name.PID.XXXXXX"
 * in its directory, from a process that no longer exists, last written over STALE_SECONDS ago
 * (a run of another PID namespace sharing the directory is not mistaken for a dead one while it
 * writes). Best effort: any failure leaves the file where it is. */
static void remove_stale(const char *path, size_t dirlen)
{
    char dir[4096];
    if (dirlen >= sizeof dir)
        return;
    memcpy(dir, dirlen ? path : ".", dirlen ? dirlen : 1);
    dir[dirlen ? dirlen : 1] = '\0';
    const char *base = path + dirlen;
    size_t blen = strlen(base);
    DIR *d = opendir(dir);
    if (!d)
        return;
    time_t now = time(NULL);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *nm = de->d_name;
        if (nm[0] != '.' || strncmp(nm + 1, base, blen) != 0 || nm[1 + blen] != '.')
            continue;
        const char *q = nm + 2 + blen;
        char *end;
        errno = 0;
        long pid = strtol(q, &end, 10);
        if (end == q || *end != '.' || strlen(end + 1) != 6 || pid <= 0 || errno || pid == (long)getpid())
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue; /* alive, or not ours to ask about */
        char full[4096 + 256];
        snprintf(full, sizeof full, "%s%s", dirlen ? dir : "", nm);
        struct stat st;
        if (lstat(full, &st) == 0 && S_ISREG(st.st_mode) && now - st.st_mtime > STALE_SECONDS)
            unlink(full);
    }
    closedir(d);
}

FILE *outfile_open(OutSet *set, const char *path, Err *err)
{
    sigset_t old;
    block_signals(true, &old);
    bool room = vec_reserve((void **)&set->files, &set->cap, set->n + 1, sizeof *set->files);
    block_signals(false, &old);
    if (!room) {
        err_set(err, ERR_IO, "out of memory");
        return NULL;
    }
    size_t n = strlen(path);
    char *tmp = malloc(n + 40), *final = malloc(n + 1);
    if (!tmp || !final) {
        free(tmp);
        free(final);
        err_set(err, ERR_IO, "out of memory");
        return NULL;
    }
    memcpy(final, path, n + 1);
    /* hidden temporary in the same directory: ".name.PID.XXXXXX" */
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    remove_stale(path, dirlen);
    snprintf(tmp, n + 40, "%.*s.%s.%ld.XXXXXX", (int)dirlen, path, path + dirlen, (long)getpid());
    int fd = mkstemp(tmp);
    if (fd < 0) {
        err_set(err, ERR_IO, "cannot write '%s': %s", path, strerror(errno));
        free(tmp);
        free(final);
        return NULL;
    }
    if (fchmod(fd, file_mode()) != 0) { /* mkstemp creates 0600 */
        err_set(err, ERR_IO, "cannot write '%s': %s", path, strerror(errno));
        close(fd);
        unlink(tmp);
        free(tmp);
        free(final);
        return NULL;
    }
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        err_set(err, ERR_IO, "cannot write '%s': %s", path, strerror(errno));
        close(fd);
        unlink(tmp);
        free(tmp);
        free(final);
        return NULL;
    }
    set->files[set->n] = (OutFile){tmp, final};
    set->n++; /* after the entry is complete: the handler reads files[0..n) */
    return f;
}

bool outfile_close(FILE *f, const char *path, Err *err)
{
    bool ok = !ferror(f);
    ok = fflush(f) == 0 && ok;
    int e = errno;
    ok = fclose(f) == 0 && ok;
    if (!ok)
        return err_set(err, ERR_IO, "cannot write '%s': %s", path, strerror(e ? e : errno));
    return true;
}

bool outfile_write_all(OutSet *set, const char *path, const void *data, size_t len, Err *err)
{
    FILE *f = outfile_open(set, path, err);
    if (!f)
        return false;
    if (len)
        fwrite(data, 1, len, f);
    return outfile_close(f, path, err);
}

bool outfile_commit(OutSet *set, Err *err)
{
    /* rename(2) fails when the destination is a directory. Find that before renaming anything,
     * so such a failure leaves every old output in place instead of a mix of old and new. */
    for (size_t i = 0; i < set->n; i++) {
        struct stat st;
        if (lstat(set->files[i].path, &st) == 0 && S_ISDIR(st.st_mode))
            return err_set(err, ERR_IO, "cannot write '%s': it is a directory", set->files[i].path);
    }
    for (size_t i = 0; i < set->n; i++) {
        OutFile *o = &set->files[i];
        if (rename(o->tmp, o->path) != 0) {
            err_set(err, ERR_IO, "cannot write '%s': %s", o->path, strerror(errno));
            return false;
        }
        sigset_t old;
        block_signals(true, &old);
        free(o->tmp);
        o->tmp = NULL;
        block_signals(false, &old);
    }
    return true;
}

void outfile_discard(OutSet *set)
{
    sigset_t old;
    block_signals(true, &old);
    for (size_t i = 0; i < set->n; i++) {
        if (set->files[i].tmp)
            unlink(set->files[i].tmp);
        free(set->files[i].tmp);
        free(set->files[i].path);
    }
    free(set->files);
    *set = (OutSet){0};
    block_signals(false, &old);
}

char *outfile_path(const char *dir, const char *stem, const char *suffix, const char *ext)
{
    size_t n = strlen(dir) + strlen(stem) + (suffix ? strlen(suffix) + 1 : 0) + strlen(ext) + 4;
    char *p = malloc(n);
    if (!p)
        return NULL;
    if (suffix)
        snprintf(p, n, "%s/%s-%s.%s", dir, stem, suffix, ext);
    else
        snprintf(p, n, "%s/%s.%s", dir, stem, ext);
    return p;
}
