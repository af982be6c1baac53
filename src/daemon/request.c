/*
 * daemon/request.c: the daemon's request parsing; see request.h.
 *
 * Nothing here trusts a length it did not count: paths and query values are
 * C strings the HTTP layer decoded (a NUL byte inside one is refused, never
 * silently cut), bodies are parsed with their byte count (jansson refuses NUL
 * bytes, invalid or overlong UTF-8, and nesting deeper than 2048), and every
 * copy into a fixed buffer is bounded and checked.
 */
#define _GNU_SOURCE
#include "request.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ferry/common.h"
#include "ferry/seq.h"
#include "ferry/size.h"

/* --- paths ---------------------------------------------------------------- */

static const struct {
    const char *path;
    req_route_kind kind;
    unsigned methods;
} fixed_routes[] = {
    {"/api/health", ROUTE_HEALTH, REQ_GET}, {"/metrics", ROUTE_METRICS, REQ_GET},
    {"/api/jobs", ROUTE_JOBS, REQ_GET | REQ_POST}, {"/api/cancel", ROUTE_CANCEL, REQ_POST},
    {"/api/fs", ROUTE_FS, REQ_GET},         {"/api/events", ROUTE_EVENTS, REQ_GET},
};

static const struct {
    const char *verb;
    req_route_kind kind;
    unsigned methods;
} job_verbs[] = {
    {"files", ROUTE_JOB_FILES, REQ_GET},
    {"cancel", ROUTE_JOB_CANCEL, REQ_POST},
    {"resume", ROUTE_JOB_RESUME, REQ_POST},
};

/* "/api/jobs/ID" or "/api/jobs/ID/VERB": id and verb (NULL for none). */
static bool job_path(const char *path, req_route *out, const char **verb)
{
    static const char prefix[] = "/api/jobs/";
    const char *p, *slash;
    size_t n;

    if (strncmp(path, prefix, sizeof(prefix) - 1) != 0)
        return false;
    p = path + sizeof(prefix) - 1;
    slash = strchr(p, '/');
    n = slash ? (size_t)(slash - p) : strlen(p);
    if (n == 0 || n >= sizeof(out->id))
        return false;
    memcpy(out->id, p, n);
    out->id[n] = '\0';
    *verb = slash ? slash + 1 : NULL;
    return true;
}

void req_match(const char *path, req_route *out)
{
    const char *verb;

    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < sizeof(fixed_routes) / sizeof(fixed_routes[0]); i++) {
        if (!strcmp(path, fixed_routes[i].path)) {
            out->kind = fixed_routes[i].kind;
            out->methods = fixed_routes[i].methods;
            return;
        }
    }
    if (!job_path(path, out, &verb))
        return;
    if (!verb) {
        out->kind = ROUTE_JOB;
        out->methods = REQ_GET;
        return;
    }
    for (size_t i = 0; i < sizeof(job_verbs) / sizeof(job_verbs[0]); i++) {
        if (!strcmp(verb, job_verbs[i].verb)) {
            out->kind = job_verbs[i].kind;
            out->methods = job_verbs[i].methods;
            return;
        }
    }
    out->id[0] = '\0'; /* "/api/jobs/ID/other": no endpoint */
}

bool req_is_api(const char *path)
{
    return !strncmp(path, "/api/", 5) || !strcmp(path, "/api") || !strcmp(path, "/metrics");
}

bool req_needs_token(const char *path)
{
    return req_is_api(path) && strcmp(path, "/api/health") != 0;
}

/* --- query strings ------------------------------------------------------- */

void req_query_init(req_query *q)
{
    memset(q, 0, sizeof(*q));
}

int req_query_add(req_query *q, const char *frag, size_t len)
{
    char **v, *copy;

    if (memchr(frag, '\0', len) || q->n >= REQ_QUERY_MAX) {
        q->malformed = true;
        return 0;
    }
    if (!(copy = strndup(frag, len)))
        return -1;
    if (!(v = realloc(q->v, (q->n + 1) * sizeof(*v)))) {
        free(copy);
        return -1;
    }
    q->v = v;
    q->v[q->n++] = copy;
    return 0;
}

