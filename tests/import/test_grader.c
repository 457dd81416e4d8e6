/*
 * test_grader.c - the graders of trainer/import/grader.h on responses the project wrote: each
 * extractor, each comparator, the normalised answer written (so majority vote groups equal
 * answers), answers that cannot be extracted, references that cannot be used, bad grader names.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "allot/allot_error.h"
#include "grader.h"

#define CHECK_AREA "import.grader"
#include "../common/check_continue.h"

typedef struct grade_case {
    const char *grader, *regex, *response, *gold;
    const char *answer; /* expected normalised answer, NULL = none extracted */
    int correct;
} grade_case;

static const grade_case cases[] = {
    /* exact: the whole response, trimmed */
    {"exact", NULL, "  Paris\n", "Paris", "Paris", 1},
    {"exact", NULL, "paris", "Paris", "paris", 0},
    {"exact", NULL, " \n ", "Paris", NULL, 0},
    /* numeric: the last number; "18." is 18, thousands separators and "$" do not matter */
    {"numeric", NULL, "so she has 18.", "18", "18", 1},
    {"numeric", NULL, "The answer is 18.00", "18", "18", 1},
    {"numeric", NULL, "total: $1,000", "1000", "1000", 1},
    {"numeric", NULL, "it costs 1,234,567.50 dollars", "1234567.5", "1234567.5", 1},
    {"numeric", NULL, "3 - 5 = -2", "-2", "-2", 1},
    {"numeric", NULL, "x-2 means 2", "2", "2", 1},
    {"numeric", NULL, "about .5 of it", "0.5", "0.5", 1},
    {"numeric", NULL, "007 agents", "7", "7", 1},
    {"numeric", NULL, "I do not know", "18", NULL, 0},
    {"numeric", NULL, "The answer is 17.", "18", "17", 0},
    {"numeric", NULL, "1,5 or 6", "6", "6", 1}, /* "1,5" is not a thousands group: 1 and 5, then 6 */
    {"numeric", NULL, "the gold has a worked solution", "48/2 = <<48/2=24>>24 ... #### 72", NULL, 0},
    /* tolerance is relative to max(1, |gold|) */
    {"numeric", NULL, "0.3333333", "0.33333333", "0.3333333", 1},
    {"numeric", NULL, "0.33", "0.3333", "0.33", 0},
    /* hash: the text after the last ####, math-normalised; the gold goes through the same */
    {"hash", NULL, "work...\n#### 72", "Natalia sold 48/2 = 24 clips.\n#### 72", "72", 1},
    {"hash", NULL, "#### 1,000.", "1000", "1000", 1},
    {"hash", NULL, "#### $18", "18", "18", 1},
    {"hash", NULL, "no marker 72", "72", NULL, 0},
    {"hash", NULL, "####   \nthen nothing", "72", NULL, 0},
    /* boxed: last \boxed{} (nested braces), math normalisation */
    {"boxed", NULL, "so \\boxed{\\dfrac{1}{2}}.", "\\frac12", "\\frac{1}{2}", 1},
    {"boxed", NULL, "first \\boxed{3} then \\boxed{4}", "4", "4", 1},
    {"boxed", NULL, "$\\boxed{0.5}$", "\\frac{1}{2}", "0.5", 1}, /* numerically equal, spelled apart */
    {"boxed", NULL, "\\boxed{x = 5}", "5", "5", 1},
    {"boxed", NULL, "\\boxed{10\\text{ cm}}", "10", "10", 1},
    {"boxed", NULL, "\\boxed{\\text{(C)}}", "(C)", "(C)", 1},
    {"boxed", NULL, "\\boxed{3/4}", "\\frac{3}{4}", "\\frac{3}{4}", 1},
    {"boxed", NULL, "\\boxed{90^\\circ}", "90", "90", 1},
    {"boxed", NULL, "\\boxed{\\left( 1, 2 \\right)}", "(1,2)", "(1,2)", 1},
    {"boxed", NULL, "\\boxed{1{,}000}", "1000", "1000", 1},
    {"boxed", NULL, "\\boxed{12.0}", "12", "12", 1},
    {"boxed", NULL, "\\fbox{7}", "7", "7", 1},
    {"boxed", NULL, "\\boxed 7 is it", "7", "7", 1},
    {"boxed", NULL, "\\boxed{\\frac{\\sqrt{3}}{2}}", "\\frac{\\sqrt3}{2}", "\\frac{\\sqrt{3}}{2}", 1},
    {"boxed", NULL, "no box here: 12", "12", NULL, 0},
    {"boxed", NULL, "\\boxed{unclosed", "12", NULL, 0},
    /* regex: the last match, group 1 when there is one */
    {"regex", "answer is \\(([A-D])\\)", "answer is (B). No: answer is (C)", "C", "C", 1},
    {"regex", "[A-D]", "Answer B", "C", "B", 0},
    {"regex", "Answer: ([0-9]+)", "no answer line", "4", NULL, 0},
    /* EXTRACTOR/COMPARATOR combinations */
    {"regex/numeric", "Answer: *\\$?([0-9.,]+)", "Answer: $1,000.", "1000", "1000", 1},
    {"last-number/math", NULL, "it is 1/2", "0.5", "2", 0},
    {"full/math", NULL, "$\\dfrac{14}{3}$", "14/3", "\\frac{14}{3}", 1},
    {"boxed/exact", NULL, "\\boxed{ 12 }", "12", "12", 1},
};

