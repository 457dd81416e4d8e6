/*
 * test_plot.c - plot.h renders real PNG/SVG files through gnuplot, deterministically.
 * Exits 77 (skipped) when gnuplot is not on PATH.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plot.h"

static int g_pass, g_fail; /* test-program counters only */

#define CHECK(cond)                                                                                          \
    do {                                                                                                     \
        if (cond) {                                                                                          \
            g_pass++;                                                                                        \
        } else {                                                                                             \
            g_fail++;                                                                                        \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                         \
        }                                                                                                    \
    } while (0)

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static char *slurp(const char *path, size_t *len) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(fp);
    if (buf) {
        buf[n] = '\0';
        *len = (size_t)n;
    }
    return buf;
}

static int same_file(const char *a, const char *b) {
    size_t la = 0, lb = 0;
    char *x = slurp(a, &la), *y = slurp(b, &lb);
    int same = x && y && la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return same;
}

static void check_outputs(const char *base) {
    const char *ext[] = {".dat", ".gp", ".png", ".svg"};
    for (int i = 0; i < 4; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s%s", base, ext[i]);
        long sz = file_size(path);
        if (sz <= 0) fprintf(stderr, "missing or empty: %s\n", path);
        CHECK(sz > 0);
    }
    /* PNG magic */
    char path[1024];
    snprintf(path, sizeof path, "%s.png", base);
    size_t len = 0;
    char *png = slurp(path, &len);
    CHECK(png && len > 8 && memcmp(png, "\x89PNG", 4) == 0);
    free(png);
    snprintf(path, sizeof path, "%s.svg", base);
    char *svg = slurp(path, &len);
    CHECK(svg && strstr(svg, "<svg") != NULL);
    free(svg);
}

static int on_path(const char *prog) {
    const char *path = getenv("PATH");
    if (!path) return 0;
    char *copy = strdup(path);
    int found = 0;
    for (char *save = NULL, *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
        char full[4096];
        snprintf(full, sizeof full, "%s/%s", *d ? d : ".", prog);
        found = access(full, X_OK) == 0;
    }
    free(copy);
    return found;
}

