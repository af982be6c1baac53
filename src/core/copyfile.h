/*
 * core/copyfile.h: moves the bytes of one open file into another, in bounded
 * chunks, checking the cancel token between chunks. It never names, links or
 * closes anything: the caller owns both descriptors.
 *
 * The ladder, as in coreutils and libuv: FICLONE (a reflink, where the
 * filesystem shares extents), then copy_file_range in chunks of at most
 * FERRY_CHUNK bytes, then read/write where the kernel refuses. Holes of a
 * sparse source are kept (SEEK_DATA/SEEK_HOLE), as cp --sparse=auto does.
 */
#ifndef FERRY_CORE_COPYFILE_H
#define FERRY_CORE_COPYFILE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/flusher.h"
#include "core/ratelimit.h"
#include "ferry/cancel.h"

/*
 * 1 MiB per call: measured here, a 1 MiB copy_file_range takes p99 0.3 ms
 * and a 4 MiB one p99 10 ms; the chunk bounds how long a cancel waits.
 */
#define FERRY_CHUNK (1u << 20)

/*
 * With durability on, writeback of the destination is started (not waited
 * for) every 8 MiB, so the sync before the commit finds little left to write
 * and the copy overlaps the disk's work instead of preceding it. The flusher
 * thread starts it (core/flusher.h): starting it can wait for the disk.
 */
#define FERRY_WRITEBACK_STEP (8u << 20)

typedef enum {
    FERRY_METHOD_NONE = 0, /* empty file: nothing to move */
    FERRY_METHOD_CLONE,    /* FICLONE reflink */
    FERRY_METHOD_CFR,      /* copy_file_range */
    FERRY_METHOD_RW        /* read/write through a user buffer */
} ferry__method;

/* Per-worker state, reused from file to file. */
typedef struct {
    ferry_cancel *cancel;         /* borrowed: the job's token */
    ferry__ratelimit *rl;         /* borrowed, may be NULL */
    _Atomic uint64_t *progress;   /* borrowed: bytes moved are added here */
    char *buf;                    /* read/write buffer, FERRY_CHUNK bytes, lazily made */
    bool no_clone;                /* FICLONE refused once: don't ask again */
    bool no_cfr;                  /* copy_file_range refused once */
    ferry__flusher *flusher;      /* borrowed: starts writeback every FERRY_WRITEBACK_STEP
                                     bytes; NULL: none (no durability asked) */
    uint64_t kicked;              /* offset up to which writeback was handed over */
} ferry__copier;

typedef struct {
    uint64_t copied;      /* bytes of dst done: written, or holes kept (sparse source) */
    ferry__method method; /* the path the bytes took */
    int err;              /* errno of the failure, 0 if none */
    const char *op;       /* the failing operation ("read", "write", ...) */
    bool err_on_dst;      /* the failure was on the destination side */
} ferry__copy_result;

void ferry__copier_init(ferry__copier *cp, ferry_cancel *cancel, ferry__ratelimit *rl,
                        _Atomic uint64_t *progress);
void ferry__copier_release(ferry__copier *cp);

/*
 * Copies src (from its start) to the empty dst until end of file. size_hint
 * is the size seen by fstat. Returns FERRY_OK, FERRY_ECANCELLED (stopped at
 * a chunk boundary), FERRY_ENOMEM, or FERRY_EOS with res->err and res->op set.
 */
int ferry__copy_data(ferry__copier *cp, int src, int dst, uint64_t size_hint,
                     ferry__copy_result *res);

const char *ferry__method_name(ferry__method m);

#endif
