/* allot import - other tools' runs -> labelled runs (docs/import.md). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cost_format.h"
#include "import.h"

static const char import_usage[] =
    "Usage: allot import FORMAT [options] INPUT... --out RUNS.jsonl\n"
    "\n"
    "Convert the runs other tools wrote into labelled runs (docs/labelled-runs.md), grading every\n"
    "generation again with one grader, so that `allot curves` can read them. FORMAT is one of\n"
    "  lm-eval   lm-evaluation-harness --log_samples files (samples_<task>_<date>.jsonl): one query\n"
    "            per document, every generation of resps graded on its own\n"
    "  openai    OpenAI Batch API / vLLM run_batch output (or chat/completion responses), joined\n"
    "            with the batch input file (--requests) by custom_id; n choices = n samples\n"
    "  sal       Hugging Face search-and-learn outputs (problem, answer, completions, scores,\n"
    "            completion_tokens)\n"
    "  router    router tables, CSV or JSONL, one row per prompt with columns M and M|total_cost\n"
    "            per model M (RouterBench-style): precomputed tiers, no grading\n"
    "Inputs may be gzip-compressed; '-' reads stdin. The output is written atomically (nothing on\n"
    "error); docs/import.md lists the fields each format maps and what it does not.\n"
    "\n"
    "Options:\n"
    "  --out FILE            where to write the labelled runs ('-' = stdout; the summary then goes to\n"
    "                        stderr)\n"
    "  --grader G            exact (whole response), numeric (last number), regex (--regex), boxed\n"
    "                        (\\boxed{} + math normalisation), hash (after '####' + math normalisation),\n"
    "                        or EXTRACTOR/COMPARATOR with full|last-number|regex|boxed|hash and\n"
    "                        exact|numeric|math (default for sal: boxed; required otherwise)\n"
    "  --regex RE            the regex extractor's POSIX extended regex (its last match; group 1 if any)\n"
    "  --tolerance T         numeric and math comparisons: |a-b| <= T*max(1,|b|) (default 1e-6)\n"
    "  --model NAME          the model of every sample (openai: instead of the response's model)\n"
    "  --task NAME           lm-eval: the task (default: from samples_<task>_<date>.jsonl)\n"
    "  --requests FILE       openai: the batch input file (prompts, references); repeatable\n"
    "  --gold-field PATH     openai: dotted path of the reference in a request line (default: gold,\n"
    "                        then body.metadata.gold)\n"
    "  --prompt-price P      openai: cost per prompt token, shared by a response's choices (default 0)\n"
    "  --completion-price C  openai: cost per completion token (default 1: costs in tokens)\n"
    "  --agg A               sal: score of a completion from its step scores: last|min|prod|mean\n"
    "                        (default last)\n"
    "  --id-column NAME      router: the id column (default sample_id)\n"
    "  --prompt-column NAME  router: the prompt column, if present (default prompt)\n"
    "  --cost-suffix S       router: cost column of model M is M followed by S (default '|total_cost')\n"
    "  --models A,B,...      router: keep these models, in this order (default: all)\n"
    "  --json                print the summary as one JSON document\n"
    "  --quiet               no progress on stderr\n"
    "  --help                this text\n"
    "\n";

static int parse_double(const char *s, double *out) {
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || errno || *end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

static int parse_agg(const char *s, allot_import_agg *out) {
    static const char *const names[] = {"last", "min", "prod", "mean"};
    static const allot_import_agg aggs[] = {ALLOT_IMPORT_AGG_LAST, ALLOT_IMPORT_AGG_MIN,
                                            ALLOT_IMPORT_AGG_PROD, ALLOT_IMPORT_AGG_MEAN};
    for (size_t i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = aggs[i];
            return 0;
        }
    return -1;
}

static void print_table(FILE *out, const allot_import_options *o, const allot_import_summary *s) {
    fprintf(out, "import %s: %zu queries", allot_import_format_name(o->format), s->n_queries);
    if (!s->tiers) fprintf(out, ", %zu samples", s->n_samples);
    fprintf(out, " -> %s%s%s\n", strcmp(o->out_path, "-") ? o->out_path : "stdout",
            o->grader ? ", grader " : "", o->grader ? o->grader->name : "");
    int w = 5;
    for (size_t i = 0; i < s->n_groups; i++) {
        int l = (int)strlen(s->groups[i].name);
        if (l > w) w = l;
    }
    char cost[ALLOT_COST_STR_SIZE];
    if (s->tiers) {
        fprintf(out, "%-*s  %8s  %10s  %12s\n", w, "tier", "queries", "mean acc", "mean cost");
        for (size_t i = 0; i < s->n_groups; i++) {
            const allot_import_group *g = &s->groups[i];
            fprintf(out, "%-*s  %8zu  %10.4f  %12s\n", w, g->name, g->n, g->acc_sum / (double)g->n,
                    allot_format_cost(g->cost_sum / (double)g->n, cost));
        }
    } else {
        fprintf(out, "%-*s  %8s  %10s  %8s  %12s\n", w, "model", "samples", "accuracy", "null", "mean cost");
        for (size_t i = 0; i < s->n_groups; i++) {
            const allot_import_group *g = &s->groups[i];
            fprintf(out, "%-*s  %8zu  %10.4f  %8zu  %12s\n", w, g->name[0] ? g->name : "(none)", g->n,
                    g->acc_sum / (double)g->n, g->n_null,
                    g->n_cost ? allot_format_cost(g->cost_sum / (double)g->n_cost, cost) : "-");
        }
    }
    if (s->n_rows_skipped)
        fprintf(out, "%zu rows repeating a document for another filter skipped\n", s->n_rows_skipped);
    if (s->n_no_cost) fprintf(out, "%zu samples without a cost in the source (each costs 1)\n", s->n_no_cost);
    if (s->n_even_split)
        fprintf(out, "%zu responses gave no per-choice token counts: completion tokens split evenly\n",
                s->n_even_split);
}

static int print_json(FILE *out, const allot_import_options *o, const allot_import_summary *s) {
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "command", "import");
    cJSON_AddStringToObject(doc, "format", allot_import_format_name(o->format));
    cJSON_AddStringToObject(doc, "out", o->out_path);
    if (o->grader)
        cJSON_AddStringToObject(doc, "grader", o->grader->name);
    else
        cJSON_AddNullToObject(doc, "grader");
    cJSON_AddNumberToObject(doc, "n_queries", (double)s->n_queries);
    cJSON_AddNumberToObject(doc, "n_samples", (double)s->n_samples);
    cJSON_AddNumberToObject(doc, "n_null_answers", (double)s->n_null);
    cJSON_AddNumberToObject(doc, "n_rows_skipped", (double)s->n_rows_skipped);
    cJSON_AddNumberToObject(doc, "n_samples_without_cost", (double)s->n_no_cost);
    cJSON_AddNumberToObject(doc, "n_even_token_splits", (double)s->n_even_split);
    cJSON *arr = cJSON_AddArrayToObject(doc, s->tiers ? "tiers" : "models");
    for (size_t i = 0; i < s->n_groups; i++) {
        const allot_import_group *g = &s->groups[i];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "name", g->name);
        cJSON_AddNumberToObject(x, s->tiers ? "n_queries" : "n_samples", (double)g->n);
        cJSON_AddNumberToObject(x, s->tiers ? "mean_acc" : "accuracy", g->acc_sum / (double)g->n);
        if (!s->tiers) cJSON_AddNumberToObject(x, "n_null_answers", (double)g->n_null);
        if (g->n_cost)
            cJSON_AddNumberToObject(x, "mean_cost", g->cost_sum / (double)g->n_cost);
        else
            cJSON_AddNullToObject(x, "mean_cost");
        cJSON_AddItemToArray(arr, x);
    }
    char *text = cJSON_Print(doc);
    cJSON_Delete(doc);
    if (!text) return ALLOT_EXIT_INTERNAL;
    fprintf(out, "%s\n", text);
    cJSON_free(text);
    return ALLOT_EXIT_OK;
}

/* Collect a repeatable option's values. */
static int push(const char ***list, size_t *n, const char *v) {
    const char **p = realloc((void *)*list, (*n + 1) * sizeof *p);
    if (!p) return -1;
    p[(*n)++] = v;
    *list = p;
    return 0;
}

