/*
 * runs_stats.h - the `--stats` mode of allot-gen-runs: summary statistics of a labelled-runs file
 * with samples (the figures datasets/README.md quotes), printed on stdout.
 */
#ifndef ALLOT_GEN_RUNS_STATS_H
#define ALLOT_GEN_RUNS_STATS_H

/**
 * Read the labelled-runs file at path ("-" = stdin) with the project's reader and print its
 * statistics. Returns 0, or 1 after printing "allot-gen-runs: <file:line: field: problem>" on
 * stderr (invalid input, a line with precomputed tiers instead of samples, I/O, out of memory).
 */
int gen_runs_stats(const char *path);

#endif
