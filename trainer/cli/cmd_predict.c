/*
 * allot predict - the runtime's command-line face: a policy bundle + queries -> one decision per
 * query. Uses only the public runtime API (allot.h), exactly as an embedding gateway would.
 */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allot/allot.h"
#include "cli.h"
#include "cli_opts.h"
#include "input_stream.h"
#include "json_line.h"

static const char *const CMD = "predict";

static const char predict_usage[] =
    "Usage: allot predict --model POLICY [--mu X] [--rule argmax|calibrated|value] [--json] [INPUT]\n"
    "\n"
    "Decide the compute tier of every query of INPUT (labelled-runs JSONL; '-' or absent = stdin)\n"
    "with the policy bundle POLICY (written by 'allot train', docs/policy-bundle.md). Each input\n"
    "line needs `id` and `prompt`; the record's `features` / `meta` fields supply the policy's\n"
    "extra features (absent = missing). Other fields (samples, tiers, gold) are ignored.\n"
    "\n"
    "Output: one line per query, in input order.\n"
    "  default  tab-separated: id, tier name, tier index, expected cost, probabilities of every\n"
    "           tier in tier order (comma-separated); value policies (classifier.target\n"
    "           \"value\"): the predicted accuracy of every tier instead, expected cost NaN; a\n"
    "           backslash, tab, newline or CR in an id or tier name is written \\\\, \\t, \\n, \\r\n"
    "  --json   one JSON object per line (JSON Lines): {\"id\", \"tier\", \"tier_index\", \"cost\",\n"
    "           \"expected_cost\", \"probability\", \"rule\", \"mu\", \"probabilities\": {tier: p}};\n"
    "           value policies: \"accuracy\" (the chosen tier's predicted accuracy) and\n"
    "           \"accuracies\": {tier: predicted accuracy} instead, \"expected_cost\" null,\n"
    "           \"mu\" = the value rule's lambda\n"
    "  sequential policies (allot train --stages): each record's `samples` are the samples drawn so\n"
    "           far ({answer, score, cost, model}; `correct` is not read); one step decision each:\n"
    "           TSV id, stop|draw, the stage reached (- before any sample), the answer (stop) or\n"
    "           '<next stage> +<samples to draw>' (draw), the predicted accuracy now, lambda;\n"
    "           --json: {\"id\", \"decision\", \"stage\", \"stage_index\", \"next_stage\", \"draw\",\n"
    "           \"model\" | \"answer\", \"value_now\", \"lambda\", \"cost_spent\"}. --mu sets lambda\n"
    "\n"
    "Options:\n"
    "  -m, --model POLICY   the policy bundle (required)\n"
    "      --mu X           price X, any finite number (overrides the bundle): the calibrated\n"
    "                       rule's mu (X < 0 spends more than argmax) or the value rule's lambda;\n"
    "                       selects the calibrated rule unless --rule or the bundle says value\n"
    "      --rule R         argmax, calibrated or value (default: the bundle's decision.rule)\n"
    "      --json           JSON Lines output\n"
    "  -h, --help           this text\n"
    "  -V, --version        print the version\n"
    "\n";

typedef struct {
    const allot_policy *p;
    allot_workspace *ws;
    double *extras;
    double *probs;
    size_t n_extra, n_tiers;
    float *embed; /* the policy's embedding dimension */
    size_t embed_dim;
    allot_predict_options opts;
    int json;
} predict_ctx;

