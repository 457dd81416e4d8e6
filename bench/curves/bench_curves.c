/*
 * bench_curves.c - curves throughput on 10^5 queries x 64 samples (issue 2).
 *
 * Generates a labelled-runs JSONL file into a temporary directory (answers with distractors and
 * nulls, verifier scores, step scores, costs), then times, each on the whole file:
 *   read      the reader alone (parse + validate), the floor for everything else
 *   cjson     cJSON alone: parse and delete every line, the library's floor under the reader
 *   pass      pass@1,2,4,8,16,32,64 (exact)
 *   best      best@1,2,4,8,16,32,64 (exact, order statistics)
 *   majority  majority@1,2,4,8,16,32,64 (P permutations, default 256)
 * each on one thread, and prints wall and CPU seconds, queries/s and MB/s of input per CPU second;
 * then majority again on two threads (queries/s per wall second), checked bit for bit against the
 * one-thread values; then the majority kernel alone (perm_majority.h), AVX-512 against portable
 * in the same run, in ns per draw; then read, cjson and majority on one and two threads again under
 * mimalloc, the allocator the allot program links, and then as the program runs, with mimalloc and
 * its strtod (trainer/cli/strtod) (this program re-run with LD_PRELOAD), each beside the figure of
 * glibc's malloc and strtod measured above. No assertion on time.
 *
 * Usage: bench_curves [N_QUERIES [SAMPLES [PERMUTATIONS]]]   (defaults 100000 64 256)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "curves.h"
#include "perm_majority.h"
#include "progress.h"
#include "rng.h"
#include "runs_reader.h"

static long arg_or(int argc, char **argv, int i, long dflt) {
    if (argc <= i) return dflt;
    long v = strtol(argv[i], NULL, 10);
    return v > 0 ? v : dflt;
}

static int generate(const char *path, long n, long m) {
    FILE *fp = fopen(path, "w");
    if (!fp) return -1;
    allot_rng rng;
    allot_rng_seed(&rng, 42);
    for (long q = 0; q < n; q++) {
        double p = allot_rng_uniform(&rng); /* per-query solve rate */
        fprintf(fp,
                "{\"id\":\"bench-%ld\",\"prompt\":\"synthetic question %ld\",\"meta\":{\"i\":%ld},"
                "\"features\":{\"len\":%ld},\"samples\":[",
                q, q, q, 20 + q % 300);
        for (long s = 0; s < m; s++) {
            int ok = allot_rng_uniform(&rng) < p;
            int wrong = (int)allot_rng_below(&rng, 6);
            int null = !ok && allot_rng_below(&rng, 10) == 0;
            double score = ok ? 0.5 + 0.5 * allot_rng_uniform(&rng) : 0.7 * allot_rng_uniform(&rng);
            fprintf(fp, "%s{\"correct\":%s,\"model\":\"bench-model\",", s ? "," : "", ok ? "true" : "false");
            if (null)
                fputs("\"answer\":null,", fp);
            else if (ok)
                fputs("\"answer\":\"42\",", fp);
            else
                fprintf(fp, "\"answer\":\"%d\",", 100 + wrong);
            fprintf(fp, "\"score\":%.6f,\"step_scores\":[%.4f,%.4f],\"cost\":%d}", score, score,
                    1 - score / 2, 200 + (int)allot_rng_below(&rng, 400));
        }
        fputs("]}\n", fp);
    }
    return fclose(fp) == 0 ? 0 : -1;
}

/* cJSON alone: parse and delete every line (getline), the library's own floor under the reader. */
static double cjson_seconds(const char *path) {
    FILE *fp = fopen(path, "r");
    if (!fp) return -1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    clock_t c0 = clock();
    int ok = 1;
    while (ok && (len = getline(&line, &cap, fp)) > 0) {
        cJSON *j = cJSON_ParseWithLength(line, (size_t)len);
        ok = j != NULL;
        cJSON_Delete(j);
    }
    double cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
    free(line);
    fclose(fp);
    return ok ? cpu : -1;
}

/* Block p of pool q's permutations through a kernel: 1 when it ran. */
static int kernel_block(const char *kernel, const allot_majority_job *job, long q, long p, double *out,
                        void *work) {
    allot_rng rng[ALLOT_PERM_BLOCK];
    for (size_t l = 0; l < ALLOT_PERM_BLOCK; l++) allot_perm_seed(&rng[l], 1, (uint64_t)q, (uint64_t)p + l);
    return allot_majority_block_kernel(kernel, job, rng, ALLOT_PERM_BLOCK, out, work);
}

