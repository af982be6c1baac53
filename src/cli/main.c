/* cli/main.c: `ferry`: global options and dispatch to one cmd_*.c per command. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "cli.h"
#include "ferry/common.h"

static const cli_command commands[] = {
    {"copy", "copy files, trees and frame sequences; nothing partial is ever left", cmd_copy,
     cmd_copy_help},
    {"ls", "list directories as frame sequences (range, count, size, gaps)", cmd_ls,
     cmd_ls_help},
    {"check", "check EXR frames are whole: header and every chunk inside the file", cmd_check,
     cmd_check_help},
    {"jobs", "list the jobs of the journal", cmd_jobs, cmd_jobs_help},
    {"resume", "run an interrupted or cancelled job again", cmd_resume, cmd_resume_help},
    {"prune", "forget old ended jobs", cmd_prune, cmd_prune_help},
    {"serve", "run the daemon: web UI, JSON API and live events", cmd_serve, cmd_serve_help},
    {"submit", "hand a copy to the running daemon", cmd_submit, cmd_submit_help},
    {"cancel", "cancel jobs of the running daemon (by id, tag or all)", cmd_cancel,
     cmd_cancel_help},
    {"watch", "show the daemon's jobs live", cmd_watch, cmd_watch_help},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
    fprintf(out, "usage: ferry [--version] [--help] COMMAND [ARGS]\n\n"
                 "ferry copies files for film and post-production: a Cancel stops it within\n"
                 "milliseconds, and a file appears under its final name only when complete.\n\n"
                 "Commands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun 'ferry help COMMAND' for a command's options.\n");
}

static const cli_command *find(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(commands[i].name, name))
            return &commands[i];
    return NULL;
}

/* Many temps wait for their group commit at once: allow as many descriptors as we may. */
static void raise_fd_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int main(int argc, char **argv)
{
    const cli_command *cmd;

    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("ferry %s\n", ferry_version());
        return 0;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "help")) {
        if (argc < 3) {
            usage(stdout);
            return 0;
        }
        if (!(cmd = find(argv[2])))
            return cli_usage_error(NULL, "unknown command '%s'", argv[2]);
        cmd->help(stdout);
        return 0;
    }
    if (argv[1][0] == '-')
        return cli_usage_error(NULL, "unknown option '%s'", argv[1]);
    if (!(cmd = find(argv[1])))
        return cli_usage_error(NULL, "unknown command '%s'", argv[1]);
    raise_fd_limit();
    return cmd->run(argc - 1, argv + 1);
}
