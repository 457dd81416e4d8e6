/*
 * plot.c - figures through gnuplot (see plot.h).
 *
 * Layout of the files for out_base "dir/name":
 *   dir/name.dat  data, written atomically, numbers as %.12g, missing values (NaN/inf) as "?"
 *   dir/name.gp   the script; it names its files by basename only, so it is meant to be run from
 *                 its own directory ("cd dir && gnuplot name.gp"), which keeps the pair relocatable
 *                 and the script byte-identical whatever the output directory is called.
 *   dir/name.png, dir/name.svg  rendered by gnuplot.
 *
 * Rendering: gnuplot runs as a child process (fork + chdir + execvp, no shell; the script path is
 * one argv entry). The script writes to outbase.'.png' / outbase.'.svg' where `outbase` defaults to
 * the basename; we pass a private temporary outbase with -e and rename the images into place once
 * gnuplot has exited 0, so the images are replaced atomically too. Strings inside the script
 * (titles, labels, file names) are single-quoted gnuplot strings, in which nothing is special
 * except the quote itself (doubled); control characters are replaced by spaces, and every terminal
 * is "noenhanced" so '_' or '^' in a method name print as themselves.
 */
#include "plot.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "atomic_file.h"
#include "cleanup.h"
#include "progress.h"

/* Longest a gnuplot run may take before it is killed and the figure reported as failed. */
#define ALLOT_PLOT_TIME_LIMIT_S 120

/* ---- paths ---------------------------------------------------------------------------------- */

typedef struct plot_paths {
    char *dir;                  /* directory of out_base ("." when none) */
    char *base;                 /* basename of out_base */
    char *dat, *gp, *png, *svg; /* full paths */
} plot_paths;

static char *str_cat3(const char *a, const char *b, const char *c) {
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *s = malloc(la + lb + lc + 1);
    if (!s) return NULL;
    memcpy(s, a, la);
    memcpy(s + la, b, lb);
    memcpy(s + la + lb, c, lc + 1);
    return s;
}

static void paths_free(plot_paths *p) {
    free(p->dir);
    free(p->base);
    free(p->dat);
    free(p->gp);
    free(p->png);
    free(p->svg);
    memset(p, 0, sizeof *p);
}

static allot_status paths_make(plot_paths *p, const char *out_base, allot_error *err) {
    memset(p, 0, sizeof *p);
    if (!out_base || !*out_base) return allot_error_set(err, ALLOT_E_ARGUMENT, "plot: empty output path");
    const char *slash = strrchr(out_base, '/');
    const char *b = slash ? slash + 1 : out_base;
    if (!*b) return allot_error_set(err, ALLOT_E_ARGUMENT, "plot: output path '%s' ends with '/'", out_base);
    size_t dlen = slash ? (size_t)(slash - out_base) : 0;
    p->dir = malloc(dlen + 2);
    if (p->dir) {
        if (!slash) {
            strcpy(p->dir, ".");
        } else if (dlen == 0) {
            strcpy(p->dir, "/");
        } else {
            memcpy(p->dir, out_base, dlen);
            p->dir[dlen] = '\0';
        }
    }
    p->base = str_cat3(b, "", "");
    p->dat = str_cat3(out_base, ".dat", "");
    p->gp = str_cat3(out_base, ".gp", "");
    p->png = str_cat3(out_base, ".png", "");
    p->svg = str_cat3(out_base, ".svg", "");
    if (!p->dir || !p->base || !p->dat || !p->gp || !p->png || !p->svg) {
        paths_free(p);
        return allot_error_set(err, ALLOT_E_NOMEM, "plot: out of memory");
    }
    return ALLOT_OK;
}

/* ---- writing helpers ------------------------------------------------------------------------ */

/* A single-quoted gnuplot string: '' stands for ', control characters become spaces. */
static void put_gp_string(FILE *fp, const char *s) {
    fputc('\'', fp);
    for (const unsigned char *c = (const unsigned char *)(s ? s : ""); *c; c++) {
        if (*c == '\'')
            fputs("''", fp);
        else if (*c < 0x20 || *c == 0x7f)
            fputc(' ', fp);
        else
            fputc(*c, fp);
    }
    fputc('\'', fp);
}

