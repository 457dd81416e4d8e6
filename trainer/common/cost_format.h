/*
 * cost_format.h - print a cost so that it stays readable in a table whatever its unit.
 *
 * Costs come in tokens (hundreds to millions), dollars per query (1e-6 .. 1) or parameter-count x
 * tokens; a fixed "%.4f" prints a dollar cost per token as 0.0000. allot_format_cost keeps at
 * least four significant digits: "0" for zero, "%.4f" from 0.1 up to 1e9 (so ordinary costs line
 * up as before), and "%.4g" outside that range ("1.234e-05", "0.01234", "2.5e+12").
 */
#ifndef ALLOT_COST_FORMAT_H
#define ALLOT_COST_FORMAT_H

/** Enough for any output of allot_format_cost, including the NUL. */
#define ALLOT_COST_STR_SIZE 32

/** Format cost into buf (ALLOT_COST_STR_SIZE bytes) and return buf; NaN prints "nan". */
const char *allot_format_cost(double cost, char buf[ALLOT_COST_STR_SIZE]);

#endif
