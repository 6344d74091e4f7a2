/* emit_svg: SVG and PNG, rendered by Graphviz itself (gvc) from the drawing. With --steps each
 * also renders one file per backward step (<stem>-stepNN.svg / .png) and, with --mode
 * forward|both, one per step of the forward-mode tangent sweep (<stem>-fwdNN.svg / .png).
 * Frames are drawn at the positions of the final drawing's layout (dotgraph pins), so that
 * flipping through them, as slides or an animation, shows the numbers filling in on a graph
 * that stays put. */
#include <stdlib.h>

#include "dotgraph.h"
#include "emit.h"
#include "frames.h"

/* PNG resolution: Graphviz's default 96 dpi is blurry on a projector; 144 keeps a lecture-sized
 * graph under ~2,500 px wide. SVG is resolution-independent and keeps its point sizes. */
#define PNG_DPI "144"

static bool render_one(GVC_t *gvc, const Trace *t, const EmitOpts *o, OutSet *out, const char *path,
                       const char *format, bool forward, uint32_t frame, const DotPins *pins, DotPins **capture,
                       Err *err)
{
    DotOpts d = {.precision = o->precision, .rankdir_tb = o->rankdir_tb, .frame = frame, .jac = o->jac,
                 .forward = forward};
    Agraph_t *g = dotgraph_build(t, &d, err);
    if (!g)
        return false;
    if (format[0] == 'p') /* png */
        agsafeset(g, (char *)"dpi", (char *)PNG_DPI, (char *)"");
    char *data = NULL;
    size_t len = 0;
    bool ok = pins ? dotgraph_render_pinned(gvc, g, pins, format, &data, &len, err)
                   : dotgraph_render_pins(gvc, g, format, capture, &data, &len, err);
    dotgraph_free(g);
    ok = ok && outfile_write_all(out, path, data, len, err);
    free(data);
    return ok;
}

static bool render(const Trace *t, const EmitOpts *o, OutSet *out, const char *dir, const char *format, Err *err)
{
    GVC_t *gvc = o->gvc;
    uint32_t nframes[2] = {0, 0}; /* backward, forward */
    for (int kind = 0; o->steps && kind < 2; kind++) {
        nframes[kind] = dotgraph_frame_count(t, o->jac, kind == 1);
        if (nframes[kind] > FRAMES_MAX)
            return err_set(err, ERR_USAGE, "--steps would write %u %s frames; it is meant for models of up to %u steps",
                           nframes[kind], kind ? "forward-mode" : "backward", FRAMES_MAX);
    }
    bool frames = nframes[0] + nframes[1] > 0;
    DotPins *pins = NULL;
    char *path = outfile_path(dir, o->stem, NULL, format);
    bool ok = path ? render_one(gvc, t, o, out, path, format, false, UINT32_MAX, NULL, frames ? &pins : NULL, err)
                   : err_set(err, ERR_IO, "out of memory");
    free(path);
    for (int kind = 0; kind < 2; kind++) {
        for (uint32_t k = 0; ok && k < nframes[kind]; k++) {
            char *fp = frames_path_kind(dir, o->stem, kind == 1, k, nframes[kind], format);
            ok = fp ? render_one(gvc, t, o, out, fp, format, kind == 1, k, pins, NULL, err)
                    : err_set(err, ERR_IO, "out of memory");
            free(fp);
        }
    }
    dotgraph_pins_free(pins);
    return ok;
}

bool emit_svg(const Trace *t, const EmitOpts *o, OutSet *out, const char *dir, Err *err)
{
    return render(t, o, out, dir, "svg", err);
}

bool emit_png(const Trace *t, const EmitOpts *o, OutSet *out, const char *dir, Err *err)
{
    return render(t, o, out, dir, "png", err);
}