int allot_cmd_import(int argc, char **argv) {
    static const struct option opts[] = {{"out", required_argument, NULL, 'o'},
                                         {"grader", required_argument, NULL, 'g'},
                                         {"regex", required_argument, NULL, 'r'},
                                         {"tolerance", required_argument, NULL, 'T'},
                                         {"model", required_argument, NULL, 'm'},
                                         {"task", required_argument, NULL, 't'},
                                         {"requests", required_argument, NULL, 'R'},
                                         {"gold-field", required_argument, NULL, 'G'},
                                         {"prompt-price", required_argument, NULL, 'P'},
                                         {"completion-price", required_argument, NULL, 'C'},
                                         {"agg", required_argument, NULL, 'a'},
                                         {"id-column", required_argument, NULL, 'I'},
                                         {"prompt-column", required_argument, NULL, 'p'},
                                         {"cost-suffix", required_argument, NULL, 'S'},
                                         {"models", required_argument, NULL, 'M'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    allot_import_options o;
    allot_import_options_default(&o);
    const char *grader_name = NULL, *regex = NULL;
    const char **requests = NULL;
    size_t n_requests = 0;
    double tolerance = ALLOT_GRADER_DEFAULT_TOLERANCE;
    int json = 0, quiet = 0, ch, rc = ALLOT_EXIT_OK;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (ch) {
        case 'o': o.out_path = optarg; break;
        case 'g': grader_name = optarg; break;
        case 'r': regex = optarg; break;
        case 'T':
            if (parse_double(optarg, &tolerance) || tolerance < 0)
                rc = allot_cli_usage_error("import", "--tolerance needs a number >= 0");
            break;
        case 'm': o.model = optarg; break;
        case 't': o.task = optarg; break;
        case 'R':
            if (push(&requests, &n_requests, optarg)) rc = ALLOT_EXIT_INTERNAL;
            break;
        case 'G': o.gold_field = optarg; break;
        case 'P':
            if (parse_double(optarg, &o.prompt_price) || o.prompt_price < 0)
                rc = allot_cli_usage_error("import", "--prompt-price needs a number >= 0");
            break;
        case 'C':
            if (parse_double(optarg, &o.completion_price) || o.completion_price < 0)
                rc = allot_cli_usage_error("import", "--completion-price needs a number >= 0");
            break;
        case 'a':
            if (parse_agg(optarg, &o.agg))
                rc = allot_cli_usage_error("import", "--agg needs last, min, prod or mean");
            break;
        case 'I': o.id_column = optarg; break;
        case 'p': o.prompt_column = optarg; break;
        case 'S': o.cost_suffix = optarg; break;
        case 'M': o.models = optarg; break;
        case 'j': json = 1; break;
        case 'q': quiet = 1; break;
        case 'h':
            free((void *)requests);
            fputs(import_usage, stdout);
            fputs(allot_cli_exit_codes_help, stdout);
            return ALLOT_EXIT_OK;
        default: free((void *)requests); return allot_cli_bad_option("import", ch, argv);
        }
        if (rc) break;
    }
    if (!rc && optind >= argc)
        rc = allot_cli_usage_error("import", "missing FORMAT (lm-eval, openai, sal or router)");
    if (!rc && allot_import_format_from_name(argv[optind], &o.format))
        rc = allot_cli_usage_error("import", "unknown FORMAT (lm-eval, openai, sal or router)");
    if (!rc && optind + 1 >= argc) rc = allot_cli_usage_error("import", "missing INPUT");
    if (!rc && !o.out_path) rc = allot_cli_usage_error("import", "missing --out FILE ('-' for stdout)");
    if (rc) {
        free((void *)requests);
        return rc;
    }
    if (!grader_name && o.format == ALLOT_IMPORT_SAL) grader_name = "boxed";
    allot_error err = {0};
    allot_grader grader;
    memset(&grader, 0, sizeof grader);
    if (grader_name && allot_grader_init(&grader, grader_name, regex, tolerance, &err)) {
        free((void *)requests);
        allot_grader_free(&grader);
        return allot_cli_usage_error("import", err.msg);
    }
    o.grader = grader_name ? &grader : NULL;
    o.inputs = (const char *const *)argv + optind + 1;
    o.n_inputs = (size_t)(argc - optind - 1);
    o.requests = requests;
    o.n_requests = n_requests;
    o.progress = !quiet;

    allot_import_summary sum;
    allot_status st = allot_import_run(&o, &sum, &err);
    if (st) {
        rc = st == ALLOT_E_ARGUMENT ? allot_cli_usage_error("import", err.msg)
                                    : allot_cli_fail("import", &err);
    } else {
        FILE *out = strcmp(o.out_path, "-") == 0 ? stderr : stdout;
        if (json)
            rc = print_json(out, &o, &sum);
        else
            print_table(out, &o, &sum);
        if (sum.n_null)
            fprintf(stderr,
                    "allot import: %zu of %zu samples had no answer the grader could extract (written as "
                    "answer null, graded wrong); the first: %s\n",
                    sum.n_null, sum.n_samples, sum.first_null);
    }
    allot_import_summary_free(&sum);
    allot_grader_free(&grader);
    free((void *)requests);
    return rc;
}
