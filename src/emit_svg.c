/* emit_svg: SVG and PNG, rendered by Graphviz itself (gvc) from the drawing. With --steps each
 * also renders one file per backward step (<stem>-stepNN.svg / .png) and, with --mode
 * forward|both, one per step of the forward-mode tangent sweep (<stem>-fwdNN.svg / .png).
 * Frames are drawn at the positions of the final drawing's layout (dotgraph pins), so that
 * flipping through them, as slides or an animation, shows the numbers filling in on a graph
 * that stays put. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "dotgraph.h"
#include "emit.h"
#include "frames.h"

/* PNG resolution: Graphviz's default 96 dpi is blurry on a projector; 144 keeps a small graph
 * crisp. SVG is resolution-independent and keeps its point sizes. */
#define PNG_DPI 144.0
/* Largest PNG side in pixels: larger drawings are scaled down to fit (Graphviz's `size`, in
 * inches at PNG_DPI), which a 4K screen still shows whole. Rendering and compressing cost
 * ~50 ns per pixel: an uncapped 3,4,1 MLP drawing was 6,433 × 2,552 px, ~1.9 s per --steps
 * frame. At 4,000 px 10-point text is still ~11 px high. */
#define PNG_MAX_PX 4000.0

static bool render_one(GVC_t *gvc, const Trace *t, const EmitOpts *o, OutSet *out, const char *path,
                       const char *format, bool forward, uint32_t frame, const DotPins *pins, DotPins **capture,
                       Err *err)
{
    DotOpts d = {.precision = o->precision, .rankdir_tb = o->rankdir_tb, .frame = frame, .jac = o->jac,
                 .forward = forward};
    Agraph_t *g = dotgraph_build(t, &d, err);
    if (!g)
        return false;
    double w, h;
    if (format[0] == 'p' && !pins) { /* png: the final drawing; Graphviz scales it to fit */
        char size[64];
        snprintf(size, sizeof size, "%.4f,%.4f", PNG_MAX_PX / PNG_DPI, PNG_MAX_PX / PNG_DPI);
        agsafeset(g, (char *)"size", size, (char *)"");
    }
    if (format[0] == 'p') {
        /* a frame is scaled like the final drawing (the same zoom as `size` gave it, which
         * counts the pad), not to fit itself, so that frames and drawing line up as slides */
        char dpi[32];
        double scale = 1;
        if (pins && dotgraph_pins_size(pins, &w, &h)) {
            double pad = 2 * 72 * atof(agget(g, (char *)"pad")), fit = PNG_MAX_PX / PNG_DPI * 72;
            scale = fmin(1, fmin(fit / (w + pad), fit / (h + pad)));
        }
        snprintf(dpi, sizeof dpi, "%.4f", PNG_DPI * scale);
        agsafeset(g, (char *)"dpi", dpi, (char *)"");
        if (pins) {
            /* ...but a frame's own heading (the step, the chain-rule line) can make it wider
             * than the drawing: `size` at that dpi still caps it at PNG_MAX_PX */
            char size[64];
            double in = PNG_MAX_PX / (PNG_DPI * scale);
            snprintf(size, sizeof size, "%.4f,%.4f", in, in);
            agsafeset(g, (char *)"size", size, (char *)"");
        }
    }
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
