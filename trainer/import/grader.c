/*
 * grader.c - extractors, normalisers and comparators of grader.h.
 *
 * Every transformation works on short malloc'ed strings (an extracted answer, a reference), one
 * named step after another; the only pass over a whole response is the extractor's.
 */
#include "grader.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- characters and a growable string ------------------------------------------------------ */

static int is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
static int is_digit(char c) {
    return c >= '0' && c <= '9';
}
static int is_alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

typedef struct sbuf {
    char *p;
    size_t n, cap;
    int failed;
} sbuf;

static void sb_putn(sbuf *b, const char *s, size_t n) {
    if (b->failed || allot_reserve((void **)&b->p, &b->cap, b->n + n + 1, 1)) {
        b->failed = 1;
        return;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}
static void sb_puts(sbuf *b, const char *s) {
    sb_putn(b, s, strlen(s));
}
/* The finished string (never NULL unless memory ran out); the buffer is handed over. */
static char *sb_take(sbuf *b) {
    if (!b->failed && !b->p) sb_putn(b, "", 0);
    if (b->failed) {
        free(b->p);
        return NULL;
    }
    return b->p;
}

/* s[0..n) without leading and trailing white space, as a new string. */
static char *trimmed_copy(const char *s, size_t n) {
    while (n && is_space(*s)) s++, n--;
    while (n && is_space(s[n - 1])) n--;
    return allot_strndup(s, n);
}

/* Replace every `from` by `to` in place (to must not be longer than from). */
static void replace_all(char *s, const char *from, const char *to) {
    size_t lf = strlen(from), lt = strlen(to);
    char *w = s;
    for (const char *r = s; *r;) {
        if (strncmp(r, from, lf) == 0) {
            memcpy(w, to, lt);
            w += lt;
            r += lf;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
}

/* Remove every LaTeX command `cmd` (with its backslash) that is not the prefix of a longer name. */
static void remove_command(char *s, const char *cmd) {
    size_t l = strlen(cmd);
    char *w = s;
    for (const char *r = s; *r;) {
        if (strncmp(r, cmd, l) == 0 && !is_alpha(r[l]))
            r += l;
        else
            *w++ = *r++;
    }
    *w = '\0';
}

static void remove_spaces(char *s) {
    char *w = s;
    for (const char *r = s; *r; r++)
        if (!is_space(*r)) *w++ = *r;
    *w = '\0';
}

/* Index just past the brace group opening at s[open] ('{'), or 0 when it is not closed. */
static size_t group_end(const char *s, size_t open) {
    int depth = 0;
    for (size_t i = open; s[i]; i++) {
        if (s[i] == '\\' && s[i + 1]) {
            i++; /* \{ and \} are literal braces */
        } else if (s[i] == '{') {
            depth++;
        } else if (s[i] == '}' && --depth == 0) {
            return i + 1;
        }
    }
    return 0;
}

/* Position of the last occurrence of needle in s, or NULL. */
static const char *last_occurrence(const char *s, const char *needle) {
    const char *last = NULL;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle)) last = p;
    return last;
}

/* ---- numbers -------------------------------------------------------------------------------- */

/* Length of the digit run with optional thousands groups (",ddd") starting at s; 0 if none. */
static size_t digits_with_groups(const char *s, int *grouped) {
    size_t i = 0;
    *grouped = 0;
    while (is_digit(s[i])) i++;
    if (i == 0 || i > 3) return i;
    while (s[i] == ',' && is_digit(s[i + 1]) && is_digit(s[i + 2]) && is_digit(s[i + 3]) &&
           !is_digit(s[i + 4])) {
        i += 4;
        *grouped = 1;
    }
    return i;
}

/* The canonical spelling of text into *out (new string), or *out = NULL when text is not one number. */
static allot_status number_canonical(const char *text, char **out) {
    *out = NULL;
    size_t n = strlen(text);
    while (n && is_space(*text)) text++, n--;
    while (n && is_space(text[n - 1])) n--;
    const char *s = text, *end = text + n;
    int neg = 0;
    if (s < end && (*s == '-' || *s == '+')) neg = *s++ == '-';
    int grouped = 0;
    size_t int_len = digits_with_groups(s, &grouped);
    const char *int_part = s;
    s += int_len;
    const char *frac = NULL;
    size_t frac_len = 0;
    if (s < end && *s == '.') {
        frac = ++s;
        while (s < end && is_digit(*s)) s++;
        frac_len = (size_t)(s - frac);
    }
    if (s != end || (int_len == 0 && frac_len == 0)) return ALLOT_OK;
    sbuf b = {0};
    if (neg) sb_puts(&b, "-");
    size_t lead = 0;
    while (lead < int_len && (int_part[lead] == '0' || int_part[lead] == ',')) lead++;
    if (lead == int_len) sb_puts(&b, "0");
    for (size_t i = lead; i < int_len; i++)
        if (int_part[i] != ',') sb_putn(&b, int_part + i, 1);
    while (frac_len && frac[frac_len - 1] == '0') frac_len--;
    if (frac_len) {
        sb_puts(&b, ".");
        sb_putn(&b, frac, frac_len);
    }
    char *c = sb_take(&b);
    if (!c) return ALLOT_E_NOMEM;
    if (strcmp(c, "-0") == 0) memmove(c, c + 1, 2);
    *out = c;
    return ALLOT_OK;
}

char *allot_number_canonical(const char *text) {
    char *out = NULL;
    number_canonical(text, &out);
    return out;
}

/* The value of the number spelled by s[0..n) (same grammar as number_canonical); 0 if not one. */
static int span_number(const char *s, size_t n, double *v) {
    while (n && is_space(*s)) s++, n--;
    while (n && is_space(s[n - 1])) n--;
    char buf[80];
    size_t k = 0, i = 0;
    if (n >= sizeof buf) return 0;
    if (i < n && (s[i] == '-' || s[i] == '+')) buf[k++] = s[i++];
    int grouped;
    size_t int_len = digits_with_groups(s + i, &grouped);
    if (i + int_len > n) return 0;
    for (size_t j = 0; j < int_len; j++)
        if (s[i + j] != ',') buf[k++] = s[i + j];
    i += int_len;
    size_t frac_len = 0;
    if (i < n && s[i] == '.') {
        buf[k++] = s[i++];
        while (i < n && is_digit(s[i])) buf[k++] = s[i++], frac_len++;
    }
    if (i != n || (int_len == 0 && frac_len == 0)) return 0;
    buf[k] = '\0';
    *v = strtod(buf, NULL);
    return 1;
}

/* The value of a number, \frac{a}{b} or -\frac{a}{b} with numbers a, b; NaN otherwise. */
static double math_value(const char *s) {
    double v, a, b;
    if (span_number(s, strlen(s), &v)) return v;
    double sign = 1;
    if (*s == '-') {
        sign = -1;
        s++;
    }
    if (strncmp(s, "\\frac{", 6) != 0) return NAN;
    size_t a_end = group_end(s, 5);
    if (!a_end || s[a_end] != '{') return NAN;
    size_t b_end = group_end(s, a_end);
    if (!b_end || s[b_end]) return NAN;
    if (!span_number(s + 6, a_end - 7, &a) || !span_number(s + a_end + 1, b_end - a_end - 2, &b) || b == 0)
        return NAN;
    return sign * a / b;
}

static int close_enough(double a, double b, double tol) {
    if (!isfinite(a) || !isfinite(b)) return 0;
    double scale = fabs(b) > 1 ? fabs(b) : 1;
    return fabs(a - b) <= tol * scale;
}

/* ---- math normalisation, one step at a time --------------------------------------------------- */

/* "$x$", "$$x$$", "\(x\)", "\[x\]" -> "x". */
static void strip_math_delimiters(char *s) {
    static const char *const pairs[][2] = {{"$$", "$$"}, {"$", "$"}, {"\\(", "\\)"}, {"\\[", "\\]"}};
    size_t n = strlen(s);
    for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++) {
        size_t lo = strlen(pairs[k][0]), lc = strlen(pairs[k][1]);
        if (n >= lo + lc && strncmp(s, pairs[k][0], lo) == 0 && strcmp(s + n - lc, pairs[k][1]) == 0) {
            memmove(s, s + lo, n - lo - lc);
            s[n - lo - lc] = '\0';
            return;
        }
    }
}

