/*
 * gen_runs.c - allot-gen-runs: a documented, deterministic generator of synthetic labelled runs
 * (schema v1, ../shared/datasets/SCHEMA.md) used as allot's embedded default data, plus a
 * `--stats` mode that prints the summary statistics of any labelled-runs file with samples
 * (runs_stats.c: the project's runs reader and curves estimators).
 *
 * The generative model is described (with equations and the published statistics it imitates)
 * in datasets/README.md; the constants below carry the same names as the equations there.
 *
 * Determinism: every query draws from its own stream allot_rng_seed_stream(seed, query index) and
 * every number is printed with a fixed format in the C locale, so the same options give a
 * byte-identical file, and query i does not depend on --queries. (exp/log/pow come from libm: a
 * different libm could in rare cases change a last printed digit; the RNG stream itself is exact.)
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"
#include "cleanup.h"
#include "rng.h"
#include "runs_stats.h"
#include "util.h"

/* ---- generative-model constants (see README "Generative model") ---------------------------- */
/* The latent-difficulty and trap constants may be overridden at compile time (-DHIDDEN_SD=0.4)
 * for experiments; the default data is always built with the values below. */

#define MAX_STEPS 10      /* operations in one problem (the opening sentence excluded) */
#define MAX_DISTRACTORS 8 /* consistent wrong answers per query */
#define MAX_MODELS 2
#ifndef HIDDEN_SD
#define HIDDEN_SD 0.75 /* h: difficulty invisible in the surface ... */
#endif
#ifndef TAIL_P
#define TAIL_P 0.25 /* ... plus, with probability TAIL_P, an Exp(TAIL_MEAN) hard tail */
#endif
#ifndef TAIL_MEAN
#define TAIL_MEAN 1.0
#endif
#ifndef SLOPE_B
#define SLOPE_B 2.2 /* logit p = A_m - B * eta */
#endif
#ifndef UNSOLV_NOISE
#define UNSOLV_NOISE 1.2 /* unsolvable iff eta + UNSOLV_NOISE * u > C_m */
#endif
#ifndef TRAP_P_HARD
#define TRAP_P_HARD 0.45 /* P(trap) with a percent/fraction/ratio/split step ... */
#endif
#ifndef TRAP_P_PLAIN
#define TRAP_P_PLAIN 0.10 /* ... and without one; plus TRAP_P_ETA * sigmoid(eta) */
#endif
#ifndef TRAP_P_ETA
#define TRAP_P_ETA 0.15
#endif
#define VERIF_MU 0.65     /* verifier logit: +MU for correct, -MU for wrong */
#define VERIF_SIGMA 1.1   /* verifier per-sample noise */
#define COST_TOKENS 250.0 /* one cost unit = 250 generated tokens at the small model's price */

typedef struct model_spec {
    const char *name;
    double ability;    /* A_m */
    double unsolv_cut; /* C_m */
    double price;      /* cost units per COST_TOKENS tokens, relative to the small model */
    double verbosity;  /* relative tokens per step */
} model_spec;

static const model_spec MODELS[MAX_MODELS] = {
    {"sim-small", 1.1, 2.35, 1.0, 1.0},
    {"sim-large", 2.0, 2.90, 4.0, 0.9},
};

/* ---- options -------------------------------------------------------------------------------- */

typedef struct gen_options {
    uint64_t seed;
    size_t queries;
    size_t samples;
    int models;
    const char *out;
    const char *stats;
    int verbose;
} gen_options;

static void usage(FILE *fp) {
    fprintf(fp,
            "usage: allot-gen-runs [--seed N] [--queries N] [--samples N] [--models 1|2] [--out FILE]\n"
            "       allot-gen-runs --stats FILE\n"
            "\n"
            "Writes synthetic labelled runs (JSONL, schema v1: one query per line with graded samples,\n"
            "answers, verifier scores, per-step scores and costs). Same options -> byte-identical output.\n"
            "\n"
            "  --seed N      random seed (default 1)\n"
            "  --queries N   number of queries (default 3000)\n"
            "  --samples N   samples per query and model (default 64)\n"
            "  --models N    1: one model 'sim-small' (default); 2: add 'sim-large' (more accurate,\n"
            "                4x the price per token)\n"
            "  --out FILE    output file, written atomically; '-' = stdout (default)\n"
            "  --verbose     print latent statistics (true unsolvable fraction, mean p) on stderr\n"
            "  --stats FILE  print the summary statistics of a labelled-runs file ('-' = stdin)\n"
            "                instead of generating\n"
            "  --help        this text\n"
            "\n"
            "Cost unit: 250 generated tokens at the small model's price (about 1 per small-model sample).\n"
            "Exit status: 0 success, 1 I/O or input error, 2 bad usage.\n");
}

