/*
 * allot_features.h - the one featuriser shared by the trainer and the serving runtime.
 *
 * A featuriser turns a query (its raw prompt text plus a few named numbers taken from the record's
 * `features` and `meta` fields, and optionally an embedding vector) into
 *   - a dense float32 vector: the built-in text features (a fixed, documented list with stable
 *     names, docs/features.md), then the "extra" features the spec names (numeric ones, then the
 *     one-hot indicators of its categorical `meta` fields), then the embedding block when the spec
 *     has one; this is what the XGBoost classifier sees (raw), and, after
 *     allot_featurizer_standardize(), the dense block of the LIBLINEAR input;
 *   - a sparse vector of hashed word unigrams + bigrams (32-bit FNV-1a over lower-cased tokens,
 *     modulo the spec's hash dimension, counts L2-normalised by default) for the sparse learner.
 *
 * The featuriser is described by a JSON spec (saved inside every policy bundle under "features"),
 * so serving computes exactly what training computed. Every value is computed with integer
 * arithmetic, IEEE-754 +,-,*,/ and sqrt only (no libm transcendental functions), so the results
 * are bit-identical on every platform.
 *
 * Ownership and threads: a featuriser is created by allot_featurizer_create*() and released by
 * allot_featurizer_free(). allot_featurizer_set_standardization() is the only mutating call and
 * must happen before the featuriser is shared; afterwards every function taking a
 * `const allot_featurizer *` is thread-safe, allocation-free and deterministic.
 *
 * Errors: fallible functions return an allot_status and fill an optional caller-owned allot_error.
 */
#ifndef ALLOT_FEATURES_H
#define ALLOT_FEATURES_H

#include <stddef.h>
#include <stdint.h>

#include "allot/allot_error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque featuriser. */
typedef struct allot_featurizer allot_featurizer;

/** Highest feature spec version this build reads. allot_featurizer_spec_json() writes version 1 unless
 *  the spec has categorical fields or an embedding (version 2), so older specs stay byte-identical. */
#define ALLOT_FEATURES_SPEC_VERSION 2
/** Default dimension of the hashed n-gram block (2^12). */
#define ALLOT_FEATURES_DEFAULT_HASH_DIM 4096u
/** Largest accepted hash dimension (2^20; a workspace holds about 24 bytes per hashed dimension). */
#define ALLOT_FEATURES_MAX_HASH_DIM 1048576u
/** Largest accepted number of extra features (numeric ones and categorical indicators together). */
#define ALLOT_FEATURES_MAX_EXTRA 4096u
/** Most values (indicators) of one categorical field. */
#define ALLOT_FEATURES_MAX_CATEGORIES 1024u
/** Largest accepted embedding dimension. */
#define ALLOT_FEATURES_MAX_EMBED_DIM 65536u

/* ---- the built-in feature table (independent of any featuriser) ----------------------------- */

/** Number of built-in text features this version knows (the default spec uses all, in order). */
ALLOT_API size_t allot_features_n_builtin(void);
/** Stable name of built-in feature i (i < allot_features_n_builtin()), NULL when out of range. */
ALLOT_API const char *allot_features_builtin_name(size_t i);

/* ---- construction ---------------------------------------------------------------------------- */

/**
 * Create a featuriser from its JSON spec (docs/features.md), `len` bytes of `spec_json` (need not
 * be NUL-terminated). Unknown built-in names, bad hash dimensions, malformed standardisation
 * arrays etc. are reported with the field name. *out is set only on success.
 */
ALLOT_API allot_status allot_featurizer_create(const char *spec_json, size_t len, allot_featurizer **out,
                                               allot_error *err);

/**
 * Create the default featuriser: every built-in feature in table order, then the `n_extra` extra
 * features named by `extra_names` (each "features.<name>" or "meta.<path>", see docs/features.md;
 * names must be unique and non-empty), and a hashed uni+bigram block of dimension `hash_dim`
 * (0 disables hashing; ALLOT_FEATURES_DEFAULT_HASH_DIM is the usual choice). No standardisation.
 */
ALLOT_API allot_status allot_featurizer_create_default(const char *const *extra_names, size_t n_extra,
                                                       uint32_t hash_dim, allot_featurizer **out,
                                                       allot_error *err);

/**
 * Set (or, with n == 0 and NULL arrays, clear) the per-dense-feature standardisation used by
 * allot_featurizer_standardize(): z_i = (x_i - center[i]) / scale[i]. n must equal
 * allot_featurizer_n_dense(); every value must be finite and every scale > 0.
 * Not thread-safe: call before sharing the featuriser.
 */
