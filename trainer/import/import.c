/* import.c - allot_import_run: check the options, open the output, run the format, commit or discard. */
#include <stdlib.h>
#include <string.h>

#include "import_internal.h"

static const struct {
    const char *name;
    allot_import_format format;
} format_names[] = {{"lm-eval", ALLOT_IMPORT_LM_EVAL},
                    {"openai", ALLOT_IMPORT_OPENAI},
                    {"sal", ALLOT_IMPORT_SAL},
                    {"search-and-learn", ALLOT_IMPORT_SAL},
                    {"router", ALLOT_IMPORT_ROUTER}};

int allot_import_format_from_name(const char *name, allot_import_format *out) {
    for (size_t i = 0; i < sizeof format_names / sizeof format_names[0]; i++)
        if (strcmp(name, format_names[i].name) == 0) {
            *out = format_names[i].format;
            return 0;
        }
    return -1;
}

const char *allot_import_format_name(allot_import_format f) {
    for (size_t i = 0; i < sizeof format_names / sizeof format_names[0]; i++)
        if (format_names[i].format == f) return format_names[i].name;
    return "?";
}

void allot_import_options_default(allot_import_options *o) {
    memset(o, 0, sizeof *o);
    o->completion_price = 1;
    o->agg = ALLOT_IMPORT_AGG_LAST;
    o->id_column = "sample_id";
    o->prompt_column = "prompt";
    o->cost_suffix = "|total_cost";
}

static allot_status check_options(const allot_import_options *o, allot_error *err) {
    if (!o->out_path) return allot_error_set(err, ALLOT_E_ARGUMENT, "no output (--out FILE, '-' for stdout)");
    if (o->n_inputs == 0) return allot_error_set(err, ALLOT_E_ARGUMENT, "no input file");
    if (o->format == ALLOT_IMPORT_ROUTER && o->grader)
        return allot_error_set(err, ALLOT_E_ARGUMENT,
                               "router tables carry their own scores: no grader applies");
    if (o->format != ALLOT_IMPORT_ROUTER && !o->grader)
        return allot_error_set(
            err, ALLOT_E_ARGUMENT,
            "%s: a grader is needed (--grader exact|numeric|regex|boxed|hash|EXTRACTOR/COMPARATOR)",
            allot_import_format_name(o->format));
    if (o->format != ALLOT_IMPORT_OPENAI && o->n_requests)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "request files are read by the openai format only");
    size_t stdin_uses = 0;
    for (size_t i = 0; i < o->n_inputs; i++) stdin_uses += strcmp(o->inputs[i], "-") == 0;
    for (size_t i = 0; i < o->n_requests; i++) stdin_uses += strcmp(o->requests[i], "-") == 0;
    if (stdin_uses > 1) return allot_error_set(err, ALLOT_E_ARGUMENT, "'-' (stdin) can be read once only");
    if (!(o->completion_price >= 0) || !(o->prompt_price >= 0))
        return allot_error_set(err, ALLOT_E_ARGUMENT, "prices must be numbers >= 0");
    return ALLOT_OK;
}

allot_status allot_import_run(const allot_import_options *o, allot_import_summary *summary,
                              allot_error *err) {
    memset(summary, 0, sizeof *summary);
    allot_status st = check_options(o, err);
    if (st) return st;
    imp_sink sink;
    if ((st = imp_sink_open(&sink, o->out_path, summary, o->progress, err))) return st;
    imp_ctx c = {o, &sink, summary};
    switch (o->format) {
    case ALLOT_IMPORT_LM_EVAL: st = imp_run_lm_eval(&c, err); break;
    case ALLOT_IMPORT_OPENAI: st = imp_run_openai(&c, err); break;
    case ALLOT_IMPORT_SAL: st = imp_run_sal(&c, err); break;
    case ALLOT_IMPORT_ROUTER: st = imp_run_router(&c, err); break;
    }
    if (!st && summary->n_queries == 0) st = allot_error_set(err, ALLOT_E_INVALID, "no queries in the input");
    return imp_sink_close(&sink, st, err);
}

void allot_import_summary_free(allot_import_summary *s) {
    for (size_t i = 0; i < s->n_groups; i++) free(s->groups[i].name);
    free(s->groups);
    s->groups = NULL;
    s->n_groups = 0;
}
