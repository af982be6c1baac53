/*
 * cli/cmd_remote.c: commands that talk to a running `ferry serve`:
 * `ferry submit`, `ferry cancel` (`ferry watch`: cmd_watch.c).
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "ferry/common.h"
#include "ferry/job.h"
#include "ferry/size.h"
#include "quote.h"

void cmd_submit_help(FILE *out)
{
    fprintf(out, "usage: ferry submit [--tag T] [--bwlimit RATE] [--on-conflict P] [--no-fsync]\n"
                 "                    [--frames SET] [--renumber START [--keep-step]] [--pad N]\n"
                 "                    [--require-complete] [--check-exr]\n"
                 "                    [--state-dir DIR] [--json] SOURCE... DEST\n\n"
                 "Hands a copy to the running daemon; each SOURCE lands in the directory\n"
                 "DEST under its own name, a sequence's frames (comp.####.exr) directly in\n"
                 "it. The options are ferry copy's. Prints the job id (--json: the job\n"
                 "object).\n");
}

void cmd_cancel_help(FILE *out)
{
    fprintf(out, "usage: ferry cancel [--state-dir DIR] ID... | --tag TAG | --all\n\n"
                 "Cancels jobs of the running daemon. Cancelling twice is harmless; a job\n"
                 "that already ended is reported (exit 1). As pkill, --tag or --all that\n"
                 "matches no queued or running job exits 1.\n");
}

enum {
    R_STATE = 256,
    R_TAG,
    R_ALL,
    R_BW,
    R_CONFLICT,
    R_NOFSYNC,
    R_JSON,
    R_FRAMES,
    R_RENUMBER,
    R_PAD,
    R_COMPLETE,
    R_CHECK_EXR,
    R_KEEP_STEP
};

static const struct option opts[] = {
    {"state-dir", required_argument, NULL, R_STATE}, {"tag", required_argument, NULL, R_TAG},
    {"all", no_argument, NULL, R_ALL},               {"bwlimit", required_argument, NULL, R_BW},
    {"on-conflict", required_argument, NULL, R_CONFLICT},
    {"no-fsync", no_argument, NULL, R_NOFSYNC},      {"json", no_argument, NULL, R_JSON},
    {"frames", required_argument, NULL, R_FRAMES},   {"renumber", required_argument, NULL, R_RENUMBER},
    {"pad", required_argument, NULL, R_PAD},         {"require-complete", no_argument, NULL, R_COMPLETE},
    {"check-exr", no_argument, NULL, R_CHECK_EXR},   {"keep-step", no_argument, NULL, R_KEEP_STEP},
    {"help", no_argument, NULL, 'h'},                {NULL, 0, NULL, 0},
};

typedef struct {
    const char *state_dir, *tag, *bwlimit, *conflict, *frames, *renumber, *pad;
    bool all, no_fsync, json, require_complete, check_exr, keep_step;
} remote_args;

static int parse(const char *cmd, int argc, char **argv, remote_args *a, void (*help)(FILE *))
{
    int c;

    memset(a, 0, sizeof(*a));
    opterr = 0;
    optind = 0; /* glibc: start afresh (permuting, options after operands as GNU tools do) */
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case R_STATE:
            a->state_dir = optarg;
            break;
        case R_TAG:
            a->tag = optarg;
            break;
        case R_ALL:
            a->all = true;
            break;
        case R_BW:
            a->bwlimit = optarg;
            break;
        case R_CONFLICT:
            a->conflict = optarg;
            break;
        case R_NOFSYNC:
            a->no_fsync = true;
            break;
        case R_JSON:
            a->json = true;
            break;
        case R_FRAMES:
            a->frames = optarg;
            break;
        case R_RENUMBER:
            a->renumber = optarg;
            break;
        case R_PAD:
            a->pad = optarg;
            break;
        case R_COMPLETE:
            a->require_complete = true;
            break;
        case R_KEEP_STEP:
            a->keep_step = true;
            break;
        case R_CHECK_EXR:
            a->check_exr = true;
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

/* Prints the API's error message; returns 1. */
static int api_failed(int status, json_t *resp)
{
    const char *msg = json_string_value(json_object_get(json_object_get(resp, "error"), "message"));
    fprintf(stderr, "ferry: daemon answered %d: %s\n", status,
            msg ? cli_message(msg, NULL, NULL) : "no message");
    return 1;
}

static char *absolute(const char *p)
{
    char cwd[PATH_MAX], *out = NULL;

    if (p[0] == '/')
        return strdup(p);
    if (!getcwd(cwd, sizeof(cwd)))
        return NULL;
    return asprintf(&out, "%s/%s", cwd, p) < 0 ? NULL : out;
}

