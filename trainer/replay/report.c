/*
 * report.c - the replay report as markdown, JSON and figures (through plot.h).
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"
#include "plot.h"
#include "replay.h"
#include "replay_internal.h"

static const allot_replay_cell *cell(const allot_replay_report *r, size_t b, int m) {
    return &r->cells[b * ALLOT_REPLAY_N_METHODS + (size_t)m];
}

static void fmt_eff(char *buf, size_t cap, double e) {
    if (isnan(e))
        snprintf(buf, cap, "n/a");
    else if (isinf(e))
        snprintf(buf, cap, ">max");
    else
        snprintf(buf, cap, "%.2fx", e);
}

static void fmt_stat(char *buf, size_t cap, allot_replay_stat s, int shuffles, int pct) {
    double f = pct ? 100.0 : 1.0;
    if (shuffles > 1)
        snprintf(buf, cap, pct ? "%.2f ± %.2f [%.2f–%.2f]" : "%.3f ± %.3f [%.3f–%.3f]", f * s.mean, f * s.sd,
                 f * s.min, f * s.max);
    else
        snprintf(buf, cap, pct ? "%.2f" : "%.3f", f * s.mean);
}

static const char *param_label(int m) {
    if (m == ALLOT_REPLAY_ADAPTIVE_CONSISTENCY) return "threshold";
    if (m == ALLOT_REPLAY_EARLY_STOP) return "window";
    if (m == ALLOT_REPLAY_POLICY) return "mu";
    return "";
}

void allot_replay_report_markdown(const allot_replay_report *r, FILE *fp) {
    const allot_replay_options *o = &r->opts;
    fprintf(fp, "# allot replay\n\n");
    fprintf(fp,
            "- input: `%s`, model `%s`: %zu queries replayed (%zu skipped: no sample of this model, or not "
            "held out with --heldout-only), pools of up to %zu samples\n",
            r->runs_path, r->model, r->n_queries, r->n_skipped, r->n_max);
    fprintf(fp, "- order: %s; budget unit: %s per query; reward: %s; final answer: %s\n",
            r->shuffles > 0 ? "seeded shuffles of each pool (mean ± sd [min–max] over shuffles)"
                            : "recorded order",
            o->unit == ALLOT_REPLAY_UNIT_COST ? "mean cost" : "mean samples",
            o->reward == ALLOT_REPLAY_REWARD_SCORE ? "score" : "correctness (perfect verifier)",
            o->select == ALLOT_REPLAY_SELECT_BEST ? "best score"
                                                  : "majority vote (null never wins, ties split)");
    fprintf(fp,
            "- shuffles: %d, seed: %llu; bandit K = %d, gamma = %g, ucb c = %g, pick fraction = %g; "
            "adaptive-consistency max %d; early-stop max %d\n",
            r->shuffles, (unsigned long long)o->seed, o->K, o->gamma, o->ucb_c, o->pick_frac, o->ac_max,
            o->es_max);
    fprintf(fp,
            "- bins-oracle uses the pass rate over all samples: an upper bound, not deployable. "
            "bins-predicted: %s.\n",
            r->predicted_difficulty);
    fprintf(
        fp,
        "- efficiency = the budget uniform needs to reach the same coverage / accuracy (interpolated on its "
        "curve) / the budget the method spent; >max = uniform never reaches it.\n\n");
    for (size_t b = 0; b < r->n_budgets; b++) {
        fprintf(fp, "## budget %g\n\n", r->budgets[b]);
        fprintf(fp,
                "| method | spent / query | coverage %% | accuracy %% | eff. (coverage) | eff. (accuracy) | "
                "exhausted | parameter |\n|---|---|---|---|---|---|---|---|\n");
        for (int m = 0; m < ALLOT_REPLAY_N_METHODS; m++) {
            if (!r->methods[m]) continue;
            const allot_replay_cell *c = cell(r, b, m);
            const char *name = allot_replay_method_name((allot_replay_method)m);
            if (!c->ran) {
                fprintf(fp, "| %s | not run: %s | | | | | | |\n", name, c->note ? c->note : "");
                continue;
            }
            char sp[96], cv[96], ac[96], ec[32], ea[32], pa[48] = "";
            fmt_stat(sp, sizeof sp, c->spent, r->shuffles, 0);
            fmt_stat(cv, sizeof cv, c->coverage, r->shuffles, 1);
            fmt_stat(ac, sizeof ac, c->accuracy, r->shuffles, 1);
            fmt_eff(ec, sizeof ec, c->eff_coverage);
            fmt_eff(ea, sizeof ea, c->eff_accuracy);
            if (!isnan(c->param)) snprintf(pa, sizeof pa, "%s %g", param_label(m), c->param);
            fprintf(fp, "| %s%s | %s | %s | %s | %s | %s | %.1f | %s |\n", name,
                    m == ALLOT_REPLAY_BINS_ORACLE ? " (upper bound, not deployable)" : "", sp, cv, ac, ec, ea,
                    c->exhausted, pa);
        }
        fprintf(fp, "\nMean spend per query by pass-rate bucket (queries per bucket:");
        for (int k = 0; k < ALLOT_REPLAY_N_BINS; k++)
            fprintf(fp, " %s %zu", allot_replay_bucket_name(k), r->bucket_n[k]);
        fprintf(fp, ")\n\n| method |");
        for (int k = 0; k < ALLOT_REPLAY_N_BINS; k++) fprintf(fp, " %s |", allot_replay_bucket_name(k));
        fprintf(fp, "\n|---|");
        for (int k = 0; k < ALLOT_REPLAY_N_BINS; k++) fprintf(fp, "---|");
        fprintf(fp, "\n");
        for (int m = 0; m < ALLOT_REPLAY_N_METHODS; m++) {
            const allot_replay_cell *c = cell(r, b, m);
            if (!r->methods[m] || !c->ran) continue;
            fprintf(fp, "| %s |", allot_replay_method_name((allot_replay_method)m));
            for (int k = 0; k < ALLOT_REPLAY_N_BINS; k++) fprintf(fp, " %.2f |", c->bucket_spent[k]);
            fprintf(fp, "\n");
        }
        fprintf(fp, "\n");
    }
    const allot_replay_param_point *defs[2] = {&r->ac_default, &r->es_default};
    const allot_replay_param_point *sweeps[2] = {r->ac_sweep, r->es_sweep};
    size_t ns[2] = {r->n_ac, r->n_es};
    int ms[2] = {ALLOT_REPLAY_ADAPTIVE_CONSISTENCY, ALLOT_REPLAY_EARLY_STOP};
    for (int k = 0; k < 2; k++) {
        if (!r->methods[ms[k]]) continue;
        const char *name = allot_replay_method_name((allot_replay_method)ms[k]);
        char sp[96], cv[96], ac[96];
        fmt_stat(sp, sizeof sp, defs[k]->spent, r->shuffles, 0);
        fmt_stat(cv, sizeof cv, defs[k]->coverage, r->shuffles, 1);
        fmt_stat(ac, sizeof ac, defs[k]->accuracy, r->shuffles, 1);
        fprintf(fp,
                "## %s without a budget cap\n\nAt its default (%s %g, max %d): spends %s samples per query, "
                "coverage %s %%, accuracy %s %%.\n\n| %s | spent / query | coverage %% | accuracy %% "
                "|\n|---|---|---|---|\n",
                name, param_label(ms[k]), defs[k]->param, k == 0 ? r->opts.ac_max : r->opts.es_max, sp, cv,
                ac, param_label(ms[k]));
        for (size_t g = 0; g < ns[k]; g++) {
            fmt_stat(sp, sizeof sp, sweeps[k][g].spent, r->shuffles, 0);
            fmt_stat(cv, sizeof cv, sweeps[k][g].coverage, r->shuffles, 1);
            fmt_stat(ac, sizeof ac, sweeps[k][g].accuracy, r->shuffles, 1);
            fprintf(fp, "| %g | %s | %s | %s |\n", sweeps[k][g].param, sp, cv, ac);
        }
        fprintf(fp, "\n");
    }
}

/* ---- JSON --------------------------------------------------------------------------------------- */