/* A double-quoted field of the .dat (group names with spaces): '"' and controls become spaces. */
static void put_dat_string(FILE *fp, const char *s) {
    fputc('"', fp);
    for (const unsigned char *c = (const unsigned char *)(s ? s : ""); *c; c++)
        fputc((*c < 0x20 || *c == 0x7f || *c == '"' || *c == '\\') ? ' ' : *c, fp);
    fputc('"', fp);
}

/* A comment line of the .dat: no newline may escape. */
static void put_comment_text(FILE *fp, const char *s) {
    for (const unsigned char *c = (const unsigned char *)(s ? s : ""); *c; c++)
        fputc((*c < 0x20 || *c == 0x7f) ? ' ' : *c, fp);
}

static void put_num(FILE *fp, double v) {
    if (isfinite(v))
        fprintf(fp, "%.12g", v == 0.0 ? 0.0 : v); /* no "-0" */
    else
        fputs("?", fp);
}

/* Preamble shared by every script: terminal choice, labels, the outbase variable. */
static void put_preamble(FILE *fp, const plot_paths *p, const allot_plot_opts *o, const char *kind) {
    fprintf(fp, "# allot %s figure. Data: ", kind);
    put_comment_text(fp, p->base);
    fputs(".dat\n# Re-render from this directory with: gnuplot ", fp);
    put_comment_text(fp, p->base);
    fputs(".gp\n", fp);
    fputs("if (!exists('outbase')) outbase = ", fp);
    put_gp_string(fp, p->base);
    fputs("\ndatafile = ", fp);
    put_gp_string(fp, p->base);
    fputs(".'.dat'\n", fp);
    fputs("set datafile missing '?'\n", fp);
    fputs("set encoding utf8\n", fp);
    if (o && o->title) {
        fputs("set title ", fp);
        put_gp_string(fp, o->title);
        fputs("\n", fp);
    }
    if (o && o->xlabel) {
        fputs("set xlabel ", fp);
        put_gp_string(fp, o->xlabel);
        fputs("\n", fp);
    }
    if (o && o->ylabel) {
        fputs("set ylabel ", fp);
        put_gp_string(fp, o->ylabel);
        fputs("\n", fp);
    }
}

/* The PNG terminal (pngcairo when built in, else libgd png); goes before the plot command. */
static void put_png_terminal(FILE *fp) {
    fputs("if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
          "    set terminal pngcairo noenhanced size 1000,620 font ',10'\n"
          "} else {\n"
          "    set terminal png noenhanced size 1000,620\n"
          "}\n"
          "set output outbase.'.png'\n",
          fp);
}

/* After the plot command: the same figure again as SVG. */
static void put_svg_replot(FILE *fp) {
    fputs("set terminal svg noenhanced size 1000,620 dynamic font ',10'\n"
          "set output outbase.'.svg'\n"
          "replot\n"
          "unset output\n",
          fp);
}

/* Twelve distinguishable colours (then dash types / fill patterns tell later series apart). */
static const char *const series_colours[12] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                               "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                                               "#bcbd22", "#17becf", "#000000", "#aec7e8"};
#define N_COLOURS (sizeof series_colours / sizeof series_colours[0])

/* ---- running gnuplot ------------------------------------------------------------------------ */

/* A PNG ends with its IEND chunk; an SVG with "</svg>" (and white space). Anything else was cut
 * short: gnuplot exits 0 even when a write fails (a full disk, `ulimit -f`). */
static int image_complete(const char *path, int svg) {
    static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    static const unsigned char png_end[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 20) return 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) return 0;
    unsigned char head[8], tail[64];
    size_t tail_n = st.st_size < (off_t)sizeof tail ? (size_t)st.st_size : sizeof tail;
    int ok = fread(head, 1, sizeof head, fp) == sizeof head && fseek(fp, -(long)tail_n, SEEK_END) == 0 &&
             fread(tail, 1, tail_n, fp) == tail_n;
    fclose(fp);
    if (!ok) return 0;
    if (!svg) return !memcmp(head, png_sig, 8) && !memcmp(tail + tail_n - 12, png_end, 12);
    while (tail_n && (tail[tail_n - 1] == '\n' || tail[tail_n - 1] == '\r' || tail[tail_n - 1] == ' '))
        tail_n--;
    return tail_n >= 6 && !memcmp(tail + tail_n - 6, "</svg>", 6);
}

