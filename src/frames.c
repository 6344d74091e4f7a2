/* frames: --steps file names. */
#include "frames.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outfile.h"

char *frames_path_kind(const char *dir, const char *stem, bool forward, uint32_t step, uint32_t nsteps,
                       const char *ext)
{
    int width = 2;
    for (uint32_t n = nsteps > 0 ? nsteps - 1 : 0; n >= 100; n /= 10)
        width++;
    char suffix[32];
    snprintf(suffix, sizeof suffix, "%s%0*u", forward ? "fwd" : "step", width, step);
    return outfile_path(dir, stem, suffix, ext);
}

char *frames_path(const char *dir, const char *stem, uint32_t step, uint32_t nsteps, const char *ext)
{
    return frames_path_kind(dir, stem, false, step, nsteps, ext);
}
