/*
 * perm_majority.c - majority outcomes of a block of permutations of one pool (perm_majority.h).
 *
 * The portable kernel shuffles and scores one permutation after the other. The AVX-512 kernel keeps
 * the block's sixteen xoshiro256** generators in vector lanes (two groups of eight), so one step of
 * the sixteen shuffles costs two vector draws, one gather and one scatter: lane l's copy of the
 * pool's slots is column l of a [n][16] table, so the sixteen addresses are distinct. Lemire's
 * rejection is taken by a lane only when its low product falls under the bound, as in the scalar
 * draw, and is then finished by the scalar generator on that lane's state: every lane sees exactly
 * the draws of the portable kernel. Counts are bytes packed in a 64-bit lane (at most 8 slots, fewer
 * than 256 draws) or a [n_slots][16] table, and the outcome is MAJORITY_OUTCOME in vector lanes.
 */
#include "perm_majority.h"

#include <string.h>

#include "estimators.h"
#include "majority_outcome.h"

void allot_perm_seed(allot_rng *rng, uint64_t seed, uint64_t stream, uint64_t p) {
    allot_rng_seed_stream(rng, seed, stream ^ ((p + 1) * 0xbf58476d1ce4e5b9ULL));
}

uint32_t allot_perm_draw_below(allot_rng *rng, uint32_t n) {
    uint64_t m = (allot_rng_next(rng) >> 32) * (uint64_t)n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        uint32_t threshold = (uint32_t)(-n) % n;
        while (low < threshold) {
            m = (allot_rng_next(rng) >> 32) * (uint64_t)n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

static size_t drawn(const allot_majority_job *job) {
    return job->at[job->n_at - 1];
}

size_t allot_majority_block_work(const allot_majority_job *job) {
    /* portable: n + n_slots ints; AVX-512: a copy of the slots and a count per slot, per lane */
    size_t portable = (job->n + job->n_slots) * sizeof(int);
    size_t lanes = ALLOT_PERM_BLOCK * (job->n + job->n_slots) * sizeof(int32_t);
    return portable > lanes ? portable : lanes;
}

/* One permutation: the forward Fisher-Yates shuffle of a copy of the slots, then its prefixes. */
static void one_permutation(const allot_majority_job *job, allot_rng *rng, double *out, int *work) {
    size_t n = job->n, kmax = drawn(job);
    int *ans = work, *cnt = work + n;
    allot_rng r = *rng; /* a copy whose address stays here: its state can live in registers */
    memcpy(ans, job->slots, n * sizeof *ans);
    for (size_t i = 0; i < kmax && i + 1 < n; i++) {
        size_t j = i + allot_perm_draw_below(&r, (uint32_t)(n - i));
        int t = ans[i];
        ans[i] = ans[j];
        ans[j] = t;
    }
    *rng = r;
    allot_est_majority_at(ans, kmax, job->slot_correct, job->n_slots, job->at, job->n_at, out, cnt);
}

static void block_portable(const allot_majority_job *job, allot_rng *rng, size_t count, double *out,
                           void *work) {
    for (size_t l = 0; l < count; l++) one_permutation(job, &rng[l], out + l * job->n_at, work);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define PERM_AVX512 1
_Static_assert(ALLOT_PERM_BLOCK == 16, "the AVX-512 kernel runs 16 lanes: two groups of 8 generators");
#define PM_TARGET __attribute__((target("avx512f")))

/* The lanes in flag whose low product fell under the bound: finish allot_perm_draw_below's
 * rejection with the scalar generator on the lane's state (st[word][lane], after the first draw). */
static void finish_rejections(uint64_t st[4][8], uint64_t *m, unsigned flag, uint32_t bound) {
    uint32_t threshold = (uint32_t)(-bound) % bound;
    for (size_t l = 0; l < 8; l++) {
        if (!(flag >> l & 1u)) continue;
        allot_rng r = {{st[0][l], st[1][l], st[2][l], st[3][l]}};
        while ((uint32_t)m[l] < threshold) m[l] = (allot_rng_next(&r) >> 32) * (uint64_t)bound;
        for (size_t w = 0; w < 4; w++) st[w][l] = r.s[w];
    }
}

/* The lanes' generator states (one vector per state word) and their products of the step. */
typedef struct lanes8 {
    __m512i s[4], m;
} lanes8;

/* The rare branch of PM_DRAW8, through memory: the flagged lanes' rejections finished. Taken and
 * returned by value, so that the hot loop's states stay in registers. */
PM_TARGET __attribute__((noinline)) static lanes8 draw8_rejections(lanes8 v, __mmask8 flag, uint32_t bound) {
    uint64_t st[4][8], ml[8];
    for (size_t w = 0; w < 4; w++) _mm512_storeu_si512(st[w], v.s[w]);
    _mm512_storeu_si512(ml, v.m);
    finish_rejections(st, ml, flag, bound);
    for (size_t w = 0; w < 4; w++) v.s[w] = _mm512_loadu_si512(st[w]);
    v.m = _mm512_loadu_si512(ml);
    return v;
}

/* allot_rng_next on eight lanes (x * 5 and x * 9 as shifts and adds), then the draw below bound:
 * the lanes' 32-bit offsets. */
#define PM_DRAW8(s0, s1, s2, s3, bound, offsets)                                                             \
    do {                                                                                                     \
        __m512i x_ = _mm512_add_epi64(s1, _mm512_slli_epi64(s1, 2));                                         \
        __m512i r_ = _mm512_rol_epi64(x_, 7);                                                                \
        __m512i out_ = _mm512_add_epi64(r_, _mm512_slli_epi64(r_, 3));                                       \
        __m512i t_ = _mm512_slli_epi64(s1, 17);                                                              \
        s2 = _mm512_xor_si512(s2, s0);                                                                       \
        s3 = _mm512_xor_si512(s3, s1);                                                                       \
        s1 = _mm512_xor_si512(s1, s2);                                                                       \
        s0 = _mm512_xor_si512(s0, s3);                                                                       \
        s2 = _mm512_xor_si512(s2, t_);                                                                       \
        s3 = _mm512_rol_epi64(s3, 45);                                                                       \
        __m512i bv_ = _mm512_set1_epi64((long long)(bound));                                                 \
        __m512i m_ = _mm512_mul_epu32(_mm512_srli_epi64(out_, 32), bv_);                                     \
        __mmask8 flag_ =                                                                                     \
            _mm512_cmplt_epu64_mask(_mm512_and_si512(m_, _mm512_set1_epi64(0xffffffffLL)), bv_);             \
        if (__builtin_expect(flag_ != 0, 0)) {                                                               \
            lanes8 v_ = {{s0, s1, s2, s3}, m_};                                                              \
            v_ = draw8_rejections(v_, flag_, (bound));                                                       \
            s0 = v_.s[0], s1 = v_.s[1], s2 = v_.s[2], s3 = v_.s[3], m_ = v_.m;                               \
        }                                                                                                    \
        (offsets) = _mm512_cvtepi64_epi32(_mm512_srli_epi64(m_, 32));                                        \
    } while (0)

/* MAJORITY_OUTCOME in eight vector lanes, count(a) giving slot a's eight counts as 64-bit lanes: the
 * same integer counts, and the one division is IEEE's in both. */
#define PM_OUTCOMES8(count, job, v)                                                                          \
    do {                                                                                                     \
        __m512i best_ = _mm512_setzero_si512(), n_win_ = best_, n_correct_ = best_;                          \
        __m512i one_ = _mm512_set1_epi64(1);                                                                 \
        size_t na_ = (job)->n_slots - 1; /* the null answer never wins */                                    \
        for (size_t a_ = 0; a_ < na_; a_++) best_ = _mm512_max_epu64(best_, count(a_));                      \
        for (size_t a_ = 0; a_ < na_; a_++) {                                                                \
            __mmask8 eq_ = _mm512_cmpeq_epu64_mask(count(a_), best_);                                        \
            n_win_ = _mm512_mask_add_epi64(n_win_, eq_, n_win_, one_);                                       \
            if ((job)->slot_correct[a_])                                                                     \
                n_correct_ = _mm512_mask_add_epi64(n_correct_, eq_, n_correct_, one_);                       \
        }                                                                                                    \
        __mmask8 any_ = _mm512_cmpneq_epu64_mask(best_, _mm512_setzero_si512());                             \
        (v) = _mm512_maskz_div_pd(any_, _mm512_cvtepi32_pd(_mm512_cvtepi64_epi32(n_correct_)),               \
                                  _mm512_cvtepi32_pd(_mm512_cvtepi64_epi32(n_win_)));                        \
    } while (0)

/* The sixteen lanes' outcomes v (lanes 0-7, 8-15) to out[lane * stride]. */
PM_TARGET static inline void store_outcomes(__m512d v_lo, __m512d v_hi, double *out, size_t stride) {
    double tmp[ALLOT_PERM_BLOCK];
    _mm512_storeu_pd(tmp, v_lo);
    _mm512_storeu_pd(tmp + 8, v_hi);
    for (size_t l = 0; l < ALLOT_PERM_BLOCK; l++) out[l * stride] = tmp[l];
}

/* Outcomes from counts packed as bytes: count(a) of a lane is byte a of its 64-bit word. */
PM_TARGET static void outcomes_packed(const allot_majority_job *job, __m512i lo, __m512i hi, double *out,
                                      size_t stride) {
    __m512d v_lo, v_hi;
    __m512i byte = _mm512_set1_epi64(0xff);
#define PM_LO(a) _mm512_and_si512(_mm512_srl_epi64(lo, _mm_cvtsi32_si128((int)(8 * (a)))), byte)
#define PM_HI(a) _mm512_and_si512(_mm512_srl_epi64(hi, _mm_cvtsi32_si128((int)(8 * (a)))), byte)
    PM_OUTCOMES8(PM_LO, job, v_lo);
    PM_OUTCOMES8(PM_HI, job, v_hi);
#undef PM_LO
#undef PM_HI
    store_outcomes(v_lo, v_hi, out, stride);
}

/* Outcomes from rows of ALLOT_PERM_BLOCK 32-bit counts per slot. */
PM_TARGET static void outcomes_rows(const allot_majority_job *job, const int32_t *cnt, double *out,
                                    size_t stride) {
    __m512d v_lo, v_hi;
#define PM_LO(a) _mm512_cvtepu32_epi64(_mm256_loadu_si256((const __m256i *)(cnt + (a)*ALLOT_PERM_BLOCK)))
#define PM_HI(a) _mm512_cvtepu32_epi64(_mm256_loadu_si256((const __m256i *)(cnt + (a)*ALLOT_PERM_BLOCK + 8)))
    PM_OUTCOMES8(PM_LO, job, v_lo);
    PM_OUTCOMES8(PM_HI, job, v_hi);
#undef PM_LO
#undef PM_HI
    store_outcomes(v_lo, v_hi, out, stride);
}

/* Eight generators' states, one vector per state word, from rng[0..8) and back. */
PM_TARGET static void load_states(const allot_rng *rng, __m512i s[4]) {
    for (size_t w = 0; w < 4; w++) {
        uint64_t col[8];
        for (size_t l = 0; l < 8; l++) col[l] = rng[l].s[w];
        s[w] = _mm512_loadu_si512(col);
    }
}

PM_TARGET static void store_states(const __m512i s[4], allot_rng *rng) {
    for (size_t w = 0; w < 4; w++) {
        uint64_t col[8];
        _mm512_storeu_si512(col, s[w]);
        for (size_t l = 0; l < 8; l++) rng[l].s[w] = col[l];
    }
}

/* splitmix64 on eight lanes: x advanced, its output returned (rng.c's, with vector products). */
#define PM_SPLITMIX8(x, out)                                                                                 \
    do {                                                                                                     \
        (x) = _mm512_add_epi64((x), _mm512_set1_epi64((long long)0x9e3779b97f4a7c15ULL));                    \
        __m512i z_ = _mm512_xor_si512((x), _mm512_srli_epi64((x), 30));                                      \
        z_ = _mm512_mullo_epi64(z_, _mm512_set1_epi64((long long)0xbf58476d1ce4e5b9ULL));                    \
        z_ = _mm512_xor_si512(z_, _mm512_srli_epi64(z_, 27));                                                \
        z_ = _mm512_mullo_epi64(z_, _mm512_set1_epi64((long long)0x94d049bb133111ebULL));                    \
        (out) = _mm512_xor_si512(z_, _mm512_srli_epi64(z_, 31));                                             \
    } while (0)

/* allot_perm_seed for permutations p0 .. p0 + 7 into rng[0..8): allot_rng_seed_stream's arithmetic
 * in vector lanes (64-bit products need AVX-512DQ). */
__attribute__((target("avx512f,avx512dq"))) static void seed8_avx512(allot_rng *rng, uint64_t seed,
                                                                     uint64_t stream, uint64_t p0) {
    __m512i p =
        _mm512_add_epi64(_mm512_set1_epi64((long long)(p0 + 1)), _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7));
    __m512i st = _mm512_xor_si512(_mm512_set1_epi64((long long)stream),
                                  _mm512_mullo_epi64(p, _mm512_set1_epi64((long long)0xbf58476d1ce4e5b9ULL)));
    __m512i x = _mm512_add_epi64(_mm512_mullo_epi64(st, _mm512_set1_epi64((long long)0xd1342543de82ef95ULL)),
                                 _mm512_set1_epi64((long long)0x2545f4914f6cdd1dULL));
    x = _mm512_xor_si512(x, _mm512_set1_epi64((long long)seed));
    __m512i s[4];
    PM_SPLITMIX8(x, x); /* the stream's seed, which allot_rng_seed then expands */
    for (size_t w = 0; w < 4; w++) PM_SPLITMIX8(x, s[w]);
    store_states(s, rng);
}

/* The kernel: each lane's copy of the slots is column l of ans[n][16] (32-bit), so a step's sixteen
 * swaps are one gather and one scatter at distinct addresses; counts are bytes packed in a 64-bit
 * lane (<= 8 slots, < 256 draws) or columns of cnt[n_slots][16]. The generators run as two groups
 * of eight lanes. */
PM_TARGET static void block_avx512(const allot_majority_job *job, allot_rng *rng, double *out,
                                   int32_t *work) {
    size_t n = job->n, kmax = drawn(job), n_slots = job->n_slots, next = 0;
    int packed_counts = n_slots <= 8 && kmax < 256;
    int32_t *ans = work, *cnt = packed_counts ? NULL : work + ALLOT_PERM_BLOCK * n;
    for (size_t i = 0; i < n; i++)
        _mm512_storeu_si512(ans + i * ALLOT_PERM_BLOCK, _mm512_set1_epi32(job->slots[i]));
    if (cnt) memset(cnt, 0, ALLOT_PERM_BLOCK * n_slots * sizeof *cnt);
    __m512i s[4], t[4];
    load_states(rng, s);
    load_states(rng + 8, t);
    __m512i s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3], t0 = t[0], t1 = t[1], t2 = t[2], t3 = t[3];
    __m512i lo = _mm512_setzero_si512(), hi = lo, one = _mm512_set1_epi64(1); /* packed counts */
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                  ones = _mm512_set1_epi32(1);
    for (size_t i = 0; i < kmax; i++) {
        __m512i a = _mm512_loadu_si512(ans + i * ALLOT_PERM_BLOCK);
        if (i + 1 < n) { /* the last entry of the pool is never swapped */
            __m256i ja, jb;
            PM_DRAW8(s0, s1, s2, s3, (uint32_t)(n - i), ja);
            PM_DRAW8(t0, t1, t2, t3, (uint32_t)(n - i), jb);
            __m512i j = _mm512_add_epi32(_mm512_inserti64x4(_mm512_castsi256_si512(ja), jb, 1),
                                         _mm512_set1_epi32((int)i));
            __m512i idx = _mm512_add_epi32(_mm512_slli_epi32(j, 4), lane);
            __m512i oi = a;
            a = _mm512_i32gather_epi32(idx, ans, 4);
            _mm512_i32scatter_epi32(ans, idx, oi, 4);
        }
        if (cnt) {
            __m512i ci = _mm512_add_epi32(_mm512_slli_epi32(a, 4), lane);
            __m512i c = _mm512_i32gather_epi32(ci, cnt, 4);
            _mm512_i32scatter_epi32(cnt, ci, _mm512_add_epi32(c, ones), 4);
        } else {
            __m512i sh_lo = _mm512_slli_epi64(_mm512_cvtepu32_epi64(_mm512_castsi512_si256(a)), 3);
            __m512i sh_hi = _mm512_slli_epi64(_mm512_cvtepu32_epi64(_mm512_extracti64x4_epi64(a, 1)), 3);
            lo = _mm512_add_epi64(lo, _mm512_sllv_epi64(one, sh_lo));
            hi = _mm512_add_epi64(hi, _mm512_sllv_epi64(one, sh_hi));
        }
        if (i + 1 == job->at[next]) {
            if (cnt)
                outcomes_rows(job, cnt, out + next, job->n_at);
            else
                outcomes_packed(job, lo, hi, out + next, job->n_at);
            next++;
        }
    }
    s[0] = s0, s[1] = s1, s[2] = s2, s[3] = s3, t[0] = t0, t[1] = t1, t[2] = t2, t[3] = t3;
    store_states(s, rng);
    store_states(t, rng + 8);
}
#endif

/* The vector kernel runs here (CPU) and for this call: a full block, 32-bit element indices. */
static int avx512_runs(const allot_majority_job *job, size_t count) {
#ifdef PERM_AVX512
    return __builtin_cpu_supports("avx512f") && count == ALLOT_PERM_BLOCK &&
           job->n <= (size_t)INT32_MAX / ALLOT_PERM_BLOCK &&
           job->n_slots <= (size_t)INT32_MAX / ALLOT_PERM_BLOCK;
#else
    (void)job;
    (void)count;
    return 0;
#endif
}

static void block_run(int vector, const allot_majority_job *job, allot_rng *rng, size_t count, double *out,
                      void *work) {
#ifdef PERM_AVX512
    if (vector) {
        block_avx512(job, rng, out, work);
        return;
    }
#endif
    (void)vector;
    block_portable(job, rng, count, out, work);
}

int allot_majority_block_kernel(const char *kernel, const allot_majority_job *job, allot_rng *rng,
                                size_t count, double *out, void *work) {
    int vector = strcmp(kernel, "avx512") == 0;
    if (vector ? !avx512_runs(job, count) : strcmp(kernel, "portable") != 0) return 0;
    block_run(vector, job, rng, count, out, work);
    return 1;
}

void allot_majority_block(const allot_majority_job *job, allot_rng *rng, size_t count, double *out,
                          void *work) {
    block_run(avx512_runs(job, count), job, rng, count, out, work);
}

void allot_perm_seed_block(allot_rng *rng, size_t count, uint64_t seed, uint64_t stream, uint64_t p0) {
#ifdef PERM_AVX512
    if (count == ALLOT_PERM_BLOCK && __builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512dq")) {
        seed8_avx512(rng, seed, stream, p0);
        seed8_avx512(rng + 8, seed, stream, p0 + 8);
        return;
    }
#endif
    for (size_t l = 0; l < count; l++) allot_perm_seed(&rng[l], seed, stream, p0 + l);
}
