/*
 * cli/runjob.h: running one job of a manager in the foreground, as
 * `ferry copy` and `ferry resume` do: events, progress bar, Ctrl-C, summary.
 */
#ifndef FERRY_CLI_RUNJOB_H
#define FERRY_CLI_RUNJOB_H

#include <signal.h>
#include <stdbool.h>

#include "ferry/manager.h"

typedef struct {
    bool json;  /* JSON events on stdout */
    bool quiet; /* errors only */
    bool tty;   /* stderr is a terminal: draw the bar */
} cli_output;

/*
 * Opens the manager of state_dir (NULL: the default), printing its notice
 * (recovery, a journal moved aside) unless quiet. Returns 0 or exit status 1.
 */
int cli_open_manager(ferry_manager **m, const char *state_dir, unsigned workers, bool quiet,
                     bool no_journal);

/*
 * Subscribes to the manager's events before a job is submitted or resumed,
 * so that cli_run_job sees all of them: a job that fails at once (a missing
 * source) publishes its results before submit returns. 0, or exit status 1.
 */
int cli_subscribe(ferry_manager *m);

/*
 * Signals must be blocked (cli_block_signals) before the manager starts its
 * threads. Then runs the job `id` to its end and exits the process with the
 * status of its outcome (0, 1 or 130): it does not return.
 */
void cli_run_job(ferry_manager *m, const char *id, const cli_output *out)
    __attribute__((noreturn));

/*
 * The one-line summary of an ended job on stderr, as ferry copy ends
 * ("cancelled: 312 of 781 files, 244 MiB; no partial files left"); error:
 * the job's error, already escaped (quote.h), or NULL. ferry watch ID ends
 * with it too.
 */
void cli_summary(const cli_output *out, const ferry_progress *p, const char *error);

/* Blocks SIGINT and SIGTERM in this thread and every thread created after. */
void cli_block_signals(void);

/* The set of signals that stop ferry: SIGINT and SIGTERM (for sigwait). */
void cli_stop_signals(sigset_t *set);

#endif