void req_query_release(req_query *q)
{
    for (size_t i = 0; i < q->n; i++)
        free(q->v[i]);
    free(q->v);
    req_query_init(q);
}

const char *req_query_get(const req_query *q, const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 0; i < q->n; i++)
        if (!strncmp(q->v[i], name, n) && q->v[i][n] == '=')
            return q->v[i] + n + 1;
    return NULL;
}

int req_count(const char *v, size_t *out)
{
    unsigned long long x;
    char *end;

    /* strtoull alone would take "-1" (as 2^64-1), " 1" and "+1". */
    if (!v || v[0] < '0' || v[0] > '9')
        return -1;
    errno = 0;
    x = strtoull(v, &end, 10);
    if (*end || errno || x > SIZE_MAX)
        return -1;
    *out = (size_t)x;
    return 0;
}

/* --- headers ------------------------------------------------------------- */

/* host is name + ":" + port, case aside. */
static bool is_name_port(const char *host, const char *name, int port)
{
    size_t n = strlen(name);
    char want[16];

    if (strncasecmp(host, name, n) != 0 || host[n] != ':')
        return false;
    snprintf(want, sizeof(want), "%d", port);
    return !strcmp(host + n + 1, want);
}

bool req_host_allowed(const char *host, const char *listen_addr, int port,
                      const char *const *extra, size_t nextra)
{
    const char *fixed[] = {"127.0.0.1", "localhost", "[::1]", listen_addr};

    if (!host || !*host)
        return false;
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        if (fixed[i] && *fixed[i] && is_name_port(host, fixed[i], port))
            return true;
    for (size_t i = 0; i < nextra; i++)
        if (*extra[i] && (!strcasecmp(host, extra[i]) || is_name_port(host, extra[i], port)))
            return true;
    return false;
}

bool req_origin_ok(const char *origin, const char *host)
{
    return !strncasecmp(origin, "http://", 7) && *host && !strcasecmp(origin + 7, host);
}

const char *req_bearer(const char *authorization)
{
    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
        return NULL;
    return authorization + 7;
}

bool req_token_equal(const char *given, const char *want)
{
    size_t n = strlen(want);

    /* Same length first (the length of our token is no secret), then constant time. */
    return given && n > 0 && strlen(given) == n && CRYPTO_memcmp(given, want, n) == 0;
}

/* --- JSON bodies --------------------------------------------------------- */

const char *req_error_code(int status)
{
    switch (status) {
    case 400:
        return "bad_request";
    case 401:
        return "unauthorized";
    case 403:
        return "forbidden";
    case 404:
        return "not_found";
    case 405:
        return "method_not_allowed";
    case 409:
        return "conflict";
    case 413:
        return "too_large";
    case 414:
        return "uri_too_long";
    case 426:
        return "upgrade_required";
    case 431:
        return "headers_too_large";
    case 503:
        return "overloaded";
    default:
        return "error";
    }
}