static int parse_size(const char *s, size_t lo, size_t hi, size_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi) return -1;
    *out = (size_t)v;
    return 0;
}

/* Returns 0 ok, 1 help printed, 2 usage error. */
static int parse_args(int argc, char **argv, gen_options *o) {
    o->seed = 1;
    o->queries = 3000;
    o->samples = 64;
    o->models = 1;
    o->out = "-";
    o->stats = NULL;
    o->verbose = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        size_t n;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 1;
        } else if (!strcmp(a, "--verbose")) {
            o->verbose = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "allot-gen-runs: %s: missing value (see --help)\n", a);
            return 2;
        }
        if (!strcmp(a, "--seed")) {
            char *end;
            errno = 0;
            unsigned long long s = strtoull(v, &end, 10);
            if (errno || end == v || *end || v[0] == '-') {
                fprintf(stderr, "allot-gen-runs: --seed: not a non-negative integer: '%s'\n", v);
                return 2;
            }
            o->seed = (uint64_t)s;
        } else if (!strcmp(a, "--queries")) {
            if (parse_size(v, 1, 100000000, &o->queries)) {
                fprintf(stderr, "allot-gen-runs: --queries: expected 1..1e8, got '%s'\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--samples")) {
            if (parse_size(v, 1, 100000, &o->samples)) {
                fprintf(stderr, "allot-gen-runs: --samples: expected 1..100000, got '%s'\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--models")) {
            if (parse_size(v, 1, MAX_MODELS, &n)) {
                fprintf(stderr, "allot-gen-runs: --models: expected 1 or 2, got '%s'\n", v);
                return 2;
            }
            o->models = (int)n;
        } else if (!strcmp(a, "--out")) {
            o->out = v;
        } else if (!strcmp(a, "--stats")) {
            o->stats = v;
        } else {
            fprintf(stderr, "allot-gen-runs: unknown option '%s' (see --help)\n", a);
            return 2;
        }
        i++;
    }
    return 0;
}

/* ---- small helpers ---------------------------------------------------------------------------- */

static double sigmoid(double x) {
    return 1.0 / (1.0 + exp(-x));
}

static int clampi(long v, int lo, int hi) {
    return v < lo ? lo : v > hi ? hi : (int)v;
}

/* Uniform integer in [lo, hi]. */
static long long uniform_ll(allot_rng *r, long long lo, long long hi) {
    return lo + (long long)allot_rng_below(r, (uint64_t)(hi - lo + 1));
}

/* A growable text buffer. */
typedef struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_reserve(sbuf *b, size_t extra) {
    if (!b->oom && allot_reserve((void **)&b->p, &b->cap, b->n + extra + 1, 1)) b->oom = 1;
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
sb_printf(sbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (len < 0) {
        b->oom = 1;
        return;
    }
    sb_reserve(b, (size_t)len);
    if (b->oom) return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)len + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)len;
}

static void sb_puts(sbuf *b, const char *s) {
    sb_printf(b, "%s", s);
}

/* Append s as a JSON string literal (quotes included). */
static void sb_json_string(sbuf *b, const char *s) {
    sb_puts(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': sb_puts(b, "\\\""); break;
        case '\\': sb_puts(b, "\\\\"); break;
        case '\n': sb_puts(b, "\\n"); break;
        case '\t': sb_puts(b, "\\t"); break;
        case '\r': sb_puts(b, "\\r"); break;
        default:
            if (*p < 0x20)
                sb_printf(b, "\\u%04x", *p);
            else
                sb_printf(b, "%c", *p);
        }
    }
    sb_puts(b, "\"");
}

/* ---- the word problem ------------------------------------------------------------------------- */

typedef enum op_kind {
    OP_ADD,
    OP_SUB,
    OP_MUL,
    OP_DIV,
    OP_PCT_OFF,
    OP_PCT_UP,
    OP_FRAC,
    OP_RATIO,
    OP_AVG,
    OP_NOISE
} op_kind;

typedef struct step {
    op_kind kind;
    long long a, b; /* ADD/SUB/MUL/DIV/AVG: a; PCT: a percent; FRAC: a/b; RATIO a:b; NOISE: a */
    int variant;    /* which sentence template */
} step;

