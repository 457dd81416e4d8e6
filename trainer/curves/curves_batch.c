/*
 * curves_batch.c - see curves_batch.h.
 */
#include "curves_batch.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Appends s (with its NUL) to the batch's characters; its offset, or (size_t)-1 (memory). */
static size_t add_chars(curves_batch *b, const char *s) {
    size_t len = strlen(s) + 1, off = b->n_chars;
    if (allot_reserve((void **)&b->chars, &b->chars_cap, off + len, 1)) return (size_t)-1;
    memcpy(b->chars + off, s, len);
    b->n_chars += len;
    return off;
}

/* The step scores a query's samples use: each sample's [step_offset, +n_steps) of q->step_scores. */
static size_t steps_used(const allot_query *q) {
    size_t end = 0;
    for (size_t i = 0; i < q->n_samples; i++) {
        size_t e = q->samples[i].step_offset + q->samples[i].n_steps;
        if (q->samples[i].n_steps && e > end) end = e;
    }
    return end;
}

int curves_batch_add(curves_batch *b, const allot_query *q, size_t row) {
    if (allot_reserve((void **)&b->lines, &b->lines_cap, b->n + 1, sizeof *b->lines)) return -1;
    curves_batch_line *l = &b->lines[b->n];
    memset(l, 0, sizeof *l);
    l->row = row;
    l->q.line = q->line;
    l->q.n_samples = q->n_samples;
    l->q.n_answers = q->n_answers;
    l->q.n_tiers = q->n_tiers;
    if ((l->id_off = add_chars(b, q->id)) == (size_t)-1) return -1;
    l->samples_off = b->n_samples;
    if (allot_reserve((void **)&b->samples, &b->samples_cap, b->n_samples + q->n_samples, sizeof *b->samples))
        return -1;
    if (q->n_samples) memcpy(b->samples + b->n_samples, q->samples, q->n_samples * sizeof *b->samples);
    b->n_samples += q->n_samples;
    l->n_steps = q->n_samples ? steps_used(q) : 0;
    l->steps_off = b->n_steps_all;
    if (allot_reserve((void **)&b->steps, &b->steps_cap, b->n_steps_all + l->n_steps, sizeof *b->steps))
        return -1;
    if (l->n_steps) memcpy(b->steps + b->n_steps_all, q->step_scores, l->n_steps * sizeof *b->steps);
    b->n_steps_all += l->n_steps;
    l->answers_off = b->n_answers_all;
    if (allot_reserve((void **)&b->answer_off, &b->answer_off_cap, b->n_answers_all + q->n_answers,
                      sizeof *b->answer_off))
        return -1;
    for (size_t a = 0; a < q->n_answers; a++) {
        size_t off = add_chars(b, q->answers[a]);
        if (off == (size_t)-1) return -1;
        b->answer_off[b->n_answers_all++] = off;
    }
    b->n++;
    return 0;
}

int curves_batch_seal(curves_batch *b) {
    if (allot_reserve((void **)&b->answers, &b->answers_cap, b->n_answers_all + 1, sizeof *b->answers))
        return -1;
    for (size_t a = 0; a < b->n_answers_all; a++) b->answers[a] = b->chars + b->answer_off[a];
    for (size_t i = 0; i < b->n; i++) {
        curves_batch_line *l = &b->lines[i];
        l->q.id = b->chars + l->id_off;
        l->q.samples = l->q.n_samples ? b->samples + l->samples_off : NULL;
        l->q.step_scores = l->n_steps ? b->steps + l->steps_off : NULL;
        l->q.answers = b->answers + l->answers_off; /* b->answers has at least one entry */
    }
    return 0;
}

void curves_batch_clear(curves_batch *b) {
    b->n = b->n_samples = b->n_steps_all = b->n_chars = b->n_answers_all = 0;
}

void curves_batch_free(curves_batch *b) {
    free(b->lines);
    free(b->samples);
    free(b->steps);
    free(b->chars);
    free(b->answer_off);
    free(b->answers);
    memset(b, 0, sizeof *b);
}
