/*
 * grader.h - grade a model response against a reference answer (docs/import.md, "Graders").
 *
 * A grader is an extractor (which part of a response is the final answer) and a comparator (how
 * two answers are normalised and compared), each picked by name from a table, so a new one is a
 * new table row:
 *
 *   extractors   full         the whole response
 *                last-number  the last number ("1,000", "-3.5", "18.")
 *                regex        the last match of a POSIX extended regex (group 1 if it has one)
 *                boxed        the content of the last \boxed{...} or \fbox{...} (nested braces)
 *                hash         the text after the last "####" up to the end of its line
 *   comparators  exact        equal after trimming white space
 *                numeric      equal as numbers within a tolerance (thousands separators, "$", "%",
 *                             a trailing "." and trailing zeros do not matter: "18." = "18.00" = "18")
 *                math         equal after math normalisation (LaTeX spacing, \left/\right, \dfrac,
 *                             \text{} units, "x =" prefixes, degrees, "$"), or numerically equal
 *                             (numbers, \frac{a}{b}, a/b) within the tolerance
 *
 * Names: "exact" (full/exact), "numeric" (last-number/numeric), "regex" (regex/exact), "boxed"
 * (boxed/math), "hash" (hash/math), or any "EXTRACTOR/COMPARATOR".
 *
 * The answer a grader returns is the normalised one (numbers in one canonical spelling, "1000",
 * "18", "-0.5"), so equal answers are equal strings and majority vote groups them. A response
 * from which nothing can be extracted has no answer (NULL): it is written as "answer": null and
 * graded wrong. The reference goes through the same extractor; when that finds nothing, the whole
 * reference is used (a plain "72" has no "####").
 */
#ifndef ALLOT_GRADER_H
#define ALLOT_GRADER_H

#include <regex.h>

#include "allot/allot_error.h"

typedef enum allot_extract {
    ALLOT_EXTRACT_FULL,
    ALLOT_EXTRACT_LAST_NUMBER,
    ALLOT_EXTRACT_REGEX,
    ALLOT_EXTRACT_BOXED,
    ALLOT_EXTRACT_HASH
} allot_extract;

typedef enum allot_compare { ALLOT_COMPARE_EXACT, ALLOT_COMPARE_NUMERIC, ALLOT_COMPARE_MATH } allot_compare;

typedef struct allot_grader {
    allot_extract extract;
    allot_compare compare;
    double tolerance; /**< |a - b| <= tolerance * max(1, |b|) counts as equal (numeric, math) */
    int has_regex;
    regex_t regex;
    char name[72]; /**< canonical "EXTRACTOR/COMPARATOR" */
} allot_grader;

/** Default tolerance of numeric and math comparisons. */
#define ALLOT_GRADER_DEFAULT_TOLERANCE 1e-6

/**
 * Build a grader from its name (see above). regex is required by the regex extractor and refused
 * otherwise; tolerance must be finite and >= 0. Errors are ALLOT_E_ARGUMENT with a message.
 */
allot_status allot_grader_init(allot_grader *g, const char *name, const char *regex, double tolerance,
                               allot_error *err);
/** Free the compiled regex; safe on a zeroed grader. */
void allot_grader_free(allot_grader *g);

/**
 * The normalised final answer of response: *answer is a new malloc'ed string, or NULL when nothing
 * can be extracted. Returns ALLOT_E_NOMEM (only) when memory runs out.
 */
allot_status allot_grader_answer(const allot_grader *g, const char *response, char **answer);

/**
 * The normalised reference answer (*gold, malloc'ed). When it cannot be used (empty, or not a
 * number for the numeric comparator) returns ALLOT_E_INVALID and sets *why to a static reason.
 */
allot_status allot_grader_gold(const allot_grader *g, const char *reference, char **gold, const char **why);

/** 1 when the normalised answer equals the normalised gold under g's comparator; NULL answer = 0. */
int allot_grader_correct(const allot_grader *g, const char *answer, const char *gold);

/**
 * Canonical spelling of a plain number ("-1,234.50" -> "-1234.5", "18." -> "18", ".5" -> "0.5",
 * "+0" -> "0"): a new malloc'ed string, or NULL when text (after trimming) is not one number.
 * Thousands separators must group by three. Exposed for the tests.
 */
char *allot_number_canonical(const char *text);

/** Math normalisation of an answer (a new malloc'ed string; NULL only when memory runs out). */
char *allot_math_normalize(const char *text);

#endif
