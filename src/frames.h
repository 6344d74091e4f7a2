/* frames: naming of --steps frame files, shared by the emitters that write frames:
 * <dir>/<stem>-step<NN>.<ext>, NN zero-padded to the width of the last step number, from 00. */
#ifndef GRADVIZ_FRAMES_H
#define GRADVIZ_FRAMES_H

#include <stdint.h>

/* malloc'd path, or NULL on OOM. */
char *frames_path(const char *dir, const char *stem, uint32_t step, uint32_t nsteps, const char *ext);

#endif
