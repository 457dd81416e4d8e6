/* atomic_file.c - see atomic_file.h. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "atomic_file.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "util.h"

static void release(allot_atomic_file *af) {
    free(af->path);
    free(af->target);
    free(af->tmp_path);
    af->path = af->target = af->tmp_path = NULL;
    af->fp = NULL;
    af->slot = -1;
}

static const char *target_name(const allot_atomic_file *af) {
    return strcmp(af->path, "-") == 0 ? "stdout" : af->path;
}

/* ---- what the target is ------------------------------------------------------------------------- */

typedef enum { TARGET_NEW, TARGET_REGULAR, TARGET_SPOOL } target_kind;

/*
 * Decide how path is written: "-" and existing devices, FIFOs and sockets are spooled; a symlink
 * is followed (*target = the file it names); a directory or a dangling link is an error.
 * *mode receives an existing regular file's permission bits.
 */
static allot_status classify(const char *path, target_kind *kind, char **target, struct stat *old,
                             allot_error *err) {
    *target = NULL;
    if (strcmp(path, "-") == 0) {
        *kind = TARGET_SPOOL;
        return ALLOT_OK;
    }
    struct stat lst;
    if (lstat(path, &lst) != 0) {
        if (errno != ENOENT) return allot_error_set(err, ALLOT_E_IO, "%s: %s", path, strerror(errno));
        *kind = TARGET_NEW;
        *target = allot_strdup(path);
        return *target ? ALLOT_OK : allot_error_set(err, ALLOT_E_NOMEM, "%s: out of memory", path);
    }
    if (S_ISLNK(lst.st_mode)) {
        char *resolved = realpath(path, NULL);
        if (!resolved)
            return allot_error_set(err, ALLOT_E_IO,
                                   "%s: a symbolic link to a file that cannot be reached (%s); refusing to "
                                   "replace the link",
                                   path, strerror(errno));
        *target = resolved;
        if (stat(resolved, &lst) != 0)
            return allot_error_set(err, ALLOT_E_IO, "%s: %s", path, strerror(errno));
    } else {
        *target = allot_strdup(path);
        if (!*target) return allot_error_set(err, ALLOT_E_NOMEM, "%s: out of memory", path);
    }
    if (S_ISDIR(lst.st_mode)) return allot_error_set(err, ALLOT_E_IO, "%s: is a directory", path);
    *kind = S_ISREG(lst.st_mode) ? TARGET_REGULAR : TARGET_SPOOL;
    *old = lst;
    return ALLOT_OK;
}

/* ---- spooled targets ---------------------------------------------------------------------------- */

static allot_status open_spool(allot_atomic_file *af, allot_error *err) {
    af->fp = tmpfile();
    if (!af->fp) {
        allot_status st = allot_error_set(err, ALLOT_E_IO, "%s: cannot create a temporary spool file: %s",
                                          target_name(af), strerror(errno));
        release(af);
        return st;
    }
    return ALLOT_OK;
}

/* Copy the spool to its target (stdout, or the device / FIFO opened now); the spool is closed. */
static allot_status commit_spool(allot_atomic_file *af, allot_error *err) {
    char buf[1 << 15];
    int to_stdout = strcmp(af->path, "-") == 0;
    int failed = ferror(af->fp) || fflush(af->fp) != 0 || fseek(af->fp, 0, SEEK_SET) != 0;
    int saved = errno;
    FILE *out = failed ? NULL : to_stdout ? stdout : fopen(af->target ? af->target : af->path, "w");
    if (!out && !failed) {
        failed = 1;
        saved = errno;
    }
    while (!failed) {
        size_t n = fread(buf, 1, sizeof buf, af->fp);
        if (n && fwrite(buf, 1, n, out) != n) {
            failed = 1;
            saved = errno;
        }
        if (n < sizeof buf) {
            failed |= ferror(af->fp) != 0;
            break;
        }
    }
    fclose(af->fp);
    if (out && (to_stdout ? fflush(out) : fclose(out)) != 0 && !failed) {
        failed = 1;
        saved = errno;
    }
    allot_status st = ALLOT_OK;
    if (failed)
        st = allot_error_set(err, ALLOT_E_IO, "%s: write failed: %s", target_name(af), strerror(saved));
    release(af);
    return st;
}

/* ---- temporary files beside the target ---------------------------------------------------------- */