static cJSON *stat_json(allot_replay_stat s) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "mean", s.mean);
    cJSON_AddNumberToObject(o, "sd", s.sd);
    cJSON_AddNumberToObject(o, "min", s.min);
    cJSON_AddNumberToObject(o, "max", s.max);
    return o;
}

static void add_eff(cJSON *o, const char *key, double e) {
    if (isinf(e))
        cJSON_AddStringToObject(o, key, ">max");
    else if (isnan(e))
        cJSON_AddNullToObject(o, key);
    else
        cJSON_AddNumberToObject(o, key, e);
}

static cJSON *param_point_json(const allot_replay_param_point *p) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "param", p->param);
    cJSON_AddItemToObject(o, "spent", stat_json(p->spent));
    cJSON_AddItemToObject(o, "coverage", stat_json(p->coverage));
    cJSON_AddItemToObject(o, "accuracy", stat_json(p->accuracy));
    return o;
}

static char *report_json_text(const allot_replay_report *r) {
    const allot_replay_options *o = &r->opts;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "input", r->runs_path);
    cJSON_AddStringToObject(root, "model", r->model);
    cJSON_AddNumberToObject(root, "queries", (double)r->n_queries);
    cJSON_AddNumberToObject(root, "skipped_queries", (double)r->n_skipped);
    cJSON_AddNumberToObject(root, "max_pool", (double)r->n_max);
    cJSON_AddNumberToObject(root, "shuffles", r->shuffles);
    cJSON *opt = cJSON_AddObjectToObject(root, "options");
    cJSON_AddStringToObject(opt, "budget_unit", o->unit == ALLOT_REPLAY_UNIT_COST ? "cost" : "samples");
    cJSON_AddStringToObject(opt, "reward", o->reward == ALLOT_REPLAY_REWARD_SCORE ? "score" : "correct");
    cJSON_AddStringToObject(opt, "select", o->select == ALLOT_REPLAY_SELECT_BEST ? "best" : "majority");
    cJSON_AddNumberToObject(opt, "K", o->K);
    cJSON_AddNumberToObject(opt, "gamma", o->gamma);
    cJSON_AddNumberToObject(opt, "ucb_c", o->ucb_c);
    cJSON_AddNumberToObject(opt, "pick_frac", o->pick_frac);
    cJSON_AddNumberToObject(opt, "ac_threshold", o->ac_threshold);
    cJSON_AddNumberToObject(opt, "ac_max", o->ac_max);
    cJSON_AddNumberToObject(opt, "es_window", o->es_window);
    cJSON_AddNumberToObject(opt, "es_max", o->es_max);
    cJSON_AddNumberToObject(opt, "seed", (double)o->seed);
    cJSON_AddStringToObject(root, "bins_predicted_difficulty", r->predicted_difficulty);
    cJSON_AddStringToObject(root, "bins_oracle_note", "upper bound, not deployable");
    cJSON *bn = cJSON_AddObjectToObject(root, "bucket_queries");
    for (int k = 0; k < ALLOT_REPLAY_N_BINS; k++)
        cJSON_AddNumberToObject(bn, allot_replay_bucket_name(k), (double)r->bucket_n[k]);
    cJSON *budgets = cJSON_AddArrayToObject(root, "budgets");
    for (size_t b = 0; b < r->n_budgets; b++) {
        cJSON *bo = cJSON_CreateObject();
        cJSON_AddNumberToObject(bo, "budget", r->budgets[b]);
        cJSON *ms = cJSON_AddObjectToObject(bo, "methods");
        for (int m = 0; m < ALLOT_REPLAY_N_METHODS; m++) {
            if (!r->methods[m]) continue;
            const allot_replay_cell *c = cell(r, b, m);
            cJSON *mo = cJSON_AddObjectToObject(ms, allot_replay_method_name((allot_replay_method)m));
            cJSON_AddBoolToObject(mo, "ran", c->ran);
            if (!c->ran) {
                cJSON_AddStringToObject(mo, "note", c->note ? c->note : "");
                continue;
            }
            cJSON_AddItemToObject(mo, "spent", stat_json(c->spent));
            cJSON_AddItemToObject(mo, "coverage", stat_json(c->coverage));
            cJSON_AddItemToObject(mo, "accuracy", stat_json(c->accuracy));
            add_eff(mo, "efficiency_coverage", c->eff_coverage);
            add_eff(mo, "efficiency_accuracy", c->eff_accuracy);
            cJSON_AddNumberToObject(mo, "exhausted_queries", c->exhausted);
            if (!isnan(c->param)) cJSON_AddNumberToObject(mo, param_label(m), c->param);
            cJSON *bs = cJSON_AddObjectToObject(mo, "spent_per_bucket");
            for (int k = 0; k < ALLOT_REPLAY_N_BINS; k++)
                cJSON_AddNumberToObject(bs, allot_replay_bucket_name(k), c->bucket_spent[k]);
        }
        cJSON_AddItemToArray(budgets, bo);
    }
    cJSON *uc = cJSON_AddArrayToObject(root, "uniform_curve");
    for (size_t k = 0; k < r->n_curve; k++) {
        cJSON *pt = cJSON_CreateObject();
        cJSON_AddNumberToObject(pt, "k", (double)k);
        cJSON_AddNumberToObject(pt, "spent", r->curve_spent[k]);
        cJSON_AddNumberToObject(pt, "coverage", r->curve_coverage[k]);
        cJSON_AddNumberToObject(pt, "accuracy", r->curve_accuracy[k]);
        cJSON_AddItemToArray(uc, pt);
    }
    if (r->methods[ALLOT_REPLAY_ADAPTIVE_CONSISTENCY]) {
        cJSON *a = cJSON_AddObjectToObject(root, "adaptive_consistency_uncapped");
        cJSON_AddItemToObject(a, "default", param_point_json(&r->ac_default));
        cJSON *sw = cJSON_AddArrayToObject(a, "threshold_sweep");
        for (size_t g = 0; g < r->n_ac; g++) cJSON_AddItemToArray(sw, param_point_json(&r->ac_sweep[g]));
    }
    if (r->methods[ALLOT_REPLAY_EARLY_STOP]) {
        cJSON *a = cJSON_AddObjectToObject(root, "early_stop_uncapped");
        cJSON_AddItemToObject(a, "default", param_point_json(&r->es_default));
        cJSON *sw = cJSON_AddArrayToObject(a, "window_sweep");
        for (size_t g = 0; g < r->n_es; g++) cJSON_AddItemToArray(sw, param_point_json(&r->es_sweep[g]));
    }
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return text;
}

