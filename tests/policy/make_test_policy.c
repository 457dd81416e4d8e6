/* make_test_policy - writes a small trained policy bundle and matching queries for the example and
 * CLI tests: make_test_policy KIND OUT_POLICY OUT_QUERIES_JSONL  (KIND = xgboost | liblinear). */
#include <linear.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_test_util.h"

static void put_json_string(FILE *out, const char *s) {
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr,
                "usage: make_test_policy xgboost|liblinear|tiny-xgboost|tiny-liblinear POLICY QUERIES\n");
        return 1;
    }
    char *bundle;
    if (!strcmp(argv[1], "xgboost")) {
        pt_bundle_opts o = {4, 3, NULL, "calibrated", 0.2, 1, 0, 30};
        bundle = pt_bundle_xgboost(&o, 2000, 42, NULL);
    } else if (!strcmp(argv[1], "tiny-xgboost")) { /* for the fuzz corpus */
        pt_bundle_opts o = {3, 2, NULL, "calibrated", 0.2, 1, 0, 2};
        bundle = pt_bundle_xgboost(&o, 200, 42, NULL);
    } else if (!strcmp(argv[1], "tiny-liblinear")) {
        pt_bundle_opts o = {3, 3, NULL, "argmax", 0, 0, 8, 0};
        bundle = pt_bundle_liblinear(&o, 100, 43, L2R_LR);
    } else {
        pt_bundle_opts o = {4, 4, NULL, "argmax", 0, 1, 1024, 0};
        bundle = pt_bundle_liblinear(&o, 1000, 43, L2R_LR);
    }
    FILE *fp = fopen(argv[2], "wb");
    if (!fp || fputs(bundle, fp) < 0 || fclose(fp)) {
        perror(argv[2]);
        return 3;
    }
    fp = fopen(argv[3], "wb");
    if (!fp) {
        perror(argv[3]);
        return 3;
    }
    pt_rng r = {7};
    for (int i = 0; i < 1000; i++) {
        double ex;
        char *p = pt_make_prompt(&r, 3, NULL, &ex);
        fprintf(fp, "{\"id\":\"q%d\",\"prompt\":", i);
        put_json_string(fp, p);
        if (isnan(ex))
            fprintf(fp, ",\"meta\":{\"dataset\":\"synthetic\"}}\n");
        else
            fprintf(fp, ",\"meta\":{\"level\":%.17g}}\n", ex);
        free(p);
    }
    fclose(fp);
    free(bundle);
    return 0;
}
