/* emit: the table of output formats (SPEC §3 order). A format whose emitter has not been
 * written yet has write == NULL and is refused by the command line with a clear message. */
#include "emit.h"

#include <string.h>

static const Emitter EMITTERS[] = {
    {"dot", "dot", false, emit_dot},
    {"svg", "svg", true, emit_svg},
    {"png", "png", true, emit_png},
    {"pdf", "pdf", true, emit_pdf},
    {"json", "json", false, emit_json},
    {"html", "html", true, emit_html},
};

const Emitter *emit_find(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof EMITTERS / sizeof EMITTERS[0]; i++)
        if (strlen(EMITTERS[i].name) == len && memcmp(EMITTERS[i].name, name, len) == 0)
            return &EMITTERS[i];
    return NULL;
}

const Emitter *emit_all(size_t *n)
{
    *n = sizeof EMITTERS / sizeof EMITTERS[0];
    return EMITTERS;
}
