/*
 * test_datasets.c - tests of allot-gen-runs (datasets/gen_runs.c).
 *
 * usage: test_datasets GENERATOR WORKDIR
 *
 * Runs the generator as a separate process (as the demo does) and checks: determinism (same
 * options -> byte-identical output, to a file or stdout), different seeds differ, query i does
 * not depend on --queries, every line is valid schema v1 with the generator's documented fields,
 * and the default file's statistics lie in the ranges documented in datasets/README.md.
 * The statistics are recomputed here independently of the generator's --stats mode.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cjson/cJSON.h>

#ifdef ALLOT_HAVE_RUNS_READER
#include "runs_reader.h"
#endif

typedef struct tally {
    int passed, failed;
} tally;

#define CHECK(t, cond, ...)                                                                                  \
    do {                                                                                                     \
        if (cond) {                                                                                          \
            (t)->passed++;                                                                                   \
        } else {                                                                                             \
            (t)->failed++;                                                                                   \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                                  \
            fprintf(stderr, __VA_ARGS__);                                                                    \
            fprintf(stderr, "\n");                                                                           \
        }                                                                                                    \
    } while (0)

typedef struct ctx {
    const char *gen;
    const char *dir;
    tally t;
} ctx;

/* Run the generator with args (a shell fragment); returns its exit status, or -1. */
static int run_gen(const ctx *c, const char *args) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' %s", c->gen, args);
    int st = system(cmd);
    if (st == -1 || !WIFEXITED(st)) return -1;
    return WEXITSTATUS(st);
}

static char *read_file(const char *path, size_t *len) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n - 1, fp)) > 0) {
        n += got;
        if (cap - n - 1 == 0) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(fp);
    if (!buf) return NULL;
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

static int same_file(const char *a, const char *b) {
    size_t na, nb;
    char *x = read_file(a, &na), *y = read_file(b, &nb);
    int same = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

static void path_in(const ctx *c, const char *name, char *out, size_t n) {
    snprintf(out, n, "%s/%s", c->dir, name);
}

/* ---- determinism and command line ---------------------------------------------------------- */

static void test_determinism(ctx *c) {
    char a[1024], b[1024], s[1024], o[1024], p[1024], args[4096];
    path_in(c, "det-a.jsonl", a, sizeof a);
    path_in(c, "det-b.jsonl", b, sizeof b);
    path_in(c, "det-stdout.jsonl", s, sizeof s);
    path_in(c, "det-other.jsonl", o, sizeof o);
    path_in(c, "det-prefix.jsonl", p, sizeof p);
    snprintf(args, sizeof args, "--seed 7 --queries 300 --samples 32 --models 2 --out '%s'", a);
    CHECK(&c->t, run_gen(c, args) == 0, "generator failed: %s", args);
    snprintf(args, sizeof args, "--seed 7 --queries 300 --samples 32 --models 2 --out '%s'", b);
    CHECK(&c->t, run_gen(c, args) == 0, "generator failed: %s", args);
    CHECK(&c->t, same_file(a, b), "two runs with the same options differ");
    snprintf(args, sizeof args, "--seed 7 --queries 300 --samples 32 --models 2 --out - > '%s'", s);
    CHECK(&c->t, run_gen(c, args) == 0, "generator failed: %s", args);
    CHECK(&c->t, same_file(a, s), "--out FILE and --out - differ");
    snprintf(args, sizeof args, "--seed 8 --queries 300 --samples 32 --models 2 --out '%s'", o);
    CHECK(&c->t, run_gen(c, args) == 0, "generator failed: %s", args);
    CHECK(&c->t, !same_file(a, o), "seeds 7 and 8 gave the same file");
    /* Query i depends only on (seed, i, samples, models): a shorter run is a prefix. */
    snprintf(args, sizeof args, "--seed 7 --queries 100 --samples 32 --models 2 --out '%s'", p);
    CHECK(&c->t, run_gen(c, args) == 0, "generator failed: %s", args);
    size_t na, np;
    char *x = read_file(a, &na), *y = read_file(p, &np);
    CHECK(&c->t, x && y && np < na && memcmp(x, y, np) == 0,
          "--queries 100 is not a prefix of --queries 300");
    free(x);
    free(y);
    remove(b);
    remove(s);
    remove(o);
    remove(p);
}

static void test_cli(ctx *c) {
    char args[4096], bad[1024];
    CHECK(&c->t, run_gen(c, "--help > /dev/null") == 0, "--help should exit 0");
    CHECK(&c->t, run_gen(c, "--queries 0 > /dev/null 2>&1") == 2, "--queries 0 should be a usage error");
    CHECK(&c->t, run_gen(c, "--samples x > /dev/null 2>&1") == 2, "--samples x should be a usage error");
    CHECK(&c->t, run_gen(c, "--models 3 > /dev/null 2>&1") == 2, "--models 3 should be a usage error");
    CHECK(&c->t, run_gen(c, "--frobnicate > /dev/null 2>&1") == 2, "unknown option should be a usage error");
    CHECK(&c->t, run_gen(c, "--seed > /dev/null 2>&1") == 2, "missing value should be a usage error");
    path_in(c, "no-such-dir/x.jsonl", bad, sizeof bad);
    snprintf(args, sizeof args, "--queries 5 --out '%s' 2>/dev/null", bad);
    CHECK(&c->t, run_gen(c, args) == 1, "unwritable output should exit 1");
    struct stat st;
    CHECK(&c->t, stat(bad, &st) != 0, "no output file may appear on failure");
    /* the stats mode runs on the generator's own output */
    char a[1024];
    path_in(c, "det-a.jsonl", a, sizeof a);
    snprintf(args, sizeof args, "--stats '%s' > /dev/null", a);
    CHECK(&c->t, run_gen(c, args) == 0, "--stats failed");
    snprintf(args, sizeof args, "--stats '%s' > /dev/null 2>&1", bad);
    CHECK(&c->t, run_gen(c, args) == 1, "--stats on a missing file should exit 1");
}

/* ---- schema and statistics ------------------------------------------------------------------- */

typedef struct scored {
    double s;
    int y;
} scored;

static int cmp_scored(const void *a, const void *b) {
    double x = ((const scored *)a)->s, y = ((const scored *)b)->s;
    return (x > y) - (x < y);
}

static double auroc(scored *v, size_t n) {
    qsort(v, n, sizeof *v, cmp_scored);
    double pos = 0, rank_sum = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && v[j].s == v[i].s) j++;
        for (size_t k = i; k < j; k++)
            if (v[k].y) pos++, rank_sum += (double)(i + 1 + j) / 2.0;
        i = j;
    }
    double neg = (double)n - pos;
    return (pos > 0 && neg > 0) ? (rank_sum - pos * (pos + 1) / 2) / (pos * neg) : NAN;
}

