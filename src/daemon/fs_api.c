/*
 * daemon/fs_api.c: GET /api/fs[?path=DIR], the directory listing behind the
 * UI's path completion (docs/api.md).
 *
 * Without a path it lists the roots themselves; with one, the directory is
 * opened beneath its root by libferry (ferry_roots_list, RESOLVE_BENEATH), so
 * neither ".." nor a symlink can list anything outside: those get 403. The
 * answer is capped (FS_MAX_ENTRIES, "truncated" tells) so that a directory of
 * 100,000 loose files cannot make one answer unbounded; 100,000 frames of one
 * sequence are one entry.
 *
 * Two steps, kept apart on purpose: libferry reads the directory, then
 * fs_entries() turns that listing into the entries the client sees, frame
 * sequences collapsed into one entry each.
 */
#define _GNU_SOURCE
#include <stdlib.h>

#include <string.h>

#include "daemon.h"
#include "ferry/common.h"
#include "ferry/seq.h"

#define FS_MAX_ENTRIES 5000   /* in an answer */
#define FS_MAX_READ 200000    /* read from a directory, before sequences collapse */

/* One entry of the answer and the name it sorts by. */
typedef struct {
    const char *key;
    json_t *o;
} fs_entry;

static int fs_entry_cmp(const void *a, const void *b)
{
    const fs_entry *x = a, *y = b;
    return strcmp(x->key, y->key);
}

static json_t *fs_plain(const ferry_dirent *d, json_t *name)
{
    char type[2] = {d->type, '\0'};
    return json_pack("{s:o,s:s,s:I,s:I}", "name", name, "type", type, "size", (json_int_t)d->size,
                     "mtime", (json_int_t)d->mtime);
}

/* A sequence as one entry: {"name": "comp.####.exr", "type": "s", "frames",
 * "count", "missing" (between the first and the last), "size" (all frames)}. */
static json_t *fs_sequence(const ferry_seq *q, char **key)
{
    ferry_frameset missing;
    char *pattern = ferry_pattern_format(&q->pattern, '#');
    char *frames = ferry_frameset_format(&q->frames), *gaps = NULL;
    json_t *o = NULL, *jname = pattern ? json_string(pattern) : NULL;

    if (ferry_seq_missing(q, &missing) == FERRY_OK) {
        gaps = ferry_frameset_format(&missing);
        ferry_frameset_release(&missing);
    }
    if (jname && frames && gaps)
        o = json_pack("{s:o,s:s,s:s,s:I,s:s,s:I}", "name", jname, "type", "s", "frames", frames,
                      "count", (json_int_t)ferry_frameset_count(&q->frames), "missing", gaps,
                      "size", (json_int_t)q->bytes);
    else
        json_decref(jname);
    *key = pattern;
    free(frames);
    free(gaps);
    return o;
}

/*
 * The entries of one directory listing: directories first, then files,
 * sequences, symlinks and others by name, at most FS_MAX_ENTRIES. Regular
 * files that form a frame sequence (ferry/seq.h) collapse into one entry of
 * type "s". Names that are not UTF-8 cannot travel in JSON and cannot be
 * typed into a path field either: they are left out. A new array;
 * *truncated is set when entries were left out for the cap.
 */