int cmd_submit(int argc, char **argv)
{
    remote_args a;
    cli_daemon d;
    json_t *body, *src, *resp = NULL;
    int rc, status = 0;

    if ((rc = parse("submit", argc, argv, &a, cmd_submit_help)) != 0)
        return rc < 0 ? 0 : rc;
    if (argc - optind < 2)
        return cli_usage_error("submit", "needs at least one SOURCE and a DEST");
    if (a.conflict) {
        ferry_conflict cc;
        if (ferry_conflict_parse(a.conflict, &cc) < 0)
            return cli_usage_error("submit", "--on-conflict: fail, skip, overwrite or rename");
    }
    if (a.bwlimit) {
        uint64_t v;
        if (ferry_size_parse(a.bwlimit, &v) < 0)
            return cli_usage_error("submit", "--bwlimit: %s", ferry_error_last());
    }
    int64_t renumber = 0;
    int pad = 0;
    if ((a.frames && (rc = cli_opt_frames("submit", a.frames))) ||
        (a.renumber && (rc = cli_opt_renumber("submit", a.renumber, &renumber))) ||
        (a.pad && (rc = cli_opt_pad("submit", a.pad, &pad))))
        return rc;
    if (a.keep_step && !a.renumber)
        return cli_usage_error("submit", "--keep-step goes with --renumber");
    if (cli_daemon_find(&d, a.state_dir))
        return 1;
    body = json_object();
    src = json_array();
    for (int i = optind; i < argc - 1; i++) {
        char *p = absolute(argv[i]);
        json_array_append_new(src, json_string(p ? p : argv[i]));
        free(p);
    }
    char *dest = absolute(argv[argc - 1]);
    json_object_set_new(body, "sources", src);
    json_object_set_new(body, "dest", json_string(dest ? dest : argv[argc - 1]));
    free(dest);
    if (a.tag)
        json_object_set_new(body, "tag", json_string(a.tag));
    if (a.bwlimit)
        json_object_set_new(body, "bwlimit", json_string(a.bwlimit));
    if (a.conflict)
        json_object_set_new(body, "on_conflict", json_string(a.conflict));
    if (a.no_fsync)
        json_object_set_new(body, "fsync", json_false());
    if (a.frames)
        json_object_set_new(body, "frames", json_string(a.frames));
    if (a.renumber)
        json_object_set_new(body, "renumber", json_integer(renumber));
    if (a.keep_step)
        json_object_set_new(body, "keep_step", json_true());
    if (a.pad)
        json_object_set_new(body, "pad", json_integer(pad));
    if (a.require_complete)
        json_object_set_new(body, "require_complete", json_true());
    if (a.check_exr)
        json_object_set_new(body, "check_exr", json_true());
    rc = cli_daemon_request(&d, "POST", "/api/jobs", body, &status, &resp);
    json_decref(body);
    if (rc == 0 && status != 201)
        rc = api_failed(status, resp);
    else if (rc == 0 && a.json) {
        char *s = json_dumps(resp, JSON_COMPACT);
        printf("%s\n", s ? s : "{}");
        free(s);
    } else if (rc == 0) {
        printf("%s\n", json_string_value(json_object_get(resp, "id")));
    }
    json_decref(resp);
    return rc;
}

int cmd_cancel(int argc, char **argv)
{
    remote_args a;
    cli_daemon d;
    json_t *resp = NULL;
    int rc, status = 0, failed = 0;

    if ((rc = parse("cancel", argc, argv, &a, cmd_cancel_help)) != 0)
        return rc < 0 ? 0 : rc;
    if ((optind < argc) + (a.tag != NULL) + a.all != 1)
        return cli_usage_error("cancel", "give job IDs, or --tag TAG, or --all");
    if (cli_daemon_find(&d, a.state_dir))
        return 1;
    if (a.tag || a.all) {
        json_t *body = a.all ? json_pack("{s:b}", "all", 1) : json_pack("{s:s}", "tag", a.tag);
        rc = cli_daemon_request(&d, "POST", "/api/cancel", body, &status, &resp);
        json_decref(body);
        if (rc || status != 200) {
            rc = rc ? rc : api_failed(status, resp);
        } else {
            json_t *ids = json_object_get(resp, "cancelled");
            for (size_t i = 0; i < json_array_size(ids); i++)
                printf("cancelled %s\n", cli_quote(json_string_value(json_array_get(ids, i))));
            if (json_array_size(ids) == 0) {
                /* As pkill: nothing matched is exit 1 (a typo in a tag is not success). */
                if (a.all)
                    fprintf(stderr, "ferry: nothing to cancel: no job is queued or running\n");
                else
                    fprintf(stderr, "ferry: nothing to cancel: no queued or running job has tag %s\n",
                            cli_quote_always(a.tag));
                rc = 1;
            }
        }
        json_decref(resp);
        return rc;
    }
    for (int i = optind; i < argc; i++) {
        char path[256];
        snprintf(path, sizeof(path), "/api/jobs/%s/cancel", argv[i]);
        resp = NULL;
        if (cli_daemon_request(&d, "POST", path, NULL, &status, &resp))
            return 1;
        if (status == 200)
            printf("cancelled %s\n", cli_quote(argv[i]));
        else
            failed |= api_failed(status, resp);
        json_decref(resp);
    }
    return failed;
}
