/*
 * plot.h - figures through gnuplot, with the script saved beside them.
 *
 * Every call writes <out_base>.dat (the data, whitespace-separated, one block per series) and
 * <out_base>.gp (a self-contained gnuplot script that reads the .dat), then runs
 * `gnuplot <out_base>.gp` to render <out_base>.png and <out_base>.svg. Users restyle a figure by
 * editing the .gp and re-running gnuplot. All files are written atomically. When gnuplot is not on
 * PATH the .dat and .gp are still written and ALLOT_E_UNSUPPORTED is returned with a message.
 */
#ifndef ALLOT_PLOT_H
#define ALLOT_PLOT_H

#include <stddef.h>

#include "allot/allot_error.h"

typedef struct allot_plot_opts {
    const char *title;
    const char *xlabel;
    const char *ylabel;
    int logx; /**< 1: logarithmic x axis */
} allot_plot_opts;

/** One line of a line chart. ylo/yhi may be NULL (no error bars). */
typedef struct allot_plot_series {
    const char *name;
    size_t n;
    const double *x, *y;
    const double *ylo, *yhi;
    int points_only; /**< 1: draw markers, no line (a single policy at one budget) */
} allot_plot_series;

/** Line chart of several series. */
allot_status allot_plot_lines(const char *out_base, const allot_plot_opts *opts,
                              const allot_plot_series *series, size_t n_series, allot_error *err);

/** Grouped bar chart: n_groups categories (x labels) x n_series bars; values[s*n_groups + g]. */
allot_status allot_plot_bars(const char *out_base, const allot_plot_opts *opts,
                             const char *const *group_names, size_t n_groups, const char *const *series_names,
                             size_t n_series, const double *values, allot_error *err);

/** Heat map of a rows x cols matrix (e.g. a confusion matrix), cells annotated with their values. */
allot_status allot_plot_heatmap(const char *out_base, const allot_plot_opts *opts,
                                const char *const *row_names, size_t rows, const char *const *col_names,
                                size_t cols, const double *values, allot_error *err);

#endif