/* Rename a rendered image over its final path, keeping an existing file's permission bits. */
static int rename_image(const char *tmp, const char *final) {
    struct stat old;
    if (stat(final, &old) == 0 && S_ISREG(old.st_mode)) (void)chmod(tmp, old.st_mode & 07777);
    return rename(tmp, final);
}

/* The signals cleanup.h handles, blocked while a child is started and registered. */
static void block_cleanup_signals(sigset_t *old) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGPIPE);
    sigprocmask(SIG_BLOCK, &set, old);
}

/* gnuplot's stderr (newlines flattened) into msg, until it closes the pipe or the deadline. */
static int read_child_messages(int fd, double deadline, char *msg, size_t size) {
    size_t used = 0;
    for (;;) {
        double left = deadline - allot_now_seconds();
        if (left <= 0) break;
        struct pollfd pfd = {fd, POLLIN, 0};
        int r = poll(&pfd, 1, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        char buf[512];
        ssize_t got = read(fd, buf, sizeof buf);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
            msg[used] = '\0';
            return 0; /* the child closed its end: it is exiting */
        }
        for (ssize_t i = 0; i < got && used + 1 < size; i++)
            msg[used++] = (buf[i] == '\n' || buf[i] == '\r') ? ' ' : buf[i];
    }
    msg[used] = '\0';
    return -1; /* timed out */
}

/* Run "gnuplot -e outbase='<tmpbase>' <base>.gp" in p->dir, then rename the images into place. */
static allot_status render(const plot_paths *p, allot_error *err) {
    char tmpbase[160];
    snprintf(tmpbase, sizeof tmpbase, "%s%s%ld", p->base, ALLOT_TMP_MARKER, (long)getpid());
    /* a quote in the base name would end the gnuplot string: use a fixed name then */
    if (strchr(tmpbase, '\'') || strlen(p->base) > 100)
        snprintf(tmpbase, sizeof tmpbase, "plot%s%ld", ALLOT_TMP_MARKER, (long)getpid());
    char assign[200];
    snprintf(assign, sizeof assign, "outbase='%s'", tmpbase);
    char *gp_name = str_cat3(p->base, ".gp", "");
    char *tmp_png = str_cat3(p->dir, "/", tmpbase);
    char *tmp_png_full = tmp_png ? str_cat3(tmp_png, ".png", "") : NULL;
    char *tmp_svg_full = tmp_png ? str_cat3(tmp_png, ".svg", "") : NULL;
    free(tmp_png);
    allot_status st = ALLOT_OK;
    int pipefd[2] = {-1, -1};
    int slot_png = -1, slot_svg = -1, slot_child = -1;
    pid_t pid = -1;
    if (!gp_name || !tmp_png_full || !tmp_svg_full) {
        st = allot_error_set(err, ALLOT_E_NOMEM, "plot: out of memory");
        goto done;
    }
    slot_png = allot_cleanup_add_file(tmp_png_full);
    slot_svg = allot_cleanup_add_file(tmp_svg_full);
    if (slot_png < 0 || slot_svg < 0) {
        st = allot_error_set(err, ALLOT_E_INTERNAL, "plot: too many temporary files at once");
        goto done;
    }
    if (pipe(pipefd) != 0) {
        st = allot_error_set(err, ALLOT_E_INTERNAL, "plot: pipe: %s", strerror(errno));
        goto done;
    }
    fflush(NULL);
    sigset_t old_mask;
    block_cleanup_signals(&old_mask);
    pid = fork();
    if (pid == 0) {
        /* child: stdin from /dev/null, stderr into the pipe (for the error message), stdout discarded */
        sigprocmask(SIG_SETMASK, &old_mask, NULL);
        close(pipefd[0]);
        dup2(pipefd[1], 2);
        close(pipefd[1]);
        int nul = open("/dev/null", O_RDWR);
        if (nul >= 0) {
            dup2(nul, 0);
            dup2(nul, 1);
            close(nul);
        }
        if (chdir(p->dir) != 0) _exit(126);
        char *argv[] = {"gnuplot", "-e", assign, gp_name, NULL};
        execvp("gnuplot", argv);
        _exit(127);
    }
    if (pid > 0) slot_child = allot_cleanup_add_child(pid);
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    if (pid < 0) {
        st = allot_error_set(err, ALLOT_E_INTERNAL, "plot: fork: %s", strerror(errno));
        goto done;
    }
    close(pipefd[1]);
    pipefd[1] = -1;
    char msg[300];
    int timed_out =
        read_child_messages(pipefd[0], allot_now_seconds() + ALLOT_PLOT_TIME_LIMIT_S, msg, sizeof msg) != 0;
    if (timed_out) kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            st = allot_error_set(err, ALLOT_E_INTERNAL, "plot: waitpid: %s", strerror(errno));
            goto done;
        }
    }
    allot_cleanup_remove(slot_child);
    slot_child = -1;
    if (timed_out) {
        st = allot_error_set(err, ALLOT_E_INTERNAL, "plot: gnuplot gave up on %s: no result within %d s",
                             p->gp, ALLOT_PLOT_TIME_LIMIT_S);
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
        st = allot_error_set(err, ALLOT_E_UNSUPPORTED,
                             "plot: gnuplot not found on PATH; wrote %s and %s (render them with gnuplot)",
                             p->dat, p->gp);
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 126) {
        st = allot_error_set(err, ALLOT_E_IO, "plot: cannot enter directory %s", p->dir);
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        /* gnuplot that could not write its output is an I/O error like any other write */
        int io = strstr(msg, "annot open") || strstr(msg, "No space") || strstr(msg, "too large") ||
                 strstr(msg, "ermission") || (!WIFEXITED(status) && WTERMSIG(status) == SIGXFSZ);
        st =
            allot_error_set(err, io ? ALLOT_E_IO : ALLOT_E_INTERNAL, "plot: gnuplot failed on %s (%s %d): %s",
                            p->gp, WIFEXITED(status) ? "exit status" : "signal",
                            WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), msg);
    } else if (!image_complete(tmp_png_full, 0) || !image_complete(tmp_svg_full, 1)) {
        const char *which = !image_complete(tmp_png_full, 0) ? "PNG" : "SVG";
        st = allot_error_set(err, ALLOT_E_IO,
                             "plot: the %s image is incomplete or missing (gnuplot exited 0; disk full or "
                             "file size limit?)%s%.200s",
                             which, msg[0] ? ": " : "", msg);
    } else if (rename_image(tmp_png_full, p->png) != 0 || rename_image(tmp_svg_full, p->svg) != 0) {
        st = allot_error_set(err, ALLOT_E_IO, "plot: cannot rename images into place (%s): %s", p->png,
                             strerror(errno));
    }