static int refuse(req_error *err, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int refuse(req_error *err, int status, const char *fmt, ...)
{
    va_list ap;

    err->status = status;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return -1;
}

json_t *req_json_object(const char *body, size_t len, req_error *err)
{
    json_error_t jerr;
    json_t *o;

    if (!body)
        body = "";
    if (memchr(body, '\0', len)) {
        refuse(err, 400, "malformed JSON: a NUL byte in the body");
        return NULL;
    }
    if (!(o = json_loadb(body, len, 0, &jerr))) {
        refuse(err, 400, "malformed JSON: %s (line %d)", jerr.text, jerr.line);
        return NULL;
    }
    if (!json_is_object(o)) {
        json_decref(o);
        refuse(err, 400, "the body must be a JSON object");
        return NULL;
    }
    return o;
}

/* 403 for a path outside the roots, 400 for the rest; names the field. */
static int check_path(const ferry_roots *roots, const char *path, bool may_be_missing,
                      const char *field, req_error *err)
{
    int rc = ferry_roots_check(roots, path, may_be_missing);

    if (rc == FERRY_OK)
        return 0;
    return refuse(err, rc == FERRY_EOUTSIDE ? 403 : 400, "%s: %s", field, ferry_error_last());
}

/* A sequence source (a pattern that names no file) is checked by its directory. */
static int check_source(const ferry_roots *roots, const char *path, const char *field,
                        req_error *err)
{
    ferry_pattern p;
    const char *slash = strrchr(path, '/');

    if (ferry_roots_check(roots, path, false) == FERRY_ENOTFOUND && slash &&
        ferry_pattern_parse(path, &p) == FERRY_OK) {
        char *dir = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
        int rc;
        ferry_pattern_release(&p);
        if (!dir)
            return refuse(err, 503, "out of memory");
        rc = check_path(roots, dir, false, field, err);
        free(dir);
        return rc;
    }
    return check_path(roots, path, false, field, err);
}

static int spec_paths(json_t *o, const ferry_roots *roots, ferry_job_spec *spec,
                      const char ***sources, req_error *err)
{
    json_t *src = json_object_get(o, "sources"), *dest = json_object_get(o, "dest");
    size_t n;

    if (!json_is_array(src) || (n = json_array_size(src)) == 0)
        return refuse(err, 400, "sources: a non-empty array of absolute paths is required");
    if (!json_is_string(dest))
        return refuse(err, 400, "dest: an absolute path is required");
    if (!(*sources = calloc(n, sizeof(char *))))
        return refuse(err, 503, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(src, i));
        char field[32];
        snprintf(field, sizeof(field), "sources[%zu]", i);
        if (!s)
            return refuse(err, 400, "%s: must be a string", field);
        if (check_source(roots, s, field, err) < 0)
            return -1;
        (*sources)[i] = s;
    }
    if (check_path(roots, json_string_value(dest), true, "dest", err) < 0)
        return -1;
    spec->sources = *sources;
    spec->nsources = n;
    spec->dest = json_string_value(dest);
    spec->dest_is_dir = true;
    return 0;
}

/* A boolean field: absent or null is false. 0, or -1 with err filled. */
static int flag(json_t *o, const char *name, bool *out, req_error *err)
{
    json_t *v = json_object_get(o, name);

    if (v && !json_is_null(v) && !json_is_boolean(v))
        return refuse(err, 400, "%s: true or false", name);
    *out = json_is_true(v);
    return 0;
}

/* The options of sequence sources and --check-exr (docs/sequences.md). */
static int spec_sequence(json_t *o, ferry_job_spec *spec, req_error *err)
{
    json_t *frames = json_object_get(o, "frames"), *renumber = json_object_get(o, "renumber"),
           *pad = json_object_get(o, "pad");

    if (frames && !json_is_null(frames)) {
        ferry_frameset fs;
        if (!json_is_string(frames))
            return refuse(err, 400, "frames: a frame set such as \"1001-1100x2\"");
        if (ferry_frameset_parse(json_string_value(frames), &fs) < 0)
            return refuse(err, 400, "frames: %s", ferry_error_last());
        ferry_frameset_release(&fs);
        spec->frames = json_string_value(frames);
    }
    if (renumber && !json_is_null(renumber)) {
        json_int_t v = json_integer_value(renumber);
        if (!json_is_integer(renumber) || v < -999999999999LL || v > 999999999999LL)
            return refuse(err, 400, "renumber: the frame number the first frame becomes");
        spec->renumber = true;
        spec->renumber_start = v;
    }
    if (pad && !json_is_null(pad)) {
        if (!json_is_integer(pad) || json_integer_value(pad) < 1 || json_integer_value(pad) > 18)
            return refuse(err, 400, "pad: digits of the frame numbers, 1 to 18");
        spec->pad = (int)json_integer_value(pad);
    }
    if (flag(o, "keep_step", &spec->keep_step, err) < 0 ||
        flag(o, "require_complete", &spec->require_complete, err) < 0 ||
        flag(o, "check_exr", &spec->check_exr, err) < 0)
        return -1;
    return 0;
}

