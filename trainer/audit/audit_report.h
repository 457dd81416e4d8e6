/*
 * audit_report.h - the audit's RENDER half: an allot_audit_result (audit_eval.h) as report.json,
 * report.md and plots (trainer/common/plot.h). Pure functions of the result, except for the files
 * they are asked to write; docs/learn-and-audit.md describes the reports.
 */
#ifndef ALLOT_AUDIT_REPORT_H
#define ALLOT_AUDIT_REPORT_H

#include <stddef.h>

#include "allot/allot_error.h"
#include "audit_eval.h"

/** report.json's text (formatted, without a final newline; malloc'd), or NULL when memory runs out. */
char *allot_audit_report_json(const allot_audit_result *r);

/** report.md's text (malloc'd, *len bytes plus a NUL). */
allot_status allot_audit_report_markdown(const allot_audit_result *r, char **md, size_t *len,
                                         allot_error *err);

/**
 * The plots into dir: per policy, compute per difficulty bucket (DIR/NAME-compute_by_difficulty.*)
 * and the confusion matrix of the calibrated rule (DIR/NAME-confusion.*); for all policies,
 * accuracy against realised mean cost over the sweep (DIR/accuracy_vs_budget.*). Every plot is
 * attempted; the first failure is returned (err names the figure): a missing gnuplot is
 * ALLOT_E_UNSUPPORTED, a full disk ALLOT_E_IO. The audit reports it (figures missing is never a
 * silent success); --no-plots skips the figures.
 */
allot_status allot_audit_report_plots(const allot_audit_result *r, const char *dir, allot_error *err);

/**
 * Write DIR/report.md and DIR/report.json (json and a newline) as one: both temporary files are
 * written completely before either is renamed into place (report.json last), so a failure leaves
 * neither new file, and report.json never appears without report.md.
 */
allot_status allot_audit_report_write(const char *dir, const char *json, const char *md, size_t md_len,
                                      allot_error *err);

#endif
