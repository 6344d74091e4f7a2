/* emit_json: the JSON trace file. */
#include <stdlib.h>

#include "emit.h"
#include "tracejson.h"

bool emit_json(const Trace *t, const EmitOpts *o, OutSet *out, const char *dir, Err *err)
{
    char *path = outfile_path(dir, o->stem, NULL, "json");
    if (!path)
        return err_set(err, ERR_IO, "out of memory");
    FILE *f = outfile_open(out, path, err);
    bool ok = f && tracejson_write(t, o->jac, o->model_path, f, err);
    if (f)
        ok = outfile_close(f, path, err) && ok;
    free(path);
    return ok;
}
