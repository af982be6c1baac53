/*
 * cli/cmd_jobs.c: `ferry jobs` lists the journal; `ferry resume ID` runs an
 * interrupted or cancelled job again in the foreground; `ferry prune`
 * forgets old ended jobs.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "ferry/common.h"
#include "ferry/manager.h"
#include "ferry/size.h"
#include "runjob.h"
#include "quote.h"

void cmd_jobs_help(FILE *out)
{
    fprintf(out, "usage: ferry jobs [--state STATE] [--tag TAG] [--json] [--state-dir DIR]\n\n"
                 "Lists the jobs of the journal, newest first: id, state, tag, files, bytes,\n"
                 "when it was created, and where it copied to. STATE is one of queued,\n"
                 "running, cancelled, done, failed, interrupted.\n");
}

void cmd_resume_help(FILE *out)
{
    fprintf(out, "usage: ferry resume [--json] [-q] [--state-dir DIR] ID\n\n"
                 "Runs an interrupted or cancelled job again, in the foreground, under the\n"
                 "same id. Files already complete at the destination (same size and\n"
                 "modification time) are skipped. Exit status as for ferry copy.\n");
}

void cmd_prune_help(FILE *out)
{
    fprintf(out, "usage: ferry prune [--older-than DAYS] [--state-dir DIR]\n\n"
                 "Forgets ended jobs (done, failed, cancelled, interrupted) that finished more\n"
                 "than DAYS days ago (default 30; 0 forgets every ended job).\n");
}

enum { OPT_STATE_DIR = 256, OPT_STATE, OPT_TAG, OPT_JSON, OPT_OLDER };

static const struct option opts[] = {
    {"state-dir", required_argument, NULL, OPT_STATE_DIR},
    {"state", required_argument, NULL, OPT_STATE},
    {"tag", required_argument, NULL, OPT_TAG},
    {"json", no_argument, NULL, OPT_JSON},
    {"older-than", required_argument, NULL, OPT_OLDER},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

typedef struct {
    const char *state_dir, *state, *tag, *older;
    bool json, quiet;
} jobs_args;

/* Parses the shared options; returns -1 after --help, EXIT_USAGE or 0. */
static int parse(const char *cmd, int argc, char **argv, jobs_args *a, void (*help)(FILE *))
{
    int c;

    memset(a, 0, sizeof(*a));
    opterr = 0;
    optind = 0; /* glibc: start afresh (permuting, options after operands as GNU tools do) */
    while ((c = getopt_long(argc, argv, ":qh", opts, NULL)) != -1) {
        switch (c) {
        case OPT_STATE_DIR:
            a->state_dir = optarg;
            break;
        case OPT_STATE:
            a->state = optarg;
            break;
        case OPT_TAG:
            a->tag = optarg;
            break;
        case OPT_JSON:
            a->json = true;
            break;
        case OPT_OLDER:
            a->older = optarg;
            break;
        case 'q':
            a->quiet = true;
            break;
        case 'h':
            help(stdout);
            return -1;
        default:
            return cli_bad_option(cmd, c, argv);
        }
    }
    return 0;
}

static const char *when(int64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    if (ms <= 0)
        return "-";
    localtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
    return buf;
}

static json_t *info_json(const ferry_job_info *in)
{
    json_t *o = json_object(), *src = json_array();

    for (size_t i = 0; i < in->nsources; i++)
        json_array_append_new(src, json_string(in->sources[i]));
    json_object_set_new(o, "id", json_string(in->id));
    json_object_set_new(o, "state", json_string(ferry_job_state_name(in->state)));
    json_object_set_new(o, "tag", in->tag ? json_string(in->tag) : json_null());
    json_object_set_new(o, "sources", src);
    json_object_set_new(o, "dest", in->dest ? json_string(in->dest) : json_null());
    json_object_set_new(o, "created_at", json_integer(in->created_at));
    json_object_set_new(o, "started_at", json_integer(in->started_at));
    json_object_set_new(o, "finished_at", json_integer(in->finished_at));
    json_object_set_new(o, "bytes_total", json_integer((json_int_t)in->bytes_total));
    json_object_set_new(o, "bytes_done", json_integer((json_int_t)in->bytes_done));
    json_object_set_new(o, "bytes_copied", json_integer((json_int_t)in->bytes_copied));
    json_object_set_new(o, "bytes_skipped", json_integer((json_int_t)in->bytes_skipped));
    json_object_set_new(o, "files_total", json_integer((json_int_t)in->files_total));
    json_object_set_new(o, "files_done", json_integer((json_int_t)in->files_done));
    json_object_set_new(o, "files_skipped", json_integer((json_int_t)in->files_skipped));
    json_object_set_new(o, "files_failed", json_integer((json_int_t)in->files_failed));
    json_object_set_new(o, "files_not_attempted",
                        json_integer((json_int_t)in->files_not_attempted));
    json_object_set_new(o, "error", in->error ? json_string(in->error) : json_null());
    json_object_set_new(o, "cancel_latency_us",
                        in->cancel_latency_us >= 0 ? json_integer(in->cancel_latency_us)
                                                   : json_null());
    return o;
}

