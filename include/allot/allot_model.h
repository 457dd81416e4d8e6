/*
 * allot_model.h - model evaluators of the allot serving runtime.
 *
 * Two model families, each loaded once into an immutable handle and then evaluated many
 * times, from any number of threads at once:
 *
 *   allot_xgb_model     a gradient-boosted tree ensemble saved by XGBoost as JSON (1.7, 2.x, 3.x).
 *                       Predictions are bit-for-bit equal to XGBoost 1.7's
 *                       XGBoosterPredictFromDense (float32 accumulation in tree order).
 *   allot_linear_model  a LIBLINEAR 2.3 model text file. Decision values are bit-for-bit equal
 *                       to LIBLINEAR's predict_values for the same features, bias appended last.
 *
 * Conventions (shared with every allot header):
 *   - Every fallible function returns an allot_status (ALLOT_OK == 0) and, when `err` is not
 *     NULL, writes a message into the caller-owned allot_error (see allot_error.h).
 *   - Handles are opaque. A handle returned through an `out` pointer is owned by the caller and
 *     released with the matching *_free function (which accepts NULL). On failure `*out` is set
 *     to NULL and nothing needs to be freed.
 *   - A loaded model is never modified: all const-handle functions are safe to call concurrently
 *     on one shared handle. Prediction functions never allocate heap memory and keep no global
 *     state; outputs go to caller-provided buffers whose sizes are passed and checked.
 *   - Loaders treat their input as hostile: malformed, truncated or inconsistent files produce
 *     ALLOT_E_PARSE / ALLOT_E_INVALID / ALLOT_E_UNSUPPORTED with a message, never a crash or an
 *     out-of-bounds read. Input from memory need not be NUL-terminated.
 *   - Numbers are parsed independently of the process locale (a '.' is always the decimal
 *     separator), unlike LIBLINEAR's own load_model, which switches the global locale.
 */
#ifndef ALLOT_MODEL_H
#define ALLOT_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "allot/allot_error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ============================================================================================
 * XGBoost JSON models
 * ============================================================================================
 *
 * Accepted: the JSON document written by XGBoosterSaveModel("*.json") or
 * XGBoosterSaveModelToBuffer({"format":"json"}) of XGBoost 1.7, 2.x and 3.x with a "gbtree"
 * booster and one of the objectives below (all trees are used, as XGBoost's C API does with
 * iteration_end = 0). base_score may be "5E-1" (1.x/2.x) or a bracketed per-class array
 * "[5E-1,...]" (3.1+); iteration_indptr (2.x+) is validated when present.
 *
 * Refused with ALLOT_E_UNSUPPORTED (and a message saying why): UBJSON/binary models, "gblinear",
 * "dart",
 * vector-leaf trees (size_leaf_vector > 1, multi-target), categorical splits, num_target > 1,
 * objectives not listed below.
 *
 * Objectives and outputs (per row):
 *   objective                         VALUE width     VALUE is                     PROBA
 *   multi:softprob                    num_class       softmax(margins)             = VALUE
 *   multi:softmax                     1               argmax class index (float)   softmax(margins)
 *   binary:logistic                   1               sigmoid(margin)              p(class 1)
 *   binary:logitraw                   1               margin                       sigmoid(margin)
 *   reg:squarederror, reg:linear,
 *   reg:pseudohubererror,
 *   reg:absoluteerror,
 *   reg:squaredlogerror, reg:quantileerror (one quantile)
 *                                     1               margin (identity link)       unsupported
 *   reg:logistic                      1               sigmoid(margin)              unsupported
 * MARGIN width is the number of output groups: num_class for multi-class models, else 1.
 * Limits: num_class <= 1024, num_feature <= 2^30, 32-bit node indices. A prediction uses at
 * most 12 KiB of stack (per-class accumulators, and for models with <= 1024 features a copy of
 * the row with missing values pre-mapped) and no heap.
 *
 * Semantics, exactly as XGBoost 1.7.4 (verified by the parity suite in tests/models):
 *   - Features are float32. A feature value that is NaN is missing (XGBoost with missing=NaN)
 *     and follows the node's default direction; otherwise x < threshold goes left (float32
 *     comparison), else right.
 *   - One float32 accumulator per output group starts at the base margin (base_score for
 *     identity-link objectives, multi-class ones and binary:logitraw; -logf(1/base_score - 1)
 *     for binary:logistic and reg:logistic) and adds the reached leaf value of every tree of
 *     that group, in tree order. A per-class base_score array (3.1+) gives one start per class.
 *   - softmax: max in float, expf(m - max) in float, summed in double, divided by (float)sum;
 *     sigmoid: 1.0f / ((expf(min(-x, 88.7f)) + 1.0f) + 1e-16f), all in float.
 */