static void drop_spacing_and_decoration(char *s) {
    replace_all(s, "\\dfrac", "\\frac");
    replace_all(s, "\\tfrac", "\\frac");
    static const char *const commands[] = {"\\left", "\\right", "\\displaystyle", "\\qquad", "\\quad"};
    for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++) remove_command(s, commands[k]);
    static const char *const marks[] = {"\\!",    "\\,",      "\\;", "\\:", "\\ ", "^{\\circ}", "^\\circ",
                                        "\\circ", "\xc2\xb0", "\\%", "%",   "\\$", "$"};
    for (size_t k = 0; k < sizeof marks / sizeof marks[0]; k++) replace_all(s, marks[k], "");
}

/* A trailing \text{...} after something is a unit ("5\text{ cm}" -> "5"); other \text{x} -> x. */
static char *drop_units_unwrap_text(char *s) {
    static const char *const wrappers[] = {"\\text{", "\\textbf{", "\\mbox{", "\\mathrm{"};
    for (size_t k = 0; k < sizeof wrappers / sizeof wrappers[0]; k++) {
        const char *w = last_occurrence(s, wrappers[k]);
        if (!w || w == s) continue;
        size_t at = (size_t)(w - s), end = group_end(s, at + strlen(wrappers[k]) - 1);
        if (end && s[end] == '\0') {
            s[at] = '\0';
            break;
        }
    }
    sbuf b = {0};
    for (size_t i = 0; s[i];) {
        size_t k = 0, lw = 0;
        for (; k < sizeof wrappers / sizeof wrappers[0]; k++)
            if (strncmp(s + i, wrappers[k], lw = strlen(wrappers[k])) == 0) break;
        size_t end = k < sizeof wrappers / sizeof wrappers[0] ? group_end(s, i + lw - 1) : 0;
        if (end) {
            sb_putn(&b, s + i + lw, end - i - lw - 1);
            i = end;
        } else {
            sb_putn(&b, s + i, 1);
            i++;
        }
    }
    free(s);
    return sb_take(&b);
}

