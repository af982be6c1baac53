/*
 * cli/cmd_watch.c: `ferry watch [ID]`: the daemon's jobs live, from its
 * WebSocket (client.c).
 *
 * Every job gets its own line: id, tag (or the name of its first source),
 * bar, bytes, rate, ETA. On a terminal (stdout) the lines of the running
 * jobs are redrawn in place, at most 10 times a second; elsewhere (a pipe, a
 * log) a job's line is printed as a plain line when it starts and then at
 * most every PIPE_EVERY_MS while it runs.
 *
 * A job's end is printed once, whatever the daemon sends: it may send the
 * same "cancelled" state several times (from the cancel request and again
 * from the bus) and, after a cancel, results of files that were finished
 * before it. So a cancelled job ends when an event carries its finished_at
 * (its counters are final then); done, failed and interrupted end at once.
 * The end line is followed by the summary ferry copy prints ("cancelled: 3
 * of 40 files, 12 MiB; no partial files left"), on stderr as there.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "ferry/job.h"
#include "ferry/size.h"
#include "progress.h"
#include "quote.h"
#include "runjob.h"

#define PIPE_EVERY_MS 5000 /* a running job's plain line, off a terminal */
#define DRAW_EVERY_MS 100  /* the redraw on a terminal */
#define LABEL_WIDTH   24

void cmd_watch_help(FILE *out)
{
    fprintf(out, "usage: ferry watch [--state-dir DIR] [ID]\n\n"
                 "Shows the daemon's jobs live, from its WebSocket: one line per running\n"
                 "job (id, tag or name, bar, bytes, rate, ETA), redrawn in place on a\n"
                 "terminal, printed every 5 s on a pipe; each job's end once, with the\n"
                 "summary ferry copy prints. With an ID: that job until it ends (exit\n"
                 "status as for ferry copy).\n");
}

typedef struct {
    char *id;
    char *label; /* tag, or the first source's name (raw: quoted when shown) */
    char *error; /* the job's error, escaped, or NULL */
    ferry_progress p;
    bool shown_start, ended; /* its first line, its end: each printed once */
    int64_t last_line_ms;    /* off a terminal: when its line was printed */
} watch_job;

typedef struct {
    const char *id; /* NULL: every job */
    int exit_status;
    bool tty;            /* stdout is a terminal: redraw in place */
    watch_job *jobs;
    size_t njobs, cap;
    int drawn;           /* lines of the block drawn on the terminal */
    int64_t last_draw_ms;
} watch_state;

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int term_width(void)
{
    struct winsize ws;

    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
        return ws.ws_col;
    return 80;
}