typedef struct file_stats {
    size_t queries, samples, correct, nulls, zero, all;
    double sum_frac, sum_maj, sum_cost, sum_best, sum_best_min;
    double level_acc[6];
    size_t level_n[6];
    scored *sc;
    size_t n_sc;
    double auroc;
} file_stats;

typedef struct id_set {
    char **ids;
    size_t n, cap;
} id_set;

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Validate every line of path against schema v1 and the generator's documented fields, and
 * compute the statistics of the model `model` (NULL: all samples). Returns lines read. */
static size_t check_file(ctx *c, const char *path, size_t want_samples, int want_models, file_stats *fs) {
    memset(fs, 0, sizeof *fs);
    FILE *fp = fopen(path, "r");
    CHECK(&c->t, fp != NULL, "%s: %s", path, strerror(errno));
    if (!fp) return 0;
    char *line = NULL;
    size_t cap = 0, lineno = 0, sc_cap = 0;
    int bad = 0; /* count each kind of failure once, not per line */
    id_set ids = {0};
    while (getline(&line, &cap, fp) >= 0) {
        lineno++;
        cJSON *j = cJSON_Parse(line);
        if (!j) {
            CHECK(&c->t, 0, "%s:%zu: invalid JSON", path, lineno);
            bad = 1;
            break;
        }
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
        const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(j, "prompt");
        const cJSON *gold = cJSON_GetObjectItemCaseSensitive(j, "gold");
        const cJSON *meta = cJSON_GetObjectItemCaseSensitive(j, "meta");
        const cJSON *feat = cJSON_GetObjectItemCaseSensitive(j, "features");
        const cJSON *samples = cJSON_GetObjectItemCaseSensitive(j, "samples");
        const cJSON *ds = cJSON_GetObjectItemCaseSensitive(meta, "dataset");
        const cJSON *level = cJSON_GetObjectItemCaseSensitive(meta, "level");
        int ok = cJSON_IsString(id) && cJSON_IsString(prompt) && strlen(prompt->valuestring) > 20 &&
                 cJSON_IsString(gold) && cJSON_IsObject(meta) && cJSON_IsString(ds) &&
                 !strcmp(ds->valuestring, "allot-synthetic") && cJSON_IsNumber(level) &&
                 level->valuedouble >= 1 && level->valuedouble <= 5 &&
                 level->valuedouble == (double)level->valueint && cJSON_IsObject(feat) &&
                 cJSON_IsArray(samples) && !cJSON_GetObjectItemCaseSensitive(j, "tiers");
        const cJSON *f;
        cJSON_ArrayForEach(f, feat) ok = ok && cJSON_IsNumber(f) && isfinite(f->valuedouble);
        if (!ok) {
            CHECK(&c->t, 0, "%s:%zu: top-level fields do not match schema v1 / the documented fields", path,
                  lineno);
            cJSON_Delete(j);
            bad = 1;
            break;
        }
        if (ids.n == ids.cap) {
            ids.cap = ids.cap ? 2 * ids.cap : 1024;
            char **nid = realloc(ids.ids, ids.cap * sizeof *nid);
            if (!nid) abort();
            ids.ids = nid;
        }
        ids.ids[ids.n++] = strdup(id->valuestring);
        int n = cJSON_GetArraySize(samples);
        if ((size_t)n != want_samples * (size_t)want_models) {
            CHECK(&c->t, 0, "%s:%zu: %d samples, expected %zu", path, lineno, n,
                  want_samples * (size_t)want_models);
            bad = 1;
        }
        size_t nc = 0;
        double best = -1, best_hits = 0, best_ties = 0, bmin = -1, bmin_hits = 0, bmin_ties = 0;
        const char *ans[512];
        size_t cnt[512], na = 0, gold_idx = (size_t)-1;
        const cJSON *s;
        cJSON_ArrayForEach(s, samples) {
            const cJSON *cor = cJSON_GetObjectItemCaseSensitive(s, "correct");
            const cJSON *mo = cJSON_GetObjectItemCaseSensitive(s, "model");
            const cJSON *an = cJSON_GetObjectItemCaseSensitive(s, "answer");
            const cJSON *sc = cJSON_GetObjectItemCaseSensitive(s, "score");
            const cJSON *st = cJSON_GetObjectItemCaseSensitive(s, "step_scores");
            const cJSON *co = cJSON_GetObjectItemCaseSensitive(s, "cost");
            int sok = cJSON_IsBool(cor) && cJSON_IsString(mo) && (cJSON_IsString(an) || cJSON_IsNull(an)) &&
                      cJSON_IsNumber(sc) && sc->valuedouble >= 0 && sc->valuedouble <= 1 &&
                      cJSON_IsArray(st) && cJSON_GetArraySize(st) >= 1 && cJSON_IsNumber(co) &&
                      isfinite(co->valuedouble) && co->valuedouble > 0;
            const cJSON *e;
            cJSON_ArrayForEach(e, st) sok =
                sok && cJSON_IsNumber(e) && e->valuedouble >= 0 && e->valuedouble <= 1;
            int y = cJSON_IsTrue(cor);
            /* the answer is the gold exactly when the sample is correct; null is never correct */
            if (sok)
                sok = y ? cJSON_IsString(an) && !strcmp(an->valuestring, gold->valuestring)
                        : cJSON_IsNull(an) || strcmp(an->valuestring, gold->valuestring) != 0;
            if (!sok) {
                if (!bad)
                    CHECK(&c->t, 0, "%s:%zu: a sample does not match the documented fields", path, lineno);
                bad = 1;
                continue;
            }
            nc += (size_t)y;
            fs->samples++;
            /* best-of-n by the outcome score and by the minimum step score, ties split */
            double mn = 2;
            cJSON_ArrayForEach(e, st) mn = e->valuedouble < mn ? e->valuedouble : mn;
            if (sc->valuedouble > best) best = sc->valuedouble, best_hits = 0, best_ties = 0;
            if (sc->valuedouble == best) best_hits += y, best_ties++;
            if (mn > bmin) bmin = mn, bmin_hits = 0, bmin_ties = 0;
            if (mn == bmin) bmin_hits += y, bmin_ties++;
            fs->sum_cost += co->valuedouble;
            if (cJSON_IsString(an)) {
                size_t k = 0;
                while (k < na && strcmp(ans[k], an->valuestring) != 0) k++;
                if (k == na && na < 512) ans[na] = an->valuestring, cnt[na++] = 0;
                if (k < na) cnt[k]++;
                if (y) gold_idx = k;
            } else {
                fs->nulls++;
            }
            if (fs->n_sc == sc_cap) {
                sc_cap = sc_cap ? 2 * sc_cap : 4096;
                scored *nv = realloc(fs->sc, sc_cap * sizeof *nv);
                if (!nv) abort();
                fs->sc = nv;
            }
            fs->sc[fs->n_sc].s = sc->valuedouble;
            fs->sc[fs->n_sc++].y = y;
        }
        fs->queries++;
        fs->correct += nc;
        fs->zero += nc == 0;
        fs->all += nc == (size_t)n;
        fs->sum_frac += n ? (double)nc / n : 0;
        size_t top = 0, ties = 0;
        for (size_t k = 0; k < na; k++) {
            if (cnt[k] > top)
                top = cnt[k], ties = 1;
            else if (cnt[k] == top)
                ties++;
        }
        if (gold_idx != (size_t)-1 && cnt[gold_idx] == top) fs->sum_maj += 1.0 / (double)ties;
        if (best_ties > 0) fs->sum_best += best_hits / best_ties;
        if (bmin_ties > 0) fs->sum_best_min += bmin_hits / bmin_ties;
        fs->level_acc[level->valueint] += n ? (double)nc / n : 0;
        fs->level_n[level->valueint]++;
        cJSON_Delete(j);
    }
    free(line);
    fclose(fp);
    if (ids.n > 1) qsort(ids.ids, ids.n, sizeof *ids.ids, cmp_str);
    size_t dup = 0;
    for (size_t i = 1; i < ids.n; i++) dup += strcmp(ids.ids[i - 1], ids.ids[i]) == 0;
    CHECK(&c->t, dup == 0, "%s: %zu duplicate ids", path, dup);
    for (size_t i = 0; i < ids.n; i++) free(ids.ids[i]);
    free(ids.ids);
    CHECK(&c->t, !bad, "%s: schema violations (see above)", path);
    fs->auroc = auroc(fs->sc, fs->n_sc);
    free(fs->sc);
    fs->sc = NULL;
    return lineno;
}

