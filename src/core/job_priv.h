/*
 * core/job_priv.h: the inside of a job, shared by job.c (lifecycle, runner),
 * worker.c (one file at a time) and committer.c (durable batches).
 *
 * Threads of a job: one runner (walk, make directories, hand the entries to
 * the worker pool and wait for them, finish), the pool's workers (copy files
 * into temps; shared with other jobs, see pool.h) and, when durability is
 * on, one committer (makes batches of temps durable, then names them).
 *
 * Locks, never nested with one another:
 *   lock      guards error, discards, finished (+ finished_cond), current,
 *             the seqs array (its results are atomics)
 *   cq_lock   guards the commit queue and workers_active (+ cq_cond)
 *   rate_lock guards the rate samples
 *   the pool's lock guards pool_next, pool_attached, pool_next_entry, inflight
 * The cancel token's gate is taken alone, for one linkat/rename at a time.
 */
#ifndef FERRY_CORE_JOB_PRIV_H
#define FERRY_CORE_JOB_PRIV_H

#include <pthread.h>
#include <stdatomic.h>

#include "core/commit.h"
#include "core/copyfile.h"
#include "core/plan.h"
#include "core/pool.h"
#include "core/ratelimit.h"
#include "ferry/job.h"

/* A finished temp waiting for the committer. */
typedef struct ferry__pending {
    ferry__temp temp;
    size_t entry;   /* index in plan.entries */
    char *name;     /* final name (differs from the entry's under the rename policy) */
    bool replace;   /* rename over an existing file */
    uint64_t bytes;
    dev_t dev;      /* filesystem of the temp, for syncfs */
    struct ferry__pending *next;
} ferry__pending;

#define RATE_SAMPLES 16

/* A sequence source as planned, with the result of each planned frame
 * (ferry_file_result, 0 while pending), kept after the plan is freed. */
typedef struct {
    ferry__seqplan plan;
    _Atomic unsigned char *result; /* plan.n of them */
} ferry__seqstate;

struct ferry_job {
    char id[16];
    ferry_job_spec spec;   /* pointers into the copies below */
    char **sources;
    char *dest, *tag, *frames;
    ferry_bus *bus;        /* borrowed, may be NULL */
    ferry_cancel *cancel;  /* set by cancel and by fatal errors */
    _Atomic int state;     /* ferry_job_state; changed only by CAS */

    ferry__target *targets;
    size_t ntargets;
    ferry__plan plan;      /* written by the runner before `planned`; freed at the end */
    atomic_bool planned;
    uint64_t bytes_planned, files_planned; /* the plan's totals, kept after it is freed */
    uid_t euid;            /* ours, read once: owners are preserved only as root */
    gid_t egid;
    ferry__ratelimit rl;
    bool limited;

    /* counters: written by workers, read by anyone */
    _Atomic uint64_t bytes_moved;   /* through the copier, minus discarded */
    _Atomic uint64_t bytes_skipped;
    _Atomic int64_t bytes_total_adj; /* failed files and sources that changed size */
    _Atomic uint64_t files_done, files_skipped, files_failed;
    _Atomic uint64_t files_walk_failed; /* sources the walk could not read (not in the plan) */
    atomic_bool stopping;               /* a full disk: no file starts any more; those in flight
                                         * finish or drop, queued ones are still named */
    const char *current;            /* points into the plan; under `lock` */
    _Atomic uint64_t stop_ns;       /* latest worker stop after a cancel */
    _Atomic uint64_t start_ns, end_ns;
    _Atomic int64_t cancel_latency_us;
    _Atomic int64_t started_at_ms, ended_at_ms; /* wall clock, for people */

    pthread_t runner;
    bool runner_started;            /* set by ferry_job_start, read by free */
    _Atomic(ferry__pool *) pool;    /* the workers: shared, or own_pool; read by cancel */
    ferry__pool *own_pool;          /* made by ferry_job_start when none was given */
    void (*on_end)(ferry_job *, void *); /* called by the runner as its last act */
    void *on_end_arg;

    struct ferry_job *pool_next;    /* in the pool's ring */
    bool pool_attached;
    size_t pool_next_entry;         /* next plan entry to hand out */
    unsigned inflight;              /* pool workers inside this job */