done:
    if (slot_child >= 0) allot_cleanup_remove(slot_child);
    if (pipefd[0] >= 0) close(pipefd[0]);
    if (pipefd[1] >= 0) close(pipefd[1]);
    if (tmp_png_full) unlink(tmp_png_full); /* no-ops after a successful rename */
    if (tmp_svg_full) unlink(tmp_svg_full);
    allot_cleanup_remove(slot_png);
    allot_cleanup_remove(slot_svg);
    free(gp_name);
    free(tmp_png_full);
    free(tmp_svg_full);
    return st;
}

/* Write .dat via dat_fn and .gp via gp_fn (both atomically), then render. */
typedef void (*writer_fn)(FILE *fp, const plot_paths *p, const void *ctx);

static allot_status write_and_render(const char *out_base, writer_fn dat_fn, writer_fn gp_fn, const void *ctx,
                                     allot_error *err) {
    plot_paths p;
    allot_status st = paths_make(&p, out_base, err);
    if (st != ALLOT_OK) return st;
    allot_atomic_file af;
    st = allot_atomic_open(&af, p.dat, err);
    if (st == ALLOT_OK) {
        dat_fn(af.fp, &p, ctx);
        st = allot_atomic_commit(&af, err);
    }
    if (st == ALLOT_OK) st = allot_atomic_open(&af, p.gp, err);
    if (st == ALLOT_OK) {
        gp_fn(af.fp, &p, ctx);
        st = allot_atomic_commit(&af, err);
    }
    if (st == ALLOT_OK) st = render(&p, err);
    paths_free(&p);
    return st;
}

/* ---- line charts ---------------------------------------------------------------------------- */

typedef struct lines_ctx {
    const allot_plot_opts *opts;
    const allot_plot_series *series;
    size_t n_series;
} lines_ctx;

static int series_drawable(const allot_plot_series *s) {
    for (size_t i = 0; i < s->n; i++)
        if (isfinite(s->x[i]) && isfinite(s->y[i])) return 1;
    return 0;
}