static int predict_line(predict_ctx *c, const char *input, size_t lineno, const char *line, size_t len) {
    allot_error err;
    allot_error_clear(&err);
    cJSON *rec = allot_json_parse_strict(line, len, input, lineno, &err);
    if (!rec) return allot_cli_fail(CMD, &err);
    int rc = ALLOT_EXIT_OK;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(rec, "id");
    const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(rec, "prompt");
    if (!cJSON_IsObject(rec)) {
        allot_error_set(&err, ALLOT_E_INVALID, "%s:%zu: a query must be a JSON object", input, lineno);
    } else if (!cJSON_IsString(id)) {
        allot_error_set(&err, ALLOT_E_INVALID, "%s:%zu: id: %s", input, lineno,
                        id ? "must be a string" : "missing");
    } else if (!cJSON_IsString(prompt)) {
        allot_error_set(&err, ALLOT_E_INVALID, "%s:%zu: prompt: %s", input, lineno,
                        prompt ? "must be a string" : "missing");
    } else {
        allot_error sub;
        allot_error_clear(&sub);
        int has_embed = 0;
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(rec, "features");
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(rec, "meta");
        if (f && !cJSON_IsObject(f))
            allot_error_set(&err, ALLOT_E_INVALID, "%s:%zu: features: must be an object", input, lineno);
        else if (m && !cJSON_IsObject(m))
            allot_error_set(&err, ALLOT_E_INVALID, "%s:%zu: meta: must be an object", input, lineno);
        else if (c->n_extra && allot_featurizer_extras_from_record(allot_policy_featurizer(c->p), line, len,
                                                                   c->extras, &sub) != ALLOT_OK)
            allot_error_set(&err, sub.code, "%s:%zu: %s", input, lineno, sub.msg);
        else if (c->embed_dim &&
                 allot_featurizer_embedding_from_record(allot_policy_featurizer(c->p), line, len, c->embed,
                                                        &has_embed, &sub) != ALLOT_OK)
            allot_error_set(&err, sub.code, "%s:%zu: %s", input, lineno, sub.msg);
        else {
            allot_query_input q = {.prompt = prompt->valuestring,
                                   .prompt_len = strlen(prompt->valuestring),
                                   .extras = c->n_extra ? c->extras : NULL,
                                   .n_extras = c->n_extra};
            allot_decision d;
            if (allot_policy_is_sequential(c->p)) {
                rc = allot_cli_predict_step(c->p, c->ws, rec, id->valuestring, &q, &c->opts, c->json, input,
                                            lineno);
            } else if (allot_policy_predict_embedded(c->p, c->ws, &q, has_embed ? c->embed : NULL,
                                                     has_embed ? c->embed_dim : 0, &c->opts, c->probs,
                                                     c->n_tiers, &d, &sub) != ALLOT_OK) {
                allot_error_set(&err, sub.code, "%s:%zu: %s", input, lineno, sub.msg);
            } else if (c->json) {
                fputs("{\"id\":", stdout);
                allot_cli_put_json_string(stdout, id->valuestring, strlen(id->valuestring));
                fputs(",\"tier\":", stdout);
                allot_cli_put_json_string(stdout, allot_policy_tier_name(c->p, d.tier),
                                          strlen(allot_policy_tier_name(c->p, d.tier)));
                /* value policies predict accuracies, not probabilities: other keys, no expected cost */
                int v = allot_policy_target_kind(c->p) == ALLOT_TARGET_VALUE;
                if (v)
                    printf(",\"tier_index\":%zu,\"cost\":%.17g,\"expected_cost\":null,\"accuracy\":%.17g,",
                           d.tier, d.cost, d.probability);
                else
                    printf(
                        ",\"tier_index\":%zu,\"cost\":%.17g,\"expected_cost\":%.17g,\"probability\":%.17g,",
                        d.tier, d.cost, d.expected_cost, d.probability);
                printf("\"rule\":\"%s\",\"mu\":%.17g,\"%s\":{",
                       d.rule == ALLOT_RULE_CALIBRATED ? "calibrated"
                       : d.rule == ALLOT_RULE_VALUE    ? "value"
                                                       : "argmax",
                       d.mu, v ? "accuracies" : "probabilities");
                for (size_t t = 0; t < c->n_tiers; t++) {
                    if (t) putchar(',');
                    allot_cli_put_json_string(stdout, allot_policy_tier_name(c->p, t),
                                              strlen(allot_policy_tier_name(c->p, t)));
                    printf(":%.17g", c->probs[t]);
                }
                fputs("}}\n", stdout);
            } else {
                allot_cli_put_tsv_field(stdout, id->valuestring, strlen(id->valuestring));
                putchar('\t');
                const char *tn = allot_policy_tier_name(c->p, d.tier);
                allot_cli_put_tsv_field(stdout, tn, strlen(tn));
                printf("\t%zu\t%.6f\t", d.tier, d.expected_cost);
                for (size_t t = 0; t < c->n_tiers; t++) printf("%s%.6f", t ? "," : "", c->probs[t]);
                putchar('\n');
            }
        }
    }
    if (err.code != ALLOT_OK) rc = allot_cli_fail(CMD, &err);
    cJSON_Delete(rec);
    return rc;
}