/** A loaded XGBoost model (opaque, immutable). */
typedef struct allot_xgb_model allot_xgb_model;

/** What a prediction writes. */
typedef enum allot_xgb_output {
    ALLOT_XGB_OUTPUT_VALUE = 0,  /**< what XGBoost's predict returns (output "type": 0) */
    ALLOT_XGB_OUTPUT_MARGIN = 1, /**< raw margins, one per output group (output "type": 1) */
    ALLOT_XGB_OUTPUT_PROBA = 2   /**< class probabilities (classification models only), see table */
} allot_xgb_output;

/** The objective families the runtime evaluates. */
typedef enum allot_xgb_objective {
    ALLOT_XGB_OBJ_SOFTPROB = 0, /**< multi:softprob */
    ALLOT_XGB_OBJ_SOFTMAX = 1,  /**< multi:softmax */
    ALLOT_XGB_OBJ_LOGISTIC = 2, /**< binary:logistic, reg:logistic (sigmoid link) */
    ALLOT_XGB_OBJ_LOGITRAW = 3, /**< binary:logitraw (logit base margin, identity output) */
    ALLOT_XGB_OBJ_IDENTITY = 4  /**< regression with identity link (reg:squarederror, ...) */
} allot_xgb_objective;

/**
 * Load a model from a JSON document in memory (`len` bytes; need not be NUL-terminated).
 * The bytes are not referenced after the call returns. On success *out owns a new model.
 */
ALLOT_API allot_status allot_xgb_model_load_memory(const char *data, size_t len, allot_xgb_model **out,
                                                   allot_error *err);

/** Load a model from a JSON file (see allot_xgb_model_load_memory). */
ALLOT_API allot_status allot_xgb_model_load_file(const char *path, allot_xgb_model **out, allot_error *err);

/** Release a model (NULL is a no-op). No prediction may be running on it. */
ALLOT_API void allot_xgb_model_free(allot_xgb_model *model);

/** Number of input features: every row passed to predict must hold at least this many floats. */
ALLOT_API size_t allot_xgb_model_num_features(const allot_xgb_model *model);
/** Number of classes: num_class for multi-class, 2 for binary:logistic, binary:logitraw and
 *  reg:logistic, 1 for identity-link regression. */
ALLOT_API size_t allot_xgb_model_num_classes(const allot_xgb_model *model);
/** Number of trees (all are used for prediction). */
ALLOT_API size_t allot_xgb_model_num_trees(const allot_xgb_model *model);
/** Objective family of the model. */
ALLOT_API allot_xgb_objective allot_xgb_model_objective(const allot_xgb_model *model);
/** Objective name as saved in the model ("multi:softprob", ...); owned by the model. */
ALLOT_API const char *allot_xgb_model_objective_name(const allot_xgb_model *model);
/** Base score(s) as saved, per output group (index < MARGIN width); 0 when out of range. */
ALLOT_API float allot_xgb_model_base_score(const allot_xgb_model *model, size_t group);

/**
 * Number of floats one row's prediction writes for `kind` (see the table above), or 0 when
 * `kind` is not available for this model (PROBA on a regression model).
 */
