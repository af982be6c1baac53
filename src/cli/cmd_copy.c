/*
 * cli/cmd_copy.c: `ferry copy [options] SOURCE... DEST`.
 *
 * The main thread starts one job and then only reads its events and draws
 * the progress bar. SIGINT and SIGTERM are blocked in every thread and taken
 * by a signal thread with sigwait(), so no code runs in a signal handler:
 * that thread calls ferry_job_cancel(), which closes the commit gate at once.
 *
 * After a cancel the kernel still has to free the blocks of the discarded
 * temps, on their last close (about 7 ms per 100 MiB here). A forked child
 * inherits those descriptors and closes them after we have exited, so the
 * shell gets its prompt back without paying for it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ferry/common.h"
#include "ferry/job.h"
#include "ferry/json.h"
#include "ferry/size.h"
#include "progress.h"

void cmd_copy_help(FILE *out)
{
    fprintf(out,
            "usage: ferry copy [options] SOURCE... DEST\n\n"
            "Copies files, symlinks and directory trees. With several sources, or when DEST\n"
            "is an existing directory, each source is copied into DEST under its own name;\n"
            "otherwise SOURCE is copied to the name DEST (as cp -r does).\n\n"
            "A file appears under its final name only once it is complete and durable.\n"
            "Ctrl-C stops the copy within milliseconds and leaves no partial file.\n\n"
            "Options:\n"
            "  -j, --jobs N            copy N files at once (default %d)\n"
            "      --bwlimit RATE      at most RATE bytes per second, e.g. 50M, 1.5G, 400MB\n"
            "      --on-conflict P     when DEST holds a different file of the same name:\n"
            "                          fail (default), skip, overwrite (atomic), rename\n"
            "      --no-fsync          don't wait for the data to reach the disk\n"
            "      --temp-names        use hidden temp names + rename instead of O_TMPFILE\n"
            "      --json              print JSON events on stdout, one per line (docs/events.md)\n"
            "  -q, --quiet             print errors only\n"
            "  -h, --help              show this help\n\n"
            "Identical files (same size and modification time) are skipped.\n"
            "Exit status: 0 all copied, 1 some files failed, 2 usage error, 130 cancelled.\n",
            FERRY_DEFAULT_WORKERS);
}

typedef struct {
    bool json, quiet, tty;
} output;

enum { OPT_BWLIMIT = 256, OPT_CONFLICT, OPT_NO_FSYNC, OPT_TEMP_NAMES, OPT_JSON };

static int parse_args(int argc, char **argv, ferry_job_spec *spec, output *out)
{
    static const struct option opts[] = {
        {"jobs", required_argument, NULL, 'j'},
        {"bwlimit", required_argument, NULL, OPT_BWLIMIT},
        {"on-conflict", required_argument, NULL, OPT_CONFLICT},
        {"no-fsync", no_argument, NULL, OPT_NO_FSYNC},
        {"temp-names", no_argument, NULL, OPT_TEMP_NAMES},
        {"json", no_argument, NULL, OPT_JSON},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+:j:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'j': {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (*end || n < 1 || n > 256)
                return cli_usage_error("copy", "invalid --jobs '%s': expected 1 to 256", optarg);
            spec->workers = (unsigned)n;
            break;
        }
        case OPT_BWLIMIT:
            if (ferry_size_parse(optarg, &spec->bwlimit) < 0)
                return cli_usage_error("copy", "--bwlimit: %s", ferry_error_last());
            break;
        case OPT_CONFLICT:
            if (ferry_conflict_parse(optarg, &spec->on_conflict) < 0)
                return cli_usage_error("copy", "--on-conflict: %s", ferry_error_last());
            break;
        case OPT_NO_FSYNC:
            spec->no_fsync = true;
            break;
        case OPT_TEMP_NAMES:
            spec->temp_names = true;
            break;
        case OPT_JSON:
            out->json = true;
            break;
        case 'q':
            out->quiet = true;
            break;
        case 'h':
            cmd_copy_help(stdout);
            return -1;
        case ':':
            return cli_usage_error("copy", "option '%s' needs a value", argv[optind - 1]);
        default:
            return cli_usage_error("copy", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind < 2)
        return cli_usage_error("copy", "needs at least one SOURCE and a DEST");
    spec->sources = (const char *const *)argv + optind;
    spec->nsources = (size_t)(argc - optind - 1);
    spec->dest = argv[argc - 1];
    return 0;
}

/* The signal thread: every SIGINT/SIGTERM becomes a cancel (repeats are harmless). */
static void *signal_main(void *arg)
{
    ferry_job *job = arg;
    sigset_t set;
    int sig;

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    for (;;) {
        if (sigwait(&set, &sig) == 0)
            ferry_job_cancel(job);
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

static void on_event(const output *out, ferry_job *job, const ferry_event *ev)
{
    if (out->json) {
        ferry_progress p;
        if (ev->type == FERRY_EVENT_END)
            ferry_job_progress(job, &p);
        print_line(ferry_json_event(ev, ev->type == FERRY_EVENT_END ? &p : NULL));
        return;
    }
    if (ev->type == FERRY_EVENT_FILE && ev->result == FERRY_FILE_FAILED) {
        progress_clear();
        fprintf(stderr, "ferry: %s\n", ev->message ? ev->message : ev->path);
    } else if (ev->type == FERRY_EVENT_FILE && ev->result == FERRY_FILE_SKIPPED && !out->quiet &&
               ev->message && strstr(ev->message, "special file")) {
        progress_clear();
        fprintf(stderr, "ferry: warning: '%s': %s\n", ev->path, ev->message);
    }
}

static void summary(const output *out, ferry_job *job, const ferry_progress *p)
{
    char bytes[16], rate[16];
    double secs = (double)p->elapsed_ns / 1e9;
    uint64_t copied_bytes = p->bytes_done;

    if (out->json)
        return;
    progress_clear();
    ferry_size_format(copied_bytes, bytes, sizeof(bytes));
    switch (p->state) {
    case FERRY_JOB_CANCELLED:
        fprintf(stderr, "cancelled: %llu of %llu files, %s; no partial files left\n",
                (unsigned long long)(p->files_done + p->files_skipped),
                (unsigned long long)p->files_total, bytes);
        break;
    case FERRY_JOB_FAILED:
        fprintf(stderr, "failed: %s; %llu of %llu files copied, %llu failed\n",
                ferry_job_error(job) ? ferry_job_error(job) : "error",
                (unsigned long long)p->files_done, (unsigned long long)p->files_total,
                (unsigned long long)p->files_failed);
        break;
    default:
        if (out->quiet)
            break;
        ferry_size_format(secs > 0 ? (uint64_t)((double)copied_bytes / secs) : 0, rate,
                          sizeof(rate));
        fprintf(stderr, "copied %llu files (%s) in %.1f s, %s/s", (unsigned long long)p->files_done,
                bytes, secs, rate);
        if (p->files_skipped)
            fprintf(stderr, "; %llu skipped", (unsigned long long)p->files_skipped);
        fputc('\n', stderr);
    }
}

/* Freeing a discarded temp's blocks happens on its last close: let a child pay. */
static void close_discards_detached(ferry_job *job)
{
    int *fds;
    size_t n = ferry_job_take_discards(job, &fds);
    pid_t pid;

    if (n == 0) {
        free(fds);
        return;
    }
    pid = fork();
    if (pid == 0) {
        for (size_t i = 0; i < n; i++)
            close(fds[i]);
        _exit(0);
    }
    /* Parent (or fork failed): closing here only drops our reference when a
     * child holds one; otherwise we pay the cost ourselves. */
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

static int run(ferry_job *job, ferry_sub *sub, const output *out)
{
    ferry_progress p;
    uint64_t last_json = 0, ticks = 0;
    ferry_event *ev;
    bool ended = false;

    ferry_job_start(job);
    while (!ended) {
        if (ferry_sub_next(sub, &ev, 100) == FERRY_OK) {
            on_event(out, job, ev);
            ended = ev->type == FERRY_EVENT_END;
            ferry_event_free(ev);
            continue; /* drain what is queued before drawing */
        }
        ticks++;
        ferry_job_progress(job, &p);
        if (out->tty && !out->quiet && !out->json)
            progress_draw(&p);
        if (out->json && ticks - last_json >= 5) { /* every half second */
            last_json = ticks;
            print_line(ferry_json_progress(ferry_job_id(job), &p));
        }
    }
    ferry_job_wait(job, -1);
    ferry_job_progress(job, &p);
    summary(out, job, &p);
    return exit_status(p.state);
}

int cmd_copy(int argc, char **argv)
{
    ferry_job_spec spec;
    output out = {0};
    ferry_bus *bus = NULL;
    ferry_sub *sub = NULL;
    ferry_job *job = NULL;
    pthread_t sigthread;
    sigset_t set;
    int rc;

    ferry_job_spec_init(&spec);
    if ((rc = parse_args(argc, argv, &spec, &out)) != 0)
        return rc < 0 ? 0 : rc;
    out.tty = isatty(STDERR_FILENO);

    /* Block the signals before any thread exists, so that all inherit the mask. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    if (ferry_bus_new(&bus) || ferry_bus_subscribe(bus, &sub, NULL, NULL)) {
        fprintf(stderr, "ferry: %s\n", ferry_error_last());
        rc = 1;
        goto out;
    }
    if (ferry_job_new(&job, &spec, bus) < 0) {
        fprintf(stderr, "ferry: %s\n", ferry_error_last());
        rc = 1;
        goto out;
    }
    if (pthread_create(&sigthread, NULL, signal_main, job) != 0) {
        fprintf(stderr, "ferry: cannot start the signal thread\n");
        rc = 1;
        goto out;
    }
    pthread_detach(sigthread);
    if (out.json)
        print_line(ferry_json_start(ferry_job_id(job), &spec));
    rc = run(job, sub, &out);
    close_discards_detached(job);
    /*
     * The signal thread may still call ferry_job_cancel() on this job, so the
     * job is not freed: the process ends here, and the kernel takes back its
     * memory faster than free() would.
     */
    fflush(stdout);
    fflush(stderr);
    _exit(rc);
out:
    if (sub)
        ferry_bus_unsubscribe(bus, sub);
    ferry_job_free(job);
    ferry_bus_free(bus);
    return rc;
}