/* "x=5" -> "5" when the left side is one or two letters. */
static void drop_variable_prefix(char *s) {
    char *eq = strchr(s, '=');
    if (!eq || strchr(eq + 1, '=') || eq == s || eq - s > 2) return;
    for (const char *p = s; p < eq; p++)
        if (!is_alpha(*p)) return;
    memmove(s, eq + 1, strlen(eq + 1) + 1);
}

static void drop_trailing_periods(char *s) {
    size_t n = strlen(s);
    while (n > 1 && s[n - 1] == '.' && s[n - 2] != '\\') s[--n] = '\0';
}

/* Append s[0..n) to b with single-character arguments of \sqrt and \frac braced, at any depth. */
static void brace_span(sbuf *b, const char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        int args = 0;
        if (n - i >= 5 && (strncmp(s + i, "\\sqrt", 5) == 0 || strncmp(s + i, "\\frac", 5) == 0) &&
            (i + 5 == n || !is_alpha(s[i + 5])))
            args = s[i + 1] == 's' ? 1 : 2;
        if (!args && s[i] != '{') {
            sb_putn(b, s + i, 1);
            i++;
            continue;
        }
        if (args) {
            sb_putn(b, s + i, 5);
            i += 5;
        } else if (group_end(s, i) == 0 || group_end(s, i) > n) {
            sb_putn(b, s + i, 1); /* an unclosed brace */
            i++;
            continue;
        } else {
            args = 1; /* a plain group: normalise inside it */
        }
        for (int a = 0; a < args && i < n; a++) {
            size_t end = s[i] == '{' ? group_end(s, i) : 0;
            if (end && end <= n) {
                sb_puts(b, "{");
                brace_span(b, s + i + 1, end - i - 2);
                sb_puts(b, "}");
                i = end;
            } else if (s[i] == '[' || s[i] == '\\' || s[i] == '{') {
                break; /* \sqrt[3]{x}, a command argument or an unclosed brace: leave as written */
            } else {
                sb_puts(b, "{");
                sb_putn(b, s + i, 1);
                sb_puts(b, "}");
                i++;
            }
        }
    }
}

