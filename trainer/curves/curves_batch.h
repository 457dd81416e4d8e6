/*
 * curves_batch.h - queries copied out of the runs reader, so that their values can be computed on
 * another thread while the reader parses the next lines (internal to allot_curves).
 *
 * The reader's allot_query points into the current line's parse, which the next line replaces. A
 * batch copies what computing a line's values reads (id, line, samples, step scores, answer strings,
 * the count of precomputed tiers) into storage of its own; curves_batch_seal then points each copy's
 * allot_query at that storage. Nothing else of a query is copied: prompt, gold, meta and features
 * are NULL in the copies.
 */
#ifndef ALLOT_CURVES_BATCH_H
#define ALLOT_CURVES_BATCH_H

#include <stddef.h>

#include "runs_reader.h"

typedef struct curves_batch_line {
    allot_query q; /* valid after curves_batch_seal */
    size_t row;    /* the curves row the line's values belong to */
    size_t id_off, samples_off, steps_off, answers_off, n_steps;
} curves_batch_line;

typedef struct curves_batch {
    curves_batch_line *lines;
    size_t n, lines_cap;
    allot_sample *samples;
    size_t n_samples, samples_cap;
    double *steps;
    size_t n_steps_all, steps_cap;
    char *chars; /* ids and answer strings, NUL-terminated */
    size_t n_chars, chars_cap;
    size_t *answer_off; /* offset in chars of each answer string */
    size_t n_answers_all, answer_off_cap;
    const char **answers; /* pointers, built by seal */
    size_t answers_cap;
} curves_batch;

/** Appends a copy of q, whose values go to curves row `row`; 0, or -1 when out of memory. */
int curves_batch_add(curves_batch *b, const allot_query *q, size_t row);
/** Points every copy's allot_query at the batch's storage (after the last add); 0 or -1 (memory). */
int curves_batch_seal(curves_batch *b);
/** Empties the batch, keeping its storage. */
void curves_batch_clear(curves_batch *b);
void curves_batch_free(curves_batch *b);

#endif
