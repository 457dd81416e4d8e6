/*
 * cleanup.c - see cleanup.h.
 *
 * A slot moves FREE -> CLAIMED (its owner copies the path in) -> ARMED (the handler may act on it)
 * -> FREE. The handler touches ARMED slots only and calls async-signal-safe functions only (kill,
 * waitpid, unlink, rmdir, sigaction, raise).
 */
#include "cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rng.h"

enum { SLOT_FREE, SLOT_CLAIMED, SLOT_ARMED };
enum { KIND_FILE, KIND_DIR, KIND_CHILD };

typedef struct cleanup_slot {
    atomic_int state;
    int kind;
    pid_t pid;
    char path[ALLOT_CLEANUP_PATH_MAX];
} cleanup_slot;

static cleanup_slot slots[ALLOT_CLEANUP_SLOTS];
static atomic_int installed;
static atomic_uint_fast64_t tmp_counter;

static const int cleanup_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
#define N_CLEANUP_SIGNALS (sizeof cleanup_signals / sizeof cleanup_signals[0])

static void run_cleanup(void) {
    /* children first, so that none of them writes a file again after it was removed */
    for (size_t i = 0; i < ALLOT_CLEANUP_SLOTS; i++)
        if (atomic_load(&slots[i].state) == SLOT_ARMED && slots[i].kind == KIND_CHILD) {
            kill(slots[i].pid, SIGKILL);
            while (waitpid(slots[i].pid, NULL, 0) < 0 && errno == EINTR) {
            }
        }
    for (size_t i = 0; i < ALLOT_CLEANUP_SLOTS; i++)
        if (atomic_load(&slots[i].state) == SLOT_ARMED && slots[i].kind == KIND_FILE) unlink(slots[i].path);
    /* directories last, the most recently registered (deepest) first; rmdir fails unless empty */
    for (size_t i = ALLOT_CLEANUP_SLOTS; i-- > 0;)
        if (atomic_load(&slots[i].state) == SLOT_ARMED && slots[i].kind == KIND_DIR) rmdir(slots[i].path);
}

static void on_signal(int sig) {
    int saved = errno;
    run_cleanup();
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
    errno = saved;
    raise(sig); /* delivered with the default action once the handler returns */
}

void allot_cleanup_install(void) {
    if (atomic_exchange(&installed, 1)) return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < N_CLEANUP_SIGNALS; i++) sigaddset(&sa.sa_mask, cleanup_signals[i]);
    for (size_t i = 0; i < N_CLEANUP_SIGNALS; i++) {
        struct sigaction old;
        /* a signal ignored by whoever started us (nohup, a shell's background job) stays ignored */
        if (sigaction(cleanup_signals[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
        sigaction(cleanup_signals[i], &sa, NULL);
    }
    struct sigaction ign;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGXFSZ, &ign, NULL);
}

static int claim(int kind, const char *path, pid_t pid) {
    size_t len = path ? strlen(path) : 0;
    if (len >= ALLOT_CLEANUP_PATH_MAX) return -1;
    for (int i = 0; i < ALLOT_CLEANUP_SLOTS; i++) {
        int expected = SLOT_FREE;
        if (!atomic_compare_exchange_strong(&slots[i].state, &expected, SLOT_CLAIMED)) continue;
        slots[i].kind = kind;
        slots[i].pid = pid;
        if (path) memcpy(slots[i].path, path, len + 1);
        atomic_store(&slots[i].state, SLOT_ARMED);
        return i;
    }
    return -1;
}

int allot_cleanup_add_file(const char *path) {
    return claim(KIND_FILE, path, 0);
}

int allot_cleanup_add_dir(const char *path) {
    return claim(KIND_DIR, path, 0);
}

int allot_cleanup_add_child(pid_t pid) {
    return claim(KIND_CHILD, NULL, pid);
}

void allot_cleanup_remove(int id) {
    if (id < 0 || id >= ALLOT_CLEANUP_SLOTS) return;
    atomic_store(&slots[id].state, SLOT_FREE);
}

/* Six characters of [A-Za-z0-9] from a value that differs between calls and processes. */
static void random_suffix(char out[7]) {
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t seed[4] = {(uint64_t)ts.tv_sec, (uint64_t)ts.tv_nsec, (uint64_t)getpid(),
                        (uint64_t)atomic_fetch_add(&tmp_counter, 1)};
    uint64_t h = allot_hash64(seed, sizeof seed);
    for (int i = 0; i < 6; i++) {
        out[i] = alphabet[h % 62];
        h /= 62;
    }
    out[6] = '\0';
}

int allot_cleanup_create_tmp(const char *target, char **tmp_path, int *slot) {
    *tmp_path = NULL;
    *slot = -1;
    char prefix[64];
    int pl = snprintf(prefix, sizeof prefix, "%s%ld.", ALLOT_TMP_MARKER, (long)getpid());
    size_t tl = strlen(target), n = tl + (size_t)pl + 7;
    if (n >= ALLOT_CLEANUP_PATH_MAX) {
        errno = ENAMETOOLONG;
        return -1;
    }
    char *p = malloc(n);
    if (!p) {
        errno = ENOMEM;
        return -1;
    }
    for (int attempt = 0; attempt < 100; attempt++) {
        char suffix[7];
        random_suffix(suffix);
        snprintf(p, n, "%s%s%s", target, prefix, suffix);
        int id = allot_cleanup_add_file(p); /* armed before the file exists: never a window */
        if (id < 0) {
            free(p);
            errno = ENOSPC;
            return -1;
        }
        int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) {
            *tmp_path = p;
            *slot = id;
            return fd;
        }
        int e = errno;
        allot_cleanup_remove(id);
        if (e != EEXIST) {
            free(p);
            errno = e;
            return -1;
        }
    }
    free(p);
    errno = EEXIST;
    return -1;
}
