/*
 * ferry/job.h: a copy job.
 *
 * A job copies sources into a destination with the guarantees ferry makes:
 * a final name only ever holds a complete (and, unless no_fsync, durable)
 * file; a cancel closes the job's commit gate before it returns, and workers
 * stop writing at their next chunk boundary (at most 1 MiB away).
 *
 * Threads: ferry_job_start() runs the job on threads of its own; every other
 * function may be called from any thread, except ferry_job_free().
 */
#ifndef FERRY_JOB_H
#define FERRY_JOB_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/events.h"
#include "ferry/roots.h"

typedef struct ferry_job ferry_job;

typedef enum {
    FERRY_CONFLICT_FAIL = 0,  /* the file fails with "destination exists" */
    FERRY_CONFLICT_SKIP,      /* leave the existing file, count as skipped */
    FERRY_CONFLICT_OVERWRITE, /* replace it atomically (rename over it) */
    FERRY_CONFLICT_RENAME     /* write beside it as "name (1).ext" */
} ferry_conflict;

typedef enum {
    FERRY_JOB_QUEUED = 0,
    FERRY_JOB_RUNNING,
    FERRY_JOB_CANCELLED,
    FERRY_JOB_DONE,
    FERRY_JOB_FAILED,
    FERRY_JOB_INTERRUPTED
} ferry_job_state;

typedef struct {
    const char *const *sources; /* borrowed; copied by ferry_job_new() */
    size_t nsources;
    const char *dest;
    bool dest_is_dir;        /* always copy into dest (created if missing), as the API does;
                              * false: cp -r placement */
    ferry_conflict on_conflict;
    uint64_t bwlimit;        /* bytes per second for the whole job; 0: none */
    bool no_fsync;           /* skip durability (file data and names) */
    bool temp_names;         /* named hidden temps + rename instead of O_TMPFILE */
    unsigned workers;        /* copy threads; 0: FERRY_DEFAULT_WORKERS */
    const char *tag;         /* optional group name */
    const ferry_roots *roots; /* every file operation beneath these (borrowed: outlives the
                              * job), resolved at each call, so that nothing swapped in while
                              * the job runs leads outside; NULL: no confinement (the CLI) */

    /* Sequence sources (docs/sequences.md): a source that names no file but
     * reads as a pattern ("/shots/sh010/comp.####.exr") copies its frames
     * directly into dest. */
    const char *frames;      /* frames to copy ("1001-1100x2"); NULL: every frame on disk */
    bool renumber;           /* number the copies renumber_start, +1, +2... in the order of
                              * the frames asked for (a missing one keeps its number free) */
    int64_t renumber_start;
    bool keep_step;          /* with renumber: shift instead, every frame keeping its distance
                              * from the first (1001-1020x2 from 1: 1, 3, 5...) */
    int pad;                 /* digits of the copied frames' numbers; 0: as the source */
    bool require_complete;   /* refuse to start when a frame asked for is missing */
    bool check_exr;          /* check each copied .exr (ferry/exr.h) before it gets its name;
                              * a broken one fails */
} ferry_job_spec;

#define FERRY_DEFAULT_WORKERS 4

typedef struct {
    ferry_job_state state;
    uint64_t bytes_total;    /* bytes of the regular files in the plan */
    uint64_t bytes_done;     /* bytes copied and committed, plus skipped files (progress) */
    uint64_t bytes_copied;   /* bytes that moved: copied files, and the file in flight */
    uint64_t bytes_skipped;  /* bytes of the files skipped (already at the destination) */
    uint64_t files_total;    /* entries planned (files, symlinks, special files) */
    uint64_t files_done, files_skipped, files_failed;
    uint64_t files_not_attempted; /* once ended: never started, or dropped unfinished by a cancel
                                   * or a full disk (total = done + skipped + failed + this) */
    uint64_t rate_bps;            /* bytes that moved per second, over the last few seconds */
    int64_t eta_s;           /* -1 when unknown */
    uint64_t elapsed_ns;
    int64_t cancel_latency_us; /* cancel request -> last worker stopped; -1 if n/a */
    int64_t started_at_ms;   /* Unix ms when it started running, 0 if not yet */
    int64_t ended_at_ms;     /* Unix ms when it reached done, failed or cancelled, or 0 */
    bool planned;            /* the walk finished; totals are final */
    char current_file[PATH_MAX]; /* the file most recently started, or "" */
} ferry_progress;

/* Fills spec with the defaults. */
void ferry_job_spec_init(ferry_job_spec *spec);

/*
 * Checks the spec and resolves where each source goes. Fails with a message
 * for problems that stop the whole job (no sources, destination parent
 * missing, a directory into itself). Emits events on bus, if given.
 */
int ferry_job_new(ferry_job **out, const ferry_job_spec *spec, ferry_bus *bus);

/* Starts the job on its own threads; returns at once. */
int ferry_job_start(ferry_job *job);

/*
 * Cancels: closes the commit gate, sets the state to cancelled, wakes every
 * wait, and returns without waiting for workers. Returns FERRY_OK when the
 * job is (now or already) cancelled, FERRY_EENDED when it had already ended.
 */
int ferry_job_cancel(ferry_job *job);

/* Waits up to timeout_ms (-1: forever) for the job's threads to finish. */
int ferry_job_wait(ferry_job *job, int timeout_ms);

/* A consistent-enough snapshot of the counters; cheap, any thread. */
void ferry_job_progress(ferry_job *job, ferry_progress *out);

ferry_job_state ferry_job_get_state(const ferry_job *job);
const char *ferry_job_id(const ferry_job *job);

/* The job's error message when it failed, else NULL. Valid until free. */
const char *ferry_job_error(ferry_job *job);

/*
 * Hands over the descriptors of discarded temp files, so that the caller
 * chooses who pays for freeing their blocks (the kernel does it on the last
 * close: about 7 ms per 100 MiB). Call after ferry_job_wait(). *fds is owned
 * by the caller, who must close them; returns their count.
 */
size_t ferry_job_take_discards(ferry_job *job, int **fds);

/* A sequence source of a job: what was asked for and what became of it. */
typedef struct {
    char *source;      /* the pattern as given */
    char *dest;        /* where the frames land, as a pattern ("/out/comp.####.exr") */
    char *frames;      /* frames planned: on disk and asked for ("1001-1040,1043-1100") */
    char *missing;     /* asked for and not on disk ("1041-1042"), "" if none */
    char *done, *skipped, *failed; /* frames (source numbers) with that result so far */
    uint64_t nframes, nmissing, ndone, nskipped, nfailed;
} ferry_seq_summary;

/*
 * The job's sequence sources, once its plan is made (*n is 0 before, and
 * for jobs without sequences). *out is owned by the caller:
 * ferry_seq_summaries_free.
 */
int ferry_job_sequences(ferry_job *job, ferry_seq_summary **out, size_t *n);
void ferry_seq_summaries_free(ferry_seq_summary *s, size_t n);

/* Frees a job whose threads have finished (ferry_job_wait). */
void ferry_job_free(ferry_job *job);

const char *ferry_job_state_name(ferry_job_state s);
int ferry_conflict_parse(const char *s, ferry_conflict *out);
const char *ferry_conflict_name(ferry_conflict c);

#endif
