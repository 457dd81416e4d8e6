/*
 * features_ref.h - the previous featuriser (see features_ref.c), the reference the runtime's
 * featuriser is compared against bit for bit (tests) and timed against (bench/text).
 */
#ifndef ALLOT_FEATURES_REF_H
#define ALLOT_FEATURES_REF_H

#include <stddef.h>
#include <stdint.h>

typedef struct ref_featurizer ref_featurizer;

/* Every built-in in table order, n_extra extras, a hashed block of hash_dim (0: none) with ngrams 1
 * or 2 and L2 normalisation (norm_l2 1) or raw counts (0): allot_featurizer_create_default's
 * layout with the spec's hash options. NULL when out of memory. */
ref_featurizer *ref_featurizer_create(size_t n_extra, uint32_t hash_dim, int ngrams, int norm_l2);
void ref_featurizer_free(ref_featurizer *f);
size_t ref_featurizer_n_dense(const ref_featurizer *f);
const char *ref_features_builtin_name(size_t i);

/* Keyword i of the previous featuriser's table (i < ref_features_n_keywords()): its first word,
 * and its second word in *second (NULL for a one-word keyword). */
size_t ref_features_n_keywords(void);
const char *ref_features_keyword(size_t i, const char **second);

/* allot_featurize() as it was: 0, or -1 where it returned an error. */
int ref_featurize(const ref_featurizer *f, const char *prompt, size_t prompt_len, const double *extras,
                  size_t n_extras, float *dense_out, uint32_t *sparse_index, float *sparse_value,
                  size_t sparse_cap, size_t *sparse_count);

#endif
