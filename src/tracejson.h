/* tracejson: the JSON trace document (SPEC §4, schema/gradviz-trace.schema.json). Both the
 * json emitter and the HTML report (which embeds it) write it through this one function.
 * Records are built one at a time with cJSON and streamed, so memory stays flat in the size
 * of the graph. */
#ifndef GRADVIZ_TRACEJSON_H
#define GRADVIZ_TRACEJSON_H

#include "ad.h"

/* Writes the trace document to f. `source` is model.source (the path as given). false with
 * err set (ERR_IO) on a write error or OOM. */
bool tracejson_write(const Trace *t, const char *source, FILE *f, Err *err);

#endif
