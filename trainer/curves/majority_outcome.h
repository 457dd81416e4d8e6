/*
 * majority_outcome.h - the outcome of one majority vote from its answers' counts, shared by the
 * estimators (estimators.c) and the many-permutation kernels (perm_majority.c) so that both give the
 * same double, bit for bit.
 */
#ifndef ALLOT_MAJORITY_OUTCOME_H
#define ALLOT_MAJORITY_OUTCOME_H

/* The outcome of a vote from the counts of its answers (slot n_slots - 1, the null answer, never
 * wins): the share of correct answers among those with the largest count, 0 when no answer was
 * drawn. count(a) gives slot a's count. */
#define MAJORITY_OUTCOME(count, n_slots, slot_correct, out)                                                  \
    do {                                                                                                     \
        unsigned best_ = 0, n_win_ = 0, n_win_correct_ = 0;                                                  \
        for (size_t a_ = 0; a_ + 1 < (n_slots); a_++) {                                                      \
            unsigned c_ = (unsigned)(count(a_));                                                             \
            best_ = c_ > best_ ? c_ : best_;                                                                 \
        }                                                                                                    \
        for (size_t a_ = 0; a_ + 1 < (n_slots); a_++) {                                                      \
            unsigned eq_ = (unsigned)(count(a_)) == best_;                                                   \
            n_win_ += eq_;                                                                                   \
            n_win_correct_ += (0u - eq_) & (slot_correct)[a_];                                               \
        }                                                                                                    \
        (out) = best_ ? (double)n_win_correct_ / (double)n_win_ : 0.0;                                       \
    } while (0)

#endif