ALLOT_API allot_status allot_featurizer_set_standardization(allot_featurizer *f, const double *center,
                                                            const double *scale, size_t n, allot_error *err);

/**
 * Add a categorical field "meta.<path>" with its n_values category strings: n_values one-hot
 * indicator extras named "<field>=<value>" follow the extras so far (allot_featurizer_extra_index
 * finds them). Indicator values: 1 for the record's value, 0 for the others; a value not among them
 * (unseen in training) or a non-string value gives all zeros; an absent field gives all NaN
 * (missing). Before any standardisation; not thread-safe.
 */
ALLOT_API allot_status allot_featurizer_add_categorical(allot_featurizer *f, const char *field,
                                                        const char *const *values, size_t n_values,
                                                        allot_error *err);

/**
 * Give the featuriser an embedding block: `dim` dense features after the extras, read from the
 * record's "features.<name>" array (an embedding from a sentence encoder, a hidden state...) or
 * passed to allot_featurize_ex(). At most one. Before any standardisation; not thread-safe.
 */
ALLOT_API allot_status allot_featurizer_set_embedding(allot_featurizer *f, const char *name, size_t dim,
                                                      allot_error *err);

/** Release a featuriser (NULL allowed). */
ALLOT_API void allot_featurizer_free(allot_featurizer *f);

/**
 * Serialise the spec as compact JSON into buf (capacity `cap`, NUL-terminated when cap > 0).
 * Returns the length of the full text excluding the NUL, like snprintf: when the return value
 * is >= cap the text was truncated; call again with a larger buffer. Numbers are printed with 17
 * significant digits, so create(spec_json(f)) reproduces f exactly.
 */
ALLOT_API size_t allot_featurizer_spec_json(const allot_featurizer *f, char *buf, size_t cap);

/* ---- shape ------------------------------------------------------------------------------------ */

/** Length of the dense vector: built-in features used by the spec, then the extras, then the embedding. */
ALLOT_API size_t allot_featurizer_n_dense(const allot_featurizer *f);
/** Name of dense feature i (built-in name, extra name, or the embedding's name for each of its entries),
 *  NULL when out of range. */
ALLOT_API const char *allot_featurizer_dense_name(const allot_featurizer *f, size_t i);
/** The embedding block's dimension (0 when the spec has none) and name ("features.<name>", or NULL). */
ALLOT_API size_t allot_featurizer_embedding_dim(const allot_featurizer *f);
ALLOT_API const char *allot_featurizer_embedding_name(const allot_featurizer *f);
/** Number of categorical fields; field k's name ("meta.<path>") and number of values. */
ALLOT_API size_t allot_featurizer_n_categorical(const allot_featurizer *f);
ALLOT_API const char *allot_featurizer_categorical_name(const allot_featurizer *f, size_t k,
                                                        size_t *n_values);
/** Number of built-in features in the dense vector (they come first). */
ALLOT_API size_t allot_featurizer_n_builtin_used(const allot_featurizer *f);
/** Number of extra features (they follow the built-ins). */
ALLOT_API size_t allot_featurizer_n_extra(const allot_featurizer *f);
/** Name of extra feature i, NULL when out of range. */
ALLOT_API const char *allot_featurizer_extra_name(const allot_featurizer *f, size_t i);
/** Position of the extra feature called `name` in the extras array, or -1 if there is none. */
ALLOT_API long allot_featurizer_extra_index(const allot_featurizer *f, const char *name);
/** Dimension of the hashed n-gram block (0 when hashing is disabled). */
ALLOT_API uint32_t allot_featurizer_hash_dim(const allot_featurizer *f);
/** 1 when the spec carries standardisation arrays, else 0. */
ALLOT_API int allot_featurizer_has_standardization(const allot_featurizer *f);
/** Standardisation center/scale of dense feature i (NULL outputs allowed); 0/1 when absent. */
ALLOT_API void allot_featurizer_standardization(const allot_featurizer *f, size_t i, double *center,
                                                double *scale);

/* ---- featurisation (thread-safe, allocation-free) --------------------------------------------- */

