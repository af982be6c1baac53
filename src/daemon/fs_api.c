/*
 * daemon/fs_api.c: GET /api/fs[?path=DIR], the directory listing behind the
 * UI's path completion (docs/api.md).
 *
 * Without a path it lists the roots themselves; with one, the directory is
 * opened beneath its root by libferry (ferry_roots_list, RESOLVE_BENEATH), so
 * neither ".." nor a symlink can list anything outside: those get 403. The
 * listing is capped (FS_MAX_ENTRIES, "truncated" tells) so that a directory of
 * 100,000 frames cannot make one answer unbounded.
 *
 * Two steps, kept apart on purpose: libferry reads the directory, then
 * fs_entries() turns that listing into the entries the client sees. The
 * second step is where frame sequences get collapsed into one entry each;
 * nothing else here needs to change for that.
 */
#define _GNU_SOURCE
#include <stdlib.h>

#include "daemon.h"
#include "ferry/common.h"

#define FS_MAX_ENTRIES 5000

/*
 * The entries of one directory listing, in the listing's order (directories
 * first, then by name): {"name", "type" ('d', 'f', 'l', 'o'), "size",
 * "mtime"}. Names that are not UTF-8 cannot travel in JSON and cannot be
 * typed into a path field either: they are left out. A new array.
 */
static json_t *fs_entries(const ferry_dirent *v, size_t n)
{
    json_t *arr = json_array();

    for (size_t i = 0; arr && i < n; i++) {
        json_t *name = json_string(v[i].name);
        char type[2] = {v[i].type, '\0'};

        if (!name)
            continue;
        json_array_append_new(arr,
                              json_pack("{s:o,s:s,s:I,s:I}", "name", name, "type", type, "size",
                                        (json_int_t)v[i].size, "mtime", (json_int_t)v[i].mtime));
    }
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

json_t *api_fs(server *srv, const char *query, int *status)
{
    char *path = http_query_param(query, "path");
    json_t *jpath, *body;
    ferry_dirent *v = NULL;
    size_t n = 0;
    bool truncated = false;
    int rc;

    if (!path) {
        *status = 200;
        return fs_roots(srv);
    }
    if (!(jpath = json_string(path))) {
        free(path);
        return fs_error(status, 400, "not valid UTF-8");
    }
    rc = ferry_roots_list(srv->roots, path, FS_MAX_ENTRIES, &v, &n, &truncated);
    if (rc == FERRY_OK) {
        *status = 200;
        body = json_pack("{s:o,s:o,s:b}", "path", jpath, "entries", fs_entries(v, n), "truncated",
                         truncated);
    } else {
        json_decref(jpath);
        body = fs_error(status, rc == FERRY_EOUTSIDE ? 403 : 400, ferry_error_last());
    }
    ferry_dirents_free(v, n);
    free(path);
    return body;
}