/* "2026-11-24T22:49:39.914Z" in ms since the epoch; -1 if not a time. */
static int64_t rfc3339_ms(json_t *v)
{
    const char *s = json_string_value(v);
    struct tm tm = {0};
    int ms = 0, n = 0;

    if (!s || sscanf(s, "%d-%d-%dT%d:%d:%d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                     &tm.tm_min, &tm.tm_sec, &n) != 6)
        return -1;
    if (s[n] == '.')
        sscanf(s + n + 1, "%3d", &ms);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000 + ms;
}

static void progress_of_json(json_t *job, ferry_progress *p)
{
    const char *state = json_string_value(json_object_get(job, "state"));
    const char *cur = json_string_value(json_object_get(job, "current_file"));
    int64_t start = rfc3339_ms(json_object_get(job, "started_at"));
    int64_t end = rfc3339_ms(json_object_get(job, "finished_at"));

    memset(p, 0, sizeof(*p));
    for (int s = FERRY_JOB_QUEUED; s <= FERRY_JOB_INTERRUPTED; s++)
        if (state && !strcmp(state, ferry_job_state_name((ferry_job_state)s)))
            p->state = (ferry_job_state)s;
    p->bytes_total = (uint64_t)json_integer_value(json_object_get(job, "bytes_total"));
    p->bytes_done = (uint64_t)json_integer_value(json_object_get(job, "bytes_done"));
    p->files_total = (uint64_t)json_integer_value(json_object_get(job, "files_total"));
    p->files_done = (uint64_t)json_integer_value(json_object_get(job, "files_done"));
    p->files_skipped = (uint64_t)json_integer_value(json_object_get(job, "files_skipped"));
    p->files_failed = (uint64_t)json_integer_value(json_object_get(job, "files_failed"));
    p->rate_bps = (uint64_t)json_integer_value(json_object_get(job, "rate_bps"));
    p->eta_s = json_is_integer(json_object_get(job, "eta_s"))
                   ? json_integer_value(json_object_get(job, "eta_s"))
                   : -1;
    p->elapsed_ns = start >= 0 && end >= start ? (uint64_t)(end - start) * 1000000 : 0;
    p->planned = true;
    snprintf(p->current_file, sizeof(p->current_file), "%s", cur ? cur : "");
}

static bool ended(ferry_job_state s)
{
    return s != FERRY_JOB_QUEUED && s != FERRY_JOB_RUNNING;
}

/* The job's end is known with its final counters (see the top of the file). */
static bool final(json_t *job, ferry_job_state s)
{
    return ended(s) && (s != FERRY_JOB_CANCELLED || json_is_string(json_object_get(job, "finished_at")));
}

/* Tag, or the first source's last component ("plates", "comp.####.exr"). */
static char *label_of(json_t *job)
{
    const char *tag = json_string_value(json_object_get(job, "tag"));
    json_t *src = json_object_get(job, "sources");
    const char *first = json_string_value(json_array_get(src, 0));
    char *s, *slash;

    if (tag && *tag)
        return strdup(tag);
    s = strdup(first ? first : "?");
    if (!s)
        return NULL;
    while (strlen(s) > 1 && s[strlen(s) - 1] == '/')
        s[strlen(s) - 1] = '\0';
    if ((slash = strrchr(s, '/')) && slash[1])
        memmove(s, slash + 1, strlen(slash + 1) + 1);
    return s;
}

static watch_job *find_job(watch_state *w, const char *id, json_t *job)
{
    for (size_t i = 0; i < w->njobs; i++)
        if (!strcmp(w->jobs[i].id, id))
            return &w->jobs[i];
    if (w->njobs == w->cap) {
        size_t ncap = w->cap ? w->cap * 2 : 16;
        watch_job *v = realloc(w->jobs, ncap * sizeof(*v));
        if (!v)
            return NULL;
        w->jobs = v;
        w->cap = ncap;
    }
    watch_job *j = &w->jobs[w->njobs];
    memset(j, 0, sizeof(*j));
    j->id = strdup(id);
    j->label = label_of(job);
    if (!j->id || !j->label) {
        free(j->id);
        free(j->label);
        return NULL;
    }
    w->njobs++;
    return j;
}

/* At most max bytes of s, cut at the start of a UTF-8 character. */
static int fit(const char *s, int max)
{
    int n = (int)strlen(s);

    if (n <= max)
        return n;
    while (max > 0 && (s[max] & 0xC0) == 0x80)
        max--;
    return max;
}

/*
 * One job's line, at most width - 1 columns (a full line wraps on some
 * terminals, and the redraw counts lines): id, label, then percent, bar,
 * bytes, rate and ETA; the label gets what is left, 8 to 24 columns.
 */
static void job_line(const watch_job *j, char *line, size_t len, int width)
{
    const ferry_progress *p = &j->p;
    const char *label = cli_quote(j->label);
    char done[16], total[16], rate[16], eta[16], bar[32], tail[128];
    int pct = progress_percent(p), lw, n;

    progress_bar(bar, width >= 100 ? 20 : 10, pct);
    ferry_size_format(p->bytes_done, done, sizeof(done));
    ferry_size_format(p->bytes_total, total, sizeof(total));
    ferry_size_format(p->rate_bps, rate, sizeof(rate));
    progress_format_duration(p->eta_s, eta, sizeof(eta));
    n = snprintf(tail, sizeof(tail), "%3d%% [%s] %s/%s  %s/s  ETA %s%s", pct, bar, done, total,
                 rate, eta, p->state == FERRY_JOB_CANCELLED ? "  cancelling" : "");
    lw = width - 1 - (int)strlen(j->id) - 4 - n;
    lw = lw < 8 ? 8 : lw > LABEL_WIDTH ? LABEL_WIDTH : lw;
    n = snprintf(line, len, "%s  %-*.*s  %s", j->id, lw, fit(label, lw), label, tail);
    if (n >= width && width > 1)
        line[fit(line, width - 1)] = '\0';
}

/* Erases the block of lines drawn on the terminal; the cursor ends at its top. */
static void erase_block(watch_state *w)
{
    if (w->drawn > 0)
        printf("\r\033[%dA\033[J", w->drawn);
    w->drawn = 0;
}

/* Redraws the running jobs' lines in place. */
static void draw_block(watch_state *w)
{
    int width = term_width();
    char line[1024];

    erase_block(w);
    for (size_t i = 0; i < w->njobs; i++) {
        const watch_job *j = &w->jobs[i];
        if (j->ended || (w->id && strcmp(w->id, j->id)))
            continue;
        job_line(j, line, sizeof(line), width);
        printf("%s\n", line);
        w->drawn++;
    }
    fflush(stdout);
    w->last_draw_ms = now_ms();
}

static int status_of(ferry_job_state s)
{
    return s == FERRY_JOB_DONE ? 0 : s == FERRY_JOB_CANCELLED ? EXIT_CANCELLED : 1;
}

/* Prints a line above the block (which is redrawn on the next update). */
static void print_above(watch_state *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void print_above(watch_state *w, const char *fmt, ...)
{
    va_list ap;

    if (w->tty)
        erase_block(w);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
}

static void end_job(watch_state *w, watch_job *j)
{
    cli_output out = {.tty = w->tty};

    j->ended = true;
    print_above(w, "%s %s %s\n", j->id, ferry_job_state_name(j->p.state), cli_quote(j->label));
    cli_summary(&out, &j->p, j->error);
    fflush(stderr);
    if (w->tty)
        draw_block(w);
}

/* One job object (from hello or a job event); false: stop watching. */
static bool on_job(watch_state *w, json_t *job, bool hello)
{
    const char *id = json_string_value(json_object_get(job, "id"));
    const char *err = json_string_value(json_object_get(job, "error"));
    watch_job *j;

    if (!id || (w->id && strcmp(w->id, id)))
        return true;
    if (!(j = find_job(w, id, job))) {
        fprintf(stderr, "ferry: out of memory\n");
        w->exit_status = 1;
        return false;
    }
    if (j->ended)
        return true; /* a repeated end (see the top of the file) */
    progress_of_json(job, &j->p);
    if (err) {
        free(j->error);
        j->error = strdup(cli_message(err, NULL, NULL));
    }
    if (hello && ended(j->p.state) && !w->id) {
        j->ended = true; /* history: not watched */
        return true;
    }
    if (!j->shown_start && !ended(j->p.state)) {
        j->shown_start = true;
        print_above(w, "%s %s %s -> %s\n", id, ferry_job_state_name(j->p.state),
                    cli_quote(j->label),
                    cli_quote(json_string_value(json_object_get(job, "dest"))));
    }
    if (final(job, j->p.state) || (hello && ended(j->p.state))) {
        end_job(w, j);
        if (w->id) {
            w->exit_status = status_of(j->p.state);
            return false;
        }
        return true;
    }
    if (w->tty) {
        if (now_ms() - w->last_draw_ms >= DRAW_EVERY_MS)
            draw_block(w);
    } else if (j->p.state == FERRY_JOB_RUNNING && now_ms() - j->last_line_ms >= PIPE_EVERY_MS) {
        char line[1024];
        job_line(j, line, sizeof(line), (int)sizeof(line));
        printf("%s\n", line);
        fflush(stdout);
        j->last_line_ms = now_ms();
    }
    return true;
}

static bool on_watch(json_t *msg, void *arg)
{
    watch_state *w = arg;
    const char *type = json_string_value(json_object_get(msg, "type"));

    if (type && !strcmp(type, "hello")) {
        json_t *jobs = json_object_get(msg, "jobs");
        bool found = false;
        for (size_t i = 0; i < json_array_size(jobs); i++) {
            json_t *job = json_array_get(jobs, i);
            const char *id = json_string_value(json_object_get(job, "id"));
            found |= w->id && id && !strcmp(id, w->id);
            if (!on_job(w, job, true))
                return false;
        }
        if (w->id && !found) {
            fprintf(stderr, "ferry: the daemon has no job %s\n", cli_quote_always(w->id));
            w->exit_status = 1;
            return false;
        }
        return true;
    }
    if (type && !strcmp(type, "job"))
        return on_job(w, json_object_get(msg, "job"), false);
    return true;
}

int cmd_watch(int argc, char **argv)
{
    static const struct option opts[] = {
        {"state-dir", required_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *state_dir = NULL;
    watch_state w = {0};
    cli_daemon d;
    int c, rc = 1;

    opterr = 0;
    optind = 0; /* glibc: start afresh (permuting, options after operands as GNU tools do) */
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (c == 'S') {
            state_dir = optarg;
        } else if (c == 'h') {
            cmd_watch_help(stdout);
            return 0;
        } else {
            return cli_bad_option("watch", c, argv);
        }
    }
    if (argc - optind > 1)
        return cli_usage_error("watch", "at most one job ID");
    w.id = optind < argc ? argv[optind] : NULL;
    w.tty = isatty(STDOUT_FILENO);
    if (cli_daemon_find(&d, state_dir) == 0 && cli_daemon_watch(&d, on_watch, &w) == 0)
        rc = w.exit_status;
    for (size_t i = 0; i < w.njobs; i++) {
        free(w.jobs[i].id);
        free(w.jobs[i].label);
        free(w.jobs[i].error);
    }
    free(w.jobs);
    return rc;
}