static void lines_dat(FILE *fp, const plot_paths *p, const void *vctx) {
    (void)p;
    const lines_ctx *c = vctx;
    for (size_t s = 0; s < c->n_series; s++) {
        const allot_plot_series *se = &c->series[s];
        if (s) fputs("\n\n", fp); /* two blank lines: a new index block */
        fprintf(fp, "# series %zu: ", s);
        put_comment_text(fp, se->name);
        fputs(se->ylo && se->yhi ? "\n# x y ylo yhi\n" : "\n# x y\n", fp);
        if (se->n == 0) fputs("? ?\n", fp); /* keep the block non-empty so index numbers hold */
        for (size_t i = 0; i < se->n; i++) {
            put_num(fp, se->x[i]);
            fputc(' ', fp);
            put_num(fp, se->y[i]);
            if (se->ylo && se->yhi) {
                fputc(' ', fp);
                put_num(fp, se->ylo[i]);
                fputc(' ', fp);
                put_num(fp, se->yhi[i]);
            }
            fputc('\n', fp);
        }
    }
}

static void lines_gp(FILE *fp, const plot_paths *p, const void *vctx) {
    const lines_ctx *c = vctx;
    put_preamble(fp, p, c->opts, "line chart");
    if (c->opts && c->opts->logx) fputs("set logscale x 2\n", fp);
    fputs("set grid\nset key outside right top\n", fp);
    put_png_terminal(fp);
    int first = 1;
    for (size_t s = 0; s < c->n_series; s++) {
        const allot_plot_series *se = &c->series[s];
        if (!series_drawable(se)) continue; /* gnuplot rejects a block with no valid point */
        fputs(first ? "plot " : ", \\\n     ", fp);
        first = 0;
        int bars = se->ylo && se->yhi;
        /* colours cycle; the dash type changes with each cycle so every series stays distinct */
        fprintf(fp, "datafile index %zu using 1:2%s with %s lc rgb '%s' dt %zu pt %zu title ", s,
                bars ? ":3:4" : "",
                bars ? (se->points_only ? "yerrorbars" : "yerrorlines")
                     : (se->points_only ? "points ps 1.6" : "linespoints"),
                series_colours[s % N_COLOURS], (s / N_COLOURS) % 5 + 1, (s % 13) + 1);
        put_gp_string(fp, se->name);
    }
    fputs("\n", fp);
    put_svg_replot(fp);
}

allot_status allot_plot_lines(const char *out_base, const allot_plot_opts *opts,
                              const allot_plot_series *series, size_t n_series, allot_error *err) {
    if (!series || n_series == 0) return allot_error_set(err, ALLOT_E_ARGUMENT, "plot: no series");
    int any = 0;
    for (size_t s = 0; s < n_series; s++) {
        if (series[s].n && (!series[s].x || !series[s].y))
            return allot_error_set(err, ALLOT_E_ARGUMENT, "plot: series %zu has no x or y", s);
        if (series[s].n && series_drawable(&series[s])) any = 1;
    }
    if (!any) return allot_error_set(err, ALLOT_E_ARGUMENT, "plot: no series has a finite point");
    lines_ctx c = {opts, series, n_series};
    return write_and_render(out_base, lines_dat, lines_gp, &c, err);
}

/* ---- grouped bars --------------------------------------------------------------------------- */

typedef struct bars_ctx {
    const allot_plot_opts *opts;
    const char *const *groups;
    size_t n_groups;
    const char *const *names;
    size_t n_series;
    const double *values;
} bars_ctx;

static void bars_dat(FILE *fp, const plot_paths *p, const void *vctx) {
    (void)p;
    const bars_ctx *c = vctx;
    fputs("# group", fp);
    for (size_t s = 0; s < c->n_series; s++) {
        fputs(" | ", fp);
        put_comment_text(fp, c->names[s]);
    }
    fputs("\n", fp);
    for (size_t g = 0; g < c->n_groups; g++) {
        put_dat_string(fp, c->groups[g]);
        for (size_t s = 0; s < c->n_series; s++) {
            fputc(' ', fp);
            put_num(fp, c->values[s * c->n_groups + g]);
        }
        fputc('\n', fp);
    }
}

