/*
 * cli/cmd_ls.c: `ferry ls [-r] [--json] PATH...`: directories shown as frame
 * sequences (pattern, range, count, size, missing frames) and single files.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "ferry/common.h"
#include "ferry/seq.h"
#include "ferry/size.h"
#include "quote.h"

void cmd_ls_help(FILE *out)
{
    fprintf(out, "usage: ferry ls [-r] [--json] PATH...\n\n"
                 "Lists directories as frame sequences, one line each:\n"
                 "  sh010_comp.####.exr  1001-1100  98 frames  78 MiB  missing 1042-1043\n"
                 "and single files as themselves. -r descends into subdirectories.\n"
                 "--json prints one JSON array of entries (docs/sequences.md).\n");
}

typedef struct {
    bool recursive, json;
    json_t *out;
    int failed;
} ls_opts;

static char *joined(const char *dir, const char *name)
{
    char *p = NULL;
    if (!strcmp(dir, "."))
        return strdup(name);
    return asprintf(&p, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", name) < 0 ? NULL : p;
}

static void print_seq(ls_opts *o, const char *dir, const ferry_seq *s)
{
    ferry_frameset miss;
    char *pat = ferry_pattern_format(&s->pattern, '#'), *range = ferry_frameset_format(&s->frames);
    char *path = joined(dir, pat ? pat : "?"), *gaps = NULL, size[16];
    uint64_t count = ferry_frameset_count(&s->frames);

    if (ferry_seq_missing(s, &miss) == FERRY_OK && miss.n) {
        /* With gaps, the range reads first-last (at the sequence's step) and
         * the gaps are listed apart. */
        ferry_frameset span;
        ferry_frameset_init(&span);
        gaps = ferry_frameset_format(&miss);
        free(range);
        range = NULL;
        if (ferry_frameset_add(&span, s->frames.r[0].start) == FERRY_OK) {
            span.r[0].end = s->frames.r[s->frames.n - 1].end;
            span.r[0].step = ferry_seq_step(&s->frames);
            range = ferry_frameset_format(&span);
        }
        ferry_frameset_release(&span);
    }
    if (o->json) {
        json_t *e = json_pack("{s:s,s:s,s:s,s:I,s:I}", "type", "sequence", "path", path ? path : "",
                              "frames", range ? range : "", "count", (json_int_t)count, "bytes",
                              (json_int_t)s->bytes);
        json_object_set_new(e, "missing", gaps ? json_string(gaps) : json_null());
        json_object_set_new(e, "missing_count", json_integer((json_int_t)ferry_frameset_count(&miss)));
        json_array_append_new(o->out, e);
    } else {
        printf("%s  %s  %llu frame%s  %s", cli_quote(path), range, (unsigned long long)count,
               count == 1 ? "" : "s", ferry_size_format(s->bytes, size, sizeof(size)));
        if (gaps)
            printf("  missing %s", gaps);
        putchar('\n');
    }
    ferry_frameset_release(&miss);
    free(pat);
    free(range);
    free(path);
    free(gaps);
}

static void print_file(ls_opts *o, const char *path, uint64_t bytes)
{
    char size[16];

    if (o->json)
        json_array_append_new(o->out, json_pack("{s:s,s:s,s:I}", "type", "file", "path", path,
                                                "bytes", (json_int_t)bytes));
    else
        printf("%s  %s\n", cli_quote(path), ferry_size_format(bytes, size, sizeof(size)));
}

static void list_dir(ls_opts *o, const char *dir)
{
    ferry_seq_listing l;

    if (ferry_seq_scan(dir, &l) < 0) {
        fprintf(stderr, "ferry: %s\n", cli_message(ferry_error_last(), dir, NULL));
        o->failed = 1;
        return;
    }
    for (size_t i = 0; i < l.nseqs; i++)
        print_seq(o, dir, &l.seqs[i]);
    for (size_t i = 0; i < l.nfiles; i++) {
        char *p = joined(dir, l.files[i]);
        print_file(o, p ? p : l.files[i], l.file_bytes[i]);
        free(p);
    }
    for (size_t i = 0; i < l.ndirs; i++) {
        char *p = joined(dir, l.dirs[i]);
        if (!p)
            continue;
        if (o->recursive)
            list_dir(o, p);
        else if (o->json)
            json_array_append_new(o->out, json_pack("{s:s,s:s}", "type", "dir", "path", p));
        else
            printf("%s/\n", cli_quote(p));
        free(p);
    }
    ferry_seq_listing_release(&l);
}

int cmd_ls(int argc, char **argv)
{
    static const struct option opts[] = {
        {"recursive", no_argument, NULL, 'r'}, {"json", no_argument, NULL, 'J'},
        {"help", no_argument, NULL, 'h'},      {NULL, 0, NULL, 0},
    };
    ls_opts o = {0};
    int c;

    opterr = 0;
    optind = 0; /* glibc: start afresh (permuting, options after operands as GNU tools do) */
    while ((c = getopt_long(argc, argv, ":rh", opts, NULL)) != -1) {
        if (c == 'r')
            o.recursive = true;
        else if (c == 'J')
            o.json = true;
        else if (c == 'h') {
            cmd_ls_help(stdout);
            return 0;
        } else
            return cli_bad_option("ls", c, argv);
    }
    if (o.json)
        o.out = json_array();
    if (optind == argc)
        list_dir(&o, ".");
    for (int i = optind; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) < 0) {
            const char *why = strerror(errno); /* before quoting, which allocates */
            fprintf(stderr, "ferry: cannot list %s: %s\n", cli_quote_always(argv[i]), why);
            o.failed = 1;
        } else if (S_ISDIR(st.st_mode)) {
            list_dir(&o, argv[i]);
        } else {
            print_file(&o, argv[i], (uint64_t)st.st_size);
        }
    }
    if (o.json) {
        char *s = json_dumps(o.out, JSON_COMPACT);
        printf("%s\n", s ? s : "[]");
        free(s);
        json_decref(o.out);
    }
    return o.failed;
}