    pthread_mutex_t cq_lock;
    pthread_cond_t cq_cond;
    ferry__pending *cq_head, *cq_tail;
    size_t cq_count;
    uint64_t cq_bytes;
    uint64_t cq_first_ns;           /* when the oldest queued temp arrived */
    unsigned workers_active;
    pthread_t committer;
    bool has_committer;
    unsigned batch_files;           /* files per durable batch (ferry__batch_files) */
    bool committed_any;             /* committer only */

    pthread_mutex_t lock;
    pthread_cond_t finished_cond;
    bool finished;
    char *error;
    int *discards;
    size_t ndiscards, discards_cap;
    bool close_discards_at_end; /* the runner closes them once the job has ended */

    pthread_mutex_t rate_lock;
    uint64_t rate_t[RATE_SAMPLES], rate_b[RATE_SAMPLES];
    unsigned rate_n, rate_i;

    /* Set by the runner after the walk, before any worker starts, under
     * `lock`; freed by ferry_job_free. */
    ferry__seqstate *seqs;
    size_t nseqs;
};

/* One worker's own state. */
typedef struct {
    ferry_job *job;   /* the job of its current entry */
    ferry__copier copier;
    uint32_t dir_idx; /* the cached destination directory */
    int dir_fd;       /* -1 when none */
} ferry__worker;

/* worker.c */
/* dirs.c: the copied directories, made by the runner before the workers start. */

/* Makes plan directory i (copy_meta) below the destination, settling what is in
 * its way; true when it is there to copy into (*existed: it was already). A
 * failure or skip is reported (its own result) and noted in the directory. */
bool ferry__make_dir(ferry_job *job, size_t i, bool *existed);
/* Plan directory d (or its parent, with its last component in *name, owned),
 * opened without following a symlink below the destination: ferry__open_below. */
int ferry__dir_open(ferry_job *job, const ferry__dir *d, int flags);
int ferry__dir_open_parent(ferry_job *job, const ferry__dir *d, char **name);

void ferry__do_entry(ferry__worker *w, size_t idx);
int ferry__dir_fd(ferry__worker *w, uint32_t idx, int *fd);
void ferry__commit_one(ferry__worker *w, ferry__pending *p);

/* committer.c */
unsigned ferry__batch_files(void);
void *ferry__committer_main(void *arg);
/* Queues a finished temp for the committer; takes ownership of p. */
void ferry__enqueue(ferry_job *job, ferry__pending *p, int dirfd);
void ferry__pending_free(ferry__pending *p);

/* job.c: results and failures, callable from every job thread */
void ferry__file_done(ferry_job *job, const ferry__entry *e, const char *name);
void ferry__file_skipped(ferry_job *job, const ferry__entry *e, const char *why);
void ferry__file_failed(ferry_job *job, const ferry__entry *e, const char *why);
/* Fails the whole job (out of memory): stops every worker, drops what is queued. */
void ferry__job_fail(ferry_job *job, const char *why);
/*
 * Stops the job for a full destination, as cp would have left it: no file
 * starts any more, complete ones are still named, the job ends failed with
 * why. True for the first call only (the one whose file carries the cause).
 */
bool ferry__job_stop(ferry_job *job, const char *why);
/* No file of the job is to start: cancelled, failed or stopped. */
bool ferry__job_halted(ferry_job *job);
/* Drops a temp: a cancelled one's descriptor is kept for ferry_job_take_discards. */
void ferry__discard(ferry_job *job, ferry__temp *t, int dirfd, uint64_t copied);
/* Names the file a worker just started (progress shows it). */
void ferry__set_current(ferry_job *job, const char *path);
/* A worker noticed the cancel: the latest of these ends the cancel latency. */
void ferry__note_stop(ferry_job *job);
/* A job of a journalled spec: its id and its resolved targets (taken over). */
int ferry__job_new_restored(ferry_job **out, const ferry_job_spec *spec, ferry_bus *bus,
                            const char *id, ferry__target *targets, size_t ntargets);
/* Starts the job's runner on a shared pool; on_end runs on the runner as its last act. */
int ferry__job_start_in(ferry_job *job, ferry__pool *pool, void (*on_end)(ferry_job *, void *),
                        void *arg);

#endif
