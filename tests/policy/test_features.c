/* test_features.c - the shared featuriser: pinned values and hashes, edge cases, spec errors,
 * no allocation per call. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_count.h"
#include "allot/allot.h"
#include "policy_test_util.h"

static pt_counts C;

static double get(const allot_featurizer *f, const float *d, const char *name) {
    for (size_t i = 0; i < allot_featurizer_n_dense(f); i++)
        if (!strcmp(allot_featurizer_dense_name(f, i), name)) return d[i];
    fprintf(stderr, "no feature %s\n", name);
    exit(2);
}

static allot_featurizer *mk(uint32_t dim, const char *norm) {
    char spec[4096];
    size_t n = 0;
    n += (size_t)snprintf(spec + n, sizeof spec - n, "{\"version\":1,\"builtin\":[");
    for (size_t i = 0; i < allot_features_n_builtin(); i++)
        n += (size_t)snprintf(spec + n, sizeof spec - n, "%s\"%s\"", i ? "," : "",
                              allot_features_builtin_name(i));
    snprintf(spec + n, sizeof spec - n, "],\"extra\":[],\"hash\":{\"dim\":%u,\"norm\":\"%s\"}}", dim, norm);
    allot_featurizer *f;
    allot_error e;
    if (allot_featurizer_create(spec, strlen(spec), &f, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        exit(2);
    }
    return f;
}

static float dense[256];
static uint32_t sidx[1 << 16];
static float sval[1 << 16];

static size_t feat(const allot_featurizer *f, const char *p, size_t len) {
    size_t cnt = 0;
    allot_error e;
    allot_status st =
        allot_featurize(f, p, len, NULL, 0, dense, sidx, sval, sizeof sidx / sizeof sidx[0], &cnt, &e);
    if (st) {
        fprintf(stderr, "featurize: %s\n", e.msg);
        exit(2);
    }
    return cnt;
}

static void test_table(void) {
    pt_check(&C, allot_features_n_builtin() == 52, "52 built-ins (got %zu)", allot_features_n_builtin());
    const char *pins[][2] = {{"0", "len_bytes"},   {"6", "avg_word_len"}, {"10", "max_number_log10"},
                             {"24", "q_how_many"}, {"36", "kw_percent"},  {"51", "kw_negation"}};
    for (size_t i = 0; i < sizeof pins / sizeof pins[0]; i++) {
        const char *nm = allot_features_builtin_name((size_t)atoi(pins[i][0]));
        pt_check(&C, nm && !strcmp(nm, pins[i][1]), "builtin %s is %s", pins[i][0], pins[i][1]);
    }
    pt_check(&C, allot_features_builtin_name(52) == NULL, "out of range name is NULL");
}

static void test_known_values(void) {
    allot_featurizer *f = mk(4096, "l2");
    const char *p = "Janet\xE2\x80\x99s ducks lay 16 eggs per day. How many dollars, 1,234.5 or 0.25? "
                    "Compute \\frac{1}{2} + 3^2 = x.";
    size_t n = strlen(p);
    feat(f, p, n);
    struct {
        const char *name;
        double v;
    } want[] = {{"len_bytes", 102},  {"len_chars", 100},      {"n_words", 19},     {"n_lines", 1},
                {"n_sentences", 3},  {"n_question_marks", 1}, {"n_tokens", 23},    {"n_digits", 14},
                {"n_numbers", 7},    {"n_decimals", 2},       {"n_operators", 3},  {"n_equals", 1},
                {"n_latex_cmds", 1}, {"n_latex_frac", 1},     {"n_latex_sqrt", 0}, {"n_carets", 1},
                {"n_brackets", 4},   {"n_uppercase", 3},      {"n_non_ascii", 3},  {"q_how_many", 1},
                {"q_how", 1},        {"q_how_much", 0},       {"q_compute", 1},    {"kw_each", 1},
                {"kw_money", 1},     {"kw_time", 1},          {"kw_percent", 0},   {"q_what", 0}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        double got = get(f, dense, want[i].name);
        pt_check(&C, got == want[i].v, "known prompt: %s = %g (want %g)", want[i].name, got, want[i].v);
    }
    pt_check(&C, get(f, dense, "avg_word_len") == (float)(84.0 / 19.0), "avg_word_len = 84/19");
    pt_check(&C, get(f, dense, "max_number_log10") == (float)(3 + 0.079181246047624818),
             "max_number_log10(1,234.5) = 3 + log10(1.2)");

    /* numbers and magnitude */
    feat(f, "16", 2);
    pt_check(&C, get(f, dense, "max_number_log10") == (float)(1 + 0.20411998265592482), "log10(16)");
    feat(f, "0.25 and 0.0007", 15);
    pt_check(&C, get(f, dense, "max_number_log10") == 0 && get(f, dense, "n_numbers") == 2,
             "numbers < 1 give 0");
    feat(f, "5.5", 3);
    pt_check(&C, get(f, dense, "max_number_log10") == (float)0.74036268949424389,
             "log10(5.5) from the fraction digit");
    feat(f, "007 and 1.2.3", 13);
    pt_check(&C, get(f, dense, "n_numbers") == 3 && get(f, dense, "n_decimals") == 1, "1.2.3 is 1.2 and 3");
    pt_check(&C, get(f, dense, "max_number_log10") == (float)0.84509804001425681,
             "leading zeros stripped: 007 = 7");
    /* lines and sentences */
    feat(f, "a\nb\n", 4);
    pt_check(&C, get(f, dense, "n_lines") == 2 && get(f, dense, "n_sentences") == 1,
             "lines/sentences of a\\nb\\n");
    feat(f, "Really?! Yes... e.g. no", 23);
    /* "?!" ends one, "..." another, "g." another ("e." is followed by a letter), "no" is unterminated */
    pt_check(&C, get(f, dense, "n_sentences") == 4, "sentences: Really?! | Yes... | e.g. | no (%g)",
             get(f, dense, "n_sentences"));
    /* percent flag from the sign, show that, UTF-8 operators */
    const char *u = "Show that 50% \xC3\x97 2 \xE2\x88\x92 1 \xE2\x89\xA4 3 \xC3\xB7 x";
    feat(f, u, strlen(u));
    pt_check(&C, get(f, dense, "kw_percent") == 1 && get(f, dense, "q_prove") == 1,
             "%% sign and 'show that'");
    pt_check(&C, get(f, dense, "n_operators") == 4, "UTF-8 operators (got %g)", get(f, dense, "n_operators"));
    pt_check(&C, get(f, dense, "len_chars") == 29, "UTF-8 code points (got %g)", get(f, dense, "len_chars"));
    allot_featurizer_free(f);
}

