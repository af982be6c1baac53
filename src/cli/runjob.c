/*
 * cli/runjob.c: one job in the foreground; see runjob.h.
 *
 * The main thread only reads the job's events and draws the progress bar.
 * SIGINT and SIGTERM are blocked in every thread and taken by a signal
 * thread with sigwait(), so no code runs in a signal handler: that thread
 * calls ferry_manager_cancel(), which closes the job's commit gate at once.
 *
 * After a cancel the kernel still has to free the blocks of the discarded
 * temps, on their last close (about 7 ms per 100 MiB here). A forked child
 * inherits those descriptors and closes them after we have exited, so the
 * shell gets its prompt back without paying for it.
 */
#define _GNU_SOURCE
#include "runjob.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ferry/common.h"
#include "ferry/json.h"
#include "ferry/size.h"
#include "progress.h"
#include "quote.h"

void cli_stop_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
}

void cli_block_signals(void)
{
    sigset_t set;

    cli_stop_signals(&set);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

int cli_open_manager(ferry_manager **m, const char *state_dir, unsigned workers, bool quiet,
                     bool no_journal)
{
    ferry_manager_opts opts;

    ferry_manager_opts_init(&opts);
    opts.state_dir = state_dir;
    opts.no_journal = no_journal;
    opts.workers = workers;
    opts.max_running = 1;
    opts.keep_discards = true; /* close_discards_detached: a child pays, after we exit */
    if (ferry_manager_open(m, &opts) < 0) {
        fprintf(stderr, "ferry: %s\n", cli_message(ferry_error_last(), NULL, NULL));
        return 1;
    }
    if (ferry_manager_notice(*m) && !quiet)
        fprintf(stderr, "ferry: note: %s\n", cli_message(ferry_manager_notice(*m), NULL, NULL));
    return 0;
}

/* What the signal thread cancels; `closing` (under lock) ends its use of m. */
typedef struct {
    pthread_mutex_t lock;
    ferry_manager *m;
    const char *id;
    bool closing;
} sig_arg;

/* The signal thread: every SIGINT/SIGTERM becomes a cancel (repeats are harmless). */
static void *signal_main(void *arg)
{
    sig_arg *a = arg;
    sigset_t set;
    int sig;

    pthread_setname_np(pthread_self(), "ferry-signal");
    cli_stop_signals(&set);
    for (;;) {
        if (sigwait(&set, &sig) != 0)
            continue;
        pthread_mutex_lock(&a->lock);
        if (!a->closing)
            ferry_manager_cancel(a->m, a->id);
        pthread_mutex_unlock(&a->lock);
    }
    return NULL;
}

static void print_line(char *line)
{
    if (line) {
        fputs(line, stdout);
        fputc('\n', stdout);
        fflush(stdout);
    }
    free(line);
}

static void on_event(ferry_manager *m, const cli_output *out, const ferry_event *ev)
{
    if (out->json) {
        ferry_progress p;
        bool end = ev->type == FERRY_EVENT_END && ferry_manager_progress(m, ev->job_id, &p) == 0;
        print_line(ferry_json_event(ev, end ? &p : NULL));
        return;
    }
    if (ev->type == FERRY_EVENT_FILE && ev->result == FERRY_FILE_FAILED) {
        progress_clear();
        fprintf(stderr, "ferry: %s\n",
                ev->message ? cli_message(ev->message, ev->path, ev->dest)
                            : cli_quote_always(ev->path));
    } else if (ev->type == FERRY_EVENT_FILE && ev->result == FERRY_FILE_SKIPPED && !out->quiet &&
               ev->message &&
               (strstr(ev->message, "special file") || strstr(ev->message, "more than once"))) {
        progress_clear();
        fprintf(stderr, "ferry: warning: %s: %s\n", cli_quote_always(ev->path),
                cli_message(ev->message, ev->path, ev->dest));
    }
}

/* "; 13 skipped (10 MiB), 41 not attempted": the files not counted before. */
static void summary_rest(const ferry_progress *p)
{
    char bytes[16];

    if (p->files_skipped) {
        ferry_size_format(p->bytes_skipped, bytes, sizeof(bytes));
        fprintf(stderr, "; %llu skipped (%s)", (unsigned long long)p->files_skipped, bytes);
    }
    if (p->files_not_attempted)
        fprintf(stderr, "%s%llu not attempted", p->files_skipped ? ", " : "; ",
                (unsigned long long)p->files_not_attempted);
}

/* Bytes and rate count only what moved; every file is accounted for. */
void cli_summary(const cli_output *out, const ferry_progress *p, const char *error)
{
    char bytes[16], rate[16];
    double secs = (double)p->elapsed_ns / 1e9;

    if (out->json)
        return;
    progress_clear();
    ferry_size_format(p->bytes_copied, bytes, sizeof(bytes));
    switch (p->state) {
    case FERRY_JOB_CANCELLED:
        fprintf(stderr, "cancelled: %llu of %llu files, %s; no partial files left\n",
                (unsigned long long)(p->files_done + p->files_skipped),
                (unsigned long long)p->files_total, bytes);
        break;
    case FERRY_JOB_FAILED:
        fprintf(stderr, "failed: %s; %llu of %llu files copied (%s), %llu failed",
                error ? error : "error", (unsigned long long)p->files_done,
                (unsigned long long)p->files_total, bytes, (unsigned long long)p->files_failed);
        summary_rest(p);
        fputc('\n', stderr);
        break;
    default:
        if (out->quiet)
            break;
        ferry_size_format(secs > 0 ? (uint64_t)((double)p->bytes_copied / secs) : 0, rate,
                          sizeof(rate));
        fprintf(stderr, "copied %llu files (%s) in %.1f s, %s/s", (unsigned long long)p->files_done,
                bytes, secs, rate);
        summary_rest(p);
        fputc('\n', stderr);
    }
}

/* Per sequence source: the frames copied and the ones missing. */
static void sequences(ferry_manager *m, const char *id, const cli_output *out)
{
    ferry_job_info in;

    if (ferry_manager_get(m, id, &in) != FERRY_OK)
        return;
    for (size_t i = 0; i < in.nseqs; i++) {
        const ferry_seq_summary *s = &in.seqs[i];
        if (out->json) {
            print_line(ferry_json_sequence(id, s));
            continue;
        }
        if (!out->quiet && s->nframes)
            fprintf(stderr, "%s: %llu of %llu frames copied (%s) to %s\n", cli_quote(s->source),
                    (unsigned long long)(s->ndone + s->nskipped),
                    (unsigned long long)s->nframes, s->frames, cli_quote(s->dest));
        if (s->nmissing)
            fprintf(stderr, "%s: %llu frame%s missing: %s\n", cli_quote(s->source),
                    (unsigned long long)s->nmissing, s->nmissing == 1 ? "" : "s", s->missing);
        if (s->nfailed)
            fprintf(stderr, "%s: %llu frame%s failed: %s\n", cli_quote(s->source),
                    (unsigned long long)s->nfailed, s->nfailed == 1 ? "" : "s", s->failed);
    }
    ferry_job_info_clear(&in);
}

/*
 * Freeing a discarded temp's blocks happens on its last close: let a child
 * pay. Called last, once the manager is closed: its threads have ended, and
 * nothing writes to memory afterwards (each page written after a fork is
 * copied first). The child lets go of our standard streams first, so that a
 * pipe reading us ends with us.
 */
static void close_discards_detached(int *fds, size_t n)
{
    if (n > 0 && fork() == 0) {
        close(STDIN_FILENO);
        close(STDOUT_FILENO);
        close(STDERR_FILENO);
        for (size_t i = 0; i < n; i++)
            close(fds[i]);
        _exit(0);
    }
    /* With a child holding them, these closes only drop our references. */
    for (size_t i = 0; i < n; i++)
        close(fds[i]);
    free(fds);
}

static int exit_status(ferry_job_state s)
{
    switch (s) {
    case FERRY_JOB_DONE:
        return 0;
    case FERRY_JOB_CANCELLED:
        return EXIT_CANCELLED;
    default:
        return 1;
    }
}

static ferry_sub *early_sub; /* made by cli_subscribe, taken by cli_run_job */

int cli_subscribe(ferry_manager *m)
{
    if (ferry_bus_subscribe(ferry_manager_bus(m), &early_sub, NULL, NULL) < 0) {
        fprintf(stderr, "ferry: cannot start: %s\n", cli_message(ferry_error_last(), NULL, NULL));
        return 1;
    }
    ferry_sub_lazy_files(early_sub, true); /* drained every 100 ms with the bar; a state change wakes us */
    return 0;
}

void cli_run_job(ferry_manager *m, const char *id, const cli_output *out)
{
    static sig_arg sa = {.lock = PTHREAD_MUTEX_INITIALIZER};
    ferry_sub *sub;
    ferry_progress p;
    pthread_t sigthread;
    ferry_event *ev;
    char *error = NULL;
    unsigned ticks = 0;
    int *fds, rc;
    size_t nfds;

    sa.m = m;
    sa.id = id;
    if (!early_sub && cli_subscribe(m) != 0) {
        ferry_manager_cancel(m, id);
        _exit(1);
    }
    sub = early_sub;
    if (pthread_create(&sigthread, NULL, signal_main, &sa) != 0) {
        fprintf(stderr, "ferry: cannot start: %s\n", cli_message(ferry_error_last(), NULL, NULL));
        ferry_manager_cancel(m, id);
        _exit(1);
    }
    for (bool ended = false; !ended;) {
        if (ferry_sub_next(sub, &ev, 100) == FERRY_OK) {
            if (!strcmp(ev->job_id, id)) {
                on_event(m, out, ev);
                ended = ev->type == FERRY_EVENT_END;
                if (ev->type == FERRY_EVENT_STATE && ev->message) {
                    free(error); /* shown in the summary: escaped (quote.h) */
                    error = strdup(cli_message(ev->message, NULL, NULL));
                }
            }
            ferry_event_free(ev);
            continue; /* drain what is queued before drawing */
        }
        ticks++;
        if (ferry_manager_progress(m, id, &p) != FERRY_OK)
            continue;
        if (out->tty && !out->quiet && !out->json)
            progress_draw(&p);
        if (out->json && ticks % 5 == 0) /* every half second */
            print_line(ferry_json_progress(id, &p));
    }
    ferry_manager_progress(m, id, &p);
    cli_summary(out, &p, error);
    sequences(m, id, out);
    rc = exit_status(p.state);
    nfds = ferry_manager_take_discards(m, &fds);
    ferry_bus_unsubscribe(ferry_manager_bus(m), sub);
    pthread_mutex_lock(&sa.lock);
    sa.closing = true; /* later signals find nothing to cancel */
    pthread_mutex_unlock(&sa.lock);
    ferry_manager_close(m); /* writes the journal's last results */
    fflush(stdout);
    fflush(stderr);
    free(error);
    close_discards_detached(fds, nfds);
    _exit(rc);
}