/* The majority kernel alone, on pools like the file's (64 samples, 7 answers and the null): seconds
 * for pools x perms permutations, or -1 when it cannot run here. */
static double kernel_seconds(const char *kernel, const allot_majority_job *job, long pools, long perms) {
    static double out[ALLOT_PERM_BLOCK * 64];
    void *work = malloc(allot_majority_block_work(job));
    if (!work) return -1;
    double t0 = allot_now_seconds();
    int ran = 1;
    for (long q = 0; q < pools && ran; q++)
        for (long p = 0; p + ALLOT_PERM_BLOCK <= perms && ran; p += ALLOT_PERM_BLOCK)
            ran = kernel_block(kernel, job, q, p, out, work);
    double dt = allot_now_seconds() - t0;
    free(work);
    return ran ? dt : -1;
}

/* The two kernels' outcomes on the first pools' permutations, compared bit for bit (untimed). */
static int kernels_identical(const allot_majority_job *job, long pools, long perms) {
    static double a[ALLOT_PERM_BLOCK * 64], b[ALLOT_PERM_BLOCK * 64];
    void *work = malloc(allot_majority_block_work(job));
    int same = work != NULL;
    for (long q = 0; q < pools && same; q++)
        for (long p = 0; p + ALLOT_PERM_BLOCK <= perms && same; p += ALLOT_PERM_BLOCK)
            same = kernel_block("avx512", job, q, p, a, work) &&
                   kernel_block("portable", job, q, p, b, work) &&
                   !memcmp(a, b, ALLOT_PERM_BLOCK * job->n_at * sizeof *a);
    free(work);
    return same;
}

static void bench_kernels(long m, long perms) {
    int slots[64];
    unsigned char correct[8] = {1, 0, 0, 0, 0, 0, 0, 0};
    size_t at[8], n_at = 0;
    if (m > 64 || m < 2) return;
    allot_rng g;
    allot_rng_seed(&g, 7);
    for (long i = 0; i < m; i++) slots[i] = (int)allot_rng_below(&g, 8);
    for (long k = 2; k < m; k *= 2) at[n_at++] = (size_t)k; /* k = 1 and k = m are exact */
    allot_majority_job job = {slots, (size_t)m, correct, 8, at, n_at};
    long pools = 20000, draws = pools * (perms / ALLOT_PERM_BLOCK * ALLOT_PERM_BLOCK) * (long)at[n_at - 1];
    double tv = kernel_seconds("avx512", &job, pools, perms);
    double tp = kernel_seconds("portable", &job, pools, perms);
    if (tv < 0) {
        printf("majority kernel: portable %.2f ns/draw (no AVX-512F here: the portable kernel runs)\n",
               tp * 1e9 / (double)draws);
        return;
    }
    printf("majority kernel: avx512 %.2f ns/draw, portable %.2f ns/draw in the same run: %.2fx; outcomes %s "
           "(%ld pools of %ld, %ld permutations each)\n",
           tv * 1e9 / (double)draws, tp * 1e9 / (double)draws, tp / tv,
           kernels_identical(&job, 1000, perms) ? "identical on the first 1000 pools" : "DIFFER", pools, m,
           perms);
}

/* spec = "RULE@1,2,4,...,m". */
static void rule_spec(const char *rule, long m, char *spec, size_t cap) {
    int len = snprintf(spec, cap, "%s@", rule);
    for (long k = 1; k < m; k *= 2) len += snprintf(spec + len, cap - (size_t)len, "%ld,", k);
    snprintf(spec + len, cap - (size_t)len, "%ld", m);
}