static void check_cases(void) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const grade_case *t = &cases[i];
        allot_grader g;
        allot_error err = {0};
        allot_status st = allot_grader_init(&g, t->grader, t->regex, ALLOT_GRADER_DEFAULT_TOLERANCE, &err);
        CHECKF(st == ALLOT_OK, "case %zu: init %s: %s", i, t->grader, err.msg);
        if (st) continue;
        char *answer = NULL, *gold = NULL;
        const char *why = NULL;
        CHECK(allot_grader_answer(&g, t->response, &answer) == ALLOT_OK);
        CHECKF(allot_grader_gold(&g, t->gold, &gold, &why) == ALLOT_OK, "case %zu: gold %s: %s", i, t->gold,
               why ? why : "");
        if (t->answer)
            CHECKF(answer && strcmp(answer, t->answer) == 0, "case %zu (%s) \"%s\": answer %s, expected %s",
                   i, t->grader, t->response, answer ? answer : "null", t->answer);
        else
            CHECKF(!answer, "case %zu (%s) \"%s\": answer %s, expected none", i, t->grader, t->response,
                   answer);
        CHECKF(allot_grader_correct(&g, answer, gold) == t->correct,
               "case %zu (%s) \"%s\" vs \"%s\": graded %d", i, t->grader, t->response, t->gold, !t->correct);
        free(answer);
        free(gold);
        allot_grader_free(&g);
    }
}

/* The same answer always gets the same string, whatever its spelling: majority vote groups them. */
static void check_grouping(void) {
    allot_grader g;
    REQUIRE_OK(allot_grader_init(&g, "numeric", NULL, ALLOT_GRADER_DEFAULT_TOLERANCE, NULL));
    static const char *const spellings[] = {"18", "18.", "18.0", "$18", "+18", "018", "the answer is 18.00"};
    for (size_t i = 0; i < sizeof spellings / sizeof spellings[0]; i++) {
        char *a = NULL;
        CHECK(allot_grader_answer(&g, spellings[i], &a) == ALLOT_OK);
        CHECKF(a && strcmp(a, "18") == 0, "\"%s\" -> %s", spellings[i], a ? a : "null");
        free(a);
    }
    allot_grader_free(&g);
}

static void check_canonical_numbers(void) {
    static const char *const pairs[][2] = {
        {"-1,234.50", "-1234.5"},
        {"18.", "18"},
        {".5", "0.5"},
        {"+0", "0"},
        {"-0.000", "0"},
        {"1,000,000", "1000000"},
        {"0010", "10"},
        {" 42 ", "42"},
        {"3.14159", "3.14159"},
        {"12,34", NULL},
        {"1,0000", NULL},
        {"1.2.3", NULL},
        {"", NULL},
        {"-", NULL},
        {"1e5", NULL},
        {"abc", NULL},
        {"12a", NULL},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        char *c = allot_number_canonical(pairs[i][0]);
        if (pairs[i][1])
            CHECKF(c && strcmp(c, pairs[i][1]) == 0, "\"%s\" -> %s, expected %s", pairs[i][0], c ? c : "null",
                   pairs[i][1]);
        else
            CHECKF(!c, "\"%s\" -> %s, expected not a number", pairs[i][0], c);
        free(c);
    }
}

static void check_bad_graders(void) {
    allot_grader g;
    allot_error err = {0};
    CHECK(allot_grader_init(&g, "bogus", NULL, 1e-6, &err) == ALLOT_E_ARGUMENT);
    CHECK(strstr(err.msg, "unknown grader") != NULL);
    allot_grader_free(&g);
    CHECK(allot_grader_init(&g, "boxed/bogus", NULL, 1e-6, &err) == ALLOT_E_ARGUMENT);
    allot_grader_free(&g);
    CHECK(allot_grader_init(&g, "regex", NULL, 1e-6, &err) == ALLOT_E_ARGUMENT);
    CHECK(strstr(err.msg, "needs a regex") != NULL);
    allot_grader_free(&g);
    CHECK(allot_grader_init(&g, "numeric", "x", 1e-6, &err) == ALLOT_E_ARGUMENT);
    allot_grader_free(&g);
    CHECK(allot_grader_init(&g, "regex", "(unclosed", 1e-6, &err) == ALLOT_E_ARGUMENT);
    CHECK(strstr(err.msg, "(unclosed") != NULL);
    allot_grader_free(&g);
    CHECK(allot_grader_init(&g, "numeric", NULL, -1, &err) == ALLOT_E_ARGUMENT);
    allot_grader_free(&g);
    CHECK(allot_grader_init(&g, "numeric", NULL, NAN, &err) == ALLOT_E_ARGUMENT);
    allot_grader_free(&g);
    REQUIRE_OK(allot_grader_init(&g, "hash", NULL, 0, NULL));
    CHECK(strcmp(g.name, "hash/math") == 0);
    allot_grader_free(&g);
}

/* A reference the grader cannot use is an error with a reason, not a silent wrong grade. */
static void check_bad_golds(void) {
    allot_grader g;
    REQUIRE_OK(allot_grader_init(&g, "numeric", NULL, 1e-6, NULL));
    char *gold = NULL;
    const char *why = NULL;
    CHECK(allot_grader_gold(&g, "Paris", &gold, &why) == ALLOT_E_INVALID && !gold && why);
    CHECK(allot_grader_gold(&g, "   ", &gold, &why) == ALLOT_E_INVALID && !gold);
    allot_grader_free(&g);
    REQUIRE_OK(allot_grader_init(&g, "exact", NULL, 1e-6, NULL));
    CHECK(allot_grader_gold(&g, "", &gold, &why) == ALLOT_E_INVALID && strstr(why, "empty"));
    CHECK(allot_grader_correct(&g, NULL, "x") == 0);
    allot_grader_free(&g);
}

int main(void) {
    check_cases();
    check_grouping();
    check_canonical_numbers();
    check_bad_graders();
    check_bad_golds();
    return CHECK_DONE();
}