int req_job_spec(json_t *o, const ferry_roots *roots, ferry_job_spec *spec,
                 const char ***sources, req_error *err)
{
    json_t *tag = json_object_get(o, "tag"), *conflict = json_object_get(o, "on_conflict"),
           *bw = json_object_get(o, "bwlimit"), *fsync = json_object_get(o, "fsync");

    *sources = NULL;
    if (!json_is_object(o))
        return refuse(err, 400, "the body must be a JSON object");
    if (spec_paths(o, roots, spec, sources, err) < 0)
        return -1;
    if (tag && !json_is_null(tag)) {
        if (!json_is_string(tag) || json_string_length(tag) > 128)
            return refuse(err, 400, "tag: a string of at most 128 bytes");
        spec->tag = json_string_value(tag);
    }
    if (conflict && !json_is_null(conflict) &&
        (!json_is_string(conflict) ||
         ferry_conflict_parse(json_string_value(conflict), &spec->on_conflict) < 0))
        return refuse(err, 400, "on_conflict: fail, skip, overwrite or rename");
    if (json_is_integer(bw) && json_integer_value(bw) >= 0)
        spec->bwlimit = (uint64_t)json_integer_value(bw);
    else if (json_is_string(bw) && ferry_size_parse(json_string_value(bw), &spec->bwlimit) == 0)
        ;
    else if (bw && !json_is_null(bw))
        return refuse(err, 400, "bwlimit: bytes per second, a number or a string like \"400M\"");
    if (fsync && !json_is_boolean(fsync))
        return refuse(err, 400, "fsync: true or false");
    spec->no_fsync = fsync && json_is_false(fsync);
    return spec_sequence(o, spec, err);
}

int req_cancel_body(json_t *o, const char **tag, bool *all, req_error *err)
{
    json_t *t = json_object_get(o, "tag"), *a = json_object_get(o, "all");

    *tag = NULL;
    *all = false;
    if (json_is_string(t))
        *tag = json_string_value(t);
    else if (json_is_true(a))
        *all = true;
    else
        return refuse(err, 400, "body: {\"tag\": \"...\"} or {\"all\": true}");
    return 0;
}

void req_ws_parse(const char *text, size_t len, req_ws_msg *out)
{
    const char *type;

    memset(out, 0, sizeof(*out));
    out->kind = WSREQ_BAD;
    out->error = "expected a JSON object with a \"type\"";
    if (memchr(text, '\0', len) || !(out->o = json_loadb(text, len, 0, NULL)))
        return;
    if (!(type = json_string_value(json_object_get(out->o, "type"))))
        return;
    if (!strcmp(type, "subscribe")) {
        json_t *files = json_object_get(out->o, "files");
        const char *mode = json_string_value(files);
        if (json_is_boolean(files)) {
            out->files = json_is_true(files) ? REQ_FILES_EACH : REQ_FILES_NONE;
        } else if (mode && !strcmp(mode, "batch")) {
            out->files = REQ_FILES_BATCH;
        } else if (files) {
            out->error = "files: true, false or \"batch\"";
            return;
        }
        out->kind = WSREQ_SUBSCRIBE;
        out->has_files = files != NULL;
    } else if (!strcmp(type, "cancel")) {
        out->id = json_string_value(json_object_get(out->o, "id"));
        out->tag = json_string_value(json_object_get(out->o, "tag"));
        if (out->id || out->tag)
            out->kind = WSREQ_CANCEL;
        else
            out->error = "cancel needs an \"id\" or a \"tag\"";
    } else {
        out->error = "unknown message type";
    }
}

void req_ws_release(req_ws_msg *m)
{
    json_decref(m->o);
    memset(m, 0, sizeof(*m));
}

/* --- ferry serve's options ----------------------------------------------- */

int req_int_parse(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;

    /* Digits only: strtol alone would take " 5", "+5" and "-0". */
    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (*end || errno || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int req_listen_parse(const char *s, char *addr, size_t alen, int *port)
{
    const char *colon = s ? strrchr(s, ':') : NULL;
    long p;

    if (!colon || colon == s || (size_t)(colon - s) >= alen)
        return -1;
    if (req_int_parse(colon + 1, 0, 65535, &p) < 0)
        return -1;
    snprintf(addr, alen, "%.*s", (int)(colon - s), s);
    *port = (int)p;
    return 0;
}
