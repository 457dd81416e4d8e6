/*
 * test_features_ref.c - the runtime's featuriser against the previous implementation
 * (features_ref.c), bit for bit: the dense vector, the hashed indices and values, and the status,
 * over generated word problems, random byte soup rich in every byte class the features look at
 * (punctuation, LaTeX, UTF-8 operators, NUL, long tokens and numbers across 64-byte blocks),
 * every prefix of a few strings (the tail handling), odd alignments, exact-size buffers (so that a
 * sanitizer catches any read past the prompt), hash dimensions that are and are not powers of
 * two, unigrams and bigrams, L2 and raw counts, and small sparse capacities (the sorting
 * accumulator and its overflow error).
 */
#include <fenv.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allot/allot.h"
#include "features_internal.h"
#include "features_ref.h"
#include "policy_test_util.h"

static pt_counts C;

typedef struct variant {
    uint32_t dim;
    int ngrams, norm_l2, n_extra;
} variant;

static allot_featurizer *make_runtime(const variant *v) {
    char spec[4096];
    size_t n = 0;
    n += (size_t)snprintf(spec + n, sizeof spec - n, "{\"version\":1,\"builtin\":[");
    for (size_t i = 0; i < allot_features_n_builtin(); i++)
        n += (size_t)snprintf(spec + n, sizeof spec - n, "%s\"%s\"", i ? "," : "",
                              allot_features_builtin_name(i));
    snprintf(spec + n, sizeof spec - n,
             "],\"extra\":[%s],\"hash\":{\"dim\":%u,\"ngrams\":%d,\"norm\":\"%s\"}}",
             v->n_extra ? "\"meta.level\"" : "", v->dim, v->ngrams, v->norm_l2 ? "l2" : "none");
    allot_featurizer *f;
    allot_error e;
    if (allot_featurizer_create(spec, strlen(spec), &f, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        exit(2);
    }
    return f;
}

/* Buffers for both sides (largest hash dimension used below). */
#define MAXD 65536
static float d_new[64], d_ref[64];
static uint32_t i_new[MAXD], i_ref[MAXD];
static float v_new[MAXD], v_ref[MAXD];

static int n_cases;

/* One prompt through both, with the sparse capacity cap (0: no hashing requested). */
static void compare(const allot_featurizer *fa, const ref_featurizer *fr, const variant *var,
                    const char *prompt, size_t len, size_t cap, const char *what) {
    /* an exact-size heap copy: nothing readable after the last byte */
    char *copy = malloc(len ? len : 1);
    if (len) memcpy(copy, prompt, len);
    double ex = (double)(len % 7) - 2.5;
    const double *extras = var->n_extra ? &ex : NULL;
    size_t ne = var->n_extra ? 1 : 0, cn = 777, cr = 777;
    memset(d_new, 0xA5, sizeof d_new);
    memset(d_ref, 0x5A, sizeof d_ref);
    allot_status st = allot_featurize(fa, len ? copy : NULL, len, extras, ne, d_new, cap ? i_new : NULL,
                                      cap ? v_new : NULL, cap, &cn, NULL);
    int rr = ref_featurize(fr, len ? copy : NULL, len, extras, ne, d_ref, cap ? i_ref : NULL,
                           cap ? v_ref : NULL, cap, &cr);
    n_cases++;
    size_t nd = allot_featurizer_n_dense(fa);
    int ok = pt_check(&C, (st == ALLOT_OK) == (rr == 0),
                      "%s: status %d vs reference %d (len %zu, dim %u, cap %zu)", what, (int)st, rr, len,
                      var->dim, cap);
    if (ok && st == ALLOT_OK) {
        ok = pt_check(&C, nd == ref_featurizer_n_dense(fr) && !memcmp(d_new, d_ref, nd * sizeof(float)),
                      "%s: dense vectors differ (len %zu)", what, len);
        if (!ok)
            for (size_t k = 0; k < nd; k++)
                if (memcmp(&d_new[k], &d_ref[k], sizeof(float)))
                    fprintf(stderr, "  %s: %.9g vs reference %.9g\n", allot_featurizer_dense_name(fa, k),
                            d_new[k], d_ref[k]);
        ok = pt_check(&C, cn == cr, "%s: %zu hashed entries vs reference %zu (len %zu, dim %u)", what, cn, cr,
                      len, var->dim);
        if (ok && cn)
            pt_check(&C,
                     !memcmp(i_new, i_ref, cn * sizeof *i_new) && !memcmp(v_new, v_ref, cn * sizeof *v_new),
                     "%s: hashed entries differ (len %zu, dim %u, ngrams %d, l2 %d)", what, len, var->dim,
                     var->ngrams, var->norm_l2);
    }
    free(copy);
}

/* Byte soup: pieces chosen to hit every class and sequence the featuriser distinguishes. */
static const char *const pieces[] = {
    "How",
    "many",
    "how much",
    "Show that",
    "SHOW",
    "that",
    "what",
    "Which",
    "prove",
    "the",
    "of",
    "x",
    "percent",
    "Percentage",
    "ratio",
    "proportional",
    "PROBABILITY",
    "remainder",
    "altogether",
    "dollars",
    "polynomial",
    "constraints",
    "stdin",
    "without",
    "not",
    "no",
    "1,234.5",
    "1.2.3",
    "0.25",
    "007",
    "16",
    "3.14159",
    "12,",
    ",5",
    "1..2",
    "99999999999999999999",
    "0.0001",
    "-7",
    "$5.00",
    "50%",
    "3^2",
    "a=b",
    "x+y-z*w/v",
    "a<b>c",
    "(1)",
    "[2]",
    "{3}",
    ";",
    "_",
    "`",
    "#",
    "|",
    "&",
    "\\frac{1}{2}",
    "\\dfrac",
    "\\tfrac",
    "\\sqrt{2}",
    "\\alpha",
    "\\",
    "\\\\",
    "?",
    "!",
    ".",
    "...",
    "?!",
    "\n",
    "\r\n",
    "\t",
    "\v",
    "\f",
    " ",
    "  ",
    "\xc3\x97",
    "\xc3\xb7",
    "\xe2\x88\x92",
    "\xc2\xb7",
    "\xe2\x89\xa4",
    "\xe2\x89\xa5",
    "\xe2\x89\xa0",
    "\xe2\x80\x99",
    "Janet\xe2\x80\x99s",
    "\xe4\xb8\xad\xe6\x96\x87",
    "\xc2",
    "\xe2",
    "\xe2\x88",
    "\xff\xfe",
    "\x80\xbf",
    "caf\xc3\xa9",
    "Supercalifragilisticexpialidocious",
    "aVeryLongTokenThatKeepsGoingPastSixtyFourBytesOfLettersAndDigits0123456789abcdefghijklmnop",
    "determine",
    "Determine",
    "calculate",
    "simplify",
    "HOW",
    "MaNy",
    "much",
    "whose",
    "whom",
    "@",
    "~",
    "'",
    "\"",
    ":",
    ",",
    "-",
    "+",
    "*",
    "/",
    "<",
    ">",
    "^",
    "=",
    "%",
    "$",
    "\x01",
    "\x7f",
    "A",
    "Z",
    "a",
    "z",
    "0",
    "9",
};
#define N_PIECES (sizeof pieces / sizeof pieces[0])

static size_t soup(pt_rng *r, char *buf, size_t cap) {
    size_t n = 0, target = (size_t)(pt_next(r) % (cap - 128));
    while (n < target) {
        const char *s = pieces[pt_next(r) % N_PIECES];
        size_t l = strlen(s);
        memcpy(buf + n, s, l);
        n += l;
        uint64_t sep = pt_next(r) % 10;
        if (sep < 6)
            buf[n++] = ' ';
        else if (sep == 6)
            buf[n++] = '\0'; /* NUL: an ordinary non-word byte */
        else if (sep == 7)
            buf[n++] = '\n';
    }
    return n;
}

/* Text dense in keywords: the previous table's words (and near misses: a letter more or less, a
 * plural), pairs split across separators, in random case, up to cap - 1 bytes. */
static size_t keyword_text(pt_rng *r, char *buf, size_t cap) {
    static const char *const seps[] = {" ", "  ", ", ", ".", "?", "\n", "-", "1", "(", "\xc3\x97"};
    size_t n = 0, target = (size_t)(pt_next(r) % (cap - 64));
    while (n < target) {
        const char *second,
            *w = ref_features_keyword((size_t)(pt_next(r) % ref_features_n_keywords()), &second);
        for (int part = 0; part < 2 && w; part++, w = second) {
            size_t len = strlen(w), form = (size_t)(pt_next(r) % 8);
            for (size_t k = 0; k < len && n + 40 < cap; k++) {
                char c = w[k];
                if (form == 1 || (form == 2 && k == 0) || (form == 3 && pt_next(r) % 2)) c = (char)(c - 32);
                buf[n++] = c;
            }
            if (form == 4 && n + 40 < cap) buf[n++] = 's';
            if (form == 5 && n > 0 && len > 1) n--;
            const char *sep = seps[pt_next(r) % (sizeof seps / sizeof seps[0])];
            for (size_t k = 0; sep[k] && n + 40 < cap; k++) buf[n++] = sep[k];
        }
    }
    return n;
}

static void run_variant(const variant *var, int level) {
    allot_featurizer *fa = make_runtime(var);
    if (allot_featurizer_set_simd(fa, level) != level) {
        allot_featurizer_free(fa);
        return;
    }
    ref_featurizer *fr = ref_featurizer_create(var->n_extra ? 1 : 0, var->dim, var->ngrams, var->norm_l2);
    size_t full = var->dim ? var->dim : 1;
    pt_rng r = {1000u + var->dim + (uint64_t)var->ngrams * 7 + (uint64_t)var->norm_l2};
    static char buf[8192];
    /* generated word problems */
    for (int i = 0; i < 150; i++) {
        char *p = pt_make_prompt(&r, 3, NULL, NULL);
        compare(fa, fr, var, p, strlen(p), full, "word problem");
        compare(fa, fr, var, p, strlen(p), 0, "word problem, dense only");
        free(p);
    }
    /* byte soup, with full and small sparse capacities */
    for (int i = 0; i < 250; i++) {
        size_t n = soup(&r, buf, sizeof buf);
        compare(fa, fr, var, buf, n, full, "soup");
        compare(fa, fr, var, buf, n, 0, "soup, dense only");
        size_t small = 1 + (size_t)(pt_next(&r) % 64);
        if (small < full) compare(fa, fr, var, buf, n, small, "soup, small capacity");
        /* an odd start inside the buffer */
        size_t off = 1 + (size_t)(pt_next(&r) % 13);
        if (n > off) compare(fa, fr, var, buf + off, n - off, full, "soup, odd offset");
    }
    /* keyword text: every word, both words of a pair in a row, near misses, across batches */
    for (int i = 0; i < 150; i++) {
        size_t n = keyword_text(&r, buf, sizeof buf);
        compare(fa, fr, var, buf, n, full, "keyword text");
        compare(fa, fr, var, buf, n, 0, "keyword text, dense only");
    }
    /* every prefix of a few strings: each tail length, token and number cut at the end */
    const char *const texts[] = {
        "How many apples: 1,234.5 of them, \\frac{1}{2} are red? Show that 3^2 = 9! caf\xc3\xa9 \xc3\x97 "
        "Supercalifragilisticexpialidocious%.",
        "aVeryLongTokenThatKeepsGoingPastSixtyFourBytesOfLettersAndDigits0123456789abcdefghijklmnopqrstuvwxyz"
        "ABC",
        "12345678901234567890123456789012345678901234567890123456789012345678901234567890.5,1,2",
        "  \n\n  ...  ?? \t how much. \xe2\x89\xa4\xe2\x89\xa5\xe2 \xc2",
    };
    for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++)
        for (size_t n = 0; n <= strlen(texts[t]); n++) compare(fa, fr, var, texts[t], n, full, "prefix");
    /* long runs of one class (per-position counters that must not wrap), around 4 KiB and beyond */
    const char *const units[] = {"A", "7", " ", "\xe4", "\x80", " a", "a.", "1,", "Q?\n"};
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
        size_t ul = strlen(units[u]);
        for (size_t n = 4000; n + ul <= sizeof buf; n += 1531) {
            for (size_t k = 0; k + ul <= n; k += ul) memcpy(buf + k, units[u], ul);
            compare(fa, fr, var, buf, n - n % ul, full, "long run");
        }
    }
    ref_featurizer_free(fr);
    allot_featurizer_free(fa);
}