int main(void) {
    if (!on_path("gnuplot")) {
        printf("skipped: gnuplot not found on PATH\n");
        return 77;
    }
    char dir[] = "/tmp/allot-test-plot-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    const char *keep = getenv("ALLOT_TEST_KEEP"); /* set to keep the figures for viewing */
    allot_error err = {0};
    char base[1024], base2[1024];

    /* line chart: two curves (one with error bars, a name needing quoting), one single point */
    double x[] = {1, 2, 4, 8, 16, 32};
    double y1[] = {0.30, 0.42, 0.51, 0.57, 0.60, 0.61};
    double y2[] = {0.30, 0.47, 0.58, 0.64, 0.67, 0.68};
    double lo2[] = {0.28, 0.45, 0.56, 0.62, 0.65, 0.66};
    double hi2[] = {0.32, 0.49, 0.60, 0.66, 0.69, 0.70};
    double px[] = {8}, py[] = {0.66};
    double ex[] = {NAN};
    allot_plot_series series[] = {
        {"uniform majority_vote", 6, x, y1, NULL, NULL, 0},
        {"o'racle \"quoted\"\nnewline", 6, x, y2, lo2, hi2, 0},
        {"policy", 1, px, py, NULL, NULL, 1},
        {"empty (skipped)", 1, ex, ex, NULL, NULL, 0},
    };
    allot_plot_opts o = {"Accuracy vs budget: test's chart", "mean samples per query", "accuracy", 1};
    snprintf(base, sizeof base, "%s/lines", dir);
    allot_status st = allot_plot_lines(base, &o, series, 4, &err);
    if (st != ALLOT_OK) fprintf(stderr, "lines: %s\n", err.msg);
    CHECK(st == ALLOT_OK);
    check_outputs(base);

    /* determinism: the same input gives byte-identical .dat and .gp (under another name) */
    snprintf(base2, sizeof base2, "%s/lines2", dir);
    st = allot_plot_lines(base2, &o, series, 4, &err);
    CHECK(st == ALLOT_OK);
    {
        char a[1100], b[1100];
        snprintf(a, sizeof a, "%s.dat", base);
        snprintf(b, sizeof b, "%s.dat", base2);
        CHECK(same_file(a, b));
        /* the .gp names its files by basename, so the two scripts differ only there: compare
         * a re-render of the same base instead */
        snprintf(a, sizeof a, "%s.gp", base);
        size_t l1 = 0, l2 = 0;
        char *g1 = slurp(a, &l1);
        st = allot_plot_lines(base, &o, series, 4, &err);
        CHECK(st == ALLOT_OK);
        char *g2 = slurp(a, &l2);
        CHECK(g1 && g2 && l1 == l2 && memcmp(g1, g2, l1) == 0);
        free(g1);
        free(g2);
    }

    /* bars */
    const char *groups[] = {"very easy", "easy", "medium", "hard", "very hard"};
    const char *names[] = {"uniform", "bins (oracle)"};
    double vals[] = {4, 4, 4, 4, 4, 1, 2, 4, 8, 5};
    allot_plot_opts ob = {"Samples per difficulty bucket", "difficulty", "mean samples", 0};
    snprintf(base, sizeof base, "%s/bars", dir);
    st = allot_plot_bars(base, &ob, groups, 5, names, 2, vals, &err);
    if (st != ALLOT_OK) fprintf(stderr, "bars: %s\n", err.msg);
    CHECK(st == ALLOT_OK);
    check_outputs(base);

    /* heat map (a confusion matrix with one missing cell) */
    const char *rows[] = {"k=1", "k=4", "k=16"};
    const char *cols[] = {"k=1", "k=4", "k=16"};
    double cm[] = {50, 3, 1, 4, 30, 2, 0, NAN, 10};
    allot_plot_opts oh = {"Confusion matrix", "predicted", "oracle", 0};
    snprintf(base, sizeof base, "%s/heat", dir);
    st = allot_plot_heatmap(base, &oh, rows, 3, cols, 3, cm, &err);
    if (st != ALLOT_OK) fprintf(stderr, "heatmap: %s\n", err.msg);
    CHECK(st == ALLOT_OK);
    check_outputs(base);

    /* errors: bad arguments, unwritable directory */
    CHECK(allot_plot_lines(base, &o, series, 0, &err) == ALLOT_E_ARGUMENT);
    CHECK(allot_plot_bars("", &ob, groups, 5, names, 2, vals, &err) == ALLOT_E_ARGUMENT);
    CHECK(allot_plot_heatmap("/nonexistent-allot-dir/x", &oh, rows, 3, cols, 3, cm, &err) == ALLOT_E_IO);

    /* without gnuplot on PATH: the .dat and .gp are still written, and the status says so */
    {
        char *saved = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
        setenv("PATH", "/nonexistent-allot-bin", 1);
        char nb[1024], path[1100];
        snprintf(nb, sizeof nb, "%s/nognuplot", dir);
        allot_error e2 = {0};
        CHECK(allot_plot_bars(nb, &ob, groups, 5, names, 2, vals, &e2) == ALLOT_E_UNSUPPORTED);
        CHECK(strstr(e2.msg, "gnuplot") != NULL);
        snprintf(path, sizeof path, "%s.dat", nb);
        CHECK(file_size(path) > 0);
        unlink(path);
        snprintf(path, sizeof path, "%s.gp", nb);
        CHECK(file_size(path) > 0);
        unlink(path);
        if (saved) {
            setenv("PATH", saved, 1);
            free(saved);
        }
    }

    if (keep) {
        printf("figures kept in %s\n", dir);
    } else {
        const char *stems[] = {"lines", "lines2", "bars", "heat"};
        const char *ext[] = {".dat", ".gp", ".png", ".svg"};
        for (int s = 0; s < 4; s++)
            for (int e = 0; e < 4; e++) {
                char path[1100];
                snprintf(path, sizeof path, "%s/%s%s", dir, stems[s], ext[e]);
                unlink(path);
            }
        if (rmdir(dir) != 0) fprintf(stderr, "note: %s not empty\n", dir);
    }
    printf("plot: %d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
