/* cli/cli.h: what the ferry command's files share. */
#ifndef FERRY_CLI_H
#define FERRY_CLI_H

#include <stdint.h>
#include <stdio.h>

/* Exit codes: 0 all well, 1 some files failed or the job failed, 2 usage. */
#define EXIT_USAGE 2
#define EXIT_CANCELLED 130

typedef struct {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
    void (*help)(FILE *out);
} cli_command;

int cmd_copy(int argc, char **argv);
void cmd_copy_help(FILE *out);
int cmd_jobs(int argc, char **argv);
void cmd_jobs_help(FILE *out);
int cmd_resume(int argc, char **argv);
void cmd_resume_help(FILE *out);
int cmd_prune(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_submit(int argc, char **argv);
void cmd_submit_help(FILE *out);
int cmd_cancel(int argc, char **argv);
void cmd_cancel_help(FILE *out);
int cmd_watch(int argc, char **argv);
int cmd_ls(int argc, char **argv);
void cmd_ls_help(FILE *out);
int cmd_check(int argc, char **argv);
void cmd_check_help(FILE *out);
void cmd_watch_help(FILE *out);
void cmd_serve_help(FILE *out);
void cmd_prune_help(FILE *out);

/* The usage error for what getopt_long returned as c (':' a missing value,
 * anything else an unknown option) about argv[optind - 1]; returns EXIT_USAGE. */
int cli_bad_option(const char *cmd, int c, char **argv);

/* Prints "ferry CMD: msg" and the hint to read the help; returns EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* seqopts.c: --frames, --renumber, --pad of ferry copy and submit; 0, or the
 * usage error's exit status, printed. */
int cli_opt_frames(const char *cmd, const char *arg);
int cli_opt_renumber(const char *cmd, const char *arg, int64_t *out);
int cli_opt_pad(const char *cmd, const char *arg, int *out);

#endif