ALLOT_API size_t allot_xgb_model_output_width(const allot_xgb_model *model, allot_xgb_output kind);

/**
 * Predict one row.
 *   row      num_features floats (NaN = missing); row_len >= num_features, extra values ignored.
 *   out      out_len >= allot_xgb_model_output_width(model, kind) floats.
 * Returns ALLOT_E_ARGUMENT on NULL pointers, a short row or buffer, or an unavailable kind.
 * No heap allocation; thread-safe on a shared model.
 */
ALLOT_API allot_status allot_xgb_model_predict(const allot_xgb_model *model, allot_xgb_output kind,
                                               const float *row, size_t row_len, float *out, size_t out_len,
                                               allot_error *err);

/**
 * Predict n_rows rows stored row-major: row r starts at rows + r * row_stride (row_stride >=
 * num_features floats). Row r's outputs go to out + r * width, width =
 * allot_xgb_model_output_width(model, kind); out_len >= n_rows * width. Same results as n_rows
 * calls of allot_xgb_model_predict, faster (trees are evaluated over blocks of rows; on a CPU with
 * AVX-512F/BW and a model of depth <= 6 with at most 64 features and 64 classes, a vector kernel
 * chosen at load evaluates 64 rows at a time). No heap allocation; uses about 56 KiB of stack
 * (blocks of rows and their accumulators): call it from a thread with a stack larger than that.
 */
ALLOT_API allot_status allot_xgb_model_predict_batch(const allot_xgb_model *model, allot_xgb_output kind,
                                                     const float *rows, size_t n_rows, size_t row_stride,
                                                     float *out, size_t out_len, allot_error *err);

/* ============================================================================================
 * LIBLINEAR models
 * ============================================================================================
 *
 * Accepted: the text written by LIBLINEAR 2.3's save_model: lines "solver_type NAME",
 * "nr_class K", "label l1 .. lK" (absent for regression solvers), "nr_feature n", "bias b",
 * then "w" and n (n + 1 when b >= 0) lines of nr_w weights each, nr_w = 1 for two classes
 * (except MCSVM_CS) and for regression, else K. Weight of feature idx (1-based), column k:
 * w[(idx - 1) * nr_w + k].
 *
 * Evaluation follows predict_values: the decision values are the sums, in the order of the
 * given features, of w * value over features with 1 <= index <= nr_feature (others ignored,
 * "the dimension of testing data may exceed that of training"), then, when bias >= 0, the bias
 * feature (index nr_feature + 1, value bias) is added last, exactly as LIBLINEAR's own predict
 * program appends it. Callers therefore pass only their features, never the bias node.
 */

/** A loaded LIBLINEAR model (opaque, immutable). */
typedef struct allot_linear_model allot_linear_model;

/** One sparse feature: 1-based index as in LIBLINEAR, value as double (the layout of LIBLINEAR's
 *  feature_node, fixed for the whole major version: arrays of it are the input). */
typedef struct allot_linear_feature {
    int32_t index;
    double value;
} allot_linear_feature;

/** LIBLINEAR 2.3 solver types (same numbers as linear.h). */
typedef enum allot_linear_solver {
    ALLOT_LINEAR_L2R_LR = 0,
    ALLOT_LINEAR_L2R_L2LOSS_SVC_DUAL = 1,
    ALLOT_LINEAR_L2R_L2LOSS_SVC = 2,
    ALLOT_LINEAR_L2R_L1LOSS_SVC_DUAL = 3,
    ALLOT_LINEAR_MCSVM_CS = 4,
    ALLOT_LINEAR_L1R_L2LOSS_SVC = 5,
    ALLOT_LINEAR_L1R_LR = 6,
    ALLOT_LINEAR_L2R_LR_DUAL = 7,
    ALLOT_LINEAR_L2R_L2LOSS_SVR = 11,
    ALLOT_LINEAR_L2R_L2LOSS_SVR_DUAL = 12,
    ALLOT_LINEAR_L2R_L1LOSS_SVR_DUAL = 13
} allot_linear_solver;

