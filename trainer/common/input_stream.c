/*
 * input_stream.c - see input_stream.h.
 *
 * The stream handed to readers is a stdio stream over a custom read function (glibc/musl
 * fopencookie): readers keep using getline() and line numbers, and need not know whether the
 * bytes were compressed. The read function decides on its first call from the first two bytes.
 */
#define _GNU_SOURCE /* fopencookie */
#include "input_stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <zlib.h>

#define INPUT_CHUNK (1u << 16)

enum { MODE_UNDECIDED, MODE_PLAIN, MODE_GZIP };

struct allot_input {
    FILE *fp;  /* the stream readers see */
    FILE *src; /* the raw bytes */
    int own_src;
    int mode;
    int src_eof;     /* src has no more bytes */
    int member_done; /* the current gzip member ended; another may follow */
    int z_ready;     /* zs initialised */
    z_stream zs;
    unsigned char *buf; /* raw input buffer */
    size_t pending;     /* plain mode: bytes of buf not yet returned */
    size_t pending_off;
    int bom_done;            /* the first bytes were checked for a UTF-8 byte-order mark */
    unsigned char head[3];   /* the first bytes of the data, served before anything else */
    size_t head_n, head_off; /* bytes in head, bytes of it already served */
    char problem[160];
};

/* Record "<what>: <detail>" as the problem and fail the read with errno = code. */
static ssize_t fail(allot_input *in, int code, const char *what, const char *detail) {
    snprintf(in->problem, sizeof in->problem, "%s: %s", what, detail);
    errno = code;
    return -1;
}

/* Refill buf from src when zlib has consumed it; returns -1 on a read error. */
static int refill(allot_input *in) {
    if (in->zs.avail_in > 0 || in->src_eof) return 0;
    size_t n = fread(in->buf, 1, INPUT_CHUNK, in->src);
    if (n == 0) {
        if (ferror(in->src)) return -1;
        in->src_eof = 1;
    }
    in->zs.next_in = in->buf;
    in->zs.avail_in = (uInt)n;
    return 0;
}

/* First read: look at the first two bytes, keep them for whichever mode follows. */
static ssize_t decide(allot_input *in) {
    size_t n = 0;
    while (n < 2) {
        size_t got = fread(in->buf + n, 1, 2 - n, in->src);
        if (got == 0) break;
        n += got;
    }
    if (n < 2 && ferror(in->src)) return fail(in, errno ? errno : EIO, "read error", strerror(errno));
    if (n < 2) in->src_eof = 1;
    if (n == 2 && in->buf[0] == 0x1f && in->buf[1] == 0x8b) {
        memset(&in->zs, 0, sizeof in->zs);
        if (inflateInit2(&in->zs, 16 + MAX_WBITS) != Z_OK) return fail(in, ENOMEM, "gzip", "out of memory");
        in->z_ready = 1;
        in->zs.next_in = in->buf;
        in->zs.avail_in = 2;
        in->mode = MODE_GZIP;
    } else {
        in->pending = n;
        in->pending_off = 0;
        in->mode = MODE_PLAIN;
    }
    return 0;
}

static ssize_t read_plain(allot_input *in, char *out, size_t size) {
    if (in->pending) {
        size_t k = in->pending < size ? in->pending : size;
        memcpy(out, in->buf + in->pending_off, k);
        in->pending -= k;
        in->pending_off += k;
        return (ssize_t)k;
    }
    if (in->src_eof) return 0;
    size_t n = fread(out, 1, size, in->src);
    if (n == 0 && ferror(in->src)) return fail(in, errno ? errno : EIO, "read error", strerror(errno));
    return (ssize_t)n;
}

static ssize_t read_gzip(allot_input *in, char *out, size_t size) {
    for (;;) {
        if (in->member_done) {
            /* Another member may follow (concatenated .gz files); anything else is an error. */
            if (refill(in) != 0) return fail(in, errno ? errno : EIO, "read error", strerror(errno));
            if (in->zs.avail_in == 0) return 0; /* clean end */
            if (inflateReset(&in->zs) != Z_OK) return fail(in, EILSEQ, "gzip", "cannot restart");
            in->member_done = 0;
        }
        if (refill(in) != 0) return fail(in, errno ? errno : EIO, "read error", strerror(errno));
        in->zs.next_out = (unsigned char *)out;
        in->zs.avail_out = (uInt)(size > INPUT_CHUNK ? INPUT_CHUNK : size);
        uInt asked = in->zs.avail_out;
        int ret = inflate(&in->zs, Z_NO_FLUSH);
        size_t produced = asked - in->zs.avail_out;
        if (ret == Z_STREAM_END) {
            in->member_done = 1;
        } else if (ret == Z_BUF_ERROR || (ret == Z_OK && produced == 0)) {
            if (in->src_eof && in->zs.avail_in == 0)
                return fail(in, EILSEQ, "gzip", "unexpected end of data (truncated file?)");
        } else if (ret != Z_OK) {
            const char *why =
                in->zs.msg ? in->zs.msg : (ret == Z_MEM_ERROR ? "out of memory" : "corrupt data");
            return fail(in, EILSEQ, "gzip", why);
        }
        if (produced) return (ssize_t)produced;
    }
}

