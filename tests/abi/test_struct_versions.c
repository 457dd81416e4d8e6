/*
 * test_struct_versions.c - the caller-allocated structs of the public headers (ABI hygiene):
 *   - their layout on LP64 is the one recorded below: a change fails here, to be made on purpose
 *     (a new major version, liballot.so.MAJOR, unless the struct is new since the last release);
 *   - versioned structs: the library reads the versions it knows and refuses the others
 *     (0, i.e. not set, and a future one) with ALLOT_E_ARGUMENT, without writing into them;
 *   - reserved words: a query's must be 0, a decision's are written as 0.
 * `test_struct_versions --layout` prints the layouts as JSON (tests/python checks its ctypes
 * declarations against it).
 * Usage: test_struct_versions BUNDLE | --layout
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "allot/allot.h"

#define CHECK_AREA "abi"
#include "../common/check_continue.h"

/* ---- layouts -------------------------------------------------------------------------------------- */

typedef struct {
    const char *type, *field;
    size_t offset, expected;
} field_layout;

typedef struct {
    const char *type;
    size_t size, expected;
} type_size;

#define SIZE(T, n)                                                                                           \
    { #T, sizeof(T), n }
#define LAYOUT(T, f, n)                                                                                      \
    { #T, #f, offsetof(T, f), n }

static const type_size SIZES[] = {
    SIZE(allot_error, 516),        SIZE(allot_linear_feature, 16), SIZE(allot_predict_options, 16),
    SIZE(allot_query_input, 64),   SIZE(allot_decision, 88),       SIZE(allot_budget_config, 48),
    SIZE(allot_budget_state, 56),  SIZE(allot_sample_view, 40),    SIZE(allot_stage_info, 48),
    SIZE(allot_stage_summary, 40), SIZE(allot_seq_query, 96),      SIZE(allot_step, 88),
};

static const field_layout FIELDS[] = {
    LAYOUT(allot_error, code, 0),
    LAYOUT(allot_error, msg, 4),
    LAYOUT(allot_linear_feature, index, 0),
    LAYOUT(allot_linear_feature, value, 8),
    LAYOUT(allot_predict_options, version, 0),
    LAYOUT(allot_predict_options, rule, 4),
    LAYOUT(allot_predict_options, mu, 8),
    LAYOUT(allot_query_input, prompt, 0),
    LAYOUT(allot_query_input, prompt_len, 8),
    LAYOUT(allot_query_input, extras, 16),
    LAYOUT(allot_query_input, n_extras, 24),
    LAYOUT(allot_query_input, reserved, 32),
    LAYOUT(allot_decision, tier, 0),
    LAYOUT(allot_decision, class_index, 8),
    LAYOUT(allot_decision, cost, 16),
    LAYOUT(allot_decision, expected_cost, 24),
    LAYOUT(allot_decision, probability, 32),
    LAYOUT(allot_decision, mu, 40),
    LAYOUT(allot_decision, rule, 48),
    LAYOUT(allot_decision, reserved, 56),
    LAYOUT(allot_budget_config, version, 0),
    LAYOUT(allot_budget_config, target, 8),
    LAYOUT(allot_budget_config, mu0, 16),
    LAYOUT(allot_budget_config, gain, 24),
    LAYOUT(allot_budget_config, mu_min, 32),
    LAYOUT(allot_budget_config, mu_max, 40),
    LAYOUT(allot_budget_state, version, 0),
    LAYOUT(allot_budget_state, target, 8),
    LAYOUT(allot_budget_state, mu, 16),
    LAYOUT(allot_budget_state, spent, 24),
    LAYOUT(allot_budget_state, count, 32),
    LAYOUT(allot_budget_state, running_mean, 40),
    LAYOUT(allot_budget_state, overspend, 48),
    LAYOUT(allot_sample_view, answer, 0),
    LAYOUT(allot_sample_view, answer_len, 8),
    LAYOUT(allot_sample_view, score, 16),
    LAYOUT(allot_sample_view, cost, 24),
    LAYOUT(allot_sample_view, model, 32),
    LAYOUT(allot_sample_view, reserved, 36),
    LAYOUT(allot_stage_info, model, 0),
    LAYOUT(allot_stage_info, k, 8),
    LAYOUT(allot_stage_info, rule, 16),
    LAYOUT(allot_stage_info, name, 24),
    LAYOUT(allot_stage_info, reserved, 32),
    LAYOUT(allot_stage_summary, stage, 0),
    LAYOUT(allot_stage_summary, answer_sample, 8),
    LAYOUT(allot_stage_summary, cost_spent, 16),
    LAYOUT(allot_stage_summary, reserved, 24),
    LAYOUT(allot_seq_query, version, 0),
    LAYOUT(allot_seq_query, query, 8),
    LAYOUT(allot_seq_query, prompt_dense, 72),
    LAYOUT(allot_seq_query, samples, 80),
    LAYOUT(allot_seq_query, n_samples, 88),
    LAYOUT(allot_step, version, 0),
    LAYOUT(allot_step, stop, 4),
    LAYOUT(allot_step, stage, 8),
    LAYOUT(allot_step, next_stage, 16),
    LAYOUT(allot_step, next_model, 24),
    LAYOUT(allot_step, draw, 32),
    LAYOUT(allot_step, answer_sample, 40),
    LAYOUT(allot_step, value_now, 48),
    LAYOUT(allot_step, value_target, 56),
    LAYOUT(allot_step, target_stage, 64),
    LAYOUT(allot_step, lambda, 72),
    LAYOUT(allot_step, cost_spent, 80),
};

static void check_layouts(void) {
    if (sizeof(void *) != 8 || sizeof(long) != 8 || sizeof(int) != 4) {
        printf("layouts: recorded for LP64 only; skipped here\n");
        return;
    }
    for (size_t i = 0; i < sizeof SIZES / sizeof SIZES[0]; i++)
        CHECKF(SIZES[i].size == SIZES[i].expected, "sizeof(%s) is %zu, recorded %zu", SIZES[i].type,
               SIZES[i].size, SIZES[i].expected);
    for (size_t i = 0; i < sizeof FIELDS / sizeof FIELDS[0]; i++)
        CHECKF(FIELDS[i].offset == FIELDS[i].expected, "offsetof(%s, %s) is %zu, recorded %zu",
               FIELDS[i].type, FIELDS[i].field, FIELDS[i].offset, FIELDS[i].expected);
}

static int print_layouts(void) {
    printf("{\"sizes\": {");
    for (size_t i = 0; i < sizeof SIZES / sizeof SIZES[0]; i++)
        printf("%s\"%s\": %zu", i ? ", " : "", SIZES[i].type, SIZES[i].size);
    printf("}, \"offsets\": {");
    for (size_t i = 0; i < sizeof FIELDS / sizeof FIELDS[0]; i++)
        printf("%s\"%s.%s\": %zu", i ? ", " : "", FIELDS[i].type, FIELDS[i].field, FIELDS[i].offset);
    printf("}}\n");
    return 0;
}

/* ---- allot_predict_options, allot_query_input, allot_decision --------------------------------------- */

static void check_predict_structs(const char *bundle) {
    allot_policy *p = NULL;
    allot_workspace *ws = NULL;
    allot_error e;
    REQUIRE_OK(allot_policy_load_file(bundle, &p, &e));
    REQUIRE_OK(allot_workspace_create(p, &ws, &e));
    size_t ne = allot_featurizer_n_extra(allot_policy_featurizer(p));
    double extras[8] = {NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN};
    if (ne > 8) ne = 0;

    allot_query_input q = ALLOT_QUERY_INPUT_INIT;
    q.prompt = "What is 12 * 13? Show the steps.";
    q.prompt_len = strlen(q.prompt);
    q.extras = ne ? extras : NULL;
    q.n_extras = ne;
    allot_decision d;
    memset(&d, 0xff, sizeof d);
    CHECK(allot_policy_predict(p, ws, &q, NULL, NULL, 0, &d, &e) == ALLOT_OK);
    int zero = 1;
    for (size_t i = 0; i < 4; i++) zero &= d.reserved[i] == 0;
    CHECKF(zero, "the decision's reserved words are written as 0");
    allot_decision ref = d;

    allot_predict_options o = ALLOT_PREDICT_OPTIONS_INIT;
    CHECK(o.version == ALLOT_PREDICT_VERSION && o.rule == -1 && isnan(o.mu));
    CHECK(allot_policy_predict(p, ws, &q, &o, NULL, 0, &d, &e) == ALLOT_OK && d.tier == ref.tier);
    allot_predict_options dflt = ALLOT_PREDICT_OPTIONS_DEFAULT;
    CHECK(dflt.version == ALLOT_PREDICT_VERSION);
    unsigned bad_versions[] = {0, ALLOT_PREDICT_VERSION + 1, 0xffffffffu};
    for (size_t i = 0; i < 3; i++) {
        o.version = bad_versions[i];
        allot_error_clear(&e);
        CHECKF(allot_policy_predict(p, ws, &q, &o, NULL, 0, &d, &e) == ALLOT_E_ARGUMENT &&
                   strstr(e.msg, "allot_predict_options.version"),
               "allot_predict_options.version %u refused: %s", bad_versions[i], e.msg);
    }

    for (size_t i = 0; i < 4; i++) {
        allot_query_input r = q;
        r.reserved[i] = 1;
        allot_error_clear(&e);
        CHECKF(allot_policy_predict(p, ws, &r, NULL, NULL, 0, &d, &e) == ALLOT_E_ARGUMENT &&
                   strstr(e.msg, "reserved"),
               "a query with reserved[%zu] != 0 is refused: %s", i, e.msg);
    }
    allot_query_input batch[3] = {q, q, q};
    allot_decision out[3];
    batch[2].reserved[3] = 7;
    allot_error_clear(&e);
    CHECKF(allot_policy_predict_batch(p, ws, batch, 3, NULL, NULL, 0, out, &e) == ALLOT_E_ARGUMENT &&
               !strncmp(e.msg, "query 2:", 8),
           "the batch names the query with reserved words set: %s", e.msg);
    batch[2].reserved[3] = 0;
    memset(out, 0xff, sizeof out);
    CHECK(allot_policy_predict_batch(p, ws, batch, 3, NULL, NULL, 0, out, &e) == ALLOT_OK &&
          out[2].tier == ref.tier && out[2].reserved[0] == 0 && out[2].reserved[3] == 0);
    /* designated initialisers leave the reserved words 0 */
    allot_query_input des = {
        .prompt = q.prompt, .prompt_len = q.prompt_len, .extras = q.extras, .n_extras = ne};
    CHECK(allot_policy_predict(p, ws, &des, NULL, NULL, 0, &d, &e) == ALLOT_OK && d.tier == ref.tier);
    allot_workspace_free(ws);
    allot_policy_free(p);
}

/* ---- allot_budget_config, allot_budget_state --------------------------------------------------------- */

static void check_budget_structs(void) {
    allot_budget_config cfg = ALLOT_BUDGET_CONFIG_INIT;
    CHECK(cfg.version == ALLOT_BUDGET_VERSION);
    CHECK(allot_budget_config_default(&cfg, 4.0, 0.25) == ALLOT_OK && cfg.gain == 0.05 && cfg.mu0 == 0.25);
    CHECK(allot_budget_config_default(NULL, 4.0, 0.25) == ALLOT_E_ARGUMENT);
    allot_budget_config unset;
    memset(&unset, 0, sizeof unset);
    unset.target = -3;
    CHECK(allot_budget_config_default(&unset, 4.0, 0.25) == ALLOT_E_ARGUMENT && unset.target == -3);
    allot_budget_config future = cfg;
    future.version = ALLOT_BUDGET_VERSION + 1;
    allot_budget *b = NULL;
    allot_error e;
    allot_error_clear(&e);
    CHECKF(allot_budget_create(&future, &b, &e) == ALLOT_E_ARGUMENT && !b &&
               strstr(e.msg, "allot_budget_config.version"),
           "a future allot_budget_config.version is refused: %s", e.msg);
    cfg.version = 0;
    CHECK(allot_budget_create(&cfg, &b, &e) == ALLOT_E_ARGUMENT && !b);
    cfg.version = ALLOT_BUDGET_VERSION;
    REQUIRE_OK(allot_budget_create(&cfg, &b, &e));
    CHECK(allot_budget_observe(b, 6.0) == ALLOT_OK);

    allot_budget_state s = ALLOT_BUDGET_STATE_INIT;
    CHECK(allot_budget_get_state(b, &s) == ALLOT_OK && s.version == ALLOT_BUDGET_VERSION && s.count == 1 &&
          s.spent == 6.0 && s.target == 4.0);
    allot_budget_state bad;
    memset(&bad, 0, sizeof bad);
    bad.spent = 99;
    CHECK(allot_budget_get_state(b, &bad) == ALLOT_E_ARGUMENT && bad.spent == 99);
    bad.version = ALLOT_BUDGET_VERSION + 1;
    CHECK(allot_budget_get_state(b, &bad) == ALLOT_E_ARGUMENT && bad.spent == 99);
    CHECK(allot_budget_get_state(b, NULL) == ALLOT_E_ARGUMENT);
    allot_budget_state none = ALLOT_BUDGET_STATE_INIT;
    none.spent = 5;
    CHECK(allot_budget_get_state(NULL, &none) == ALLOT_E_ARGUMENT && none.spent == 0 &&
          none.version == ALLOT_BUDGET_VERSION);
    allot_budget_free(b);
}

static void check_version(void) {
    CHECK(allot_version_number() == ALLOT_VERSION_NUMBER);
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", ALLOT_VERSION_MAJOR, ALLOT_VERSION_MINOR, ALLOT_VERSION_PATCH);
    CHECKF(!strcmp(allot_version_string(), want), "version string %s, header %s", allot_version_string(),
           want);
}

int main(int argc, char **argv) {
    if (argc == 2 && !strcmp(argv[1], "--layout")) return print_layouts();
    if (argc != 2) {
        fprintf(stderr, "usage: test_struct_versions BUNDLE | --layout\n");
        return 1;
    }
    check_layouts();
    check_predict_structs(argv[1]);
    check_budget_structs();
    check_version();
    return CHECK_DONE();
}