/* "\sqrt2" -> "\sqrt{2}", "\frac12" -> "\frac{1}{2}", "\frac{\sqrt3}2" -> "\frac{\sqrt{3}}{2}". */
static char *brace_single_arguments(char *s) {
    sbuf b = {0};
    brace_span(&b, s, strlen(s));
    free(s);
    return sb_take(&b);
}

/* "-3/4" -> "-\frac{3}{4}" for integers; a plain number -> its canonical spelling. */
static char *canonical_numbers(char *s) {
    char *num = NULL;
    if (number_canonical(s, &num) != ALLOT_OK) {
        free(s);
        return NULL;
    }
    if (num) {
        free(s);
        return num;
    }
    const char *p = s + (*s == '-');
    const char *slash = strchr(p, '/');
    if (!slash || slash == p || !slash[1]) return s;
    for (const char *q = p; *q; q++)
        if (q != slash && !is_digit(*q)) return s;
    sbuf b = {0};
    if (*s == '-') sb_puts(&b, "-");
    sb_puts(&b, "\\frac{");
    sb_putn(&b, p, (size_t)(slash - p));
    sb_puts(&b, "}{");
    sb_puts(&b, slash + 1);
    sb_puts(&b, "}");
    free(s);
    return sb_take(&b);
}

char *allot_math_normalize(const char *text) {
    char *s = trimmed_copy(text, strlen(text));
    if (!s) return NULL;
    strip_math_delimiters(s);
    drop_spacing_and_decoration(s);
    if (!(s = drop_units_unwrap_text(s))) return NULL;
    remove_spaces(s);
    replace_all(s, "{,}", ",");
    drop_trailing_periods(s);
    drop_variable_prefix(s);
    if (!(s = brace_single_arguments(s))) return NULL;
    return canonical_numbers(s);
}

/* ---- extractors: each finds the answer as a span of the response (no allocation) --------- */

static int extract_full(const allot_grader *g, const char *r, const char **at, size_t *len) {
    (void)g;
    *at = r;
    *len = strlen(r);
    return 1;
}

static int extract_last_number(const allot_grader *g, const char *r, const char **at, size_t *len) {
    (void)g;
    int found = 0;
    for (size_t i = 0; r[i];) {
        int starts = is_digit(r[i]) || (r[i] == '.' && is_digit(r[i + 1]) && (i == 0 || !is_digit(r[i - 1])));
        if (!starts) {
            i++;
            continue;
        }
        size_t start = i;
        /* a minus sign, not a binary minus ("3-5") or part of a word ("x-2") */
        if (i > 0 && r[i - 1] == '-' && (i == 1 || !(is_digit(r[i - 2]) || is_alpha(r[i - 2]))))
            start = i - 1;
        int grouped;
        i += digits_with_groups(r + i, &grouped);
        if (r[i] == '.' && is_digit(r[i + 1])) {
            i++;
            while (is_digit(r[i])) i++;
        }
        *at = r + start;
        *len = i - start;
        found = 1;
    }
    return found;
}

static int extract_regex(const allot_grader *g, const char *r, const char **at, size_t *len) {
    regmatch_t m[2];
    size_t total = strlen(r), off = 0;
    int found = 0, flags = 0;
    while (off <= total && regexec(&g->regex, r + off, 2, m, flags) == 0) {
        int grp = g->regex.re_nsub >= 1 && m[1].rm_so >= 0 ? 1 : 0;
        *at = r + off + m[grp].rm_so;
        *len = (size_t)(m[grp].rm_eo - m[grp].rm_so);
        found = 1;
        off += (size_t)(m[0].rm_eo > m[0].rm_so ? m[0].rm_eo : m[0].rm_so + 1); /* step over empty matches */
        flags = REG_NOTBOL;
    }
    return found;
}

