/*
 * fuzz_policy.c - libFuzzer target over the runtime's text-facing surfaces: the first input byte
 * selects a surface, the rest is the data.
 *   0: policy bundle loader (allot_policy_load_memory), then one prediction when it loads;
 *   1: feature spec loader (allot_featurizer_create) and spec_json round trip;
 *   2: the featuriser on an arbitrary prompt (dense + hashed, small and full capacity), checked
 *      for determinism and agreement between the two capacity paths;
 *   3: extras_from_record on an arbitrary record.
 * Built with -DALLOT_FUZZ=ON (clang); ctest runs it for a bounded time on a seed corpus.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "allot/allot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static allot_featurizer *default_featurizer(void) {
    const char *extra[] = {"meta.level", "features.x"};
    allot_featurizer *f = NULL;
    allot_featurizer_create_default(extra, 2, 256, &f, NULL);
    return f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const char *text = (const char *)data + 1;
    size_t n = size - 1;
    allot_error err;
    switch (data[0] % 4) {
    case 0: {
        allot_policy *p = NULL;
        if (allot_policy_load_memory(text, n, &p, &err) == ALLOT_OK) {
            allot_workspace *ws = NULL;
            if (allot_workspace_create(p, &ws, NULL) == ALLOT_OK) {
                allot_query_input q = {.prompt = "How many eggs? 1,200 or 3.5%", .prompt_len = 28};
                allot_decision d;
                double probs[ALLOT_POLICY_MAX_TIERS];
                allot_policy_predict(p, ws, &q, NULL, probs, ALLOT_POLICY_MAX_TIERS, &d, &err);
                allot_workspace_free(ws);
            }
            allot_policy_free(p);
        }
        break;
    }
    case 1: {
        allot_featurizer *f = NULL;
        if (allot_featurizer_create(text, n, &f, &err) == ALLOT_OK) {
            size_t len = allot_featurizer_spec_json(f, NULL, 0);
            char *buf = malloc(len + 1);
            if (buf) {
                allot_featurizer_spec_json(f, buf, len + 1);
                allot_featurizer *g = NULL;
                if (allot_featurizer_create(buf, len, &g, &err) != ALLOT_OK)
                    abort(); /* round trip must load */
                allot_featurizer_free(g);
                free(buf);
            }
            allot_featurizer_free(f);
        }
        break;
    }
    case 2: {
        allot_featurizer *f = default_featurizer();
        if (!f) abort();
        float d1[64], d2[64];
        uint32_t i1[256], i2[16];
        float v1[256], v2[16];
        size_t c1 = 0, c2 = 0;
        double ex[2] = {NAN, 1e300};
        if (allot_featurize(f, text, n, ex, 2, d1, i1, v1, 256, &c1, &err) != ALLOT_OK) abort();
        allot_status st = allot_featurize(f, text, n, ex, 2, d2, i2, v2, 16, &c2, &err);
        if (memcmp(d1, d2, sizeof(float) * allot_featurizer_n_dense(f))) abort(); /* deterministic */
        if (st == ALLOT_OK) {
            if (c1 != c2) abort();
            for (size_t k = 0; k < c1; k++)
                if (i1[k] != i2[k] || v1[k] != v2[k]) abort();
        }
        for (size_t k = 1; k < c1; k++)
            if (i1[k] <= i1[k - 1] || i1[k] >= 256) abort();
        allot_featurizer_free(f);
        break;
    }
    default: {
        allot_featurizer *f = default_featurizer();
        if (!f) abort();
        double ex[2];
        allot_featurizer_extras_from_record(f, text, n, ex, &err);
        allot_featurizer_free(f);
        break;
    }
    }
    return 0;
}
