/* cost_format.c - see cost_format.h. */
#include "cost_format.h"

#include <math.h>
#include <stdio.h>

const char *allot_format_cost(double cost, char buf[ALLOT_COST_STR_SIZE]) {
    double a = fabs(cost);
    if (isnan(cost))
        snprintf(buf, ALLOT_COST_STR_SIZE, "nan");
    else if (cost == 0)
        snprintf(buf, ALLOT_COST_STR_SIZE, "0");
    else if (a >= 0.1 && a < 1e9)
        snprintf(buf, ALLOT_COST_STR_SIZE, "%.4f", cost);
    else
        snprintf(buf, ALLOT_COST_STR_SIZE, "%.4g", cost);
    return buf;
}