typedef struct problem {
    double d;   /* surface difficulty (drives the structure) */
    int n_ops;  /* arithmetic operations (NOISE sentences excluded) */
    int n_sent; /* entries of steps[] */
    step steps[MAX_STEPS + 2];
    long long start;
    long long gold;
    int digits;
    int latex;
    int level;
    int person, item, container, other;
} problem;

static const struct {
    const char *name, *pron;
} PEOPLE[] = {{"Ava", "She"},   {"Ben", "He"},    {"Carla", "She"}, {"Dev", "He"},    {"Elif", "She"},
              {"Farid", "He"},  {"Grace", "She"}, {"Hugo", "He"},   {"Ines", "She"},  {"Jonas", "He"},
              {"Kemi", "She"},  {"Liam", "He"},   {"Mei", "She"},   {"Nadia", "She"}, {"Omar", "He"},
              {"Priya", "She"}, {"Rosa", "She"},  {"Sami", "He"},   {"Tariq", "He"},  {"Wen", "She"}};
#define N_PEOPLE (sizeof PEOPLE / sizeof PEOPLE[0])
static const char *const ITEMS[] = {"apples",        "marbles", "stickers",  "books",    "cookies",
                                    "pencils",       "stamps",  "seashells", "cupcakes", "coins",
                                    "trading cards", "beads",   "postcards", "candles"};
#define N_ITEMS (sizeof ITEMS / sizeof ITEMS[0])
static const char *const CONTAINERS[] = {"boxes", "bags", "jars", "baskets", "crates", "envelopes"};
#define N_CONTAINERS (sizeof CONTAINERS / sizeof CONTAINERS[0])

/* The value after applying one step (double: skipped/wrong steps may give non-integers). */
static double apply_step(const step *s, double cur) {
    switch (s->kind) {
    case OP_ADD: return cur + (double)s->a;
    case OP_SUB: return cur - (double)s->a;
    case OP_MUL: return cur * (double)s->a;
    case OP_DIV:
    case OP_AVG: return cur / (double)s->a;
    case OP_PCT_OFF: return cur - cur * (double)s->a / 100.0;
    case OP_PCT_UP: return cur + cur * (double)s->a / 100.0;
    case OP_FRAC: return cur - cur * (double)s->a / (double)s->b;
    case OP_RATIO: return cur * (double)s->a / (double)(s->a + s->b);
    case OP_NOISE: return cur;
    }
    return cur;
}

/* Value of the chain with step `skip` left out and step `flip` applied with the wrong direction
 * (-1 = none): the two commonest ways of reaching a consistent wrong answer. */
static double chain_value(const problem *pb, int skip, int flip, int stop) {
    double cur = (double)pb->start;
    for (int i = 0; i < stop; i++) {
        if (i == skip) continue;
        step s = pb->steps[i];
        if (i == flip) {
            if (s.kind == OP_ADD)
                s.kind = OP_SUB;
            else if (s.kind == OP_SUB)
                s.kind = OP_ADD;
            else if (s.kind == OP_PCT_OFF)
                s.kind = OP_PCT_UP;
            else if (s.kind == OP_PCT_UP)
                s.kind = OP_PCT_OFF;
            else if (s.kind == OP_MUL)
                s.kind = OP_DIV;
            else if (s.kind == OP_DIV || s.kind == OP_AVG)
                s.kind = OP_MUL;
            else if (s.kind == OP_RATIO) {
                long long t = s.a;
                s.a = s.b;
                s.b = t;
            } else if (s.kind == OP_FRAC)
                s.kind = OP_PCT_UP, s.a = s.a * 100 / s.b;
        }
        cur = apply_step(&s, cur);
    }
    return cur;
}

static int divisible(long long v, long long d) {
    return d > 0 && v % d == 0;
}