/**
 * Featurise one query.
 *
 * prompt, prompt_len : the raw prompt bytes (UTF-8 expected but any bytes are accepted; NUL bytes
 *                      are ordinary non-word bytes). prompt may be NULL when prompt_len is 0.
 * extras, n_extras   : the extra features by position (allot_featurizer_extra_index() maps names to
 *                      positions); NaN = missing. n_extras must equal allot_featurizer_n_extra(),
 *                      or be 0 with extras NULL, meaning all missing.
 * dense_out          : allot_featurizer_n_dense() floats, written with the raw (unstandardised)
 *                      values: what the XGBoost classifier sees.
 * sparse_index, sparse_value, sparse_cap, sparse_count :
 *                      optional hashed n-gram output. When sparse_index is NULL nothing is hashed
 *                      (the XGBoost path does not need it) and *sparse_count (if given) is set to 0.
 *                      Otherwise the caller's arrays of capacity sparse_cap receive the non-zero
 *                      entries in strictly increasing index order (0-based, < hash_dim) and
 *                      *sparse_count their number. sparse_cap >= allot_featurizer_hash_dim() always
 *                      suffices; with a smaller capacity the call fails with ALLOT_E_ARGUMENT when
 *                      the prompt has more distinct hashed n-grams than fit.
 *
 * Returns ALLOT_OK, or ALLOT_E_ARGUMENT for NULL/size-mismatched arguments.
 */
ALLOT_API allot_status allot_featurize(const allot_featurizer *f, const char *prompt, size_t prompt_len,
                                       const double *extras, size_t n_extras, float *dense_out,
                                       uint32_t *sparse_index, float *sparse_value, size_t sparse_cap,
                                       size_t *sparse_count, allot_error *err);

/**
 * allot_featurize() with the embedding block: `embedding` holds embedding_dim float32 values, which
 * must equal allot_featurizer_embedding_dim() (ALLOT_E_ARGUMENT otherwise) and be finite
 * (ALLOT_E_INVALID naming the entry otherwise); they are copied into the dense vector as they are.
 * embedding NULL with embedding_dim 0 means missing: the block is all NaN (XGBoost's default
 * direction; the LIBLINEAR input imputes the center). Thread-safe, allocation-free.
 */
ALLOT_API allot_status allot_featurize_ex(const allot_featurizer *f, const char *prompt, size_t prompt_len,
                                          const double *extras, size_t n_extras, const float *embedding,
                                          size_t embedding_dim, float *dense_out, uint32_t *sparse_index,
                                          float *sparse_value, size_t sparse_cap, size_t *sparse_count,
                                          allot_error *err);

/**
 * For callers that know a query's categorical value (a gateway): set the indicator extras of
 * categorical field `field` in extras (allot_featurizer_n_extra() values): 1 for value, 0 for the
 * others (all 0 for a value unseen in training); value NULL = missing (all NaN). ALLOT_E_ARGUMENT when
 * the spec has no such categorical field. Thread-safe, allocation-free.
 */
ALLOT_API allot_status allot_featurizer_set_category(const allot_featurizer *f, const char *field,
                                                     const char *value, double *extras, allot_error *err);

/**
 * Standardise a dense vector for a linear model: out[i] = (float)(((double)x[i] - center[i]) /
 * scale[i]) and 0 when x[i] is NaN (missing values are imputed at the center). Without
 * standardisation arrays, center = 0 and scale = 1 (a copy with NaN -> 0). in and out may alias.
 */
ALLOT_API void allot_featurizer_standardize(const allot_featurizer *f, const float *dense, float *out);

/**
 * Convenience for callers holding a labelled-runs record (one JSON object with optional `features`
 * and `meta` objects): fill extras_out[0..n_extra) with the record's values of the spec's extra
 * features. Numeric extras: numbers as is, booleans as 0/1, a string as the first decimal number it
 * contains ("Level 5" -> 5), anything else or absent as NaN. Categorical indicators: see
 * allot_featurizer_add_categorical(). Parses JSON, so it allocates: not for the hot path (a gateway
 * passes numbers directly to allot_featurize()).
 */
ALLOT_API allot_status allot_featurizer_extras_from_record(const allot_featurizer *f, const char *record_json,
                                                           size_t len, double *extras_out, allot_error *err);

/**
 * The record's embedding (its "features.<name>" array) as float32 into out (embedding_dim values):
 * *present = 1; absent: *present = 0 and out untouched; not an array of exactly embedding_dim finite
 * numbers: ALLOT_E_INVALID naming the field. A spec without an embedding: *present = 0. Allocates.
 */
ALLOT_API allot_status allot_featurizer_embedding_from_record(const allot_featurizer *f,
                                                              const char *record_json, size_t len, float *out,
                                                              int *present, allot_error *err);

/**
 * For trainers: the string a record holds at extra-feature name `name` ("meta.<path>" or
 * "features.<name>", looked up as allot_featurizer_extras_from_record does): *out is a malloc'd copy,
 * or NULL when the value is absent or not a string. Allocates.
 */
ALLOT_API allot_status allot_features_record_string(const char *record_json, size_t len, const char *name,
                                                    char **out, allot_error *err);

#ifdef __cplusplus
}
#endif
#endif /* ALLOT_FEATURES_H */