static void bars_gp(FILE *fp, const plot_paths *p, const void *vctx) {
    const bars_ctx *c = vctx;
    put_preamble(fp, p, c->opts, "bar chart");
    fputs("set style data histograms\nset style histogram clustered gap 1\n"
          "set style fill solid 0.85 border -1\nset boxwidth 0.9\nset grid ytics\n"
          "set key outside right top\nset yrange [0:*]\nset xtics rotate by -30\n",
          fp);
    put_png_terminal(fp);
    for (size_t s = 0; s < c->n_series; s++) {
        fputs(s ? ", \\\n     " : "plot ", fp);
        if (s < N_COLOURS)
            fprintf(fp, "datafile using %zu%s lc rgb '%s' title ", s + 2, s ? "" : ":xtic(1)",
                    series_colours[s]);
        else /* beyond the colours: hatched */
            fprintf(fp, "datafile using %zu%s lc rgb '%s' fs pattern %zu border -1 title ", s + 2,
                    s ? "" : ":xtic(1)", series_colours[s % N_COLOURS], s / N_COLOURS + 1);
        put_gp_string(fp, c->names[s]);
    }
    fputs("\n", fp);
    put_svg_replot(fp);
}

allot_status allot_plot_bars(const char *out_base, const allot_plot_opts *opts,
                             const char *const *group_names, size_t n_groups, const char *const *series_names,
                             size_t n_series, const double *values, allot_error *err) {
    if (!group_names || !series_names || !values || n_groups == 0 || n_series == 0)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "plot: bars need at least one group and one series");
    bars_ctx c = {opts, group_names, n_groups, series_names, n_series, values};
    return write_and_render(out_base, bars_dat, bars_gp, &c, err);
}

/* ---- heat map ------------------------------------------------------------------------------- */

typedef struct heat_ctx {
    const allot_plot_opts *opts;
    const char *const *rows;
    size_t n_rows;
    const char *const *cols;
    size_t n_cols;
    const double *values;
} heat_ctx;

static void heat_dat(FILE *fp, const plot_paths *p, const void *vctx) {
    (void)p;
    const heat_ctx *c = vctx;
    fputs("# col row value (one block per row)\n", fp);
    for (size_t r = 0; r < c->n_rows; r++) {
        if (r) fputc('\n', fp);
        fputs("# row ", fp);
        put_comment_text(fp, c->rows[r]);
        fputc('\n', fp);
        for (size_t k = 0; k < c->n_cols; k++) {
            fprintf(fp, "%zu %zu ", k, r);
            put_num(fp, c->values[r * c->n_cols + k]);
            fputc('\n', fp);
        }
    }
}

static void put_tics(FILE *fp, const char *axis, const char *const *names, size_t n) {
    fprintf(fp, "set %stics (", axis);
    for (size_t i = 0; i < n; i++) {
        if (i) fputs(", ", fp);
        put_gp_string(fp, names[i]);
        fprintf(fp, " %zu", i);
    }
    fputs(")\n", fp);
}

static void heat_gp(FILE *fp, const plot_paths *p, const void *vctx) {
    const heat_ctx *c = vctx;
    put_preamble(fp, p, c->opts, "heat map");
    fprintf(fp, "set xrange [-0.5:%zu.5]\nset yrange [%zu.5:-0.5]\n", c->n_cols - 1, c->n_rows - 1);
    put_tics(fp, "x", c->cols, c->n_cols);
    put_tics(fp, "y", c->rows, c->n_rows);
    fputs("set xtics rotate by -30\nset tics scale 0\nunset key\n"
          "set palette defined (0 '#ffffff', 1 '#9ecae1', 2 '#2171b5')\n",
          fp);
    put_png_terminal(fp);
    /* boxes rather than "with image": a missing cell must not break the grid */
    fputs("set style fill solid 1.0 noborder\n"
          "plot datafile using 1:2:(0.5):(0.5):3 with boxxyerror fc palette, \\\n"
          "     datafile using 1:2:(valid(3) ? sprintf('%.3g', $3) : '') with labels tc 'black'\n",
          fp);
    put_svg_replot(fp);
}

allot_status allot_plot_heatmap(const char *out_base, const allot_plot_opts *opts,
                                const char *const *row_names, size_t rows, const char *const *col_names,
                                size_t cols, const double *values, allot_error *err) {
    if (!row_names || !col_names || !values || rows == 0 || cols == 0)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "plot: a heat map needs at least one row and column");
    heat_ctx c = {opts, row_names, rows, col_names, cols, values};
    return write_and_render(out_base, heat_dat, heat_gp, &c, err);
}