/* Choose the next operation given the current value; always succeeds (falls back to ADD). */
static step make_step(allot_rng *r, const problem *pb, long long cur, int is_last) {
    step s = {OP_ADD, 0, 0, (int)allot_rng_below(r, 3)};
    long long scale = 1;
    for (int i = 1; i < pb->digits; i++) scale *= 10;
    double hard = sigmoid(1.2 * pb->d - 0.3); /* probability of a "hard" operation */
    double u = allot_rng_uniform(r);
    if (allot_rng_uniform(r) < hard) {
        /* percent, fraction, ratio, equal split, average */
        int k = (int)allot_rng_below(r, is_last ? 5 : 4);
        if (k == 0) {
            static const int pct[] = {10, 20, 25, 40, 50, 60, 75, 5, 30, 15};
            int start = (int)allot_rng_below(r, 10);
            for (int j = 0; j < 10; j++) {
                int p = pct[(start + j) % 10];
                if (divisible(cur * p, 100)) {
                    s.kind = u < 0.65 ? OP_PCT_OFF : OP_PCT_UP;
                    s.a = p;
                    return s;
                }
            }
        } else if (k == 1) {
            static const int fr[][2] = {{1, 2}, {1, 3}, {2, 3}, {1, 4}, {3, 4}, {1, 5}, {2, 5}, {3, 8}};
            int start = (int)allot_rng_below(r, 8);
            for (int j = 0; j < 8; j++) {
                const int *f = fr[(start + j) % 8];
                if (divisible(cur, f[1])) {
                    s.kind = OP_FRAC;
                    s.a = f[0];
                    s.b = f[1];
                    return s;
                }
            }
        } else if (k == 2) {
            static const int ra[][2] = {{3, 2}, {2, 1}, {3, 1}, {4, 1}, {5, 3}, {4, 3}, {5, 2}};
            int start = (int)allot_rng_below(r, 7);
            for (int j = 0; j < 7; j++) {
                const int *f = ra[(start + j) % 7];
                if (divisible(cur, f[0] + f[1])) {
                    s.kind = OP_RATIO;
                    s.a = f[0];
                    s.b = f[1];
                    return s;
                }
            }
        } else {
            int start = 2 + (int)allot_rng_below(r, 11);
            for (int j = 0; j < 11; j++) {
                int q = 2 + (start - 2 + j) % 11;
                if (divisible(cur, q) && cur / q >= 2) {
                    s.kind = k == 4 ? OP_AVG : OP_DIV;
                    s.a = q;
                    return s;
                }
            }
        }
        /* Not divisible: add an amount that makes the value a multiple of 20 (so a later
         * percent/fraction/ratio step can apply), as textbook problems are built. */
        s.kind = OP_ADD;
        s.a = 20 - cur % 20 + 20 * (long long)allot_rng_below(r, (uint64_t)(scale > 20 ? scale / 20 : 1));
        return s;
    }
    if (u < 0.40 || cur < 3) {
        s.kind = OP_ADD;
        s.a = uniform_ll(r, 2, scale * 9);
    } else if (u < 0.75) {
        s.kind = OP_SUB;
        long long hi = cur - 1 < scale * 9 ? cur - 1 : scale * 9;
        s.a = uniform_ll(r, hi >= 2 ? 2 : 1, hi);
    } else if (cur < 200000) {
        s.kind = OP_MUL;
        s.a = uniform_ll(r, 2, pb->d > 0.5 ? 12 : 5);
    } else {
        s.kind = OP_SUB;
        s.a = uniform_ll(r, 1, cur / 2);
    }
    return s;
}

static void fmt_num(char *buf, size_t n, long long v, int latex) {
    if (latex)
        snprintf(buf, n, "$%lld$", v);
    else
        snprintf(buf, n, "%lld", v);
}