allot_status allot_replay_report_json(const allot_replay_report *r, FILE *fp, allot_error *err) {
    char *text = report_json_text(r);
    if (!text) return allot_error_set(err, ALLOT_E_NOMEM, "replay: out of memory (JSON)");
    fputs(text, fp);
    fputc('\n', fp);
    free(text);
    return ALLOT_OK;
}

/* ---- files and figures -------------------------------------------------------------------------- */

static char *join(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    char *s = malloc(a + b + 2);
    if (!s) return NULL;
    memcpy(s, dir, a);
    s[a] = '/';
    memcpy(s + a + 1, name, b + 1);
    return s;
}

/* One metric (0 coverage, 1 accuracy) versus mean spend: one series per method (+ uncapped sweeps). */
static allot_status plot_metric(const allot_replay_report *r, const char *dir, int which, allot_error *err) {
    size_t nb = r->n_budgets, ns = 0;
    size_t maxs = ALLOT_REPLAY_N_METHODS + 2;
    allot_plot_series *series = calloc(maxs, sizeof *series);
    double *buf = calloc(maxs * 4 * (nb + r->n_ac + r->n_es + 1), sizeof *buf);
    char *names = calloc(maxs, 96);
    if (!series || !buf || !names) {
        free(series);
        free(buf);
        free(names);
        return allot_error_set(err, ALLOT_E_NOMEM, "replay: out of memory (plot)");
    }
    size_t stride = nb + r->n_ac + r->n_es + 1;
    for (int m = 0; m < ALLOT_REPLAY_N_METHODS; m++) {
        if (!r->methods[m]) continue;
        double *x = buf + (ns * 4 + 0) * stride, *y = buf + (ns * 4 + 1) * stride;
        double *lo = buf + (ns * 4 + 2) * stride, *hi = buf + (ns * 4 + 3) * stride;
        size_t n = 0;
        for (size_t b = 0; b < nb; b++) {
            const allot_replay_cell *c = cell(r, b, m);
            if (!c->ran) continue;
            allot_replay_stat s = which ? c->accuracy : c->coverage;
            x[n] = c->spent.mean;
            y[n] = s.mean;
            lo[n] = s.min;
            hi[n] = s.max;
            n++;
        }
        if (n == 0) continue;
        char *nm = names + ns * 96;
        snprintf(nm, 96, "%s%s", allot_replay_method_name((allot_replay_method)m),
                 m == ALLOT_REPLAY_BINS_ORACLE ? " (upper bound)" : "");
        series[ns] =
            (allot_plot_series){nm, n, x, y, r->shuffles > 1 ? lo : NULL, r->shuffles > 1 ? hi : NULL, 0};
        ns++;
    }
    const allot_replay_param_point *sw[2] = {r->ac_sweep, r->es_sweep};
    size_t nsw[2] = {r->n_ac, r->n_es};
    int msw[2] = {ALLOT_REPLAY_ADAPTIVE_CONSISTENCY, ALLOT_REPLAY_EARLY_STOP};
    for (int k = 0; k < 2; k++) {
        if (!r->methods[msw[k]]) continue;
        double *x = buf + (ns * 4 + 0) * stride, *y = buf + (ns * 4 + 1) * stride;
        for (size_t g = 0; g < nsw[k]; g++) {
            x[g] = sw[k][g].spent.mean;
            y[g] = which ? sw[k][g].accuracy.mean : sw[k][g].coverage.mean;
        }
        char *nm = names + ns * 96;
        snprintf(nm, 96, "%s, %s sweep (no cap)", allot_replay_method_name((allot_replay_method)msw[k]),
                 param_label(msw[k]));
        series[ns] = (allot_plot_series){nm, nsw[k], x, y, NULL, NULL, 0};
        ns++;
    }
    char title[256];
    snprintf(title, sizeof title, "%s versus budget: %s (%zu queries)", which ? "Accuracy" : "Coverage",
             r->runs_path, r->n_queries);
    allot_plot_opts po = {title,
                          r->opts.unit == ALLOT_REPLAY_UNIT_COST ? "mean cost per query spent"
                                                                 : "mean samples per query spent",
                          which ? "accuracy (final answer)" : "coverage (any correct)", 1};
    char *base = join(dir, which ? "accuracy_vs_budget" : "coverage_vs_budget");
    allot_status st = base ? allot_plot_lines(base, &po, series, ns, err)
                           : allot_error_set(err, ALLOT_E_NOMEM, "replay: out of memory");
    free(base);
    free(series);
    free(buf);
    free(names);
    return st;
}

