/*
 * import_internal.h - the pieces every source format of allot import shares.
 *
 *   imp_err        "file:line: field: problem" errors
 *   imp_lines      numbered lines of one input (gzip or plain, "-" = stdin), parsed as JSON or raw
 *   imp_map        string -> (value, aux) hash map that owns its keys (ids, custom_ids, doc ids)
 *   imp_sink       the output: checks ids are unique, writes labelled-runs lines, keeps the summary
 *   imp_grade      one generation graded against a normalised reference
 */
#ifndef ALLOT_IMPORT_INTERNAL_H
#define ALLOT_IMPORT_INTERNAL_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>

#include "atomic_file.h"
#include "import.h"
#include "input_stream.h"
#include "json_line.h"
#include "progress.h"

/* ---- errors ------------------------------------------------------------------------------------ */

/** allot_error_set with "path:line: " in front. */
allot_status imp_err(allot_error *err, allot_status code, const char *path, size_t line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/* ---- numbered input lines ------------------------------------------------------------------- */

typedef struct imp_lines {
    const char *path; /**< as given (borrowed) */
    allot_input *in;
    allot_line_reader lines; /**< reads in's stream ahead in chunks */
    char *buf;               /**< current line, NUL-terminated, without its '\n' */
    size_t cap, len;
    size_t lineno; /**< 1-based number of the current line */
    cJSON *doc;    /**< current line's JSON (imp_lines_next_json) */
} imp_lines;

allot_status imp_lines_open(imp_lines *l, const char *path, allot_error *err);
/** Next line, blank or not; *has = 0 at end of input. Read errors (a truncated .gz) are ALLOT_E_IO. */
allot_status imp_lines_next_raw(imp_lines *l, int *has, allot_error *err);
/** 1 when the current line holds only spaces and tabs. */
int imp_lines_blank(const imp_lines *l);
/** Parse the current line as one JSON object into l->doc. */
allot_status imp_lines_parse(imp_lines *l, allot_error *err);
/** Next non-blank line parsed as one JSON object into l->doc (freed on the next call). */
allot_status imp_lines_next_json(imp_lines *l, int *has, allot_error *err);
void imp_lines_close(imp_lines *l);

/* ---- CSV records (RFC 4180: quoted fields may hold commas, "" and newlines) ---------------------- */

typedef struct imp_csv_row {
    char *buf; /**< the fields' text, each NUL-terminated */
    size_t len, cap;
    size_t *offs; /**< start of field i in buf */
    size_t n, offs_cap;
    size_t line; /**< line the record starts on */
} imp_csv_row;

/** Parse the record that starts on l's current line (reading more lines for quoted newlines). */
allot_status imp_csv_parse(imp_lines *l, imp_csv_row *row, allot_error *err);
/** Field i of the last record parsed. */
const char *imp_csv_field(const imp_csv_row *row, size_t i);
void imp_csv_free(imp_csv_row *row);

/* ---- string map ----------------------------------------------------------------------------- */

typedef struct imp_map_entry {
    char *key;
    size_t value;
    uint64_t aux;
} imp_map_entry;

typedef struct imp_map {
    imp_map_entry *entries; /**< insertion order */
    size_t n, cap;
    uint32_t *slots; /**< entry index + 1, 0 = empty; power-of-two count */
    size_t n_slots;
} imp_map;

/** The entry of key, or NULL. */
imp_map_entry *imp_map_find(const imp_map *m, const char *key);
/** Add key (copied; the caller checked it is absent). NULL when memory runs out. */
imp_map_entry *imp_map_add(imp_map *m, const char *key, size_t value, uint64_t aux);
void imp_map_free(imp_map *m);

/* ---- the output --------------------------------------------------------------------------------- */

typedef struct imp_sample {
    const char *model; /**< NULL: no "model" key */
    char *answer;      /**< normalised answer (owned by the caller); NULL: "answer": null */
    int correct;
    int has_score;
    double score;
    const double *steps; /**< step scores (borrowed); NULL: none */
    size_t n_steps;
    int has_cost;
    double cost;
} imp_sample;

typedef struct imp_tier {
    const char *name;
    double acc, cost;
} imp_tier;

typedef struct imp_query {
    const char *id;
    const char *prompt; /**< NULL: absent */
    const char *gold;   /**< NULL: absent */
    const cJSON *meta;  /**< an object, or NULL */
    const imp_sample *samples;
    size_t n_samples;
    const imp_tier *tiers;
    size_t n_tiers;
    const char *src; /**< where the query came from, for errors */
    size_t line;
} imp_query;

typedef struct imp_sink {
    allot_atomic_file af;
    int open;
    imp_map ids; /**< value: source line */
    allot_import_summary *sum;
    allot_progress progress;
} imp_sink;

allot_status imp_sink_open(imp_sink *s, const char *path, allot_import_summary *sum, int progress,
                           allot_error *err);
/** Write one query (an error when its id was already written). */
allot_status imp_sink_put(imp_sink *s, const imp_query *q, allot_error *err);
/** Commit the output (st == ALLOT_OK) or discard it; returns st or the commit's error. */
allot_status imp_sink_close(imp_sink *s, allot_status st, allot_error *err);

/* ---- grading ------------------------------------------------------------------------------------ */

/**
 * Grade one generation: sets smp->answer (new string or NULL) and smp->correct; counts a null
 * answer in the summary, remembering "path:line: field" of the first one.
 */
allot_status imp_grade(const allot_grader *g, allot_import_summary *sum, const char *text, const char *gold,
                       imp_sample *smp, const char *path, size_t line, const char *field, allot_error *err);

/** The normalised reference of a query, or an error naming path:line: field. */
allot_status imp_gold(const allot_grader *g, const char *reference, char **gold, const char *path,
                      size_t line, const char *field, allot_error *err);

/** A JSON string or number as text (numbers in %.17g, integers without a fraction) into buf. */
const char *imp_scalar_text(const cJSON *item, char *buf, size_t size);

/* ---- the formats -------------------------------------------------------------------------------- */

typedef struct imp_ctx {
    const allot_import_options *o;
    imp_sink *sink;
    allot_import_summary *sum;
} imp_ctx;

allot_status imp_run_lm_eval(imp_ctx *c, allot_error *err);
allot_status imp_run_openai(imp_ctx *c, allot_error *err);
allot_status imp_run_sal(imp_ctx *c, allot_error *err);
allot_status imp_run_router(imp_ctx *c, allot_error *err);

#endif