static bool valid_state(const char *s)
{
    for (int i = FERRY_JOB_QUEUED; i <= FERRY_JOB_INTERRUPTED; i++)
        if (!strcmp(s, ferry_job_state_name((ferry_job_state)i)))
            return true;
    return false;
}

int cmd_jobs(int argc, char **argv)
{
    jobs_args a;
    ferry_manager *m;
    ferry_job_info *v;
    size_t n;
    int rc;

    if ((rc = parse("jobs", argc, argv, &a, cmd_jobs_help)) != 0)
        return rc < 0 ? 0 : rc;
    if (optind != argc)
        return cli_usage_error("jobs", "unexpected argument '%s'", argv[optind]);
    if (a.state && !valid_state(a.state))
        return cli_usage_error("jobs", "invalid --state '%s'", a.state);
    if ((rc = cli_open_manager(&m, a.state_dir, 1, a.json, false)))
        return rc;
    if (ferry_manager_list(m, a.state, a.tag, &v, &n) < 0) {
        fprintf(stderr, "ferry: %s\n", cli_message(ferry_error_last(), NULL, NULL));
        ferry_manager_close(m);
        return 1;
    }
    if (a.json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, info_json(&v[i]));
        char *s = json_dumps(arr, JSON_COMPACT);
        printf("%s\n", s ? s : "[]");
        free(s);
        json_decref(arr);
    } else {
        printf("%-10s  %-11s  %-12s  %13s  %10s  %-19s  %s\n", "ID", "STATE", "TAG", "FILES",
               "BYTES", "CREATED", "DEST");
        for (size_t i = 0; i < n; i++) {
            char files[32], bytes[16], t[32];
            snprintf(files, sizeof(files), "%llu/%llu",
                     (unsigned long long)(v[i].files_done + v[i].files_skipped),
                     (unsigned long long)v[i].files_total);
            ferry_size_format(v[i].bytes_copied, bytes, sizeof(bytes)); /* what moved */
            printf("%-10s  %-11s  %-12s  %13s  %10s  %-19s  %s\n", v[i].id,
                   ferry_job_state_name(v[i].state), v[i].tag ? cli_quote(v[i].tag) : "-", files,
                   bytes, when(v[i].created_at, t, sizeof(t)),
                   v[i].dest ? cli_quote(v[i].dest) : "?");
        }
    }
    ferry_job_info_free(v, n);
    ferry_manager_close(m);
    return 0;
}

int cmd_resume(int argc, char **argv)
{
    jobs_args a;
    ferry_manager *m;
    cli_output out = {0};
    int rc;

    if ((rc = parse("resume", argc, argv, &a, cmd_resume_help)) != 0)
        return rc < 0 ? 0 : rc;
    if (argc - optind != 1)
        return cli_usage_error("resume", "needs exactly one job ID");
    out.json = a.json;
    out.quiet = a.quiet;
    out.tty = isatty(STDERR_FILENO);
    cli_block_signals();
    if ((rc = cli_open_manager(&m, a.state_dir, 0, a.quiet, false)))
        return rc;
    if ((rc = cli_subscribe(m))) {
        ferry_manager_close(m);
        return rc;
    }
    if (ferry_manager_resume(m, argv[optind]) < 0) {
        fprintf(stderr, "ferry: %s\n", cli_message(ferry_error_last(), NULL, NULL));
        ferry_manager_close(m);
        return 1;
    }
    cli_run_job(m, argv[optind], &out);
}

int cmd_prune(int argc, char **argv)
{
    jobs_args a;
    ferry_manager *m;
    unsigned removed = 0;
    long days = 30;
    int rc;

    if ((rc = parse("prune", argc, argv, &a, cmd_prune_help)) != 0)
        return rc < 0 ? 0 : rc;
    if (a.older) {
        char *end;
        days = strtol(a.older, &end, 10);
        if (*end || days < 0)
            return cli_usage_error("prune", "invalid --older-than '%s': days", a.older);
    }
    if ((rc = cli_open_manager(&m, a.state_dir, 1, a.quiet, false)))
        return rc;
    rc = ferry_manager_prune(m, (int64_t)days * 86400, &removed);
    if (rc < 0)
        fprintf(stderr, "ferry: %s\n", cli_message(ferry_error_last(), NULL, NULL));
    else if (!a.quiet)
        printf("forgot %u job%s\n", removed, removed == 1 ? "" : "s");
    ferry_manager_close(m);
    return rc < 0 ? 1 : 0;
}
