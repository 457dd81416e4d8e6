/*
 * replay_internal.h - helpers shared by the replay sources (not installed, not for callers).
 */
#ifndef ALLOT_REPLAY_INTERNAL_H
#define ALLOT_REPLAY_INTERNAL_H

#include "replay.h"

/**
 * Accuracy of every prefix of query i in one pass: out[k] for k = 0..n (n = pool size) under the
 * selection rule, and, when cov is not NULL, cov[k] = 1 if any of the first k is correct.
 * scratch must hold 2 x (n_answers + 1) ints.
 */
void allot_replay_query_curve(const allot_replay_view *v, size_t i, allot_replay_select sel, double *out,
                              double *cov, int *scratch);

/** Sample statistics of x[0..n): mean, sd (n-1 denominator; 0 when n < 2), min, max. */
allot_replay_stat allot_replay_stats(const double *x, size_t n);

/**
 * The policy's allocation at mean budget `budget`: k_out[i] = samples of query i's tier under the
 * calibrated rule with the smallest price mu whose mean tier cost is <= budget (*mu_out).
 * Returns n, or 0 when the policy was not built for n queries.
 */
/* A sequential policy on a batch (replay_sequential.c). */
typedef struct allot_replay_seq allot_replay_seq;
struct allot_policy;
/* Takes p (on success): checks that its one-model ladder is the replayed model's. */
allot_status allot_replay_seq_load(struct allot_policy *p, const allot_replay_pools *pools, const char *path,
                                   allot_replay_seq **out, allot_error *err);
void allot_replay_seq_free(allot_replay_seq *sq);
/* Each query's samples (k_out) at the price re-fitted so that the batch's mean spend is within budget;
 * returns v->n, or 0 on error (err set). */
size_t allot_replay_seq_plan(const allot_replay_seq *sq, const allot_replay_view *v, double budget,
                             allot_replay_unit unit, size_t *k_out, double *lambda_out, allot_error *err);
/* The policy's plan on view v: static bundles by allot_replay_policy_plan, sequential ones by their
 * trajectories on v. Returns v->n, or 0 on error. */
size_t allot_replay_policy_plan_view(const allot_replay_policy *pp, const allot_replay_view *v, double budget,
                                     allot_replay_unit unit, size_t *k_out, double *mu_out, allot_error *err);
size_t allot_replay_policy_plan(const allot_replay_policy *pp, size_t n, double budget, size_t *k_out,
                                double *mu_out);

#endif