static json_t *fs_entries(const ferry_dirent *v, size_t n, bool *truncated)
{
    json_t *arr = json_array();
    fs_entry *out = calloc(n ? n : 1, sizeof(*out));
    const char **names = calloc(n ? n : 1, sizeof(char *));
    size_t *files = calloc(n ? n : 1, sizeof(size_t));
    uint64_t *sizes = calloc(n ? n : 1, sizeof(uint64_t));
    char **keys = NULL;
    ferry_seq *seqs = NULL;
    size_t *singles = NULL, nseqs = 0, nsingles = 0, nfiles = 0, nout = 0, ndirs = 0;

    if (!arr || !out || !names || !files || !sizes)
        goto out;
    for (size_t i = 0; i < n; i++) {
        json_t *name = json_string(v[i].name);
        if (!name)
            continue;
        if (v[i].type == 'f') {
            json_decref(name);
            names[nfiles] = v[i].name;
            sizes[nfiles] = v[i].size;
            files[nfiles++] = i;
            continue;
        }
        out[nout++] = (fs_entry){v[i].name, fs_plain(&v[i], name)};
        ndirs += v[i].type == 'd';
    }
    if (ferry_seq_group((const char *const *)names, sizes, nfiles, &seqs, &nseqs, &singles, &nsingles) ||
        !(keys = calloc(nseqs ? nseqs : 1, sizeof(char *))))
        goto out;
    for (size_t i = 0; i < nsingles; i++) {
        const ferry_dirent *d = &v[files[singles[i]]];
        out[nout++] = (fs_entry){d->name, fs_plain(d, json_string(d->name))};
    }
    for (size_t i = 0; i < nseqs; i++) {
        json_t *o = fs_sequence(&seqs[i], &keys[i]);
        if (o && keys[i])
            out[nout++] = (fs_entry){keys[i], o};
        else
            json_decref(o);
    }
    /* The listing has directories first; the rest by name, sequences among them. */
    qsort(out + ndirs, nout - ndirs, sizeof(*out), fs_entry_cmp);
    for (size_t i = 0; i < nout; i++) {
        if (i < FS_MAX_ENTRIES)
            json_array_append_new(arr, out[i].o);
        else
            json_decref(out[i].o);
    }
    if (nout > FS_MAX_ENTRIES)
        *truncated = true;
    nout = 0;
out:
    for (size_t i = 0; i < nout; i++)
        json_decref(out[i].o);
    for (size_t i = 0; keys && i < nseqs; i++)
        free(keys[i]);
    free(keys);
    ferry_seqs_free(seqs, nseqs);
    free(singles);
    free(out);
    free(names);
    free(files);
    free(sizes);
    return arr;
}

/* The roots, as entries whose names are their absolute paths. */
static json_t *fs_roots(server *srv)
{
    json_t *arr = json_array();

    for (size_t i = 0; arr && i < ferry_roots_count(srv->roots); i++) {
        json_t *name = json_string(ferry_roots_path(srv->roots, i));
        if (name)
            json_array_append_new(arr, json_pack("{s:o,s:s}", "name", name, "type", "d"));
    }
    return json_pack("{s:n,s:o,s:b}", "path", "entries", arr, "truncated", 0);
}

/* An API error whose message names the field: "path: ...". */
static json_t *fs_error(int *status, int code, const char *what)
{
    char *msg = NULL;
    json_t *body;

    *status = code;
    if (asprintf(&msg, "path: %s", what) < 0)
        msg = NULL;
    body = api_error(code == 403 ? "forbidden" : "bad_request", msg ? msg : what);
    free(msg);
    return body;
}

json_t *api_fs(server *srv, const req_query *query, int *status)
{
    const char *path = req_query_get(query, "path");
    json_t *jpath, *body;
    ferry_dirent *v = NULL;
    size_t n = 0;
    bool truncated = false;
    int rc;

    if (!path) {
        *status = 200;
        return fs_roots(srv);
    }
    if (!(jpath = json_string(path)))
        return fs_error(status, 400, "not valid UTF-8");
    rc = ferry_roots_list(srv->roots, path, FS_MAX_READ, &v, &n, &truncated);
    if (rc == FERRY_OK) {
        json_t *entries = fs_entries(v, n, &truncated);
        *status = 200;
        body = json_pack("{s:o,s:o,s:b}", "path", jpath, "entries", entries, "truncated",
                         truncated);
    } else {
        json_decref(jpath);
        body = fs_error(status, rc == FERRY_EOUTSIDE ? 403 : 400, ferry_error_last());
    }
    ferry_dirents_free(v, n);
    return body;
}