/* One curves computation of the whole file: wall and CPU seconds; the curves into *out (NULL: freed). */
static int curves_stage(const char *path, const char *spec, long perms, int threads, double *wall,
                        double *cpu, allot_curves **out) {
    allot_error err = {0};
    allot_tier_set ts;
    if (allot_tier_set_parse(spec, &ts, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    allot_curves_options opt;
    allot_curves_options_default(&opt);
    opt.permutations = (int)perms;
    opt.threads = threads;
    allot_curves *c = NULL;
    double t0 = allot_now_seconds();
    clock_t c0 = clock();
    allot_status st = allot_curves_compute(path, &ts, &opt, &c, &err);
    *wall = allot_now_seconds() - t0;
    *cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
    allot_tier_set_free(&ts);
    if (st) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    if (out)
        *out = c;
    else
        allot_curves_free(c);
    return 0;
}

/* The reader alone over the file: CPU seconds, or -1. */
static double read_seconds(const char *path, long n) {
    allot_error err = {0};
    allot_runs_reader *r = NULL;
    clock_t c0 = clock();
    if (allot_runs_reader_open(path, &r, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    allot_query q;
    int has = 0;
    long count = 0;
    while (allot_runs_reader_next(r, &q, &has, &err) == ALLOT_OK && has) count++;
    allot_runs_reader_close(r);
    if (err.code || count != n) {
        fprintf(stderr, "read failed: %s\n", err.msg);
        return -1;
    }
    return (double)(clock() - c0) / CLOCKS_PER_SEC;
}

/* The same stage on two threads (the default on a machine with two cores): wall time against the
 * one-thread run just measured, and the same values bit for bit. */
static int two_threads(const char *path, const char *spec, long perms, const allot_curves *ref,
                       double one_wall, long n, double *wall) {
    allot_curves *c = NULL;
    double dt, cpu;
    if (curves_stage(path, spec, perms, 2, &dt, &cpu, &c)) return 1;
    size_t k = ref->n_queries * ref->n_tiers;
    int same = c->n_queries == ref->n_queries && !memcmp(c->acc, ref->acc, k * sizeof *c->acc) &&
               !memcmp(c->se, ref->se, k * sizeof *c->se) && !memcmp(c->cost, ref->cost, k * sizeof *c->cost);
    printf("%-10s %10.3f %10.3f %12.0f %10s   (--nthread 2: the reader a batch ahead of the values; wall "
           "%.2fx one thread; values %s)\n",
           "majority/2", dt, cpu, n / dt, "", one_wall / dt, same ? "bit-identical" : "DIFFER");
    *wall = dt;
    allot_curves_free(c);
    return same ? 0 : 1;
}

/* Figures of this process's allocator that a run under mimalloc compares itself with. */
typedef struct {
    double read, cjson, majority, majority2_wall;
} alloc_ref;

/*
 * The allot program's own malloc and strtod (CMakeLists.txt: mimalloc, trainer/cli/strtod): this
 * program again, as a child with LD_PRELOAD, which replaces them the same way; it measures the
 * reader, cJSON and majority on one and two threads on the same file and prints each beside this
 * process's figure (glibc's malloc and strtod).
 */
#ifdef ALLOT_BENCH_MIMALLOC
static int run_child(const char *preload, const char *what, const char *path, long n, long m, long perms,
                     const alloc_ref *ref) {
    char num[7][40]; /* n, m, perms, then the reference figures */
    const long ints[3] = {n, m, perms};
    const double refs[4] = {ref->read, ref->cjson, ref->majority, ref->majority2_wall};
    char *args[12] = {"bench_curves", "--child", (char *)what, (char *)path};
    for (int i = 0; i < 7; i++) {
        if (i < 3)
            snprintf(num[i], sizeof num[i], "%ld", ints[i]);
        else
            snprintf(num[i], sizeof num[i], "%.17g", refs[i - 3]);
        args[4 + i] = num[i];
    }
    args[11] = NULL;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("LD_PRELOAD", preload, 1);
        execv("/proc/self/exe", args);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0) return 1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

/* Under mimalloc alone, then as the allot program runs (mimalloc and its strtod). */
static int run_children(const char *path, long n, long m, long perms, const alloc_ref *ref) {
    int rc = run_child(ALLOT_BENCH_MIMALLOC, "under mimalloc alone", path, n, m, perms, ref);
#ifdef ALLOT_BENCH_STRTOD
    if (!rc)
        rc = run_child(ALLOT_BENCH_MIMALLOC ":" ALLOT_BENCH_STRTOD,
                       "as the allot program runs: mimalloc and its strtod (trainer/cli/strtod)", path, n, m,
                       perms, ref);
#endif
    return rc;
}
#endif

static int child_stages(char **argv) {
    const char *what = argv[2], *path = argv[3];
    long n = atol(argv[4]), m = atol(argv[5]), perms = atol(argv[6]);
    alloc_ref ref = {atof(argv[7]), atof(argv[8]), atof(argv[9]), atof(argv[10])};
    char spec[256];
    rule_spec("majority", m, spec, sizeof spec);
    double rd = read_seconds(path, n), cj = cjson_seconds(path), w1, c1, w2, c2;
    if (rd < 0 || cj < 0 || curves_stage(path, spec, perms, 1, &w1, &c1, NULL) ||
        curves_stage(path, spec, perms, 2, &w2, &c2, NULL))
        return 1;
    printf("\nthe same stages %s (this process's glibc malloc and strtod above are the reference):\n", what);
    printf("%-10s %10s %10.3f   (cpu s; glibc %.3f: %.2fx)\n", "read", "", rd, ref.read, ref.read / rd);
    printf("%-10s %10s %10.3f   (cpu s; glibc %.3f: %.2fx)\n", "cjson", "", cj, ref.cjson, ref.cjson / cj);
    printf("%-10s %10.3f %10.3f   (one thread, cpu s; glibc %.3f: %.2fx; goal < 5 s on 10^5 x 64: %s)\n",
           "majority", w1, c1, ref.majority, ref.majority / c1,
           n != 100000 || m != 64 ? "n/a (other size)"
           : c1 < 5               ? "met"
                                  : "NOT met");
    printf("%-10s %10.3f %10.3f   (two threads, wall s; glibc %.3f: %.2fx; %.2fx one thread)\n", "majority/2",
           w2, c2, ref.majority2_wall, ref.majority2_wall / w2, w1 / w2);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 11 && !strcmp(argv[1], "--child")) return child_stages(argv);
    long n = arg_or(argc, argv, 1, 100000), m = arg_or(argc, argv, 2, 64), perms = arg_or(argc, argv, 3, 256);
    const char *tmp = getenv("TMPDIR");
    char dir[256], path[300];
    snprintf(dir, sizeof dir, "%s/allot-bench-curves-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/runs.jsonl", dir);
    double t0 = allot_now_seconds();
    if (generate(path, n, m)) {
        fprintf(stderr, "cannot write %s\n", path);
        return 1;
    }
    struct stat sb;
    stat(path, &sb);
    double mb = (double)sb.st_size / 1e6;
    printf(
        "bench_curves: %ld queries x %ld samples, %.1f MB of JSONL (generated in %.2f s), %ld permutations\n",
        n, m, mb, allot_now_seconds() - t0, perms);
    printf("%-10s %10s %10s %12s %10s   (rates per CPU second)\n", "stage", "wall s", "cpu s", "queries/s",
           "MB/s");

    /* the reader alone, then cJSON alone */
    t0 = allot_now_seconds();
    double cpu = read_seconds(path, n), dt = allot_now_seconds() - t0;
    if (cpu < 0) return 1;
    printf("%-10s %10.3f %10.3f %12.0f %10.1f\n", "read", dt, cpu, n / cpu, mb / cpu);
    double cj = cjson_seconds(path);
    printf("%-10s %10s %10.3f %12.0f %10.1f   (cJSON_ParseWithLength + cJSON_Delete of every line, nothing "
           "else: the library's floor under the reader)\n",
           "cjson", "", cj, n / cj, mb / cj);
    alloc_ref ref = {cpu, cj, 0, 0};
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double rss_read = (double)ru.ru_maxrss / 1024.0;

    static const char *const rules[] = {"pass", "best", "majority"};
    int rc = 0;
    for (int i = 0; i < 3; i++) {
        char spec[256];
        rule_spec(rules[i], m, spec, sizeof spec);
        allot_curves *c = NULL;
        if (curves_stage(path, spec, perms, 1, &dt, &cpu, &c)) { /* the goal is on one core */
            rc = 1;
            continue;
        }
        double mean_last = 0;
        for (size_t j = 0; j < c->n_queries; j++) mean_last += c->acc[j * c->n_tiers + c->n_tiers - 1];
        printf("%-10s %10.3f %10.3f %12.0f %10.1f   (%s; mean acc at k=%ld: %.4f)\n", rules[i], dt, cpu,
               n / cpu, mb / cpu, spec, m, mean_last / (double)c->n_queries);
        if (i == 2) {
            printf("           majority: %.2f s of CPU beyond the read stage (the reader's floor, measured "
                   "above); "
                   "goal for the whole stage on 10^5 x 64: < 5 s: %s\n",
                   cpu - ref.read,
                   n != 100000 || m != 64 ? "n/a (other size)"
                   : cpu < 5              ? "met"
                                          : "NOT met");
            ref.majority = cpu;
            rc |= two_threads(path, spec, perms, c, dt, n, &ref.majority2_wall);
        }
        allot_curves_free(c);
    }
    bench_kernels(m, perms);
    getrusage(RUSAGE_SELF, &ru);
    printf("peak RSS: %.1f MB after the read pass, %.1f MB at the end (input %.1f MB: the reader streams)\n",
           rss_read, (double)ru.ru_maxrss / 1024.0, mb);
#ifdef ALLOT_BENCH_MIMALLOC
    if (!rc) rc = run_children(path, n, m, perms, &ref);
#endif
    unlink(path);
    rmdir(dir);
    return rc;
}
