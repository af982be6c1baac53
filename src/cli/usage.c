/* cli/usage.c: the usage errors every command prints (exit 2). */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "quote.h"

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    char *msg = NULL;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&msg, fmt, ap);
    va_end(ap);
    /* The message may echo what was typed: escaped as names are (quote.h). */
    fprintf(stderr, "ferry%s%s: %s\nTry 'ferry help%s%s'.\n", cmd ? " " : "", cmd ? cmd : "",
            n < 0 ? "bad usage" : cli_message(msg, NULL, NULL), cmd ? " " : "", cmd ? cmd : "");
    free(msg);
    return EXIT_USAGE;
}

int cli_bad_option(const char *cmd, int c, char **argv)
{
    if (c == ':')
        return cli_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
    return cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
}
