/* outdir.c - see outdir.h. */
#include "outdir.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "util.h"

static allot_status remember(allot_outdir *d, const char *path, allot_error *err) {
    if (d->n >= ALLOT_OUTDIR_MAX_LEVELS)
        return allot_error_set(err, ALLOT_E_IO, "%s: more than %d directory levels to create", path,
                               ALLOT_OUTDIR_MAX_LEVELS);
    d->created[d->n] = allot_strdup(path);
    if (!d->created[d->n]) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    d->slot[d->n] = allot_cleanup_add_dir(path);
    d->n++;
    return ALLOT_OK;
}

allot_status allot_outdir_create(allot_outdir *d, const char *path, allot_error *err) {
    memset(d, 0, sizeof *d);
    if (!path || !*path) return allot_error_set(err, ALLOT_E_ARGUMENT, "output directory: empty path");
    char *buf = allot_strdup(path);
    if (!buf) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    size_t l = strlen(buf);
    allot_status st = ALLOT_OK;
    for (size_t i = 1; i <= l && st == ALLOT_OK; i++) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        char keep = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0777) == 0)
            st = remember(d, buf, err);
        else if (errno != EEXIST)
            st = allot_error_set(err, ALLOT_E_IO, "cannot create directory %s: %s", buf, strerror(errno));
        buf[i] = keep;
    }
    free(buf);
    struct stat sb;
    if (st == ALLOT_OK && (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)))
        st = allot_error_set(err, ALLOT_E_IO, "%s: not a directory", path);
    if (st == ALLOT_OK && access(path, W_OK | X_OK) != 0)
        st = allot_error_set(err, ALLOT_E_IO, "%s: cannot write into this directory: %s", path,
                             strerror(errno));
    if (st != ALLOT_OK) allot_outdir_finish(d, 0);
    return st;
}

void allot_outdir_finish(allot_outdir *d, int keep) {
    for (size_t i = d->n; i-- > 0;) {
        if (!keep) rmdir(d->created[i]); /* fails, harmlessly, unless empty */
        allot_cleanup_remove(d->slot[i]);
        free(d->created[i]);
    }
    d->n = 0;
}
