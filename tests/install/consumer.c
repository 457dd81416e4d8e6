/*
 * consumer.c - a program built against an INSTALLED allot (tests/install/check_install.sh), the
 * way an embedder builds one: only <allot/allot.h> and -lallot (pkg-config or find_package).
 *
 *   consumer BUNDLE QUERIES.tsv          one line per query: id, tier name, p (%.17g)
 *   consumer --seq BUNDLE QUERIES.tsv    a sequential bundle: each query stepped until it stops,
 *                                        on deterministic synthetic samples: id, stage, answer
 *                                        sample, samples drawn, cost spent
 *
 * QUERIES.tsv: id TAB prompt TAB record JSON (features/meta), with jq's @tsv escapes (\t \n \r \\).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <allot/allot.h>

#define MAX_LINE (1 << 20)
#define MAX_SAMPLES 4096

/* Undo jq's @tsv escapes in place; returns the new length. */
static size_t unescape(char *s) {
    size_t w = 0;
    for (size_t r = 0; s[r]; r++) {
        if (s[r] == '\\' && s[r + 1]) {
            r++;
            s[w++] = s[r] == 't' ? '\t' : s[r] == 'n' ? '\n' : s[r] == 'r' ? '\r' : s[r];
        } else {
            s[w++] = s[r];
        }
    }
    s[w] = '\0';
    return w;
}

/* Split line into its three fields (in place). */
static int fields(char *line, char **id, char **prompt, char **record) {
    line[strcspn(line, "\n")] = '\0';
    char *t1 = strchr(line, '\t');
    char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
    if (!t2) return 0;
    *t1 = *t2 = '\0';
    *id = line;
    *prompt = t1 + 1;
    *record = t2 + 1;
    return 1;
}

/* The synthetic answer of sample j of query i ("A0".."A2"). */
static const char *const ANSWERS[3] = {"A0", "A1", "A2"};
static const char *answer_of(size_t i, size_t j) {
    return ANSWERS[(i + j * j) % 3];
}

static int run_query(const allot_policy *p, allot_workspace *ws, size_t i, int seq, char *id, char *prompt,
                     char *record, double *extras, allot_sample_view *samples) {
    allot_error err;
    size_t n_extra = allot_featurizer_n_extra(allot_policy_featurizer(p));
    size_t plen = unescape(prompt), rlen = unescape(record);
    if (allot_featurizer_extras_from_record(allot_policy_featurizer(p), record, rlen, extras, &err) !=
        ALLOT_OK) {
        fprintf(stderr, "%s: %s\n", id, err.msg);
        return 0;
    }
    allot_query_input q = ALLOT_QUERY_INPUT_INIT;
    q.prompt = prompt;
    q.prompt_len = plen;
    q.extras = n_extra ? extras : NULL;
    q.n_extras = n_extra;
    if (!seq) {
        allot_decision d;
        if (allot_policy_predict(p, ws, &q, NULL, NULL, 0, &d, &err) != ALLOT_OK) {
            fprintf(stderr, "%s: %s\n", id, err.msg);
            return 0;
        }
        printf("%s\t%s\t%.17g\n", id, allot_policy_tier_name(p, d.tier), d.probability);
        return 1;
    }
    allot_seq_query sq = ALLOT_SEQ_QUERY_INIT;
    sq.query = q;
    sq.samples = samples;
    size_t n = 0;
    for (;;) {
        allot_step st = ALLOT_STEP_INIT;
        sq.n_samples = n;
        if (allot_policy_step(p, ws, &sq, NULL, &st, &err) != ALLOT_OK) {
            fprintf(stderr, "%s: %s\n", id, err.msg);
            return 0;
        }
        if (st.stop) {
            printf("%s\t%ld\t%ld\t%zu\t%.17g\n", id, st.stage, st.answer_sample, n, st.cost_spent);
            return 1;
        }
        if (n + st.draw > MAX_SAMPLES) {
            fprintf(stderr, "%s: more than %d samples\n", id, MAX_SAMPLES);
            return 0;
        }
        for (size_t k = 0; k < st.draw; k++, n++) {
            allot_sample_view s = {answer_of(i, n),         2, NAN, 1.0 + (double)((i + n) % 2) / 4,
                                   (uint32_t)st.next_model, 0};
            samples[n] = s;
        }
    }
}

int main(int argc, char **argv) {
    int seq = argc == 4 && !strcmp(argv[1], "--seq");
    if (argc != 3 && !seq) {
        fprintf(stderr, "usage: consumer [--seq] BUNDLE QUERIES.tsv\n");
        return 1;
    }
    const char *bundle = argv[argc - 2], *queries = argv[argc - 1];
    if (allot_version_number() / 10000 != ALLOT_VERSION_MAJOR) {
        fprintf(stderr, "consumer: header %d.x, library %s\n", ALLOT_VERSION_MAJOR, allot_version_string());
        return 1;
    }
    allot_error err;
    allot_policy *p = NULL;
    allot_workspace *ws = NULL;
    if (allot_policy_load_file(bundle, &p, &err) != ALLOT_OK ||
        allot_workspace_create(p, &ws, &err) != ALLOT_OK) {
        fprintf(stderr, "consumer: %s\n", err.msg);
        return 2;
    }
    FILE *in = fopen(queries, "r");
    char *line = malloc(MAX_LINE);
    double *extras = calloc(ALLOT_FEATURES_MAX_EXTRA, sizeof *extras);
    allot_sample_view *samples = calloc(MAX_SAMPLES, sizeof *samples);
    int ok = in && line && extras && samples;
    char *id, *prompt, *record;
    for (size_t i = 0; ok && fgets(line, MAX_LINE, in); i++)
        ok = fields(line, &id, &prompt, &record) &&
             run_query(p, ws, i, seq, id, prompt, record, extras, samples);
    if (in) fclose(in);
    free(line);
    free(extras);
    free(samples);
    allot_workspace_free(ws);
    allot_policy_free(p);
    return ok ? 0 : 2;
}