/** Load a model from LIBLINEAR model text in memory (`len` bytes; need not be NUL-terminated).
 *  On a processor with AVX2, a model of 4 to 8 decision values also keeps a copy of its weights
 *  with each row padded to 64 bytes (one cache line) for the policy's evaluation: memory of about
 *  64 bytes per feature beside the 8 bytes per weight. */
ALLOT_API allot_status allot_linear_model_load_memory(const char *data, size_t len, allot_linear_model **out,
                                                      allot_error *err);

/** Load a model from a LIBLINEAR model file. */
ALLOT_API allot_status allot_linear_model_load_file(const char *path, allot_linear_model **out,
                                                    allot_error *err);

/** Release a model (NULL is a no-op). */
ALLOT_API void allot_linear_model_free(allot_linear_model *model);

ALLOT_API allot_linear_solver allot_linear_model_solver(const allot_linear_model *model);
/** Solver name as in the file ("L2R_LR", ...); static storage. */
ALLOT_API const char *allot_linear_model_solver_name(const allot_linear_model *model);
/** nr_class (2 for regression models, as LIBLINEAR stores it). */
ALLOT_API size_t allot_linear_model_num_classes(const allot_linear_model *model);
/** nr_feature (the bias feature not included). */
ALLOT_API size_t allot_linear_model_num_features(const allot_linear_model *model);
/** The bias value b (< 0 means no bias term). */
ALLOT_API double allot_linear_model_bias(const allot_linear_model *model);
/** Class label i (i < num_classes), in the file's order; 0 for regression models or i out of range. */
ALLOT_API int allot_linear_model_label(const allot_linear_model *model, size_t i);
/** Number of decision values per row (nr_w). */
ALLOT_API size_t allot_linear_model_num_decision_values(const allot_linear_model *model);
/** Nonzero for logistic-regression solvers (L2R_LR, L1R_LR, L2R_LR_DUAL): probabilities exist. */
ALLOT_API int allot_linear_model_has_probability(const allot_linear_model *model);
/** Nonzero for regression solvers (SVR): the prediction is a real value, not a label. */
ALLOT_API int allot_linear_model_is_regression(const allot_linear_model *model);

/**
 * Decision values of one row, as predict_values computes them.
 *   x, n      n sparse features (any order; LIBLINEAR expects increasing indices, the sum is
 *             taken in the given order). index < 1 is ALLOT_E_ARGUMENT; index > nr_feature is
 *             ignored.
 *   dec       dec_len >= allot_linear_model_num_decision_values(model) doubles (may be NULL
 *             with dec_len 0 when only the prediction is wanted).
 *   predicted if not NULL, receives predict_values' return value: the predicted label (2
 *             classes: dec[0] > 0 ? label[0] : label[1]; more: label of the first maximum) or
 *             the regression value.
 * No heap allocation; thread-safe on a shared model.
 */
ALLOT_API allot_status allot_linear_model_predict_values(const allot_linear_model *model,
                                                         const allot_linear_feature *x, size_t n, double *dec,
                                                         size_t dec_len, double *predicted, allot_error *err);

/**
 * Class probabilities of one row, as predict_probability computes them (logistic solvers
 * only, else ALLOT_E_UNSUPPORTED): two classes p0 = 1/(1+exp(-dec0)), p1 = 1 - p0; more
 * classes: 1/(1+exp(-dec_k)) normalised by their sum.
 *   prob      prob_len >= num_classes doubles, in label order.
 *   predicted as in allot_linear_model_predict_values.
 */
ALLOT_API allot_status allot_linear_model_predict_probability(const allot_linear_model *model,
                                                              const allot_linear_feature *x, size_t n,
                                                              double *prob, size_t prob_len,
                                                              double *predicted, allot_error *err);

#ifdef __cplusplus
}
#endif
#endif /* ALLOT_MODEL_H */