static allot_status plot_buckets(const allot_replay_report *r, const char *dir, double budget,
                                 allot_error *err) {
    size_t b = 0;
    for (size_t k = 0; k < r->n_budgets; k++)
        if (fabs(r->budgets[k] - budget) < fabs(r->budgets[b] - budget)) b = k;
    const char *groups[ALLOT_REPLAY_N_BINS];
    for (int k = 0; k < ALLOT_REPLAY_N_BINS; k++) groups[k] = allot_replay_bucket_name(k);
    const char *names[ALLOT_REPLAY_N_METHODS];
    double vals[ALLOT_REPLAY_N_METHODS * ALLOT_REPLAY_N_BINS];
    size_t ns = 0;
    for (int m = 0; m < ALLOT_REPLAY_N_METHODS; m++) {
        const allot_replay_cell *c = cell(r, b, m);
        if (!r->methods[m] || !c->ran) continue;
        names[ns] = allot_replay_method_name((allot_replay_method)m);
        for (int k = 0; k < ALLOT_REPLAY_N_BINS; k++)
            vals[ns * ALLOT_REPLAY_N_BINS + (size_t)k] = c->bucket_spent[k];
        ns++;
    }
    if (ns == 0) return ALLOT_OK;
    char title[160];
    snprintf(title, sizeof title, "Spend per query by pass-rate bucket at budget %g", r->budgets[b]);
    allot_plot_opts po = {title, "pass rate of the query (over all its samples)", "mean spend per query", 0};
    char *base = join(dir, "spend_per_bucket");
    allot_status st = base ? allot_plot_bars(base, &po, groups, ALLOT_REPLAY_N_BINS, names, ns, vals, err)
                           : allot_error_set(err, ALLOT_E_NOMEM, "replay: out of memory");
    free(base);
    return st;
}