/* Render the problem as text. */
static void render_prompt(const problem *pb, sbuf *b) {
    const char *nm = PEOPLE[pb->person].name, *pr = PEOPLE[pb->person].pron;
    const char *it = ITEMS[pb->item], *co = CONTAINERS[pb->container];
    const char *ot = PEOPLE[pb->other].name;
    int L = pb->latex;
    char x[48], y[48];
    fmt_num(x, sizeof x, pb->start, L);
    sb_printf(b, "%s has %s %s.", nm, x, it);
    int avg = 0;
    for (int i = 0; i < pb->n_sent; i++) {
        const step *s = &pb->steps[i];
        fmt_num(x, sizeof x, s->a, L);
        fmt_num(y, sizeof y, s->b, L);
        const char *who = (i % 2) ? pr : nm;
        sb_puts(b, " ");
        switch (s->kind) {
        case OP_ADD:
            if (s->variant == 0)
                sb_printf(b, "%s buys %s more %s.", who, x, it);
            else if (s->variant == 1)
                sb_printf(b, "%s gives %s another %s %s.", ot, nm, x, it);
            else
                sb_printf(b, "Then %s finds %s more %s.", nm, x, it);
            break;
        case OP_SUB:
            if (s->variant == 0)
                sb_printf(b, "%s gives %s %s to a neighbour.", who, x, it);
            else if (s->variant == 1)
                sb_printf(b, "%s loses %s of the %s.", who, x, it);
            else
                sb_printf(b, "%s uses %s %s for a school project.", who, x, it);
            break;
        case OP_MUL:
            if (s->variant == 0)
                sb_printf(b, "By the end of the month %s has %s times as many %s.", nm, x, it);
            else
                sb_printf(b, "%s's collection of %s then grows to %s times its size.", nm, it, x);
            break;
        case OP_DIV:
            sb_printf(b, "%s packs the %s equally into %s %s and keeps only one of them.", who, it, x, co);
            break;
        case OP_PCT_OFF:
            if (L)
                sb_printf(b, "%s sells $%lld\\%%$ of the %s.", who, s->a, it);
            else
                sb_printf(b, "%s sells %s percent of the %s.", who, x, it);
            break;
        case OP_PCT_UP:
            if (L)
                sb_printf(b, "The number of %s then increases by $%lld\\%%$.", it, s->a);
            else
                sb_printf(b, "The number of %s then increases by %s percent.", it, x);
            break;
        case OP_FRAC:
            if (L)
                sb_printf(b, "%s gives away $\\frac{%lld}{%lld}$ of the %s.", who, s->a, s->b, it);
            else
                sb_printf(b, "%s gives away %lld/%lld of the %s.", who, s->a, s->b, it);
            break;
        case OP_RATIO:
            if (L)
                sb_printf(b, "%s shares the %s with %s in the ratio $%lld:%lld$ and keeps the larger share.",
                          who, it, ot, s->a, s->b);
            else
                sb_printf(b, "%s shares the %s with %s in the ratio %lld:%lld and keeps the larger share.",
                          who, it, ot, s->a, s->b);
            break;
        case OP_AVG:
            sb_printf(b, "%s shares them equally among %s friends.", who, x);
            avg = 1;
            break;
        case OP_NOISE: sb_printf(b, "%s's cousin has %s %s, but keeps all of them.", nm, x, it); break;
        }
    }
    if (avg)
        sb_printf(b, " On average, how many %s does each friend get?", it);
    else if (L)
        sb_printf(b, " Find the number of %s that %s has at the end.", it, nm);
    else
        sb_printf(b, " How many %s does %s have now?", it, nm);
}

/* Build the problem structure from the surface difficulty d. */
static void make_problem(allot_rng *r, double d, problem *pb) {
    memset(pb, 0, sizeof *pb);
    pb->d = d;
    pb->n_ops = clampi(lround(3.0 + 1.3 * d + 0.8 * allot_rng_normal(r)), 1, MAX_STEPS);
    pb->digits = clampi(lround(1.6 + 0.7 * d + 0.5 * allot_rng_normal(r)), 1, 4);
    pb->level = clampi(lround(3.0 + 1.1 * d + 0.7 * allot_rng_normal(r)), 1, 5);
    pb->latex = allot_rng_uniform(r) < (pb->level >= 4 ? 0.7 : pb->level == 3 ? 0.1 : 0.0);
    pb->person = (int)allot_rng_below(r, N_PEOPLE);
    pb->other = (pb->person + 1 + (int)allot_rng_below(r, N_PEOPLE - 1)) % (int)N_PEOPLE;
    pb->item = (int)allot_rng_below(r, N_ITEMS);
    pb->container = (int)allot_rng_below(r, N_CONTAINERS);
    long long scale = 1;
    for (int i = 1; i < pb->digits; i++) scale *= 10;
    pb->start = uniform_ll(r, scale + 1, scale * 10);
    /* Irrelevant information (as in GSM-IC), more often on harder items: numbers without a step. */
    int noise_at =
        allot_rng_uniform(r) < 0.1 + 0.25 * sigmoid(d) ? (int)allot_rng_below(r, (uint64_t)pb->n_ops) : -1;
    long long cur = pb->start;
    for (int i = 0; i < pb->n_ops; i++) {
        if (i == noise_at) {
            step ns = {OP_NOISE, uniform_ll(r, 2, scale * 9), 0, 0};
            pb->steps[pb->n_sent++] = ns;
        }
        step s = make_step(r, pb, cur, i == pb->n_ops - 1);
        if (s.kind == OP_AVG && i != pb->n_ops - 1) s.kind = OP_DIV;
        pb->steps[pb->n_sent++] = s;
        cur = (long long)llround(apply_step(&s, (double)cur));
    }
    pb->gold = cur;
}

static void fmt_answer(char *buf, size_t n, double v) {
    if (fabs(v - nearbyint(v)) < 1e-9) {
        snprintf(buf, n, "%lld", (long long)nearbyint(v));
    } else {
        snprintf(buf, n, "%.2f", v);
        /* trim trailing zeros: "12.50" -> "12.5" */
        size_t len = strlen(buf);
        while (len > 0 && buf[len - 1] == '0') buf[--len] = 0;
        if (len > 0 && buf[len - 1] == '.') buf[--len] = 0;
    }
}

