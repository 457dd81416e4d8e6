/*
 * dataset.h - the learning problem built from a curves table: seeded split, oracle labels,
 * class map, and the feature matrices computed through the runtime's featuriser.
 */
#ifndef ALLOT_LEARN_DATASET_H
#define ALLOT_LEARN_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "allot/allot_error.h"
#include "allot/allot_features.h"
#include "curves.h"

/**
 * A seeded split of n queries: a held-out test set (round(test_fraction * n) queries, at least
 * one left for training) and k folds over the remaining training pool. The queries are shuffled
 * with allot_rng seeded by `seed`; test = the first n_test of the permutation, fold of the j-th
 * training query of the permutation = j mod k. Index lists are in curves order.
 */
typedef struct allot_split {
    size_t n, n_train, n_test;
    size_t *train_idx; /**< n_train curves rows */
    size_t *test_idx;  /**< n_test curves rows */
    int *fold;         /**< n entries: fold of a training query, -1 for a test query */
    int folds;
    uint64_t seed;
    double test_fraction;
} allot_split;

allot_status allot_split_make(size_t n, double test_fraction, int folds, uint64_t seed, allot_split *out,
                              allot_error *err);
/**
 * Cross-fitting: the same seeded permutation as allot_split_make cut into `parts` contiguous parts;
 * part `part` is held out and the rest makes the training pool (k folds). Training with part 0, 1,
 * ..., parts-1 holds every query out exactly once.
 */
allot_status allot_split_make_part(size_t n, int parts, int part, int folds, uint64_t seed, allot_split *out,
                                   allot_error *err);
/** The split recorded in a bundle: test ids given explicitly (folds unused, fold[] = 0 for train). */
allot_status allot_split_from_test_ids(const allot_curves *c, const char *const *test_ids, size_t n_test,
                                       allot_split *out, allot_error *err);
void allot_split_free(allot_split *s);

/** Gather rows idx[0..m) of an n x t matrix into a new m x t matrix (malloc). */
double *allot_gather_rows(const double *m, size_t t, const size_t *idx, size_t n_idx);

/**
 * Oracle labels on a subset of queries: the exact oracle at `budget` over rows idx; tier_out[j]
 * receives the tier of idx[j]. lambda/acc/cost (may be NULL) receive the oracle's price and means.
 */
allot_status allot_oracle_labels(const allot_curves *c, const size_t *idx, size_t n_idx, double budget,
                                 int *tier_out, double *lambda, double *mean_acc, double *mean_cost,
                                 allot_error *err);

/**
 * Break the label ties of rows idx (tier[j]: the oracle's tier of idx[j], replaced in place) by
 * `ties` (learn.h allot_label_ties): among the tiers with exactly the accuracy of the oracle's tier
 * on that query that lie on the rows' uniform frontier (trainer/solve/uniform.h) within the budget
 * (the cheapest frontier tier always counts), the best mean accuracy over the rows, then the cheaper
 * mean cost, then the lower index; the oracle's own tier stays when none is better. *n_changed (may
 * be NULL) counts the labels that moved. Returns ALLOT_E_NOMEM only.
 */
allot_status allot_labels_break_ties(const allot_curves *c, const size_t *idx, size_t n_idx, double budget,
                                     int ties, int *tier, size_t *n_changed, allot_error *err);

/** Classes = the tiers that occur as labels, in tier order. */
typedef struct allot_class_map {
    int n_classes;
    int *class_tier; /**< n_classes: class -> tier */
    int *tier_class; /**< n_tiers: tier -> class, -1 for a tier never picked */
    size_t n_tiers;
} allot_class_map;

allot_status allot_class_map_make(const int *tiers, size_t n, size_t n_tiers, allot_class_map *out,
                                  allot_error *err);
void allot_class_map_free(allot_class_map *m);

/** Mean cost of each tier over rows idx (the bundle's tier price). */
void allot_tier_mean_costs(const allot_curves *c, const size_t *idx, size_t n_idx, double *out);

/**
 * Parse the CLI's feature selection into featuriser extra names: every name of `features`
 * ("a,b"; NULL = every feature column of the curves file; "" = none) becomes "features.<name>",
 * every name of `meta` becomes "meta.<name>". *names (and each string) is malloc'd.
 */
allot_status allot_extra_names(const allot_curves *c, const char *features, const char *meta, char ***names,
                               size_t *n_names, allot_error *err);
void allot_free_names(char **names, size_t n);

/** Most values a categorical meta field keeps (the most frequent in the training rows). */
#define ALLOT_LEARN_MAX_CATEGORIES 64

/**
 * The featuriser a training run asks for (docs/features.md), built on the training rows idx:
 *   - every built-in text feature, and the hashed n-gram block of dimension hash_dim (0: none);
 *   - record features `features` ("a,b"; NULL = every feature of the curves file; "" = none): a
 *     numeric one becomes a numeric extra "features.<name>", the file's vector feature (its embedding)
 *     the embedding block;
 *   - meta fields `meta` ("a,b", each optionally ":number" or ":category"; NULL = none): a field with a
 *     string value in some training row (or ":category") becomes a categorical field "meta.<name>"
 *     with one-hot indicators for its values in the training rows (the ALLOT_LEARN_MAX_CATEGORIES most
 *     frequent, then sorted by bytes; a value left out reads like an unseen one, all zero); otherwise
 *     (or ":number") a numeric extra ("Level 5" -> 5).
 */
allot_status allot_featurizer_for(const allot_curves *c, const size_t *idx, size_t n_idx,
                                  const char *features, const char *meta, uint32_t hash_dim,
                                  allot_featurizer **out, allot_error *err);

/**
 * Query i's embedding for featuriser f as float32 into buf (f's embedding dimension): *emb = buf, or
 * NULL when f has no embedding or the query lacks it (missing). ALLOT_E_INVALID when f's embedding is
 * not the curves file's (another name or dimension).
 */
allot_status allot_curves_query_embedding(const allot_featurizer *f, const allot_curves *c, size_t i,
                                          float *buf, const float **emb, allot_error *err);

/**
 * The featuriser's extra features of curves query i (n_extra values): "features.X" from the
 * curves table's feature columns, "meta.X" through allot_featurizer_extras_from_record on the
 * query's meta, exactly as at training time.
 */
allot_status allot_curves_query_extras(const allot_featurizer *f, const allot_curves *c, size_t i,
                                       double *extras, allot_error *err);

/** Features of every query of the curves table, computed by the featuriser. */
typedef struct allot_feature_matrix {
    size_t n, d;       /**< rows (= curves queries), dense width */
    float *dense;      /**< n x d raw dense features (NaN = missing) */
    uint32_t hash_dim; /**< 0 when no hashed block */
    size_t *sp_start;  /**< n+1 offsets into sp_index/sp_value (NULL when no hashed block) */
    uint32_t *sp_index;
    float *sp_value;
} allot_feature_matrix;

/** Featurise every query (extras from the record's `features` and `meta`). want_sparse: hashed block too. */
allot_status allot_feature_matrix_build(const allot_featurizer *f, const allot_curves *c, int want_sparse,
                                        allot_feature_matrix *out, allot_error *err);
void allot_feature_matrix_free(allot_feature_matrix *m);

/** Mean and standard deviation (population; 1 when 0 or undefined) of each dense column over rows idx, NaN
 * skipped. */
void allot_dense_moments(const allot_feature_matrix *m, const size_t *idx, size_t n_idx, double *center,
                         double *scale);

#endif