allot_status allot_atomic_open(allot_atomic_file *af, const char *path, allot_error *err) {
    memset(af, 0, sizeof *af);
    af->slot = -1;
    target_kind kind = TARGET_NEW;
    struct stat old;
    memset(&old, 0, sizeof old);
    af->path = allot_strdup(path);
    if (!af->path) return allot_error_set(err, ALLOT_E_NOMEM, "%s: out of memory", path);
    allot_status st = classify(path, &kind, &af->target, &old, err);
    if (st != ALLOT_OK) {
        release(af);
        return st;
    }
    if (kind == TARGET_SPOOL) return open_spool(af, err);
    int fd = allot_cleanup_create_tmp(af->target, &af->tmp_path, &af->slot);
    if (fd < 0) {
        st = allot_error_set(err, ALLOT_E_IO, "%s: cannot create a temporary file beside it: %s", path,
                             strerror(errno));
        release(af);
        return st;
    }
    /* an existing file keeps its permission bits (and, where we may, its owner); a new one has
     * 0666 less the umask from open(). Failures only lose the mode, so they are not errors. */
    if (kind == TARGET_REGULAR) {
        if (old.st_uid != geteuid() || old.st_gid != getegid()) (void)!fchown(fd, old.st_uid, old.st_gid);
        (void)fchmod(fd, old.st_mode & 07777);
    }
    af->fp = fdopen(fd, "w");
    if (!af->fp) {
        st = allot_error_set(err, ALLOT_E_IO, "%s: %s", path, strerror(errno));
        close(fd);
        unlink(af->tmp_path);
        allot_cleanup_remove(af->slot);
        release(af);
    }
    return st;
}

/* Flush, fsync and close the temporary file; on failure it is removed. */
static allot_status finish_tmp(allot_atomic_file *af, allot_error *err) {
    int failed = ferror(af->fp) || fflush(af->fp) != 0 || fsync(fileno(af->fp)) != 0;
    int saved = errno;
    if (fclose(af->fp) != 0 && !failed) {
        failed = 1;
        saved = errno;
    }
    af->fp = NULL;
    if (!failed) return ALLOT_OK;
    unlink(af->tmp_path);
    allot_cleanup_remove(af->slot);
    af->slot = -1;
    return allot_error_set(err, ALLOT_E_IO, "%s: write failed: %s", af->path,
                           saved ? strerror(saved)
                                 : "an earlier write failed (disk full or file size limit?)");
}

static allot_status rename_into_place(allot_atomic_file *af, allot_error *err) {
    allot_status st = ALLOT_OK;
    if (rename(af->tmp_path, af->target) != 0) {
        st = allot_error_set(err, ALLOT_E_IO, "%s: cannot rename into place: %s", af->path, strerror(errno));
        unlink(af->tmp_path);
    }
    allot_cleanup_remove(af->slot);
    af->slot = -1;
    return st;
}

allot_status allot_atomic_commit(allot_atomic_file *af, allot_error *err) {
    if (!af->tmp_path) return commit_spool(af, err);
    allot_status st = finish_tmp(af, err);
    if (st == ALLOT_OK) st = rename_into_place(af, err);
    release(af);
    return st;
}

void allot_atomic_abort(allot_atomic_file *af) {
    if (af->fp) fclose(af->fp);
    if (af->tmp_path) unlink(af->tmp_path);
    allot_cleanup_remove(af->slot);
    release(af);
}

allot_status allot_atomic_write(const char *path, const void *data, size_t len, allot_error *err) {
    return allot_atomic_write_all(&path, &data, &len, 1, err);
}

allot_status allot_atomic_write_all(const char *const *paths, const void *const *data, const size_t *lens,
                                    size_t n, allot_error *err) {
    allot_atomic_file af[8];
    if (n > sizeof af / sizeof af[0])
        return allot_error_set(err, ALLOT_E_ARGUMENT, "atomic write: at most 8 files at once");
    size_t opened = 0;
    allot_status st = ALLOT_OK;
    /* 1. write every temporary file (spools stay open until commit) */
    for (; opened < n && st == ALLOT_OK; opened++) {
        st = allot_atomic_open(&af[opened], paths[opened], err);
        if (st != ALLOT_OK) break;
        if (lens[opened] && fwrite(data[opened], 1, lens[opened], af[opened].fp) != lens[opened]) {
            int e = errno;
            st = allot_error_set(err, ALLOT_E_IO, "%s: write failed: %s", paths[opened], strerror(e));
            allot_atomic_abort(&af[opened]);
            break;
        }
        if (af[opened].tmp_path) st = finish_tmp(&af[opened], err);
        if (st != ALLOT_OK) {
            release(&af[opened]);
            break;
        }
    }
    if (st != ALLOT_OK) {
        for (size_t k = 0; k < opened; k++) allot_atomic_abort(&af[k]);
        return st;
    }
    /* 2. every file is complete: rename (or copy out the spools) in order */
    for (size_t k = 0; k < n; k++) {
        allot_status s = af[k].tmp_path ? rename_into_place(&af[k], err) : commit_spool(&af[k], err);
        if (af[k].tmp_path) release(&af[k]);
        if (s != ALLOT_OK && st == ALLOT_OK) st = s;
        if (st != ALLOT_OK) /* keep the all-or-nothing promise for the files not yet renamed */
            for (size_t j = k + 1; j < n; j++) allot_atomic_abort(&af[j]);
        if (st != ALLOT_OK) break;
    }
    return st;
}