/* ---- one query -------------------------------------------------------------------------------- */

typedef struct query_latent {
    double eta;           /* total difficulty = d + h */
    double p[MAX_MODELS]; /* per-sample solve probability (0 if unsolvable) */
    int unsolvable[MAX_MODELS];
} query_latent;

typedef struct gen_totals {
    size_t queries;
    size_t unsolvable[MAX_MODELS];
    double sum_p[MAX_MODELS];
} gen_totals;

static void add_distractor(char (*dis)[32], int *n, double v, const char *gold) {
    if (*n >= MAX_DISTRACTORS || !isfinite(v) || v < 0 || v > 1e12) return;
    char buf[32];
    fmt_answer(buf, sizeof buf, v);
    if (!strcmp(buf, gold)) return;
    for (int i = 0; i < *n; i++)
        if (!strcmp(dis[i], buf)) return;
    memcpy(dis[*n], buf, sizeof buf);
    (*n)++;
}

static void generate_query(const gen_options *o, size_t qi, sbuf *b, gen_totals *tot) {
    allot_rng r;
    allot_rng_seed_stream(&r, o->seed, (uint64_t)qi);

    /* Latent difficulty: d drives the visible structure, h is invisible. */
    double d = allot_rng_normal(&r);
    problem pb;
    make_problem(&r, d, &pb);
    query_latent lat;
    lat.eta = d + HIDDEN_SD * allot_rng_normal(&r);
    /* A heavier upper tail: hard-but-solvable items (small p) make coverage keep climbing. */
    double tail_u = allot_rng_uniform(&r), tail_e = -log(1.0 - allot_rng_uniform(&r));
    if (tail_u < TAIL_P) lat.eta += TAIL_MEAN * tail_e;
    double u_unsolv = allot_rng_normal(&r);
    for (int m = 0; m < MAX_MODELS; m++) {
        lat.unsolvable[m] = lat.eta + UNSOLV_NOISE * u_unsolv > MODELS[m].unsolv_cut;
        lat.p[m] = lat.unsolvable[m] ? 0.0 : sigmoid(MODELS[m].ability - SLOPE_B * lat.eta);
    }
    char gold[32];
    fmt_answer(gold, sizeof gold, (double)pb.gold);

    /* Consistent wrong answers: the chain with one step skipped or reversed, an intermediate
     * value, then simple slips; shuffled, with Zipf-like popularity and sometimes a dominant one. */
    char dis[MAX_DISTRACTORS][32];
    int n_dis = 0;
    {
        int cand_kind[3 * (MAX_STEPS + 2)];
        int cand_step[3 * (MAX_STEPS + 2)];
        int nc = 0;
        for (int i = 0; i < pb.n_sent; i++) {
            if (pb.steps[i].kind == OP_NOISE) continue;
            cand_kind[nc] = 0, cand_step[nc++] = i; /* skip step i */
            cand_kind[nc] = 1, cand_step[nc++] = i; /* reverse step i */
        }
        cand_kind[nc] = 2, cand_step[nc++] = pb.n_sent - 1; /* stop one step early */
        for (int i = nc; i > 1; i--) {                      /* shuffle candidates */
            int j = (int)allot_rng_below(&r, (uint64_t)i);
            int tk = cand_kind[i - 1], ts = cand_step[i - 1];
            cand_kind[i - 1] = cand_kind[j], cand_step[i - 1] = cand_step[j];
            cand_kind[j] = tk, cand_step[j] = ts;
        }
        for (int c = 0; c < nc; c++) {
            double v = cand_kind[c] == 0   ? chain_value(&pb, cand_step[c], -1, pb.n_sent)
                       : cand_kind[c] == 1 ? chain_value(&pb, -1, cand_step[c], pb.n_sent)
                                           : chain_value(&pb, -1, -1, cand_step[c]);
            add_distractor(dis, &n_dis, v, gold);
        }
        add_distractor(dis, &n_dis, (double)pb.gold + 1, gold);
        add_distractor(dis, &n_dis, (double)pb.gold * 10, gold);
    }
    /* Trap queries: one wrong answer dominates. Usually it is the misreading of a "hard" step
     * (percent, fraction, ratio, split: left out or reversed), so problems with such steps are
     * visibly more trap-prone; otherwise the first candidate. */
    int dominant;
    {
        int hard_steps[MAX_STEPS + 2], nh = 0;
        for (int i = 0; i < pb.n_sent; i++) {
            op_kind k = pb.steps[i].kind;
            if (k == OP_PCT_OFF || k == OP_PCT_UP || k == OP_FRAC || k == OP_RATIO || k == OP_DIV ||
                k == OP_AVG)
                hard_steps[nh++] = i;
        }
        double u_trap = allot_rng_uniform(&r);
        dominant = u_trap < (nh > 0 ? TRAP_P_HARD : TRAP_P_PLAIN) + TRAP_P_ETA * sigmoid(lat.eta);
        if (dominant && nh > 0 && n_dis > 0) {
            int st = hard_steps[allot_rng_below(&r, (uint64_t)nh)];
            int rev = (int)allot_rng_below(&r, 2);
            double v = rev ? chain_value(&pb, -1, st, pb.n_sent) : chain_value(&pb, st, -1, pb.n_sent);
            char buf[32];
            fmt_answer(buf, sizeof buf, v);
            int at = -1;
            for (int j = 0; j < n_dis; j++)
                if (!strcmp(dis[j], buf)) at = j;
            if (at > 0) { /* move it to the front (the dominant slot) */
                char tmp[32];
                memcpy(tmp, dis[at], sizeof tmp);
                memmove(dis[1], dis[0], (size_t)at * sizeof dis[0]);
                memcpy(dis[0], tmp, sizeof tmp);
            }
        }
    }
    double dw[MAX_DISTRACTORS] = {0}, dplaus[MAX_DISTRACTORS] = {0}, wsum = 0;
    {
        double zipf_s = 0.6 + 1.6 * allot_rng_uniform(&r);
        for (int j = 0; j < n_dis; j++) {
            dw[j] = 1.0 / pow((double)(j + 1), zipf_s);
            if (j == 0 && dominant) dw[j] *= 3.0 + 3.0 * allot_rng_uniform(&r);
            wsum += dw[j];
            /* how convincing this wrong answer looks to the verifier; the popular one more so */
            dplaus[j] = 0.8 * allot_rng_normal(&r) + (j == 0 && dominant ? 0.5 : 0.0);
        }
    }
    double tail = 0.25 + 0.25 * sigmoid(lat.eta - 0.5);      /* wrong answers that are one-off slips */
    double null_rate = 0.02 + 0.08 * sigmoid(lat.eta - 1.5); /* failed extractions among wrong */
    double verif_off = 0.5 * allot_rng_normal(&r) - 0.25 * lat.eta;
    double mean_tokens = 40.0 + 38.0 * (pb.n_ops + 1) + 6.0 * pb.digits;

    if (tot) {
        tot->queries++;
        for (int m = 0; m < MAX_MODELS; m++) {
            tot->unsolvable[m] += (size_t)lat.unsolvable[m];
            tot->sum_p[m] += lat.p[m];
        }
    }

    /* ---- emit ---- */
    sb_printf(b, "{\"id\":\"gen-%06zu\",\"prompt\":", qi);
    sbuf pr = {0};
    render_prompt(&pb, &pr);
    if (pr.oom) {
        b->oom = 1;
        free(pr.p);
        return;
    }
    sb_json_string(b, pr.p);
    free(pr.p);
    int hint = clampi(pb.n_ops + lround(0.8 * allot_rng_normal(&r)), 1, MAX_STEPS + 2);
    sb_printf(b,
              ",\"gold\":\"%s\",\"meta\":{\"dataset\":\"allot-synthetic\",\"level\":%d},"
              "\"features\":{\"n_steps_hint\":%d},\"samples\":[",
              gold, pb.level, hint);
    int first = 1;
    for (int m = 0; m < o->models; m++) {
        const model_spec *ms = &MODELS[m];
        for (size_t s = 0; s < o->samples; s++) {
            int correct = allot_rng_uniform(&r) < lat.p[m];
            int ans = -2; /* -2 gold, -1 null, 0..n_dis-1 distractor, n_dis: one-off slip */
            char slip[32];
            double plaus = 0.0;
            if (!correct) {
                if (allot_rng_uniform(&r) < null_rate) {
                    ans = -1;
                    plaus = -0.8;
                } else if (n_dis == 0 || allot_rng_uniform(&r) < tail) {
                    ans = n_dis;
                    long long g = pb.gold, off;
                    do {
                        off = uniform_ll(&r, -12, 12) * (allot_rng_uniform(&r) < 0.3 ? 10 : 1);
                    } while (off == 0 || g + off < 0);
                    fmt_answer(slip, sizeof slip, (double)(g + off));
                    plaus = 0.8 * allot_rng_normal(&r);
                } else {
                    double x = allot_rng_uniform(&r) * wsum;
                    ans = 0;
                    while (ans < n_dis - 1 && x >= dw[ans]) x -= dw[ans++];
                    plaus = dplaus[ans];
                }
            }
            /* Verifier (outcome reward) logit and per-step (process reward) logits share a
             * per-sample component e0; a wrong chain's steps drop from its first error on. */
            double e0 = allot_rng_normal(&r);
            double q = correct ? VERIF_MU : -VERIF_MU + 0.7 * plaus;
            double score = sigmoid(verif_off + q + VERIF_SIGMA * e0);
            int n_st = clampi(pb.n_ops + 1 + (long)allot_rng_below(&r, 3) - 1, 1, MAX_STEPS + 2);
            int err_at = correct ? n_st : (int)allot_rng_below(&r, (uint64_t)n_st);
            double tok = mean_tokens * ms->verbosity * exp(0.3 * allot_rng_normal(&r) - 0.045) *
                         (correct ? 1.0 : 1.15) * (ans == -1 ? 1.6 : 1.0);
            long long tokens = llround(tok) < 16 ? 16 : llround(tok);

            sb_printf(b, "%s{\"model\":\"%s\",\"correct\":%s,\"answer\":", first ? "" : ",", ms->name,
                      correct ? "true" : "false");
            first = 0;
            if (ans == -2)
                sb_printf(b, "\"%s\"", gold);
            else if (ans == -1)
                sb_puts(b, "null");
            else if (ans == n_dis)
                sb_printf(b, "\"%s\"", slip);
            else
                sb_printf(b, "\"%s\"", dis[ans]);
            sb_printf(b, ",\"score\":%.3f,\"step_scores\":[", score);
            for (int j = 0; j < n_st; j++) {
                double l = verif_off + 0.6 * e0 + 0.8 * allot_rng_normal(&r);
                if (j < err_at)
                    l += 0.5 * VERIF_MU + 0.4;
                else
                    l += -0.5 * VERIF_MU + 0.5 * plaus - (j == err_at ? 0.6 : 0.0);
                sb_printf(b, "%s%.3f", j ? "," : "", sigmoid(l));
            }
            sb_printf(b, "],\"cost\":%.3f}", (double)tokens * ms->price / COST_TOKENS);
        }
    }
    sb_puts(b, "]}\n");
}