static void test_hash_pins(void) {
    allot_featurizer *f = mk(4096, "l2");
    size_t n = feat(f, "how", 3);
    pt_check(&C, n == 1 && sidx[0] == 3213 && sval[0] == 1.0f, "h(how) mod 4096 = 3213");
    n = feat(f, "How many", 8);
    float r3 = (float)(1.0 / sqrt(3.0));
    pt_check(&C, n == 3 && sidx[0] == 3120 && sidx[1] == 3213 && sidx[2] == 4002,
             "how many -> 3120, 3213, 4002");
    pt_check(&C, sval[0] == r3 && sval[1] == r3 && sval[2] == r3, "l2-normalised counts 1/sqrt(3)");
    n = feat(f, "16", 2);
    pt_check(&C, n == 1 && sidx[0] == 1822, "h(16) -> 1822");
    const char *j = "JANET\xE2\x80\x99S";
    n = feat(f, j, strlen(j));
    pt_check(&C, n == 1 && sidx[0] == 1829, "janet's (UTF-8, ASCII-lowered) -> 1829");
    allot_featurizer_free(f);

    f = mk(4096, "none");
    n = feat(f, "how how how", 11);
    /* unigram how x3 at 3213, bigram "how how" x2 */
    int ok = n == 2;
    for (size_t i = 0; i < n; i++)
        ok = ok && ((sidx[i] == 3213 && sval[i] == 3.0f) || (sidx[i] != 3213 && sval[i] == 2.0f));
    pt_check(&C, ok, "norm none: raw counts 3 and 2");
    allot_featurizer_free(f);

    /* unigrams only */
    const char *spec = "{\"builtin\":[\"len_bytes\"],\"hash\":{\"dim\":4096,\"ngrams\":1}}";
    allot_featurizer *g;
    pt_check(&C, allot_featurizer_create(spec, strlen(spec), &g, NULL) == ALLOT_OK, "ngrams 1 spec");
    n = feat(g, "How many", 8);
    pt_check(&C, n == 2 && sidx[0] == 3213 && sidx[1] == 4002, "ngrams 1: no bigram");
    allot_featurizer_free(g);
}

