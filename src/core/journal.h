/*
 * core/journal.h: the SQLite journal of jobs and per-file results.
 *
 * Writes are grouped: job rows are inserted at submit (so a crash right after
 * still knows the job), while state changes and per-file results arrive as
 * bus events on the journal's own thread and are written in one transaction
 * every ~100 ms or JOURNAL_BATCH events, consecutive results of a job with
 * one state packed into one row. Workers never wait for SQLite.
 *
 * Ownership of running jobs: each process holds flock on
 * <state>/owners/<pid>.lock for its life; a job whose owner's lock is free
 * belonged to a dead process and becomes interrupted.
 *
 * The connection is shared by the writer thread and callers under `lock`.
 */
#ifndef FERRY_CORE_JOURNAL_H
#define FERRY_CORE_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "ferry/manager.h"

typedef struct ferry__journal ferry__journal;

/* Counters of a live job, asked for by the writer when a job changes state. */
typedef bool (*ferry__progress_fn)(void *arg, const char *id, ferry_progress *out);

/*
 * Opens (creating) <dir>/journal.db. An unreadable or corrupt file is moved
 * aside and a new one started; *notice (owned by the caller) says so.
 * Jobs of dead owners become interrupted; their ids are returned in
 * *interrupted (owned by the caller) so that the manager can sweep.
 */
int ferry__journal_open(ferry__journal **out, const char *dir, ferry_bus *bus,
                        ferry__progress_fn progress, void *arg, char **notice);

/* Writes everything still queued and closes. */
void ferry__journal_close(ferry__journal *j);

/*
 * Records a new job (synchronously): spec_json as made by ferry__journal_spec_json,
 * created_at in Unix ms (the manager keeps the same figure in memory).
 */
int ferry__journal_add(ferry__journal *j, const char *id, const char *tag, const char *spec_json,
                       ferry_job_state state, int64_t created_at);

/* Sets a job's state at once (resume), with this process as its owner. */
int ferry__journal_set_state(ferry__journal *j, const char *id, ferry_job_state state);

/* Reads a job's spec JSON; *out owned by the caller. */
int ferry__journal_spec(ferry__journal *j, const char *id, char **out, ferry_job_state *state);

/* Jobs newest first; each filter NULL for any. */
int ferry__journal_list(ferry__journal *j, const char *id, const char *state, const char *tag,
                        ferry_job_info **out, size_t *n);
int ferry__journal_files(ferry__journal *j, const char *id, const char *result, size_t offset,
                         size_t limit, ferry_file_info **out, size_t *n);
int ferry__journal_prune(ferry__journal *j, int64_t older_than_s, unsigned *removed);

/*
 * Ids of jobs whose process died while they ran, found at open; owned by the
 * journal. They become interrupted with ferry__journal_mark_interrupted, to
 * be called once their temp files are swept (a kill before that leaves them
 * to the next open).
 */
char **ferry__journal_interrupted(ferry__journal *j, size_t *n);
void ferry__journal_mark_interrupted(ferry__journal *j);

/* Writes everything queued so far, now, however many group commits that takes. */
void ferry__journal_flush(ferry__journal *j);

#endif
