/* frames: naming of --steps frame files, shared by the emitters that write frames:
 * <dir>/<stem>-step<NN>.<ext> for the backward pass and <dir>/<stem>-fwd<NN>.<ext> for the
 * forward-mode tangent sweep (--mode forward|both), NN zero-padded to the width of the last
 * step number, from 00. */
#ifndef GRADVIZ_FRAMES_H
#define GRADVIZ_FRAMES_H

#include <stdbool.h>
#include <stdint.h>

/* Most frames of one kind an emitter writes (main refuses --steps above it for the backward
 * pass; the forward sweep can have more steps when outputs other than the primary add nodes). */
#define FRAMES_MAX 2000u

/* Path of backward frame `step` of `nsteps`: malloc'd, or NULL on OOM. */
char *frames_path(const char *dir, const char *stem, uint32_t step, uint32_t nsteps, const char *ext);
/* Path of a frame of either kind: backward (<stem>-stepNN) or forward-mode (<stem>-fwdNN). */
char *frames_path_kind(const char *dir, const char *stem, bool forward, uint32_t step, uint32_t nsteps,
                       const char *ext);

#endif