static int extract_boxed(const allot_grader *g, const char *r, const char **at, size_t *len) {
    (void)g;
    const char *b = last_occurrence(r, "\\boxed"), *f = last_occurrence(r, "\\fbox");
    const char *cmd = b && (!f || b > f) ? b : f;
    if (!cmd) return 0;
    const char *p = cmd + (cmd == b ? 6 : 5);
    while (*p == ' ') p++;
    if (*p == '{') {
        size_t end = group_end(p, 0);
        if (end < 2) return 0;
        *at = p + 1;
        *len = end - 2;
        return 1;
    }
    size_t n = 0; /* "\boxed 5" */
    while (p[n] && !is_space(p[n]) && p[n] != '$') n++;
    *at = p;
    *len = n;
    return n > 0;
}

static int extract_hash(const allot_grader *g, const char *r, const char **at, size_t *len) {
    (void)g;
    const char *h = last_occurrence(r, "####");
    if (!h) return 0;
    *at = h + 4;
    *len = strcspn(h + 4, "\n");
    return 1;
}

typedef struct extractor_entry {
    const char *name;
    allot_extract kind;
    int (*fn)(const allot_grader *g, const char *response, const char **at, size_t *len);
} extractor_entry;

static const extractor_entry extractors[] = {
    {"full", ALLOT_EXTRACT_FULL, extract_full},
    {"last-number", ALLOT_EXTRACT_LAST_NUMBER, extract_last_number},
    {"regex", ALLOT_EXTRACT_REGEX, extract_regex},
    {"boxed", ALLOT_EXTRACT_BOXED, extract_boxed},
    {"hash", ALLOT_EXTRACT_HASH, extract_hash},
};

/* ---- comparators ---------------------------------------------------------------------------- */

/* Normalisers: *out = NULL means "no answer"; the status is ALLOT_E_NOMEM only. */
static allot_status normalize_exact(const char *s, char **out) {
    *out = trimmed_copy(s, strlen(s));
    return *out ? ALLOT_OK : ALLOT_E_NOMEM;
}

static allot_status normalize_numeric(const char *s, char **out) {
    *out = NULL;
    char *t = trimmed_copy(s, strlen(s));
    if (!t) return ALLOT_E_NOMEM;
    static const char *const marks[] = {"\\$", "$", "\\%", "%"};
    for (size_t k = 0; k < sizeof marks / sizeof marks[0]; k++) replace_all(t, marks[k], "");
    replace_all(t, "{,}", ",");
    allot_status st = number_canonical(t, out);
    free(t);
    return st;
}

static allot_status normalize_math(const char *s, char **out) {
    *out = allot_math_normalize(s);
    return *out ? ALLOT_OK : ALLOT_E_NOMEM;
}

static int equal_exact(const allot_grader *g, const char *a, const char *b) {
    (void)g;
    return strcmp(a, b) == 0;
}

static int equal_numeric(const allot_grader *g, const char *a, const char *b) {
    return strcmp(a, b) == 0 || close_enough(strtod(a, NULL), strtod(b, NULL), g->tolerance);
}

static int equal_math(const allot_grader *g, const char *a, const char *b) {
    return strcmp(a, b) == 0 || close_enough(math_value(a), math_value(b), g->tolerance);
}

typedef struct comparator_entry {
    const char *name;
    allot_compare kind;
    allot_status (*normalize)(const char *s, char **out);
    int (*equal)(const allot_grader *g, const char *a, const char *b);
} comparator_entry;

static const comparator_entry comparators[] = {
    {"exact", ALLOT_COMPARE_EXACT, normalize_exact, equal_exact},
    {"numeric", ALLOT_COMPARE_NUMERIC, normalize_numeric, equal_numeric},
    {"math", ALLOT_COMPARE_MATH, normalize_math, equal_math},
};

/* ---- graders -------------------------------------------------------------------------------- */

static const struct {
    const char *name, *extract, *compare;
} presets[] = {{"exact", "full", "exact"},
               {"numeric", "last-number", "numeric"},
               {"regex", "regex", "exact"},
               {"boxed", "boxed", "math"},
               {"hash", "hash", "math"}};

