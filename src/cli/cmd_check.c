/*
 * cli/cmd_check.c: `ferry check [-r] [--json] [-j N] PATH...`: the structural
 * check of EXR files (ferry/exr.h), of single files, of the frame sequences of
 * directories and of sequence patterns.
 *
 * The arguments are first turned into groups (a sequence, or one file) of
 * items (one file each); the items are then checked by a few threads that
 * take the next unchecked item from an atomic counter, and the results are
 * printed group by group in the order of the arguments, so the output does
 * not depend on the threads.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli.h"
#include "ferry/common.h"
#include "ferry/exr.h"
#include "ferry/seq.h"
#include "quote.h"

#define MAX_THREADS 64
/*
 * The check waits on reads more than it computes: with frames not in memory,
 * reads in flight count more than cores (781 frames of 800 KB from a cold
 * page cache on 2 cores: 560 ms with 1 thread, 460 with 2, 370 with 8; warm,
 * 2 to 8 threads are alike; bench/check.sh).
 */
#define DEFAULT_THREADS 8
#define LISTED_BROKEN   10 /* broken frames named in a sequence's summary */

void cmd_check_help(FILE *out)
{
    fprintf(out, "usage: ferry check [-r] [--json] [-j N] PATH...\n\n"
                 "Checks that EXR files are whole: the header parses and every chunk of\n"
                 "pixel data lies inside the file. Pixels are not decoded, so this finds\n"
                 "truncated, empty, unfinished and misnamed frames, not damaged pixels.\n\n"
                 "PATH is an EXR file, a directory (its .exr files, as sequences; -r also\n"
                 "its subdirectories) or a sequence pattern (shots/sh010.####.exr: every\n"
                 "frame of it on disk). Each broken file is printed with its cause, then\n"
                 "one summary line per sequence:\n"
                 "  sh010.####.exr  1001-1100  100 frames  2 broken: 1042 (truncated), ...\n\n"
                 "  -r, --recursive  descend into subdirectories\n"
                 "  --json           one JSON document with every file's result\n"
                 "  -j, --jobs N     check N files at once (default 8)\n\n"
                 "Exit status: 0 all sound, 1 some file broken, 2 a PATH or file that could\n"
                 "not be read, or bad usage.\n");
}

typedef enum { ITEM_SOUND, ITEM_BROKEN, ITEM_UNREADABLE } item_status;

typedef struct {
    char *path;
    size_t group;
    int64_t frame;      /* in a sequence */
    item_status status; /* set by the checking thread */
    char *why;          /* the cause, unless sound */
} item;

typedef struct {
    char *display; /* "shots/sh010.####.exr", or the file's path */
    bool sequence;
    size_t first, n; /* its items */
} group;

typedef struct {
    bool recursive, json;
    int threads;
    item *items;
    size_t nitems, items_cap;
    group *groups;
    size_t ngroups, groups_cap;
    int failed;          /* EXIT_USAGE when an argument could not be read */
    _Atomic size_t next; /* the next item to check */
} check_run;

/* The CLI's answer to malloc failing: nothing useful can follow. */
static void *need(void *p)
{
    if (!p) {
        fprintf(stderr, "ferry: out of memory\n");
        exit(1);
    }
    return p;
}