static ssize_t read_data(allot_input *in, char *out, size_t size) {
    return in->mode == MODE_GZIP ? read_gzip(in, out, size) : read_plain(in, out, size);
}

/* The first three bytes of the (decompressed) data: a UTF-8 byte-order mark is dropped. */
static ssize_t check_bom(allot_input *in) {
    while (in->head_n < 3) {
        ssize_t got = read_data(in, (char *)in->head + in->head_n, 3 - in->head_n);
        if (got < 0) return -1;
        if (got == 0) break;
        in->head_n += (size_t)got;
    }
    if (in->head_n == 3 && in->head[0] == 0xef && in->head[1] == 0xbb && in->head[2] == 0xbf) in->head_n = 0;
    in->bom_done = 1;
    return 0;
}

static ssize_t input_read(void *cookie, char *out, size_t size) {
    allot_input *in = cookie;
    if (in->problem[0]) {
        errno = EIO;
        return -1;
    }
    if (size == 0) return 0;
    if (in->mode == MODE_UNDECIDED && decide(in) < 0) return -1;
    if (!in->bom_done && check_bom(in) < 0) return -1;
    if (in->head_off < in->head_n) {
        size_t k = in->head_n - in->head_off < size ? in->head_n - in->head_off : size;
        memcpy(out, in->head + in->head_off, k);
        in->head_off += k;
        return (ssize_t)k;
    }
    return read_data(in, out, size);
}

static int input_close(void *cookie) {
    (void)cookie; /* allot_input_close frees everything */
    return 0;
}

static allot_status make_input(FILE *src, int own_src, const char *name, allot_input **out,
                               allot_error *err) {
    allot_input *in = calloc(1, sizeof *in);
    unsigned char *buf = in ? malloc(INPUT_CHUNK) : NULL;
    if (!buf) {
        free(in);
        return allot_error_set(err, ALLOT_E_NOMEM, "%s: out of memory", name);
    }
    in->buf = buf;
    in->src = src;
    in->own_src = own_src;
    cookie_io_functions_t io = {.read = input_read, .write = NULL, .seek = NULL, .close = input_close};
    in->fp = fopencookie(in, "r", io);
    if (!in->fp) {
        free(buf);
        free(in);
        return allot_error_set(err, ALLOT_E_NOMEM, "%s: out of memory", name);
    }
    *out = in;
    return ALLOT_OK;
}

allot_status allot_input_open(const char *path, allot_input **out, allot_error *err) {
    *out = NULL;
    if (!path) return allot_error_set(err, ALLOT_E_ARGUMENT, "input: no path");
    int is_stdin = strcmp(path, "-") == 0;
    FILE *src = is_stdin ? stdin : fopen(path, "rb");
    if (!src) return allot_error_set(err, ALLOT_E_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(src), &sb) == 0 && S_ISDIR(sb.st_mode)) {
        if (!is_stdin) fclose(src);
        return allot_error_set(err, ALLOT_E_IO, "%s: is a directory", path);
    }
    allot_status st = make_input(src, !is_stdin, path, out, err);
    if (st && !is_stdin) fclose(src);
    return st;
}

allot_status allot_input_wrap(FILE *src, allot_input **out, allot_error *err) {
    *out = NULL;
    if (!src) return allot_error_set(err, ALLOT_E_ARGUMENT, "input: no stream");
    return make_input(src, 0, "input", out, err);
}

FILE *allot_input_fp(allot_input *in) {
    return in->fp;
}

const char *allot_input_problem(const allot_input *in) {
    return in->problem[0] ? in->problem : NULL;
}

int allot_input_is_gzip(const allot_input *in) {
    return in->mode == MODE_GZIP;
}

void allot_input_close(allot_input *in) {
    if (!in) return;
    if (in->fp) fclose(in->fp);
    if (in->z_ready) inflateEnd(&in->zs);
    if (in->own_src && in->src) fclose(in->src);
    free(in->buf);
    free(in);
}