static int generate(const gen_options *o) {
    allot_atomic_file af = {0};
    FILE *fp = stdout;
    allot_error err = {0};
    int to_stdout = !strcmp(o->out, "-");
    if (!to_stdout) {
        if (allot_atomic_open(&af, o->out, &err) != ALLOT_OK) {
            fprintf(stderr, "allot-gen-runs: %s\n", err.msg);
            return 1;
        }
        fp = af.fp;
    }
    gen_totals tot = {0};
    sbuf b = {0};
    for (size_t i = 0; i < o->queries; i++) {
        b.n = 0;
        generate_query(o, i, &b, &tot);
        if (b.oom || fwrite(b.p, 1, b.n, fp) != b.n) {
            fprintf(stderr, "allot-gen-runs: %s: %s\n", o->out, b.oom ? "out of memory" : "write failed");
            free(b.p);
            if (!to_stdout) allot_atomic_abort(&af);
            return 1;
        }
    }
    free(b.p);
    if (to_stdout) {
        if (fflush(stdout) != 0 || ferror(stdout)) {
            fprintf(stderr, "allot-gen-runs: stdout: write failed\n");
            return 1;
        }
    } else if (allot_atomic_commit(&af, &err) != ALLOT_OK) {
        fprintf(stderr, "allot-gen-runs: %s\n", err.msg);
        return 1;
    }
    if (o->verbose) {
        for (int m = 0; m < o->models; m++)
            fprintf(stderr, "allot-gen-runs: %s: latent unsolvable fraction %.4f, mean p %.4f\n",
                    MODELS[m].name, (double)tot.unsolvable[m] / (double)tot.queries,
                    tot.sum_p[m] / (double)tot.queries);
    }
    return 0;
}

int main(int argc, char **argv) {
    allot_cleanup_install(); /* no temporary output left behind on SIGINT/SIGTERM */
    gen_options o;
    int rc = parse_args(argc, argv, &o);
    if (rc == 1) return 0;
    if (rc == 2) return 2;
    if (o.stats) return gen_runs_stats(o.stats);
    return generate(&o);
}
