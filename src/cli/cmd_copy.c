/*
 * cli/cmd_copy.c: `ferry copy [options] SOURCE... DEST`: parses the options
 * into a job spec, submits it to a manager (so it is journalled like any
 * job) and runs it in the foreground (runjob.c).
 */
#define _GNU_SOURCE
#include <getopt.h>
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
#include "runjob.h"
#include "quote.h"

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
            "      --tag NAME          group name of the job (a shot, a batch), for ferry jobs\n"
            "      --state-dir DIR     journal directory (default $XDG_STATE_HOME/ferry or\n"
            "                          ~/.local/state/ferry)\n"
            "      --no-journal        keep no record of this copy (no ferry jobs/resume)\n"
            "      --check-exr         check each copied .exr file (header and chunk table,\n"
            "                          as ferry check does) before it gets its name; broken\n"
            "                          frames fail\n\n"
            "Sequences: a SOURCE that names no file but a frame pattern, such as\n"
            "/shots/sh010/comp.####.exr (also @@@@, %%04d, $F4), copies the frames of that\n"
            "pattern directly into DEST (a directory, made if missing):\n"
            "      --frames SET        only these frames: 1001-1100, 1001-1100x2, 1,5,10-20\n"
            "                          (default: every frame on disk)\n"
            "      --renumber START    number the copies START, START+1... in frame order\n"
            "      --keep-step         with --renumber: shift instead, keeping the step\n"
            "                          (1001-1020x2 --renumber 1: 1, 3, 5...)\n"
            "      --pad N             write frame numbers with N digits\n"
            "      --require-complete  refuse to start if a frame asked for is missing\n"
            "Missing frames (asked for, or gaps between the first and last) are reported.\n\n"
            "  -q, --quiet             print errors only\n"
            "  -h, --help              show this help\n\n"
            "Identical files (same size and modification time) are skipped.\n"
            "Exit status: 0 all copied, 1 some files failed, 2 usage error, 130 cancelled.\n",
            FERRY_DEFAULT_WORKERS);
}

enum {
    OPT_BWLIMIT = 256,
    OPT_CONFLICT,
    OPT_NO_FSYNC,
    OPT_TEMP_NAMES,
    OPT_JSON,
    OPT_TAG,
    OPT_STATE,
    OPT_NO_JOURNAL,
    OPT_FRAMES,
    OPT_RENUMBER,
    OPT_PAD,
    OPT_REQUIRE_COMPLETE,
    OPT_CHECK_EXR,
    OPT_KEEP_STEP
};


static int parse_args(int argc, char **argv, ferry_job_spec *spec, cli_output *out,
                      const char **state_dir, bool *no_journal)
{
    static const struct option opts[] = {
        {"jobs", required_argument, NULL, 'j'},
        {"bwlimit", required_argument, NULL, OPT_BWLIMIT},
        {"on-conflict", required_argument, NULL, OPT_CONFLICT},
        {"no-fsync", no_argument, NULL, OPT_NO_FSYNC},
        {"temp-names", no_argument, NULL, OPT_TEMP_NAMES},
        {"json", no_argument, NULL, OPT_JSON},
        {"tag", required_argument, NULL, OPT_TAG},
        {"state-dir", required_argument, NULL, OPT_STATE},
        {"no-journal", no_argument, NULL, OPT_NO_JOURNAL},
        {"frames", required_argument, NULL, OPT_FRAMES},
        {"renumber", required_argument, NULL, OPT_RENUMBER},
        {"pad", required_argument, NULL, OPT_PAD},
        {"require-complete", no_argument, NULL, OPT_REQUIRE_COMPLETE},
        {"check-exr", no_argument, NULL, OPT_CHECK_EXR},
        {"keep-step", no_argument, NULL, OPT_KEEP_STEP},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c, rc;

    opterr = 0;
    optind = 0; /* glibc: start afresh (permuting, options after operands as GNU tools do) */
    while ((c = getopt_long(argc, argv, ":j:qh", opts, NULL)) != -1) {
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
        case OPT_TAG:
            spec->tag = optarg;
            break;
        case OPT_STATE:
            *state_dir = optarg;
            break;
        case OPT_NO_JOURNAL:
            *no_journal = true;
            break;
        case OPT_FRAMES:
            if ((rc = cli_opt_frames("copy", optarg)))
                return rc;
            spec->frames = optarg;
            break;
        case OPT_RENUMBER:
            if ((rc = cli_opt_renumber("copy", optarg, &spec->renumber_start)))
                return rc;
            spec->renumber = true;
            break;
        case OPT_PAD:
            if ((rc = cli_opt_pad("copy", optarg, &spec->pad)))
                return rc;
            break;
        case OPT_REQUIRE_COMPLETE:
            spec->require_complete = true;
            break;
        case OPT_KEEP_STEP:
            spec->keep_step = true;
            break;
        case OPT_CHECK_EXR:
            spec->check_exr = true;
            break;
        case 'q':
            out->quiet = true;
            break;
        case 'h':
            cmd_copy_help(stdout);
            return -1;
        default:
            return cli_bad_option("copy", c, argv);
        }
    }
    if (argc - optind < 2)
        return cli_usage_error("copy", "needs at least one SOURCE and a DEST");
    if (spec->keep_step && !spec->renumber)
        return cli_usage_error("copy", "--keep-step applies with --renumber START");
    spec->sources = (const char *const *)argv + optind;
    spec->nsources = (size_t)(argc - optind - 1);
    spec->dest = argv[argc - 1];
    return 0;
}

int cmd_copy(int argc, char **argv)
{
    ferry_job_spec spec;
    cli_output out = {0};
    ferry_manager *m;
    const char *state_dir = NULL;
    bool no_journal = false;
    char id[16];
    int rc;

    ferry_job_spec_init(&spec);
    if ((rc = parse_args(argc, argv, &spec, &out, &state_dir, &no_journal)) != 0)
        return rc < 0 ? 0 : rc;
    out.tty = isatty(STDERR_FILENO);
    cli_block_signals(); /* before any thread exists, so that all inherit the mask */
    if ((rc = cli_open_manager(&m, state_dir, spec.workers, out.quiet, no_journal)))
        return rc;
    if ((rc = cli_subscribe(m))) {
        ferry_manager_close(m);
        return rc;
    }
    if (ferry_manager_submit(m, &spec, id) < 0) {
        fprintf(stderr, "ferry: %s\n", cli_message(ferry_error_last(), spec.dest, NULL));
        ferry_manager_close(m);
        return 1;
    }
    if (out.json) {
        char *line = ferry_json_start(id, &spec);
        if (line)
            printf("%s\n", line);
        fflush(stdout);
        free(line);
    }
    cli_run_job(m, id, &out);
}