/* allot_featurizer_standardize with the vector code against the portable code, bit for bit, on
 * values around the centers, NaN (missing), zeros, and values whose quotient leaves the float range. */
static void standardize_both(void) {
    variant v = {0, 2, 1, 1};
    allot_featurizer *f = make_runtime(&v);
    size_t nd = allot_featurizer_n_dense(f);
    double center[64], scale[64];
    pt_rng r = {77};
    for (size_t i = 0; i < nd; i++) {
        center[i] = ((double)(pt_next(&r) % 2001) - 1000) / 7.0;
        scale[i] = i % 5 == 0 ? 1e-300 : (double)(1 + pt_next(&r) % 1000) / 13.0;
    }
    allot_error e;
    if (allot_featurizer_set_standardization(f, center, scale, nd, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        exit(2);
    }
    if (!allot_featurizer_set_simd(f, 2)) { /* nothing to compare the portable code with */
        printf("standardize: no vector code on this processor or in this build, comparison skipped\n");
        allot_featurizer_free(f);
        return;
    }
    float x[64], a[64], b[64];
    int differ = 0;
    for (int trial = 0; trial < 4000; trial++) {
        fesetround(trial < 2000 ? FE_TONEAREST : FE_TOWARDZERO); /* the float range's edge in both modes */
        for (size_t i = 0; i < nd; i++) {
            uint64_t k = pt_next(&r) % 10;
            x[i] = k == 0   ? NAN
                   : k == 1 ? 0.0f
                   : k == 2 ? -0.0f
                   : k == 3 ? 3.4e38f
                   : k == 4 ? -3.4e38f
                            : (float)(((double)(pt_next(&r) % 200001) - 100000) / 97.0);
        }
        allot_featurizer_set_simd(f, 0);
        allot_featurizer_standardize(f, x, a);
        allot_featurizer_set_simd(f, 2);
        allot_featurizer_standardize(f, x, b);
        differ += memcmp(a, b, nd * sizeof *a) != 0;
    }
    fesetround(FE_TONEAREST);
    pt_check(&C, differ == 0,
             "standardize: vector code and portable code agree bit for bit (%d trials differ)", differ);
    allot_featurizer_free(f);
}

int main(void) {
    standardize_both();
    const variant variants[] = {
        {4096, 2, 1, 1}, {4096, 2, 1, 0}, {4096, 1, 1, 0}, {4096, 2, 0, 0},  {1000, 2, 1, 1},
        {1, 2, 1, 0},    {64, 2, 0, 0},   {0, 2, 1, 0},    {65536, 2, 1, 0}, {4097, 1, 0, 1},
    };
    /* the portable code, then each level of vector code this processor has (features_internal.h) */
    allot_featurizer *probe = make_runtime(&variants[0]);
    int top = allot_featurizer_set_simd(probe, 2);
    allot_featurizer_free(probe);
    for (int level = 0; level <= top; level++)
        for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) run_variant(&variants[i], level);
    static const char *const names[] = {"portable code only: no AVX-512 on this processor or in this build",
                                        "portable and AVX-512F/BW code; no VBMI here, its code not run",
                                        "portable, AVX-512F/BW and AVX-512 VBMI code"};
    printf("%d prompts compared with the previous featuriser (%s)\n", n_cases, names[top]);
    return pt_finish(&C);
}