allot_status allot_grader_init(allot_grader *g, const char *name, const char *regex, double tolerance,
                               allot_error *err) {
    memset(g, 0, sizeof *g);
    char ex[32] = "", cmp[32] = "";
    for (size_t k = 0; k < sizeof presets / sizeof presets[0]; k++)
        if (strcmp(name, presets[k].name) == 0) {
            snprintf(ex, sizeof ex, "%s", presets[k].extract);
            snprintf(cmp, sizeof cmp, "%s", presets[k].compare);
        }
    const char *slash = strchr(name, '/');
    if (!ex[0] && slash && (size_t)(slash - name) < sizeof ex && strlen(slash + 1) < sizeof cmp) {
        memcpy(ex, name, (size_t)(slash - name));
        ex[slash - name] = '\0';
        snprintf(cmp, sizeof cmp, "%s", slash + 1);
    }
    size_t e = 0, c = 0;
    while (e < sizeof extractors / sizeof extractors[0] && strcmp(extractors[e].name, ex) != 0) e++;
    while (c < sizeof comparators / sizeof comparators[0] && strcmp(comparators[c].name, cmp) != 0) c++;
    if (e == sizeof extractors / sizeof extractors[0] || c == sizeof comparators / sizeof comparators[0])
        return allot_error_set(
            err, ALLOT_E_ARGUMENT,
            "unknown grader \"%s\" (exact, numeric, regex, boxed, hash, or EXTRACTOR/COMPARATOR "
            "with full|last-number|regex|boxed|hash / exact|numeric|math)",
            name);
    if (!isfinite(tolerance) || tolerance < 0)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "tolerance: expected a finite number >= 0");
    g->extract = extractors[e].kind;
    g->compare = comparators[c].kind;
    g->tolerance = tolerance;
    snprintf(g->name, sizeof g->name, "%s/%s", ex, cmp);
    if ((g->extract == ALLOT_EXTRACT_REGEX) != (regex != NULL))
        return allot_error_set(err, ALLOT_E_ARGUMENT,
                               regex ? "a regex is only used by the regex extractor (grader %s)"
                                     : "the regex extractor needs a regex (grader %s)",
                               g->name);
    if (regex) {
        int rc = regcomp(&g->regex, regex, REG_EXTENDED);
        if (rc != 0) {
            char why[128];
            regerror(rc, &g->regex, why, sizeof why);
            return allot_error_set(err, ALLOT_E_ARGUMENT, "regex \"%s\": %s", regex, why);
        }
        g->has_regex = 1;
    }
    return ALLOT_OK;
}

void allot_grader_free(allot_grader *g) {
    if (g->has_regex) regfree(&g->regex);
    g->has_regex = 0;
}

static const extractor_entry *extractor_of(const allot_grader *g) {
    size_t e = 0;
    while (extractors[e].kind != g->extract) e++;
    return &extractors[e];
}

static const comparator_entry *comparator_of(const allot_grader *g) {
    size_t c = 0;
    while (comparators[c].kind != g->compare) c++;
    return &comparators[c];
}

/* Extract from text and normalise: *out = NULL when nothing usable was found. */
static allot_status extract_normalize(const allot_grader *g, const char *text, int fallback_whole,
                                      char **out) {
    *out = NULL;
    const char *at = NULL;
    size_t len = 0;
    if (!extractor_of(g)->fn(g, text, &at, &len)) {
        if (!fallback_whole) return ALLOT_OK;
        at = text;
        len = strlen(text);
    }
    char *x = trimmed_copy(at, len);
    if (!x) return ALLOT_E_NOMEM;
    allot_status st = *x ? comparator_of(g)->normalize(x, out) : ALLOT_OK;
    free(x);
    if (*out && !**out) {
        free(*out);
        *out = NULL;
    }
    return st;
}

allot_status allot_grader_answer(const allot_grader *g, const char *response, char **answer) {
    return extract_normalize(g, response, 0, answer);
}

allot_status allot_grader_gold(const allot_grader *g, const char *reference, char **gold, const char **why) {
    *why = NULL;
    allot_status st = extract_normalize(g, reference, 1, gold);
    if (st || *gold) return st;
    *why = g->compare == ALLOT_COMPARE_NUMERIC ? "no number in the reference answer (the grader needs one)"
                                               : "the reference answer is empty";
    return ALLOT_E_INVALID;
}

int allot_grader_correct(const allot_grader *g, const char *answer, const char *gold) {
    if (!answer || !gold) return 0;
    return comparator_of(g)->equal(g, answer, gold);
}
