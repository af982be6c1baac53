/*
 * Fuzz target: what the daemon reads from a request line and its gate
 * headers, through the daemon's own code (src/daemon/request.c).
 *
 * Input: "TARGET\nHOST\nORIGIN\nAUTHORIZATION", each line optional. TARGET
 * is split as the HTTP layer (libmicrohttpd) hands it over: the path before
 * the first '?', then query fragments separated by '&' (kept as raw
 * bytes, NULs included, so that the daemon's own guard is what is tested).
 *
 * Properties checked besides memory safety:
 *  - the only endpoint without the token is /api/health;
 *  - a job route's id is non-empty, has no '/', and rebuilds the path;
 *  - a count is digits only and its exact decimal value;
 *  - a ?path= that the roots accept lies beneath the root (realpath again),
 *    as itself and as a destination that may not exist yet;
 *  - Host, Origin and the bearer token pass only when they are exactly what
 *    the server expects.
 */
#define _GNU_SOURCE /* asprintf, strndup in fuzz_root.h */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ferry/common.h"
#include "fuzz_root.h"
#include "request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TOKEN "0123456789abcdef0123456789abcdef"
#define PORT 8470

static void check_route(const char *path)
{
    static const char *const verbs[] = {NULL, "files", "cancel", "resume"};
    req_route r;
    char again[256];

    req_match(path, &r);
    if ((r.kind == ROUTE_NONE) != (r.methods == 0))
        abort();
    if (r.kind != ROUTE_NONE && !req_is_api(path))
        abort();
    if (r.kind != ROUTE_NONE && r.kind != ROUTE_HEALTH && !req_needs_token(path))
        abort(); /* an endpoint open without the token */
    if (r.kind >= ROUTE_JOB) {
        const char *verb = verbs[r.kind - ROUTE_JOB];
        if (!r.id[0] || strchr(r.id, '/') || strlen(r.id) >= sizeof(r.id))
            abort();
        snprintf(again, sizeof(again), "/api/jobs/%s%s%s", r.id, verb ? "/" : "", verb ? verb : "");
        if (strcmp(again, path))
            abort();
    } else if (r.id[0]) {
        abort();
    }
}

static void check_count(const char *v)
{
    size_t n, want = 0;

    if (!v || req_count(v, &n) < 0)
        return;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9' || want > (SIZE_MAX - (size_t)(*p - '0')) / 10)
            abort();
        want = want * 10 + (size_t)(*p - '0');
    }
    if (!*v || n != want)
        abort();
}

static void check_path(const char *path)
{
    const ferry_roots *roots = fuzz_roots();
    ferry_dirent *v;
    size_t n;
    bool truncated;

    if (!path)
        return;
    if (ferry_roots_check(roots, path, false) == FERRY_OK) {
        fuzz_assert_beneath(path, false);
        if (ferry_roots_list(roots, path, 100, &v, &n, &truncated) == FERRY_OK) {
            for (size_t i = 0; i < n; i++)
                if (strchr(v[i].name, '/') || !strcmp(v[i].name, "..") || !strcmp(v[i].name, "."))
                    abort();
            ferry_dirents_free(v, n);
        }
    }
    if (ferry_roots_check(roots, path, true) == FERRY_OK)
        fuzz_assert_beneath(path, true);
}

static void check_query(const char *q, size_t len)
{
    static const char *const names[] = {"state", "tag", "offset", "limit", "path", "token"};
    req_query query;
    size_t start = 0;

    req_query_init(&query);
    for (size_t i = 0; i <= len; i++) {
        if (i == len || q[i] == '&') {
            if (req_query_add(&query, q + start, i - start) < 0)
                break;
            start = i + 1;
        }
    }
    if (!query.malformed) {
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            const char *v = req_query_get(&query, names[i]);
            if (v && (v[-1] != '=' || strncmp(v - 1 - strlen(names[i]), names[i], strlen(names[i]))))
                abort();
        }
        check_count(req_query_get(&query, "offset"));
        check_count(req_query_get(&query, "limit"));
        check_path(req_query_get(&query, "path"));
    }
    req_query_release(&query);
}

static void check_headers(const char *host, const char *origin, const char *auth)
{
    static const char *const extra[] = {"ferry.example"};
    static const char *const good[] = {"127.0.0.1:8470", "localhost:8470", "[::1]:8470",
                                       "ferry.example", "ferry.example:8470"};
    bool known = false;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        known |= !strcasecmp(host, good[i]);
    if (req_host_allowed(host, "127.0.0.1", PORT, extra, 1) != known)
        abort();
    if (req_origin_ok(origin, host) &&
        (strncasecmp(origin, "http://", 7) || strcasecmp(origin + 7, host) || !*host))
        abort();
    if (req_token_equal(req_bearer(auth), TOKEN) &&
        (strncasecmp(auth, "Bearer ", 7) || strcmp(auth + 7, TOKEN)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line[4] = {NULL, NULL, NULL, NULL};
    size_t len[4] = {0, 0, 0, 0}, start = 0, k = 0;

    for (size_t i = 0; i <= size && k < 4; i++) {
        if (i == size || (data[i] == '\n' && k < 3)) {
            if (!(line[k] = malloc(i - start + 1)))
                goto out;
            memcpy(line[k], data + start, i - start);
            line[k][i - start] = '\0';
            len[k++] = i - start;
            start = i + 1;
        }
    }
    for (; k < 4; k++)
        if (!(line[k] = calloc(1, 1)))
            goto out;
    {
        char *q = memchr(line[0], '?', len[0]);
        size_t qlen = q ? len[0] - (size_t)(q - line[0]) - 1 : 0;
        if (q)
            *q = '\0'; /* the path ends there; a NUL before it ends it too */
        check_route(line[0]);
        if (q)
            check_query(q + 1, qlen);
    }
    check_headers(line[1], line[2], line[3]);
out:
    for (size_t i = 0; i < 4; i++)
        free(line[i]);
    return 0;
}
