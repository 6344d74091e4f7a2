/* emit_svg: SVG and PNG, rendered by Graphviz itself (gvc) from the drawing. With --steps the
 * SVG emitter also renders one SVG per frame. */
#include <stdlib.h>

#include "dotgraph.h"
#include "emit.h"
#include "frames.h"

static bool render_one(GVC_t *gvc, const Trace *t, const EmitOpts *o, OutSet *out, const char *path,
                       const char *format, uint32_t frame, Err *err)
{
    DotOpts d = {.precision = o->precision, .rankdir_tb = o->rankdir_tb, .frame = frame};
    Agraph_t *g = dotgraph_build(t, &d, err);
    if (!g)
        return false;
    char *data = NULL;
    size_t len = 0;
    bool ok = dotgraph_render(gvc, g, format, &data, &len, err);
    dotgraph_free(g);
    ok = ok && outfile_write_all(out, path, data, len, err);
    free(data);
    return ok;
}

static bool render(const Trace *t, const EmitOpts *o, OutSet *out, const char *dir, const char *format,
                   bool frames, Err *err)
{
    GVC_t *gvc = gvContext();
    if (!gvc)
        return err_set(err, ERR_IO, "Graphviz could not start");
    char *path = outfile_path(dir, o->stem, NULL, format);
    bool ok = path ? render_one(gvc, t, o, out, path, format, UINT32_MAX, err) : err_set(err, ERR_IO, "out of memory");
    free(path);
    for (uint32_t k = 0; ok && frames && o->steps && k < t->nbwd; k++) {
        char *fp = frames_path(dir, o->stem, k, t->nbwd, format);
        ok = fp ? render_one(gvc, t, o, out, fp, format, k, err) : err_set(err, ERR_IO, "out of memory");
        free(fp);
    }
    gvFreeContext(gvc);
    return ok;
}

bool emit_svg(const Trace *t, const EmitOpts *o, OutSet *out, const char *dir, Err *err)
{
    return render(t, o, out, dir, "svg", true, err);
}

bool emit_png(const Trace *t, const EmitOpts *o, OutSet *out, const char *dir, Err *err)
{
    return render(t, o, out, dir, "png", false, err);
}