#ifdef ALLOT_HAVE_RUNS_READER
/* The project's reader accepts every line, sees the documented number of samples and models. */
static void check_with_reader(ctx *c, const char *path, size_t want_lines, size_t want_samples,
                              size_t want_models) {
    allot_runs_reader *r = NULL;
    allot_error err = {0};
    allot_status st = allot_runs_reader_open(path, &r, &err);
    CHECK(&c->t, st == ALLOT_OK, "reader: %s", err.msg);
    if (st != ALLOT_OK) return;
    size_t lines = 0, bad = 0;
    for (;;) {
        allot_query q;
        int has = 0;
        st = allot_runs_reader_next(r, &q, &has, &err);
        if (st != ALLOT_OK || !has) break;
        lines++;
        bad += q.n_samples != want_samples * want_models || q.n_tiers != 0 || !q.prompt || !q.gold;
    }
    CHECK(&c->t, st == ALLOT_OK, "reader: %s", err.msg);
    CHECK(&c->t, lines == want_lines, "reader: %zu queries, expected %zu", lines, want_lines);
    CHECK(&c->t, bad == 0, "reader: %zu queries with unexpected contents", bad);
    CHECK(&c->t, allot_runs_reader_n_models(r) == want_models, "reader: %zu models, expected %zu",
          allot_runs_reader_n_models(r), want_models);
    allot_runs_reader_close(r);
}
#else
static void check_with_reader(ctx *c, const char *path, size_t want_lines, size_t want_samples,
                              size_t want_models) {
    (void)c, (void)path, (void)want_lines, (void)want_samples, (void)want_models;
}
#endif

