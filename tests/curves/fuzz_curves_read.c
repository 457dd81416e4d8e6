/*
 * fuzz_curves_read.c - libFuzzer target: any bytes given to the curves-file reader either read
 * or give an error naming "fuzz:"; a table that reads is written and read back identically.
 * Build with -DALLOT_FUZZ=ON -DCMAKE_C_COMPILER=clang; run build/tests/curves/fuzz_curves_read.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curves.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    FILE *fp = fmemopen((void *)data, size, "r");
    if (!fp) return 0;
    allot_curves *c = NULL;
    allot_error err = {0};
    allot_status st = allot_curves_read_stream(fp, "fuzz", &c, &err);
    fclose(fp);
    if (st != ALLOT_OK) {
        if (strncmp(err.msg, "fuzz", 4) != 0 && st != ALLOT_E_NOMEM) abort();
        return 0;
    }
    /* write (through a temporary file: allot_curves_write takes a path) and read back */
    char path[] = "/tmp/allot-fuzz-curves-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) abort();
    fclose(fdopen(fd, "w"));
    if (allot_curves_write(c, path, &err) != ALLOT_OK) abort();
    allot_curves *d = NULL;
    if (allot_curves_read(path, &d, &err) != ALLOT_OK) abort();
    remove(path);
    if (d->n_queries != c->n_queries || d->n_tiers != c->n_tiers) abort();
    for (size_t i = 0; i < c->n_queries * c->n_tiers; i++)
        if (d->acc[i] != c->acc[i] || d->cost[i] != c->cost[i] || d->se[i] != c->se[i]) abort();
    allot_curves_free(d);
    allot_curves_free(c);
    return 0;
}
