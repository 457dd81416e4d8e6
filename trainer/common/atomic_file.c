#include "atomic_file.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

static void release(allot_atomic_file *af) {
    free(af->path);
    free(af->tmp_path);
    af->path = af->tmp_path = NULL;
    af->fp = NULL;
}

/*
 * Targets that are not regular files are spooled: "-" (stdout) and an existing device, FIFO or
 * socket (/dev/null, /dev/stdout, a named pipe). Renaming a temporary file over those would
 * replace them (as root, /dev/null itself); instead the output goes to an anonymous temporary file
 * and is copied to the target only on commit.
 */
static int is_spooled(const char *path) {
    struct stat st;
    if (strcmp(path, "-") == 0) return 1;
    return stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
}

static const char *target_name(const allot_atomic_file *af) {
    return strcmp(af->path, "-") == 0 ? "stdout" : af->path;
}

static allot_status open_spool(allot_atomic_file *af, const char *path, allot_error *err) {
    af->path = allot_strdup(path);
    if (!af->path) return allot_error_set(err, ALLOT_E_NOMEM, "%s: out of memory", path);
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
    FILE *out = failed ? NULL : to_stdout ? stdout : fopen(af->path, "w");
    if (!out) failed = 1;
    while (!failed) {
        size_t n = fread(buf, 1, sizeof buf, af->fp);
        if (n && fwrite(buf, 1, n, out) != n) failed = 1;
        if (n < sizeof buf) {
            failed |= ferror(af->fp) != 0;
            break;
        }
    }
    int saved = errno;
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

allot_status allot_atomic_open(allot_atomic_file *af, const char *path, allot_error *err) {
    memset(af, 0, sizeof *af);
    if (is_spooled(path)) return open_spool(af, path, err);
    size_t n = strlen(path);
    af->path = allot_strdup(path);
    af->tmp_path = malloc(n + 12);
    if (!af->path || !af->tmp_path) {
        release(af);
        return allot_error_set(err, ALLOT_E_NOMEM, "%s: out of memory", path);
    }
    memcpy(af->tmp_path, path, n);
    memcpy(af->tmp_path + n, ".tmp.XXXXXX", 12);
    int fd = mkstemp(af->tmp_path);
    if (fd < 0) {
        allot_status st =
            allot_error_set(err, ALLOT_E_IO, "%s: cannot create temporary file: %s", path, strerror(errno));
        release(af);
        return st;
    }
    /* mkstemp creates 0600; outputs are ordinary readable files (reading the umask would mean
     * changing it, which is process-wide state). A failure here is harmless, so it is ignored. */
    (void)fchmod(fd, 0644);
    af->fp = fdopen(fd, "w");
    if (!af->fp) {
        allot_status st = allot_error_set(err, ALLOT_E_IO, "%s: %s", path, strerror(errno));
        close(fd);
        unlink(af->tmp_path);
        release(af);
        return st;
    }
    return ALLOT_OK;
}

allot_status allot_atomic_commit(allot_atomic_file *af, allot_error *err) {
    if (!af->tmp_path) return commit_spool(af, err);
    allot_status st = ALLOT_OK;
    int failed = ferror(af->fp) || fflush(af->fp) != 0 || fsync(fileno(af->fp)) != 0;
    int saved = errno;
    if (fclose(af->fp) != 0) failed = 1;
    if (failed) {
        st = allot_error_set(err, ALLOT_E_IO, "%s: write failed: %s", af->path, strerror(saved));
        unlink(af->tmp_path);
    } else if (rename(af->tmp_path, af->path) != 0) {
        st = allot_error_set(err, ALLOT_E_IO, "%s: cannot rename into place: %s", af->path, strerror(errno));
        unlink(af->tmp_path);
    }
    release(af);
    return st;
}

void allot_atomic_abort(allot_atomic_file *af) {
    if (af->fp) fclose(af->fp);
    if (af->tmp_path) unlink(af->tmp_path);
    release(af);
}

allot_status allot_atomic_write(const char *path, const void *data, size_t len, allot_error *err) {
    allot_atomic_file af;
    allot_status st = allot_atomic_open(&af, path, err);
    if (st != ALLOT_OK) return st;
    if (len && fwrite(data, 1, len, af.fp) != len) {
        allot_atomic_abort(&af);
        return allot_error_set(err, ALLOT_E_IO, "%s: write failed", path);
    }
    return allot_atomic_commit(&af, err);
}
