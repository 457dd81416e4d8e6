/*
 * seq_report.h - render a sequential policy audit (seq_eval.h): the Markdown report (verdict
 * first), report.json and the accuracy-against-spend plot (trainer/common/plot.h).
 */
#ifndef ALLOT_SEQ_REPORT_H
#define ALLOT_SEQ_REPORT_H

#include <stddef.h>

#include "allot/allot_error.h"
#include "seq_eval.h"

/** Markdown report, verdict first (malloc'd). */
char *allot_sq_eval_markdown(const allot_sq_eval *e);
/** One compact JSON document (malloc'd). */
char *allot_sq_eval_json(const allot_sq_eval *e);
/**
 * Write DIR/report.md, DIR/report.json and (plots = 1) DIR/accuracy_vs_spend.{dat,gp,png,svg}, each
 * atomically; DIR is created when missing. A missing gnuplot is reported in plot_note, not as an error.
 */
allot_status allot_sq_eval_write(const allot_sq_eval *e, const char *dir, int plots, char *plot_note,
                                 size_t cap, allot_error *err);

#endif