static void test_edges(void) {
    allot_featurizer *f = mk(4096, "l2");
    size_t nd = allot_featurizer_n_dense(f);
    size_t n = feat(f, "", 0);
    int zero = 1;
    for (size_t i = 0; i < nd; i++) zero = zero && dense[i] == 0.0f;
    pt_check(&C, zero && n == 0, "empty prompt: all zero, no n-grams");
    size_t cnt = 7;
    pt_check(
        &C, allot_featurize(f, NULL, 0, NULL, 0, dense, sidx, sval, 4096, &cnt, NULL) == ALLOT_OK && cnt == 0,
        "NULL prompt with length 0");
    pt_check(&C, allot_featurize(f, NULL, 3, NULL, 0, dense, NULL, NULL, 0, NULL, NULL) == ALLOT_E_ARGUMENT,
             "NULL prompt with length 3 refused");
    pt_check(&C, allot_featurize(f, "x", 1, NULL, 0, NULL, NULL, NULL, 0, NULL, NULL) == ALLOT_E_ARGUMENT,
             "NULL dense refused");
    double ex = 1;
    pt_check(&C, allot_featurize(f, "x", 1, &ex, 1, dense, NULL, NULL, 0, NULL, NULL) == ALLOT_E_ARGUMENT,
             "extras count mismatch refused");
    /* invalid UTF-8, NUL bytes */
    const char bad[] = "\xff\xfe\x80 abc\0def \xc3";
    n = feat(f, bad, sizeof bad - 1);
    pt_check(&C, get(f, dense, "len_bytes") == (float)(sizeof bad - 1) && n > 0,
             "invalid UTF-8 and NUL bytes accepted");

    /* a long prompt: 4 MiB of pseudo-random words; direct (cap = dim) and compacting (small cap) paths agree
     */
    size_t L = 4u << 20;
    char *big = malloc(L);
    pt_rng r = {99};
    for (size_t i = 0; i < L; i++) {
        uint64_t x = pt_next(&r) % 40;
        big[i] = x < 26 ? (char)('a' + x) : x < 36 ? (char)('0' + x - 26) : x < 39 ? ' ' : '.';
    }
    size_t n1 = feat(f, big, L);
    float d1 = get(f, dense, "len_bytes");
    pt_check(&C, d1 == (float)L && n1 == 4096, "4 MiB prompt fills all 4096 buckets (%zu)", n1);
    allot_featurizer_free(f);

    /* sort path vs direct path on a prompt with fewer distinct n-grams than the capacity */
    f = mk(1u << 16, "l2");
    const char *txt = "the cat sat on the mat and the cat ate the rat; the dog sat on the log";
    uint32_t i1[64], i2[1 << 16];
    float v1[64], v2[1 << 16];
    size_t c1 = 0, c2 = 0;
    allot_status s1 = allot_featurize(f, txt, strlen(txt), NULL, 0, dense, i1, v1, 64, &c1, NULL);
    allot_status s2 = allot_featurize(f, txt, strlen(txt), NULL, 0, dense, i2, v2, 1 << 16, &c2, NULL);
    int same = s1 == ALLOT_OK && s2 == ALLOT_OK && c1 == c2;
    for (size_t i = 0; same && i < c1; i++)
        same = i1[i] == i2[i] && v1[i] == v2[i] && (i == 0 || i1[i] > i1[i - 1]);
    pt_check(&C, same, "small-capacity path equals the direct path (%zu vs %zu)", c1, c2);
    uint32_t i3[8];
    float v3[8];
    allot_error e;
    pt_check(&C,
             allot_featurize(f, txt, strlen(txt), NULL, 0, dense, i3, v3, 8, &c1, &e) == ALLOT_E_ARGUMENT &&
                 strstr(e.msg, "capacity"),
             "too small a capacity is refused with a message");
    /* the long prompt through the sort path with capacity 20000 < dim */
    static uint32_t i4[20000];
    static float v4[20000];
    size_t c4 = 0;
    allot_status s4 = allot_featurize(f, big, L, NULL, 0, dense, i4, v4, 20000, &c4, &e);
    pt_check(&C, s4 == ALLOT_E_ARGUMENT, "4 MiB prompt with 2^16 buckets overflows capacity 20000");
    /* the direct (bitmap) path, whose bitmap shares the index array with the output, for dimensions
     * that are not multiples of 32: every bucket hit (indices 0..dim-1, counts summing to the number
     * of n-grams), and equal to the sort path where that one fits (a short prompt, capacity dim - 1) */
    uint32_t dims[] = {1, 7, 100, 1000, 4097};
    const char *shortp = "one two three four five six seven eight nine ten eleven twelve";
    for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++) {
        allot_featurizer *g = mk(dims[di], "none");
        static uint32_t ia[8192], ib[8192];
        static float va[8192], vb[8192];
        size_t ca = 0, cb = 0;
        allot_status sa = allot_featurize(g, big, 1u << 20, NULL, 0, dense, ia, va, dims[di], &ca, NULL);
        int eq = sa == ALLOT_OK && ca == dims[di];
        double total = 0;
        for (size_t i = 0; eq && i < ca; i++) {
            eq = ia[i] == i;
            total += va[i];
        }
        pt_check(&C, eq && total == 2.0 * get(g, dense, "n_tokens") - 1,
                 "dim %u: every bucket hit, counts sum to 2 tokens - 1", dims[di]);
        if (dims[di] > 40) {
            sa = allot_featurize(g, shortp, strlen(shortp), NULL, 0, dense, ia, va, dims[di], &ca, NULL);
            allot_status sb =
                allot_featurize(g, shortp, strlen(shortp), NULL, 0, dense, ib, vb, dims[di] - 1, &cb, NULL);
            eq = sa == ALLOT_OK && sb == ALLOT_OK && ca == cb && ca > 0;
            for (size_t i = 0; eq && i < ca; i++) eq = ia[i] == ib[i] && va[i] == vb[i];
            pt_check(&C, eq, "dim %u: bitmap path equals the sort path (%zu entries)", dims[di], ca);
        }
        allot_featurizer_free(g);
    }
    free(big);
    allot_featurizer_free(f);
}