static char *joined(const char *dir, const char *name)
{
    char *p = NULL;
    if (!strcmp(dir, "."))
        return strdup(name);
    return asprintf(&p, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", name) < 0 ? NULL : p;
}

static bool is_exr_name(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && !strcasecmp(name + n - 4, ".exr");
}

static void *grow(void *arr, size_t *cap, size_t want, size_t elem)
{
    size_t ncap = *cap ? *cap : 64;

    if (want <= *cap)
        return arr;
    while (ncap < want)
        ncap *= 2;
    arr = need(realloc(arr, ncap * elem));
    *cap = ncap;
    return arr;
}

/* Starts a group; items added next belong to it. Takes display. */
static void add_group(check_run *r, char *display, bool sequence)
{
    r->groups = grow(r->groups, &r->groups_cap, r->ngroups + 1, sizeof(group));
    r->groups[r->ngroups++] = (group){need(display), sequence, r->nitems, 0};
}

/* Adds a file to the last group. Takes path. */
static void add_item(check_run *r, char *path, int64_t frame)
{
    need(path);
    r->items = grow(r->items, &r->items_cap, r->nitems + 1, sizeof(item));
    r->items[r->nitems++] = (item){.path = path, .group = r->ngroups - 1, .frame = frame};
    r->groups[r->ngroups - 1].n++;
}

/* A sequence found by ferry_seq_scan, if it is made of EXR frames. */
static void add_seq(check_run *r, const char *dir, const ferry_seq *s)
{
    char *pat = need(ferry_pattern_format(&s->pattern, '#'));

    if (!is_exr_name(pat)) {
        free(pat);
        return;
    }
    add_group(r, joined(dir, pat), true);
    free(pat);
    for (size_t i = 0; i < s->frames.n; i++) {
        const ferry_frange *fr = &s->frames.r[i];
        for (int64_t f = fr->start; f <= fr->end; f += fr->step) {
            char *name = need(ferry_pattern_frame(&s->pattern, f));
            add_item(r, joined(dir, name), f);
            free(name);
        }
    }
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A directory's EXR sequences and single EXR files; -r: its subdirectories too. */
static void add_dir(check_run *r, const char *dir)
{
    ferry_seq_listing l;

    if (ferry_seq_scan(dir, &l) < 0) {
        fprintf(stderr, "ferry: cannot check %s: %s\n", cli_quote_always(dir),
                cli_message(ferry_error_last(), dir, NULL));
        r->failed = EXIT_USAGE;
        return;
    }
    for (size_t i = 0; i < l.nseqs; i++)
        add_seq(r, dir, &l.seqs[i]);
    /* Single files in name order, whatever order the directory gave. */
    qsort(l.files, l.nfiles, sizeof(char *), by_name);
    for (size_t i = 0; i < l.nfiles; i++) {
        if (!is_exr_name(l.files[i]))
            continue;
        char *p = need(joined(dir, l.files[i]));
        add_group(r, strdup(p), false);
        add_item(r, p, 0);
    }
    for (size_t i = 0; r->recursive && i < l.ndirs; i++) {
        char *p = joined(dir, l.dirs[i]);
        if (p)
            add_dir(r, p);
        free(p);
    }
    ferry_seq_listing_release(&l);
}

static int by_frame(const void *a, const void *b)
{
    int64_t x = ((const item *)a)->frame, y = ((const item *)b)->frame;
    return (x > y) - (x < y);
}

/* Every frame on disk of a pattern ("shots/sh010.####.exr"); false if none. */
static bool add_pattern(check_run *r, const char *arg, const ferry_pattern *p)
{
    const char *slash = strrchr(arg, '/');
    char *dir = slash ? strndup(arg, (size_t)(slash - arg + 1)) : strdup("."), *fmt;
    DIR *d = dir ? opendir(dir) : NULL;
    struct dirent *de;
    size_t first = r->nitems;
    int64_t frame;

    if (!d) {
        free(dir);
        return false;
    }
    fmt = ferry_pattern_format(p, '#');
    add_group(r, joined(dir, need(fmt)), true);
    free(fmt);
    while ((de = readdir(d)))
        if (de->d_type != DT_DIR && ferry_pattern_match(p, de->d_name, &frame))
            add_item(r, joined(dir, de->d_name), frame);
    closedir(d);
    free(dir);
    if (r->nitems == first) {
        free(r->groups[--r->ngroups].display);
        return false;
    }
    qsort(r->items + first, r->nitems - first, sizeof(item), by_frame);
    return true;
}

static void add_arg(check_run *r, const char *arg)
{
    ferry_pattern p;
    struct stat st;

    if (stat(arg, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            size_t before = r->nitems;
            add_dir(r, arg);
            if (r->nitems == before && !r->json)
                printf("%s  no EXR files\n", cli_quote(arg));
            return;
        }
        add_group(r, strdup(arg), false);
        add_item(r, strdup(arg), 0);
        return;
    }
    if (errno == ENOENT &&
        ferry_pattern_parse(strrchr(arg, '/') ? strrchr(arg, '/') + 1 : arg, &p) == FERRY_OK) {
        bool found = add_pattern(r, arg, &p);
        ferry_pattern_release(&p);
        if (found)
            return;
        fprintf(stderr, "ferry: cannot check %s: no frame of it on disk\n", cli_quote_always(arg));
    } else {
        const char *why = strerror(errno); /* before quoting, which allocates */
        fprintf(stderr, "ferry: cannot check %s: %s\n", cli_quote_always(arg), why);
    }
    r->failed = EXIT_USAGE;
}

static void *check_main(void *arg)
{
    check_run *r = arg;
    size_t i;

    pthread_setname_np(pthread_self(), "ferry-check");
    while ((i = atomic_fetch_add(&r->next, 1)) < r->nitems) {
        item *it = &r->items[i];
        int rc = ferry_exr_check_path(it->path, &it->why);
        if (rc == FERRY_OK) {
            it->status = ITEM_SOUND;
        } else if (rc == FERRY_EINVAL) {
            it->status = ITEM_BROKEN;
            if (!it->why)
                it->why = strdup(ferry_error_last());
        } else {
            /* The message is per thread: keep it while on this one. */
            it->status = ITEM_UNREADABLE;
            it->why = strdup(ferry_error_last());
        }
    }
    return NULL;
}

static void check_all(check_run *r)
{
    pthread_t tids[MAX_THREADS];
    int n = r->threads, started = 0;

    if ((size_t)n > r->nitems)
        n = (int)r->nitems;
    for (; started < n - 1; started++)
        if (pthread_create(&tids[started], NULL, check_main, r) != 0)
            break;
    check_main(r); /* this thread checks too, and alone if none could start */
    for (int i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
}

/* The kind of a cause: "truncated", "empty file", "header"... */
static int kind_len(const char *why)
{
    const char *colon = why ? strchr(why, ':') : NULL;
    return why ? (int)(colon ? (size_t)(colon - why) : strlen(why)) : 0;
}

/* A sequence's frames as ferry ls writes them, and its broken frames. */
typedef struct {
    char *range;  /* "1001-1100": with gaps, first-last */
    char *gaps;   /* "1042-1043", or NULL */
    char *broken; /* "1003,1007", or NULL */
    uint64_t missing, nbroken;
} seq_summary;

static void add_frame(ferry_frameset *fs, int64_t frame)
{
    if (ferry_frameset_add(fs, frame) < 0)
        need(NULL);
}

static void summarize(const check_run *r, const group *g, seq_summary *out)
{
    ferry_seq s = {.pattern = {0}};
    ferry_frameset miss, broken;

    memset(out, 0, sizeof(*out));
    ferry_frameset_init(&s.frames);
    ferry_frameset_init(&broken);
    ferry_frameset_init(&miss);
    for (size_t i = g->first; i < g->first + g->n; i++) {
        add_frame(&s.frames, r->items[i].frame);
        if (r->items[i].status != ITEM_SOUND)
            add_frame(&broken, r->items[i].frame);
    }
    if (ferry_seq_missing(&s, &miss) == FERRY_OK && miss.n) {
        /* As ferry ls: with gaps, the range reads first-last and the gaps apart. */
        out->gaps = need(ferry_frameset_format(&miss));
        if (asprintf(&out->range, "%lld-%lld", (long long)s.frames.r[0].start,
                     (long long)s.frames.r[s.frames.n - 1].end) < 0)
            out->range = NULL;
        need(out->range);
    } else {
        out->range = need(ferry_frameset_format(&s.frames));
    }
    out->missing = ferry_frameset_count(&miss);
    out->nbroken = ferry_frameset_count(&broken);
    if (broken.n)
        out->broken = need(ferry_frameset_format(&broken));
    ferry_frameset_release(&miss);
    ferry_frameset_release(&broken);
    ferry_frameset_release(&s.frames);
}

static void summary_release(seq_summary *s)
{
    free(s->range);
    free(s->gaps);
    free(s->broken);
}

static void print_seq_summary(const check_run *r, const group *g)
{
    seq_summary sum;
    size_t listed = 0;

    summarize(r, g, &sum);
    printf("%s  %s  %zu frame%s", cli_quote(g->display), sum.range, g->n, g->n == 1 ? "" : "s");
    if (sum.gaps)
        printf("  missing %s", sum.gaps);
    if (!sum.nbroken) {
        printf("  sound\n");
    } else {
        printf("  %llu broken:", (unsigned long long)sum.nbroken);
        for (size_t i = g->first; i < g->first + g->n && listed < LISTED_BROKEN; i++) {
            const item *it = &r->items[i];
            if (it->status == ITEM_SOUND)
                continue;
            printf("%s %lld (%.*s)", listed ? "," : "", (long long)it->frame,
                   it->status == ITEM_UNREADABLE ? 10 : kind_len(it->why),
                   it->status == ITEM_UNREADABLE ? "unreadable" : it->why);
            listed++;
        }
        if (sum.nbroken > listed)
            printf(" and %llu more", (unsigned long long)(sum.nbroken - listed));
        putchar('\n');
    }
    summary_release(&sum);
}

static void print_text(const check_run *r, size_t *nbroken, size_t *nunreadable)
{
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        const group *g = &r->groups[gi];
        size_t broken = 0;
        for (size_t i = g->first; i < g->first + g->n; i++) {
            const item *it = &r->items[i];
            if (it->status == ITEM_SOUND)
                continue;
            broken++;
            if (it->status == ITEM_UNREADABLE)
                ++*nunreadable;
            else
                ++*nbroken;
            printf("%s: %s\n", cli_quote(it->path),
                   it->why ? cli_message(it->why, it->path, NULL) : "out of memory");
        }
        if (g->sequence)
            print_seq_summary(r, g);
        else if (!broken)
            printf("%s  sound\n", cli_quote(g->display));
    }
    if (r->ngroups > 1) {
        if (*nbroken + *nunreadable == 0)
            printf("%zu file%s checked: all sound\n", r->nitems, r->nitems == 1 ? "" : "s");
        else
            printf("%zu file%s checked: %zu broken, %zu unreadable\n", r->nitems,
                   r->nitems == 1 ? "" : "s", *nbroken, *nunreadable);
    }
}

static const char *status_name(item_status s)
{
    return s == ITEM_SOUND ? "sound" : s == ITEM_BROKEN ? "broken" : "unreadable";
}

static void print_json(const check_run *r, size_t *nbroken, size_t *nunreadable)
{
    json_t *files = json_array(), *seqs = json_array(), *doc;
    char *s;

    for (size_t gi = 0; gi < r->ngroups; gi++) {
        const group *g = &r->groups[gi];
        for (size_t i = g->first; i < g->first + g->n; i++) {
            const item *it = &r->items[i];
            json_t *f = json_pack("{s:s,s:s}", "path", it->path, "status", status_name(it->status));
            json_object_set_new(f, "error",
                                it->status == ITEM_SOUND || !it->why ? json_null()
                                                                     : json_string(it->why));
            if (g->sequence) {
                json_object_set_new(f, "sequence", json_string(g->display));
                json_object_set_new(f, "frame", json_integer((json_int_t)it->frame));
            }
            *nbroken += it->status == ITEM_BROKEN;
            *nunreadable += it->status == ITEM_UNREADABLE;
            json_array_append_new(files, f);
        }
        if (g->sequence) {
            seq_summary sum;
            summarize(r, g, &sum);
            json_t *e = json_pack("{s:s,s:s,s:I,s:I,s:I}", "path", g->display, "frames", sum.range,
                                  "count", (json_int_t)g->n, "missing_count",
                                  (json_int_t)sum.missing, "broken_count", (json_int_t)sum.nbroken);
            json_object_set_new(e, "missing", sum.gaps ? json_string(sum.gaps) : json_null());
            json_object_set_new(e, "broken", sum.broken ? json_string(sum.broken) : json_null());
            json_array_append_new(seqs, e);
            summary_release(&sum);
        }
    }
    doc = json_pack("{s:o,s:o,s:I,s:I,s:I}", "files", files, "sequences", seqs, "checked",
                    (json_int_t)r->nitems, "broken", (json_int_t)*nbroken, "unreadable",
                    (json_int_t)*nunreadable);
    s = json_dumps(doc, JSON_COMPACT);
    printf("%s\n", s ? s : "{}");
    free(s);
    json_decref(doc);
}

int cmd_check(int argc, char **argv)
{
    static const struct option opts[] = {
        {"recursive", no_argument, NULL, 'r'},
        {"json", no_argument, NULL, 'J'},
        {"jobs", required_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    check_run r = {.threads = DEFAULT_THREADS};
    size_t nbroken = 0, nunreadable = 0;
    char *end;
    int c;

    opterr = 0;
    optind = 0; /* glibc: start afresh (permuting, options after operands as GNU tools do) */
    while ((c = getopt_long(argc, argv, ":rj:h", opts, NULL)) != -1) {
        if (c == 'r') {
            r.recursive = true;
        } else if (c == 'J') {
            r.json = true;
        } else if (c == 'j') {
            long n = strtol(optarg, &end, 10);
            if (end == optarg || *end || n < 1 || n > MAX_THREADS)
                return cli_usage_error("check", "bad --jobs '%s' (1 to %d)", optarg, MAX_THREADS);
            r.threads = (int)n;
        } else if (c == 'h') {
            cmd_check_help(stdout);
            return 0;
        } else {
            return cli_bad_option("check", c, argv);
        }
    }
    if (optind == argc)
        return cli_usage_error("check", "no PATH to check");
    for (int i = optind; i < argc; i++)
        add_arg(&r, argv[i]);
    check_all(&r);
    if (r.json)
        print_json(&r, &nbroken, &nunreadable);
    else
        print_text(&r, &nbroken, &nunreadable);
    for (size_t i = 0; i < r.nitems; i++) {
        free(r.items[i].path);
        free(r.items[i].why);
    }
    for (size_t i = 0; i < r.ngroups; i++)
        free(r.groups[i].display);
    free(r.items);
    free(r.groups);
    if (r.failed || nunreadable)
        return EXIT_USAGE;
    return nbroken ? 1 : 0;
}
