/* emit_dot: the DOT source of the drawing (and of each --steps frame), written by cgraph
 * before any layout so it carries no positions: it is the file a lecturer edits or feeds to
 * `dot` by hand. Frames: <stem>-stepNN.dot for the backward pass, <stem>-fwdNN.dot for the
 * forward-mode tangent sweep (--mode forward|both; both sets with both). */
#include <stdio.h>
#include <stdlib.h>

#include "dotgraph.h"
#include "emit.h"
#include "frames.h"

static bool write_one(const Trace *t, const EmitOpts *o, OutSet *out, const char *path, bool forward, uint32_t frame,
                      Err *err)
{
    DotOpts d = {.precision = o->precision, .rankdir_tb = o->rankdir_tb, .frame = frame, .jac = o->jac,
                 .forward = forward};
    Agraph_t *g = dotgraph_build(t, &d, err);
    if (!g)
        return false;
    FILE *f = outfile_open(out, path, err);
    if (!f) {
        dotgraph_free(g);
        return false;
    }
    bool ok = agwrite(g, f) == 0;
    dotgraph_free(g);
    ok = outfile_close(f, path, err) && ok;
    if (!ok)
        return err_set(err, ERR_IO, "cannot write '%s'", path);
    return true;
}

bool emit_dot(const Trace *t, const EmitOpts *o, OutSet *out, const char *dir, Err *err)
{
    char *path = outfile_path(dir, o->stem, NULL, "dot");
    if (!path)
        return err_set(err, ERR_IO, "out of memory");
    bool ok = write_one(t, o, out, path, false, UINT32_MAX, err);
    free(path);
    for (int kind = 0; ok && o->steps && kind < 2; kind++) {
        bool forward = kind == 1;
        uint32_t n = dotgraph_frame_count(t, o->jac, forward);
        if (n > FRAMES_MAX)
            return err_set(err, ERR_USAGE, "--steps would write %u %s frames; it is meant for models of up to %u steps",
                           n, forward ? "forward-mode" : "backward", FRAMES_MAX);
        for (uint32_t k = 0; ok && k < n; k++) {
            char *fp = frames_path_kind(dir, o->stem, forward, k, n, "dot");
            ok = fp ? write_one(t, o, out, fp, forward, k, err) : err_set(err, ERR_IO, "out of memory");
            free(fp);
        }
    }
    return ok;
}