static void test_schema_small(ctx *c) {
    char a[1024];
    path_in(c, "det-a.jsonl", a, sizeof a);
    file_stats fs;
    size_t lines = check_file(c, a, 32, 2, &fs);
    CHECK(&c->t, lines == 300, "expected 300 lines, got %zu", lines);
    check_with_reader(c, a, 300, 32, 2);
    remove(a);
}

/* The default file: the ranges documented in datasets/README.md ("Tested ranges"). */
static void test_default_statistics(ctx *c) {
    char d[1024], args[4096];
    path_in(c, "default.jsonl", d, sizeof d);
    snprintf(args, sizeof args, "--seed 1 --out '%s'", d);
    CHECK(&c->t, run_gen(c, args) == 0, "generator failed: %s", args);
    file_stats fs;
    size_t lines = check_file(c, d, 64, 1, &fs);
    CHECK(&c->t, lines == 3000, "default file: expected 3000 queries, got %zu", lines);
    check_with_reader(c, d, 3000, 64, 1);
    if (fs.queries == 0 || fs.samples == 0) return;
    double q = (double)fs.queries;
    double zero = (double)fs.zero / q, all = (double)fs.all / q, pass1 = fs.sum_frac / q;
    double passmax = 1.0 - zero, maj = fs.sum_maj / q, nulls = (double)fs.nulls / (double)fs.samples;
    double cost = fs.sum_cost / (double)fs.samples, best = fs.sum_best / q, best_min = fs.sum_best_min / q;
    printf("default file: pass@1 %.4f, 0 correct %.4f, all correct %.4f, pass@max %.4f, maj@max %.4f, "
           "best@max %.4f, best@max/min %.4f, AUROC %.4f, null %.4f, mean cost %.4f\n",
           pass1, zero, all, passmax, maj, best, best_min, fs.auroc, nulls, cost);
    /* the ordering of "Let's verify step by step": majority < outcome verifier < process verifier
     * (min over steps) at large n, all below coverage */
    CHECK(&c->t, maj < best && best < best_min && best_min < passmax,
          "expected maj@max %.4f < best@max %.4f < best@max/min %.4f < pass@max %.4f", maj, best, best_min,
          passmax);
    CHECK(&c->t, zero >= 0.10 && zero <= 0.25, "0-correct fraction %.4f outside [0.10, 0.25]", zero);
    CHECK(&c->t, all >= 0.03 && all <= 0.20, "all-correct fraction %.4f outside [0.03, 0.20]", all);
    CHECK(&c->t, pass1 >= 0.45 && pass1 <= 0.65, "pass@1 %.4f outside [0.45, 0.65]", pass1);
    CHECK(&c->t, maj < passmax - 0.08, "maj@max %.4f not clearly below pass@max %.4f", maj, passmax);
    CHECK(&c->t, maj > pass1 + 0.08, "maj@max %.4f not clearly above pass@1 %.4f", maj, pass1);
    CHECK(&c->t, fs.auroc >= 0.75 && fs.auroc <= 0.88, "verifier AUROC %.4f outside [0.75, 0.88]", fs.auroc);
    CHECK(&c->t, nulls > 0.005 && nulls < 0.06, "null-answer fraction %.4f outside (0.005, 0.06)", nulls);
    CHECK(&c->t, cost >= 0.7 && cost <= 1.3, "mean cost %.4f outside [0.7, 1.3]", cost);
    /* meta.level is informative: mean accuracy falls with the level */
    for (int l = 1; l <= 5; l++) CHECK(&c->t, fs.level_n[l] > 0, "no query of level %d", l);
    for (int l = 2; l <= 5; l++)
        if (fs.level_n[l] && fs.level_n[l - 1])
            CHECK(&c->t, fs.level_acc[l] / fs.level_n[l] < fs.level_acc[l - 1] / fs.level_n[l - 1],
                  "mean accuracy does not fall from level %d to %d", l - 1, l);
    remove(d);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: test_datasets GENERATOR WORKDIR\n");
        return 2;
    }
    ctx c = {argv[1], argv[2], {0, 0}};
    if (mkdir(c.dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "test_datasets: %s: %s\n", c.dir, strerror(errno));
        return 1;
    }
    test_determinism(&c);
    test_cli(&c);
    test_schema_small(&c);
    test_default_statistics(&c);
    printf("datasets: %d passed, %d failed\n", c.t.passed, c.t.failed);
    return c.t.failed ? 1 : 0;
}
