/* policy_test_util.c - see policy_test_util.h. */
#include "policy_test_util.h"

#include <linear.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xgboost/c_api.h>

int pt_check(pt_counts *c, int cond, const char *fmt, ...) {
    if (cond) {
        c->passed++;
    } else {
        va_list ap;
        c->failed++;
        fprintf(stderr, "FAIL: ");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\n");
    }
    return cond;
}

int pt_finish(const pt_counts *c) {
    printf("policy: %d passed, %d failed\n", c->passed, c->failed);
    return c->failed ? 1 : 0;
}

uint64_t pt_next(pt_rng *r) {
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double pt_uniform(pt_rng *r) {
    return (double)(pt_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static const char *const names[] = {"Janet",      "Tom",     "A farmer", "Maria",
                                    "The school", "A baker", "Liu",      "Ahmed"};
static const char *const things[] = {"apples",  "eggs",    "books",   "cookies",
                                     "marbles", "tickets", "pencils", "cars"};
static const char *const qs[] = {"How many %s are left?",
                                 "How much money, in dollars, is earned?",
                                 "What is the total number of %s?",
                                 "What percent of the %s were sold?",
                                 "Find the average number of %s per day.",
                                 "Compute the ratio of %s sold to kept."};

char *pt_make_prompt(pt_rng *r, int n_classes, int *label, double *extra) {
    size_t cap = 2048, len = 0;
    char *s = malloc(cap);
    if (!s) exit(2);
    int steps = 1 + (int)(pt_uniform(r) * 6);
    const char *thing = things[pt_next(r) % 8];
    len += (size_t)snprintf(s + len, cap - len, "%s has %d %s.", names[pt_next(r) % 8],
                            (int)(pt_uniform(r) * (steps > 3 ? 5000 : 50)) + 2, thing);
    for (int i = 1; i < steps && len < cap - 200; i++) {
        switch (pt_next(r) % 4) {
        case 0:
            len += (size_t)snprintf(s + len, cap - len, " Each day %d more %s arrive.",
                                    (int)(pt_uniform(r) * 30) + 1, thing);
            break;
        case 1:
            len += (size_t)snprintf(s + len, cap - len, " Then $%d.%02d is paid for %d of them.",
                                    (int)(pt_uniform(r) * 90), (int)(pt_uniform(r) * 100),
                                    (int)(pt_uniform(r) * 9) + 1);
            break;
        case 2:
            len += (size_t)snprintf(s + len, cap - len, " A third of the rest, \\frac{1}{3}, is given away.");
            break;
        default:
            len += (size_t)snprintf(s + len, cap - len, " %d%% of them are red and 3^2 = 9 are blue.",
                                    (int)(pt_uniform(r) * 100));
            break;
        }
    }
    char q[128];
    snprintf(q, sizeof q, qs[pt_next(r) % 6], thing);
    len += (size_t)snprintf(s + len, cap - len, " %s", q);
    int lab = (steps - 1) * n_classes / 6;
    if (pt_uniform(r) < 0.1) lab = (int)(pt_next(r) % (uint64_t)n_classes); /* label noise */
    if (lab >= n_classes) lab = n_classes - 1;
    if (label) *label = lab;
    if (extra) *extra = pt_uniform(r) < 0.1 ? NAN : (double)steps + pt_uniform(r);
    return s;
}

static void xgb_ok(int rc, const char *what) {
    if (rc) {
        fprintf(stderr, "xgboost: %s: %s\n", what, XGBGetLastError());
        exit(2);
    }
}

/* Bundle prefix/suffix around the classifier model. */
static char *assemble(const pt_bundle_opts *o, const allot_featurizer *f, const char *kind, const char *input,
                      const char *model_key, const char *model_text_json) {
    size_t speclen = allot_featurizer_spec_json(f, NULL, 0);
    char *spec = malloc(speclen + 1);
    allot_featurizer_spec_json(f, spec, speclen + 1);
    size_t cap = strlen(model_text_json) + speclen + 4096;
    char *b = malloc(cap);
    if (!b || !spec) exit(2);
    size_t n = (size_t)snprintf(b, cap, "{\"format\": \"allot-policy\", \"version\": 1, \"tiers\": [");
    for (int t = 0; t < o->n_tiers; t++)
        n += (size_t)snprintf(b + n, cap - n, "%s{\"name\": \"t%d\", \"cost\": %g}", t ? ", " : "", t,
                              ldexp(1.0, t));
    n += (size_t)snprintf(
        b + n, cap - n, "], \"features\": %s, \"classifier\": {\"kind\": \"%s\", \"classes\": [", spec, kind);
    for (int c = 0; c < o->n_classes; c++)
        n += (size_t)snprintf(b + n, cap - n, "%s%d", c ? ", " : "", o->class_tier ? o->class_tier[c] : c);
    n += (size_t)snprintf(b + n, cap - n, "], \"input\": \"%s\", \"%s\": ", input, model_key);
    size_t ml = strlen(model_text_json);
    memcpy(b + n, model_text_json, ml);
    n += ml;
    snprintf(b + n, cap - n,
             "}, \"decision\": {\"rule\": \"%s\", \"mu\": %.17g}, \"provenance\": {\"input\": \"test\", "
             "\"seed\": 1}}",
             o->rule ? o->rule : "argmax", o->mu);
    free(spec);
    return b;
}

static allot_featurizer *make_feat(const pt_bundle_opts *o) {
    const char *extra[] = {"meta.level"};
    allot_featurizer *f;
    allot_error e;
    if (allot_featurizer_create_default(extra, o->with_extra ? 1 : 0, o->hash_dim, &f, &e)) {
        fprintf(stderr, "featurizer: %s\n", e.msg);
        exit(2);
    }
    return f;
}

char *pt_bundle_xgboost(const pt_bundle_opts *o, size_t n, uint64_t seed, char **model_json) {
    return pt_bundle_xgboost_depth(o, n, seed, 4, model_json);
}

char *pt_bundle_xgboost_depth(const pt_bundle_opts *o, size_t n, uint64_t seed, int max_depth,
                              char **model_json) {
    allot_featurizer *f = make_feat(o);
    size_t nd = allot_featurizer_n_dense(f);
    float *x = malloc(n * nd * sizeof *x), *y = malloc(n * sizeof *y);
    pt_rng r = {seed};
    for (size_t i = 0; i < n; i++) {
        int lab;
        double ex;
        char *p = pt_make_prompt(&r, o->n_classes, &lab, &ex);
        allot_featurize(f, p, strlen(p), o->with_extra ? &ex : NULL, o->with_extra ? 1 : 0, x + i * nd, NULL,
                        NULL, 0, NULL, NULL);
        y[i] = (float)lab;
        free(p);
    }
    DMatrixHandle d;
    BoosterHandle b;
    xgb_ok(XGDMatrixCreateFromMat(x, (bst_ulong)n, (bst_ulong)nd, NAN, &d), "DMatrix");
    xgb_ok(XGDMatrixSetFloatInfo(d, "label", y, (bst_ulong)n), "label");
    xgb_ok(XGBoosterCreate(&d, 1, &b), "Booster");
    xgb_ok(XGBoosterSetParam(b, "verbosity", "0"), "param");
    xgb_ok(XGBoosterSetParam(b, "nthread", "1"), "param");
    char depth[16];
    snprintf(depth, sizeof depth, "%d", max_depth);
    xgb_ok(XGBoosterSetParam(b, "max_depth", depth), "param");
    xgb_ok(XGBoosterSetParam(b, "eta", "0.3"), "param");
    if (o->n_classes == 2) {
        xgb_ok(XGBoosterSetParam(b, "objective", "binary:logistic"), "param");
    } else {
        char nc[16];
        snprintf(nc, sizeof nc, "%d", o->n_classes);
        xgb_ok(XGBoosterSetParam(b, "objective", "multi:softprob"), "param");
        xgb_ok(XGBoosterSetParam(b, "num_class", nc), "param");
    }
    for (int it = 0; it < (o->rounds ? o->rounds : 20); it++)
        xgb_ok(XGBoosterUpdateOneIter(b, it, d), "update");
    bst_ulong ml;
    const char *mj;
    xgb_ok(XGBoosterSaveModelToBuffer(b, "{\"format\": \"json\"}", &ml, &mj), "save");
    char *model = malloc((size_t)ml + 1);
    memcpy(model, mj, (size_t)ml);
    model[ml] = '\0';
    char *bundle = assemble(o, f, "xgboost", "dense", "xgboost", model);
    if (model_json)
        *model_json = model;
    else
        free(model);
    XGBoosterFree(b);
    XGDMatrixFree(d);
    free(x);
    free(y);
    allot_featurizer_free(f);
    return bundle;
}

char *pt_bundle_value_xgboost(const pt_bundle_opts *o, size_t n, uint64_t seed) {
    allot_featurizer *f = make_feat(o);
    size_t nd = allot_featurizer_n_dense(f);
    float *x = malloc(n * nd * sizeof *x), *y = malloc(n * sizeof *y);
    int *lab = malloc(n * sizeof *lab);
    pt_rng r = {seed};
    for (size_t i = 0; i < n; i++) {
        double ex;
        char *p = pt_make_prompt(&r, 3, &lab[i], &ex);
        allot_featurize(f, p, strlen(p), o->with_extra ? &ex : NULL, o->with_extra ? 1 : 0, x + i * nd, NULL,
                        NULL, 0, NULL, NULL);
        free(p);
    }
    DMatrixHandle d;
    xgb_ok(XGDMatrixCreateFromMat(x, (bst_ulong)n, (bst_ulong)nd, NAN, &d), "DMatrix");
    size_t speclen = allot_featurizer_spec_json(f, NULL, 0);
    char *spec = malloc(speclen + 1);
    allot_featurizer_spec_json(f, spec, speclen + 1);
    size_t cap = speclen + 4096, len = 0;
    char *b = malloc(cap);
    len += (size_t)snprintf(b, cap, "{\"format\": \"allot-policy\", \"version\": 1, \"tiers\": [");
    for (int t = 0; t < o->n_tiers; t++)
        len += (size_t)snprintf(b + len, cap - len, "%s{\"name\": \"t%d\", \"cost\": %g}", t ? ", " : "", t,
                                ldexp(1.0, t));
    len += (size_t)snprintf(
        b + len, cap - len,
        "], \"features\": %s, \"classifier\": {\"kind\": \"xgboost\", \"target\": \"value\", "
        "\"classes\": [",
        spec);
    for (int t = 0; t < o->n_tiers; t++)
        len += (size_t)snprintf(b + len, cap - len, "%s%d", t ? ", " : "", t);
    len += (size_t)snprintf(b + len, cap - len, "], \"input\": \"dense\", \"xgboost_per_tier\": [");
    for (int t = 0; t < o->n_tiers; t++) {
        for (size_t i = 0; i < n; i++) {
            double a = 0.85 - 0.3 * lab[i] + 0.08 * t + 0.1 * (pt_uniform(&r) - 0.5);
            y[i] = (float)(a < 0 ? 0 : a > 1 ? 1 : a);
        }
        BoosterHandle bst;
        xgb_ok(XGDMatrixSetFloatInfo(d, "label", y, (bst_ulong)n), "label");
        xgb_ok(XGBoosterCreate(&d, 1, &bst), "Booster");
        xgb_ok(XGBoosterSetParam(bst, "verbosity", "0"), "param");
        xgb_ok(XGBoosterSetParam(bst, "nthread", "1"), "param");
        xgb_ok(XGBoosterSetParam(bst, "max_depth", "4"), "param");
        xgb_ok(XGBoosterSetParam(bst, "objective", "reg:logistic"), "param");
        for (int it = 0; it < (o->rounds ? o->rounds : 20); it++)
            xgb_ok(XGBoosterUpdateOneIter(bst, it, d), "update");
        bst_ulong ml;
        const char *mj;
        xgb_ok(XGBoosterSaveModelToBuffer(bst, "{\"format\": \"json\"}", &ml, &mj), "save");
        if (len + (size_t)ml + 4096 > cap) {
            cap = (len + (size_t)ml + 4096) * 2;
            b = realloc(b, cap);
            if (!b) exit(2);
        }
        if (t) b[len++] = ',';
        memcpy(b + len, mj, (size_t)ml);
        len += (size_t)ml;
        XGBoosterFree(bst);
    }
    snprintf(
        b + len, cap - len,
        "]}, \"decision\": {\"rule\": \"value\", \"lambda\": %.17g}, \"provenance\": {\"input\": \"test\"}}",
        o->mu);
    XGDMatrixFree(d);
    free(spec);
    free(x);
    free(y);
    free(lab);
    allot_featurizer_free(f);
    return b;
}

static void quiet(const char *s) {
    (void)s;
}

char *pt_bundle_liblinear(const pt_bundle_opts *o, size_t n, uint64_t seed, int solver) {
    allot_featurizer *f = make_feat(o);
    size_t nd = allot_featurizer_n_dense(f);
    uint32_t hd = allot_featurizer_hash_dim(f);
    float *x = malloc(n * nd * sizeof *x);
    uint32_t *si = malloc((hd ? hd : 1) * sizeof *si);
    float *sv = malloc((hd ? hd : 1) * sizeof *sv);
    struct feature_node **rows = calloc(n, sizeof *rows);
    double *y = malloc(n * sizeof *y);
    int *labs = malloc(n * sizeof *labs);
    pt_rng r = {seed};
    char **prompts = malloc(n * sizeof *prompts);
    double *extras = malloc(n * sizeof *extras);
    for (size_t i = 0; i < n; i++) {
        prompts[i] = pt_make_prompt(&r, o->n_classes, &labs[i], &extras[i]);
        allot_featurize(f, prompts[i], strlen(prompts[i]), o->with_extra ? &extras[i] : NULL,
                        o->with_extra ? 1 : 0, x + i * nd, NULL, NULL, 0, NULL, NULL);
    }
    /* standardisation: mean / std over non-missing values (std 1 when constant) */
    double *c = calloc(nd, sizeof *c), *s = calloc(nd, sizeof *s);
    for (size_t j = 0; j < nd; j++) {
        double sum = 0, sq = 0;
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (!isnan(x[i * nd + j])) {
                sum += x[i * nd + j];
                k++;
            }
        c[j] = k ? sum / (double)k : 0;
        for (size_t i = 0; i < n; i++)
            if (!isnan(x[i * nd + j])) sq += (x[i * nd + j] - c[j]) * (x[i * nd + j] - c[j]);
        s[j] = k > 1 && sq > 0 ? sqrt(sq / (double)(k - 1)) : 1;
    }
    allot_featurizer_set_standardization(f, c, s, nd, NULL);
    float *z = malloc(nd * sizeof *z);
    for (size_t i = 0; i < n; i++) {
        size_t cnt = 0;
        allot_featurize(f, prompts[i], strlen(prompts[i]), o->with_extra ? &extras[i] : NULL,
                        o->with_extra ? 1 : 0, x + i * nd, hd ? si : NULL, hd ? sv : NULL, hd, &cnt, NULL);
        allot_featurizer_standardize(f, x + i * nd, z);
        rows[i] = malloc((nd + cnt + 2) * sizeof **rows);
        size_t k = 0;
        for (size_t j = 0; j < nd; j++)
            if (z[j] != 0.0f) rows[i][k++] = (struct feature_node){(int)j + 1, (double)z[j]};
        for (size_t j = 0; j < cnt; j++)
            rows[i][k++] = (struct feature_node){(int)(nd + si[j] + 1), (double)sv[j]};
        rows[i][k++] = (struct feature_node){(int)(nd + hd + 1), 1.0}; /* bias node */
        rows[i][k] = (struct feature_node){-1, 0};
        y[i] = labs[i];
    }
    struct problem prob = {(int)n, (int)(nd + hd + 1), y, rows, 1.0};
    struct parameter param;
    memset(&param, 0, sizeof param);
    param.solver_type = solver;
    param.C = 1;
    param.eps = 0.01;
    param.p = 0.1;
    set_print_string_function(quiet);
    struct model *m = train(&prob, &param);
    char *path = pt_write_temp("", 0, ".liblinear");
    if (save_model(path, m)) {
        fprintf(stderr, "save_model failed\n");
        exit(2);
    }
    FILE *fp = fopen(path, "rb");
    fseek(fp, 0, SEEK_END);
    long L = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *txt = malloc((size_t)L + 1);
    if (fread(txt, 1, (size_t)L, fp) != (size_t)L) exit(2);
    txt[L] = '\0';
    fclose(fp);
    unlink(path);
    free(path);
    /* JSON-escape the model text (only newlines and the characters JSON requires) */
    char *esc = malloc((size_t)L * 2 + 3);
    size_t e = 0;
    esc[e++] = '"';
    for (long i = 0; i < L; i++) {
        if (txt[i] == '\n') {
            esc[e++] = '\\';
            esc[e++] = 'n';
        } else if (txt[i] == '"' || txt[i] == '\\') {
            esc[e++] = '\\';
            esc[e++] = txt[i];
        } else {
            esc[e++] = txt[i];
        }
    }
    esc[e++] = '"';
    esc[e] = '\0';
    char *bundle = assemble(o, f, "liblinear", hd ? "dense+hashed" : "dense", "liblinear", esc);
    free(esc);
    free(txt);
    free_and_destroy_model(&m);
    for (size_t i = 0; i < n; i++) {
        free(rows[i]);
        free(prompts[i]);
    }
    free(rows);
    free(prompts);
    free(extras);
    free(y);
    free(labs);
    free(x);
    free(z);
    free(si);
    free(sv);
    free(c);
    free(s);
    allot_featurizer_free(f);
    return bundle;
}

char *pt_write_temp(const char *text, size_t len, const char *suffix) {
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    size_t cap = strlen(dir) + 64;
    char *path = malloc(cap);
    (void)suffix;
    snprintf(path, cap, "%s/allot_policy_XXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0) {
        perror("mkstemps");
        exit(2);
    }
    if (len && write(fd, text, len) != (ssize_t)len) exit(2);
    close(fd);
    return path;
}