int allot_cmd_predict(int argc, char **argv) {
    static const struct option longopts[] = {{"model", required_argument, NULL, 'm'},
                                             {"mu", required_argument, NULL, 'u'},
                                             {"rule", required_argument, NULL, 'r'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"help", no_argument, NULL, 'h'},
                                             {"version", no_argument, NULL, 'V'},
                                             {NULL, 0, NULL, 0}};
    static const char *const rules[] = {"argmax", "calibrated", "value", NULL};
    static const int rule_of[] = {ALLOT_RULE_ARGMAX, ALLOT_RULE_CALIBRATED, ALLOT_RULE_VALUE};
    const char *model = NULL;
    int json = 0, rule = -1;
    double mu = NAN; /* NaN: the bundle's price */
    int mu_given = 0;
    int c, k, bad;
    optind = 1;
    opterr = 0; /* allot_cli_bad_option reports rejected options */
    while ((c = getopt_long(argc, argv, ":m:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'u':
            if ((bad = allot_opt_number(CMD, "--mu", optarg, ALLOT_OPT_FINITE, &mu))) return bad;
            mu_given = 1;
            break;
        case 'r':
            if ((bad = allot_opt_choice(CMD, "--rule", optarg, rules, &k))) return bad;
            rule = rule_of[k];
            break;
        case 'j': json = 1; break;
        case 'h': return allot_cli_help(predict_usage);
        case 'V': return allot_cli_version(CMD);
        default: return allot_cli_bad_option(CMD, c, argv);
        }
    }
    if (!model) return allot_cli_usage_error(CMD, "--model POLICY is required");
    if (argc - optind > 1) return allot_cli_usage_error(CMD, "at most one INPUT file");
    const char *input = optind < argc ? argv[optind] : "-";

    allot_error err;
    allot_error_clear(&err);
    allot_policy *p = NULL;
    if (allot_policy_load_file(model, &p, &err) != ALLOT_OK) return allot_cli_fail(CMD, &err);
    /* a price without a rule: the calibrated rule (the value rule for value bundles) */
    if (mu_given && rule < 0)
        rule = allot_policy_rule(p) == ALLOT_RULE_VALUE ? ALLOT_RULE_VALUE : ALLOT_RULE_CALIBRATED;
    if (rule == ALLOT_RULE_VALUE && allot_policy_target_kind(p) != ALLOT_TARGET_VALUE) {
        allot_policy_free(p);
        char msg[600];
        snprintf(msg, sizeof msg,
                 "--rule value: %.400s is a tier policy (it predicts tier probabilities); the value rule "
                 "needs predicted accuracies (a bundle trained with --target value)",
                 model);
        return allot_cli_usage_error(CMD, msg);
    }
    allot_input *src = NULL;
    if (allot_input_open(input, &src, &err) != ALLOT_OK) { /* plain or gzip; a leading BOM is dropped */
        allot_policy_free(p);
        return allot_cli_fail(CMD, &err);
    }
    FILE *in = allot_input_fp(src);
    predict_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.p = p;
    ctx.n_tiers = allot_policy_n_tiers(p);
    ctx.n_extra = allot_featurizer_n_extra(allot_policy_featurizer(p));
    ctx.extras = calloc(ctx.n_extra ? ctx.n_extra : 1, sizeof *ctx.extras);
    ctx.embed_dim = allot_featurizer_embedding_dim(allot_policy_featurizer(p));
    ctx.embed = calloc(ctx.embed_dim ? ctx.embed_dim : 1, sizeof *ctx.embed);
    ctx.probs = calloc(ctx.n_tiers, sizeof *ctx.probs);
    ctx.opts = (allot_predict_options)ALLOT_PREDICT_OPTIONS_INIT;
    ctx.opts.rule = rule;
    ctx.opts.mu = mu;
    ctx.json = json;
    int rc = ALLOT_EXIT_OK;
    if (!ctx.extras || !ctx.probs || !ctx.embed || allot_workspace_create(p, &ctx.ws, &err) != ALLOT_OK) {
        if (err.code == ALLOT_OK) allot_error_set(&err, ALLOT_E_NOMEM, "out of memory");
        rc = allot_cli_fail(CMD, &err);
    }
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t got = 0;
    const char *name = strcmp(input, "-") ? input : "<stdin>";
    while (rc == ALLOT_EXIT_OK && (got = allot_getline_max(&line, &cap, in, ALLOT_MAX_LINE_BYTES)) > 0) {
        lineno++;
        size_t len = (size_t)got;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
        size_t i = 0;
        while (i < len && (line[i] == ' ' || line[i] == '\t')) i++;
        if (i == len) continue; /* blank line */
        rc = predict_line(&ctx, name, lineno, line, len);
    }
    if (rc == ALLOT_EXIT_OK && got == -2) {
        allot_error_set(&err, ALLOT_E_INVALID, "%s:%zu: line longer than %zu bytes (the limit)", name,
                        lineno + 1, ALLOT_MAX_LINE_BYTES);
        rc = allot_cli_fail(CMD, &err);
    }
    if (rc == ALLOT_EXIT_OK && got == -1) {
        const char *why = allot_input_problem(src);
        allot_error_set(&err, ALLOT_E_IO, "%s:%zu: %s", name, lineno + 1, why ? why : "read error");
        rc = allot_cli_fail(CMD, &err);
    }
    if (rc == ALLOT_EXIT_OK && fflush(stdout) != 0) {
        allot_error_set(&err, ALLOT_E_IO, "stdout: write error");
        rc = allot_cli_fail(CMD, &err);
    }
    free(line);
    allot_input_close(src);
    allot_workspace_free(ctx.ws);
    free(ctx.extras);
    free(ctx.embed);
    free(ctx.probs);
    allot_policy_free(p);
    return rc;
}
