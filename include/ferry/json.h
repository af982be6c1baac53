/*
 * ferry/json.h: the JSON form of job events and progress, one object per
 * line. The CLI's --json output and the daemon's pushes share this schema
 * (docs/events.md). Paths that are not valid UTF-8 have each invalid byte
 * shown as U+FFFD, since JSON strings must be Unicode.
 */
#ifndef FERRY_JSON_H
#define FERRY_JSON_H

#include "ferry/events.h"
#include "ferry/job.h"

/* {"event":"state"|"file"|"end", ...}; a new string owned by the caller, or NULL. */
char *ferry_json_event(const ferry_event *ev, const ferry_progress *final_progress);

/* {"event":"progress", ...}; a new string owned by the caller, or NULL. */
char *ferry_json_progress(const char *job_id, const ferry_progress *p);

/* {"event":"start", ...} for a job about to run; a new string, or NULL. */
char *ferry_json_start(const char *job_id, const ferry_job_spec *spec);

/*
 * {"event":"sequence", "source", "dest", "frames", "missing", "done",
 * "skipped", "failed" (frame sets as text) and their "*_count"}: one
 * sequence source of a job (job_id may be NULL); a new string, or NULL.
 */
char *ferry_json_sequence(const char *job_id, const ferry_seq_summary *s);

#endif
