/*
 * fuzz_runs_reader.c - libFuzzer target: any bytes fed to the labelled-runs reader either parse
 * or give an error naming "fuzz:<line>:", never crash, leak or read out of bounds.
 * Build with -DALLOT_FUZZ=ON -DCMAKE_C_COMPILER=clang; run build/tests/runs/fuzz_runs_reader.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runs_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    FILE *fp = fmemopen((void *)data, size, "r");
    if (!fp) return 0;
    allot_runs_reader *r = NULL;
    allot_error err = {0};
    if (allot_runs_reader_open_stream(fp, "fuzz", &r, &err) == ALLOT_OK) {
        allot_query q;
        int has = 0;
        size_t touched = 0;
        while (allot_runs_reader_next(r, &q, &has, &err) == ALLOT_OK && has) {
            /* touch everything the reader hands out */
            touched += strlen(q.id);
            for (size_t i = 0; i < q.n_samples; i++) {
                const allot_sample *s = &q.samples[i];
                if (s->answer >= 0) touched += strlen(q.answers[s->answer]);
                for (size_t j = 0; j < s->n_steps; j++) touched += q.step_scores[s->step_offset + j] > 0;
                touched += strlen(allot_runs_reader_model_name(r, s->model));
            }
            for (size_t t = 0; t < q.n_tiers; t++) touched += strlen(q.tiers[t].name);
            for (size_t f = 0; f < q.n_features; f++) touched += strlen(q.features[f].name);
        }
        if (err.code != ALLOT_OK && strncmp(err.msg, "fuzz:", 5) != 0) abort();
        allot_runs_reader_close(r);
        (void)touched;
    }
    fclose(fp);
    return 0;
}
