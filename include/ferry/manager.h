/*
 * ferry/manager.h: many jobs at once, remembered across restarts.
 *
 * A manager runs jobs over one shared worker pool (fair per file), at most
 * max_running at a time (the rest wait as queued), cancels them one by one,
 * by tag or all at once, and records them in a journal (SQLite, WAL) in its
 * state directory: specs, states, timestamps, per-file results. On open it
 * recovers what a dead process left: its running jobs become interrupted and
 * their named temps are swept. Resume continues an interrupted or cancelled
 * job; files already complete at the destination are skipped.
 *
 * Threads: every function may be called from any thread, except open/close.
 */
#ifndef FERRY_MANAGER_H
#define FERRY_MANAGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/events.h"
#include "ferry/job.h"

typedef struct ferry_manager ferry_manager;

typedef struct {
    const char *state_dir; /* NULL: $XDG_STATE_HOME/ferry or ~/.local/state/ferry */
    bool no_journal;       /* remember nothing on disk */
    unsigned max_running;  /* jobs running at once; 0: 4 */
    unsigned workers;      /* pool threads; 0: FERRY_DEFAULT_WORKERS */
    const ferry_roots *roots; /* confine every job, resumed ones too (ferry_job_spec.roots);
                               * borrowed, outlives the manager; NULL: none */
    bool keep_discards;    /* a cancelled job's dropped temps wait for
                            * ferry_manager_take_discards (a CLI that exits at once
                            * hands them to a child); false: each job's runner closes
                            * them once the job has ended (a daemon) */
} ferry_manager_opts;

/* One job as the journal (or memory) knows it. Times: Unix milliseconds, 0 if none. */
typedef struct {
    char id[16];
    ferry_job_state state;
    char *tag;
    char **sources;
    size_t nsources;
    char *dest;
    int64_t created_at, started_at, finished_at;
    uint64_t bytes_total, bytes_done, files_total, files_done, files_skipped, files_failed;
    uint64_t bytes_copied, bytes_skipped; /* bytes_done = the two (ferry_progress) */
    uint64_t files_not_attempted;         /* of an ended job (ferry_progress) */
    char *error;
    int64_t cancel_latency_us; /* -1 if none */
    ferry_seq_summary *seqs;   /* sequence sources, for jobs of this process once planned */
    size_t nseqs;
} ferry_job_info;

/* One per-file result. */
typedef struct {
    char *path, *dest, *error;
    int result; /* ferry_file_result */
    uint64_t bytes;
} ferry_file_info;

/* Fills opts with the defaults. */
void ferry_manager_opts_init(ferry_manager_opts *opts);

/* Opens the journal (recovering what a dead process left) and starts the pool. */
int ferry_manager_open(ferry_manager **out, const ferry_manager_opts *opts);

/* What opening had to do ("journal ... was unreadable; moved aside to ...",
 * "2 jobs interrupted"), or NULL. Valid until close. */
const char *ferry_manager_notice(ferry_manager *m);

/* The bus on which every job of this manager publishes. */
ferry_bus *ferry_manager_bus(ferry_manager *m);

/* Queues a job and starts it when a slot is free; id receives its id. */
int ferry_manager_submit(ferry_manager *m, const ferry_job_spec *spec, char id[16]);

/* Cancels one job: FERRY_OK (now or already cancelled), FERRY_EENDED, FERRY_ENOTFOUND. */
int ferry_manager_cancel(ferry_manager *m, const char *id);

/* Cancels every live job with this tag (NULL: every live job). *ids (may be
 * NULL) receives the ids now cancelled; free with ferry_manager_ids_free. */
int ferry_manager_cancel_tag(ferry_manager *m, const char *tag, char ***ids, size_t *n);
void ferry_manager_ids_free(char **ids, size_t n);

/* Runs an interrupted or cancelled job again under its id. */
int ferry_manager_resume(ferry_manager *m, const char *id);

/* Waits up to timeout_ms (-1: forever) for a live job to finish. */
int ferry_manager_wait(ferry_manager *m, const char *id, int timeout_ms);

/* Live counters of a job of this process: FERRY_OK or FERRY_ENOTFOUND. */
int ferry_manager_progress(ferry_manager *m, const char *id, ferry_progress *out);

/* Jobs, newest first, filtered by state and tag (NULL: any). */
int ferry_manager_list(ferry_manager *m, const char *state, const char *tag,
                       ferry_job_info **out, size_t *n);
/* One job: FERRY_OK with *out filled (release with ferry_job_info_clear), or FERRY_ENOTFOUND. */
int ferry_manager_get(ferry_manager *m, const char *id, ferry_job_info *out);
/* Frees infos[0..n) and the array. */
void ferry_job_info_free(ferry_job_info *infos, size_t n);
/* Frees what one info holds (not the info itself). */
void ferry_job_info_clear(ferry_job_info *in);

/* Per-file results of a job, filtered by result name (NULL: all), in the
 * order they happened: at most limit (0: no limit) after skipping offset. */
int ferry_manager_files(ferry_manager *m, const char *id, const char *result, size_t offset,
                        size_t limit, ferry_file_info **out, size_t *n);
void ferry_file_info_free(ferry_file_info *files, size_t n);

/* Forgets ended jobs that finished more than older_than_s seconds ago. */
int ferry_manager_prune(ferry_manager *m, int64_t older_than_s, unsigned *removed);

/* Descriptors of discarded temps of every finished job (see ferry_job_take_discards);
 * none unless opened with keep_discards. */
size_t ferry_manager_take_discards(ferry_manager *m, int **fds);

/* Waits for running jobs (cancel them first to stop at once), flushes the
 * journal and frees everything. */
void ferry_manager_close(ferry_manager *m);

#endif