/* The markdown table as a string (open_memstream: the one writer of the table, to a buffer). */
static char *markdown_text(const allot_replay_report *r, size_t *len) {
    char *text = NULL;
    FILE *fp = open_memstream(&text, len);
    if (!fp) return NULL;
    allot_replay_report_markdown(r, fp);
    int bad = ferror(fp);
    if (fclose(fp) != 0 || bad) {
        free(text);
        return NULL;
    }
    return text;
}

allot_status allot_replay_report_write(const allot_replay_report *r, const char *dir, double bars_budget,
                                       char *plot_note, size_t plot_note_cap, allot_error *err) {
    if (plot_note && plot_note_cap) plot_note[0] = '\0';
    char *md = join(dir, "table.md"), *js = join(dir, "table.json");
    size_t md_len = 0;
    char *md_text = markdown_text(r, &md_len), *js_text = report_json_text(r);
    allot_status st = ALLOT_OK;
    if (!md || !js || !md_text || !js_text) {
        st = allot_error_set(err, ALLOT_E_NOMEM, "replay: out of memory");
        goto done;
    }
    /* both tables complete before either is renamed into place (table.json last) */
    size_t js_len = strlen(js_text);
    js_text[js_len] = '\n'; /* in its NUL's place: the text is passed by length */
    const char *paths[2] = {md, js};
    const void *data[2] = {md_text, js_text};
    size_t lens[2] = {md_len, js_len + 1};
    st = allot_atomic_write_all(paths, data, lens, 2, err);
    if (st != ALLOT_OK) goto done;
    /* figures: a missing gnuplot is not an error of the replay (the .dat/.gp are still written) */
    allot_status ps = ALLOT_OK;
    allot_error pe = {0};
    for (int which = 1; which >= 0 && ps == ALLOT_OK; which--) ps = plot_metric(r, dir, which, &pe);
    if (ps == ALLOT_OK) ps = plot_buckets(r, dir, bars_budget, &pe);
    if (ps == ALLOT_E_UNSUPPORTED) {
        if (plot_note && plot_note_cap) snprintf(plot_note, plot_note_cap, "%s", pe.msg);
    } else if (ps != ALLOT_OK) {
        st = ps;
        if (err) *err = pe;
    }
done:
    free(md);
    free(js);
    free(md_text);
    free(js_text);
    return st;
}