static void test_spec(void) {
    const char *extra[] = {"meta.level", "features.n_steps_hint"};
    allot_featurizer *f;
    allot_error e;
    pt_check(&C, allot_featurizer_create_default(extra, 2, 4096, &f, &e) == ALLOT_OK, "default with extras");
    pt_check(&C, allot_featurizer_n_dense(f) == 54 && allot_featurizer_n_extra(f) == 2, "n_dense 54");
    pt_check(&C, !strcmp(allot_featurizer_dense_name(f, 53), "features.n_steps_hint"),
             "extra names follow built-ins");
    pt_check(&C,
             allot_featurizer_extra_index(f, "meta.level") == 0 && allot_featurizer_extra_index(f, "x") == -1,
             "extra_index");
    double c[54], s[54];
    for (int i = 0; i < 54; i++) {
        c[i] = i * 0.1;
        s[i] = 1.0 / 3.0 + i;
    }
    pt_check(&C, allot_featurizer_set_standardization(f, c, s, 54, &e) == ALLOT_OK, "set standardisation");
    char buf[16384];
    size_t len = allot_featurizer_spec_json(f, buf, sizeof buf);
    pt_check(&C, len < sizeof buf && strlen(buf) == len, "spec_json length");
    char small[10];
    pt_check(&C, allot_featurizer_spec_json(f, small, sizeof small) == len && strlen(small) == 9,
             "spec_json truncates");
    allot_featurizer *g;
    pt_check(&C, allot_featurizer_create(buf, len, &g, &e) == ALLOT_OK, "spec round trip loads");
    char buf2[16384];
    allot_featurizer_spec_json(g, buf2, sizeof buf2);
    pt_check(&C, !strcmp(buf, buf2), "spec round trip is exact");
    double cc, ss;
    allot_featurizer_standardization(g, 53, &cc, &ss);
    pt_check(&C, cc == c[53] && ss == s[53], "standardisation survives the round trip bit for bit");
    float in[54], out[54];
    for (int i = 0; i < 54; i++) in[i] = (float)i;
    in[3] = NAN;
    allot_featurizer_standardize(g, in, out);
    pt_check(&C, out[3] == 0.0f && out[10] == (float)((10.0 - c[10]) / s[10]),
             "standardize: NaN -> 0, (x-c)/s");
    /* extras from a record */
    double ex[2];
    const char *rec = "{\"id\":\"q\",\"meta\":{\"level\":\"Level 5\"},\"features\":{\"n_steps_hint\":2.5}}";
    pt_check(&C,
             allot_featurizer_extras_from_record(g, rec, strlen(rec), ex, &e) == ALLOT_OK && ex[0] == 5 &&
                 ex[1] == 2.5,
             "extras from a record: 'Level 5' -> 5, 2.5");
    const char *rec2 = "{\"meta\":{\"level\":true}}";
    allot_featurizer_extras_from_record(g, rec2, strlen(rec2), ex, &e);
    pt_check(&C, ex[0] == 1 && isnan(ex[1]), "true -> 1, absent -> NaN");
    pt_check(&C, allot_featurizer_extras_from_record(g, "{", 1, ex, &e) == ALLOT_E_PARSE, "bad record JSON");
    allot_featurizer_free(g);
    allot_featurizer_free(f);
    const char *n1[] = {"meta.a.b"};
    allot_featurizer_create_default(n1, 1, 0, &f, NULL);
    const char *rec3 = "{\"meta\":{\"a\":{\"b\":\"x -3.25 y\"}}}";
    allot_featurizer_extras_from_record(f, rec3, strlen(rec3), ex, &e);
    pt_check(&C, ex[0] == -3.25, "nested meta path, negative decimal in a string (%g)", ex[0]);
    allot_featurizer_free(f);

    struct {
        const char *spec;
        allot_status code;
        const char *field;
    } bad[] = {
        {"{", ALLOT_E_PARSE, "JSON"},
        {"[]", ALLOT_E_INVALID, "features"},
        {"{}", ALLOT_E_INVALID, "features.builtin"},
        {"{\"builtin\":\"len_bytes\"}", ALLOT_E_INVALID, "features.builtin"},
        {"{\"builtin\":[\"nope\"]}", ALLOT_E_UNSUPPORTED, "features.builtin[0]"},
        {"{\"builtin\":[\"len_bytes\",\"len_bytes\"]}", ALLOT_E_INVALID, "features.builtin[1]"},
        {"{\"builtin\":[1]}", ALLOT_E_INVALID, "features.builtin[0]"},
        {"{\"version\":3,\"builtin\":[]}", ALLOT_E_UNSUPPORTED, "features.version"},
        {"{\"builtin\":[],\"extra\":[\"level\"]}", ALLOT_E_INVALID, "features.extra[0]"},
        {"{\"builtin\":[],\"extra\":[\"meta.a\",\"meta.a\"]}", ALLOT_E_INVALID, "features.extra[1]"},
        {"{\"builtin\":[],\"hash\":{\"dim\":-1}}", ALLOT_E_INVALID, "features.hash.dim"},
        {"{\"builtin\":[],\"hash\":{\"dim\":1.5}}", ALLOT_E_INVALID, "features.hash.dim"},
        {"{\"builtin\":[],\"hash\":{\"dim\":33554432}}", ALLOT_E_INVALID, "features.hash.dim"},
        {"{\"builtin\":[],\"hash\":{}}", ALLOT_E_INVALID, "features.hash.dim"},
        {"{\"builtin\":[],\"hash\":{\"dim\":8,\"norm\":\"l1\"}}", ALLOT_E_INVALID, "features.hash.norm"},
        {"{\"builtin\":[],\"hash\":{\"dim\":8,\"function\":\"murmur\"}}", ALLOT_E_UNSUPPORTED,
         "features.hash.function"},
        {"{\"builtin\":[],\"hash\":{\"dim\":8,\"ngrams\":3}}", ALLOT_E_INVALID, "features.hash.ngrams"},
        {"{\"builtin\":[\"len_bytes\"],\"standardize\":{\"center\":[0],\"scale\":[0]}}", ALLOT_E_INVALID,
         "scale[0]"},
        {"{\"builtin\":[\"len_bytes\"],\"standardize\":{\"center\":[0,1],\"scale\":[1,1]}}", ALLOT_E_INVALID,
         "features.standardize.center"},
        {"{\"builtin\":[\"len_bytes\"],\"standardize\":{\"center\":[\"a\"],\"scale\":[1]}}", ALLOT_E_INVALID,
         "features.standardize.center[0]"},
        {"{\"builtin\":[\"len_bytes\"],\"standardize\":{\"scale\":[1]}}", ALLOT_E_INVALID,
         "features.standardize.center"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        allot_featurizer *h = NULL;
        allot_error_clear(&e);
        allot_status st = allot_featurizer_create(bad[i].spec, strlen(bad[i].spec), &h, &e);
        pt_check(&C, st == bad[i].code && strstr(e.msg, bad[i].field) != NULL && h == NULL,
                 "bad spec %zu -> %d '%s' (got %d '%s')", i, bad[i].code, bad[i].field, st, e.msg);
    }
    /* every truncation of a valid spec fails cleanly or loads */
    allot_featurizer_create_default(extra, 2, 64, &f, NULL);
    allot_featurizer_set_standardization(f, c, s, 54, NULL);
    len = allot_featurizer_spec_json(f, buf, sizeof buf);
    int clean = 1;
    for (size_t cut = 0; cut < len; cut++) {
        allot_featurizer *h = NULL;
        allot_status st = allot_featurizer_create(buf, cut, &h, NULL);
        if (st == ALLOT_OK)
            allot_featurizer_free(h);
        else
            clean = clean && h == NULL;
        if (st == ALLOT_OK) clean = 0; /* a truncated object never parses */
    }
    pt_check(&C, clean, "every truncation of a spec is refused cleanly");
    allot_featurizer_free(f);
}

static void test_no_alloc(void) {
    const char *extra[] = {"meta.level"};
    allot_featurizer *f;
    allot_featurizer_create_default(extra, 1, 4096, &f, NULL);
    const char *p = "A farmer has 1,200 eggs. How many are left after 3 days if he sells 25% per day?";
    double ex = 3;
    size_t before = pt_alloc_count(), cnt;
    for (int i = 0; i < 1000; i++) {
        allot_featurize(f, p, strlen(p), &ex, 1, dense, sidx, sval, 4096, &cnt, NULL);
        allot_featurize(f, p, strlen(p), &ex, 1, dense, NULL, NULL, 0, NULL, NULL);
        allot_featurize(f, p, strlen(p), &ex, 1, dense, sidx, sval, 100, &cnt, NULL);
    }
    pt_check(&C, pt_alloc_count() == before, "3000 featurisations allocate nothing (%zu allocations)",
             pt_alloc_count() - before);
    pt_check(&C, pt_alloc_count() > 0 || 1, "allocation counter linked");
    /* determinism */
    float d1[64], d2[64];
    allot_featurize(f, p, strlen(p), &ex, 1, d1, NULL, NULL, 0, NULL, NULL);
    allot_featurize(f, p, strlen(p), &ex, 1, d2, NULL, NULL, 0, NULL, NULL);
    pt_check(&C, !memcmp(d1, d2, sizeof(float) * allot_featurizer_n_dense(f)), "deterministic");
    allot_featurizer_free(f);
    /* the counter itself works */
    size_t b2 = pt_alloc_count();
    allot_featurizer_create_default(NULL, 0, 0, &f, NULL);
    pt_check(&C, pt_alloc_count() > b2, "the allocation counter sees the runtime's mallocs");
    allot_featurizer_free(f);
}

int main(void) {
    test_table();
    test_known_values();
    test_hash_pins();
    test_edges();
    test_spec();
    test_no_alloc();
    return pt_finish(&C);
}
