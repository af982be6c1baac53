/*
 * daemon/api.c: the JSON API (docs/api.md). Runs on the service thread and
 * only calls libferry: submitting, cancelling and listing are quick (a
 * cancel closes the job's commit gate and returns, without waiting for any
 * worker), so no request waits on file I/O.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "ferry/common.h"
#include "ferry/size.h"

json_t *api_error(const char *code, const char *message)
{
    return json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message ? message : "");
}

static json_t *rfc3339(int64_t ms)
{
    char buf[64];
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    if (ms <= 0)
        return json_null();
    gmtime_r(&t, &tm);
    snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    return json_string(buf);
}

/* A string that may not be UTF-8: jansson refuses those, so they become null. */
static json_t *str(const char *s)
{
    json_t *j = s ? json_string(s) : NULL;
    return j ? j : json_null();
}

static json_t *job_json_of(const ferry_job_info *in, const ferry_progress *live)
{
    json_t *o = json_object(), *src = json_array();

    for (size_t i = 0; i < in->nsources; i++)
        json_array_append_new(src, str(in->sources[i]));
    json_object_set_new(o, "id", json_string(in->id));
    json_object_set_new(o, "state", json_string(ferry_job_state_name(live ? live->state : in->state)));
    json_object_set_new(o, "tag", str(in->tag));
    json_object_set_new(o, "sources", src);
    json_object_set_new(o, "dest", str(in->dest));
    json_object_set_new(o, "created_at", rfc3339(in->created_at));
    json_object_set_new(o, "started_at", rfc3339(live && live->started_at_ms ? live->started_at_ms
                                                                              : in->started_at));
    json_object_set_new(o, "finished_at", rfc3339(live && live->ended_at_ms ? live->ended_at_ms
                                                                             : in->finished_at));
#define NUM(field, v) json_object_set_new(o, field, json_integer((json_int_t)(v)))
    NUM("bytes_total", live ? live->bytes_total : in->bytes_total);
    NUM("bytes_done", live ? live->bytes_done : in->bytes_done);
    NUM("files_total", live ? live->files_total : in->files_total);
    NUM("files_done", live ? live->files_done : in->files_done);
    NUM("files_skipped", live ? live->files_skipped : in->files_skipped);
    NUM("files_failed", live ? live->files_failed : in->files_failed);
#undef NUM
    json_object_set_new(o, "current_file",
                        live && live->current_file[0] ? str(live->current_file) : json_null());
    json_object_set_new(o, "rate_bps", json_integer(live ? (json_int_t)live->rate_bps : 0));
    json_object_set_new(o, "eta_s", live && live->eta_s >= 0 ? json_integer(live->eta_s) : json_null());
    json_object_set_new(o, "error", str(in->error));
    int64_t lat = live ? live->cancel_latency_us : in->cancel_latency_us;
    json_object_set_new(o, "cancel_latency_us", lat >= 0 ? json_integer(lat) : json_null());
    return o;
}

json_t *api_job_json(server *srv, const char *id)
{
    ferry_job_info in;
    ferry_progress p;
    json_t *o;

    if (ferry_manager_get(srv->m, id, &in) != FERRY_OK)
        return NULL;
    bool live = ferry_manager_progress(srv->m, id, &p) == FERRY_OK;
    o = job_json_of(&in, live ? &p : NULL);
    ferry_job_info_clear(&in);
    return o;
}

/* --- handlers ------------------------------------------------------------- */

typedef struct {
    int status;
    json_t *body;
} reply;

static reply err(int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static reply err(int status, const char *code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return (reply){status, api_error(code, msg)};
}

static reply ok(int status, json_t *body)
{
    return (reply){status, body};
}

/* 403 for paths outside the roots, 400 for the rest; names the field. */
static reply path_error(int rc, const char *field)
{
    if (rc == FERRY_EOUTSIDE)
        return err(403, "forbidden", "%s: %s", field, ferry_error_last());
    return err(400, "bad_request", "%s: %s", field, ferry_error_last());
}

static reply parse_spec(server *srv, json_t *o, ferry_job_spec *spec, const char ***sources)
{
    json_t *src = json_object_get(o, "sources"), *dest = json_object_get(o, "dest"),
           *tag = json_object_get(o, "tag"), *conflict = json_object_get(o, "on_conflict"),
           *bw = json_object_get(o, "bwlimit"), *fsync = json_object_get(o, "fsync");
    size_t n;
    int rc;

    if (!json_is_object(o))
        return err(400, "bad_request", "the body must be a JSON object");
    if (!json_is_array(src) || (n = json_array_size(src)) == 0)
        return err(400, "bad_request", "sources: a non-empty array of absolute paths is required");
    if (!json_is_string(dest))
        return err(400, "bad_request", "dest: an absolute path is required");
    if (!(*sources = calloc(n, sizeof(char *))))
        return err(503, "overloaded", "out of memory");
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(src, i));
        char field[32];
        snprintf(field, sizeof(field), "sources[%zu]", i);
        if (!s)
            return err(400, "bad_request", "%s: must be a string", field);
        if ((rc = ferry_roots_check(srv->roots, s, false)) != FERRY_OK)
            return path_error(rc, field);
        (*sources)[i] = s;
    }
    if ((rc = ferry_roots_check(srv->roots, json_string_value(dest), true)) != FERRY_OK)
        return path_error(rc, "dest");
    spec->sources = *sources;
    spec->nsources = n;
    spec->dest = json_string_value(dest);
    spec->dest_is_dir = true;
    if (tag && !json_is_null(tag)) {
        if (!json_is_string(tag) || strlen(json_string_value(tag)) > 128)
            return err(400, "bad_request", "tag: a string of at most 128 bytes");
        spec->tag = json_string_value(tag);
    }
    if (conflict && !json_is_null(conflict) &&
        (!json_is_string(conflict) ||
         ferry_conflict_parse(json_string_value(conflict), &spec->on_conflict) < 0))
        return err(400, "bad_request", "on_conflict: fail, skip, overwrite or rename");
    if (json_is_integer(bw) && json_integer_value(bw) >= 0)
        spec->bwlimit = (uint64_t)json_integer_value(bw);
    else if (json_is_string(bw) && ferry_size_parse(json_string_value(bw), &spec->bwlimit) == 0)
        ;
    else if (bw && !json_is_null(bw))
        return err(400, "bad_request", "bwlimit: bytes per second, a number or a string like \"400M\"");
    if (fsync && !json_is_boolean(fsync))
        return err(400, "bad_request", "fsync: true or false");
    spec->no_fsync = fsync && json_is_false(fsync);
    return ok(0, NULL);
}

static reply post_jobs(server *srv, session *s)
{
    json_error_t jerr;
    json_t *o = json_loads(s->body ? s->body : "", 0, &jerr);
    ferry_job_spec spec;
    const char **sources = NULL;
    char id[16];
    reply r;

    if (!o)
        return err(400, "bad_request", "malformed JSON: %s (line %d)", jerr.text, jerr.line);
    ferry_job_spec_init(&spec);
    r = parse_spec(srv, o, &spec, &sources);
    if (r.status == 0) {
        if (ferry_manager_submit(srv->m, &spec, id) < 0)
            r = err(400, "bad_request", "%s", ferry_error_last());
        else
            r = ok(201, api_job_json(srv, id));
    }
    free(sources);
    json_decref(o);
    return r;
}

static reply get_jobs(server *srv, session *s)
{
    char *state = http_query_param(s->query, "state"), *tag = http_query_param(s->query, "tag");
    ferry_job_info *v;
    size_t n;
    json_t *arr;

    if (ferry_manager_list(srv->m, state, tag, &v, &n) < 0) {
        free(state);
        free(tag);
        return err(503, "overloaded", "%s", ferry_error_last());
    }
    arr = json_array();
    for (size_t i = 0; i < n; i++) {
        ferry_progress p;
        bool live = ferry_manager_progress(srv->m, v[i].id, &p) == FERRY_OK;
        json_array_append_new(arr, job_json_of(&v[i], live ? &p : NULL));
    }
    ferry_job_info_free(v, n);
    free(state);
    free(tag);
    return ok(200, json_pack("{s:o}", "jobs", arr));
}

/* A non-negative integer query parameter into *out (left alone when absent);
 * false when it is malformed. */
static bool query_count(const char *query, const char *name, size_t *out)
{
    char *v = http_query_param(query, name), *end = NULL;
    bool good = true;

    if (v) {
        errno = 0;
        unsigned long long x = strtoull(v, &end, 10);
        good = v[0] >= '0' && v[0] <= '9' && !*end && errno == 0 && x <= SIZE_MAX;
        if (good)
            *out = (size_t)x;
    }
    free(v);
    return good;
}

static reply get_files(server *srv, const char *id, session *s)
{
    char *state = http_query_param(s->query, "state");
    ferry_file_info *v;
    size_t n;
    json_t *arr, *job = api_job_json(srv, id);

    if (!job) {
        free(state);
        return err(404, "not_found", "no job '%s'", id);
    }
    json_decref(job);
    size_t offset = 0, limit = 0; /* limit 0: all */
    const char *bad = !query_count(s->query, "offset", &offset)  ? "offset"
                      : !query_count(s->query, "limit", &limit) ? "limit"
                                                                 : NULL;
    if (bad) {
        free(state);
        return err(400, "bad_request", "%s: a non-negative integer", bad);
    }
    if (ferry_manager_files(srv->m, id, state, offset, limit, &v, &n) < 0) {
        free(state);
        return err(503, "overloaded", "%s", ferry_error_last());
    }
    arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:o,s:o,s:s,s:o,s:I}", "path", str(v[i].path),
                                             "dest", str(v[i].dest), "state",
                                             ferry_file_result_name(v[i].result), "error",
                                             str(v[i].error), "bytes", (json_int_t)v[i].bytes));
    ferry_file_info_free(v, n);
    free(state);
    return ok(200, json_pack("{s:s,s:o}", "job_id", id, "files", arr));
}

static reply cancel_one(server *srv, const char *id)
{
    int rc = ferry_manager_cancel(srv->m, id);

    if (rc == FERRY_ENOTFOUND)
        return err(404, "not_found", "no job '%s'", id);
    if (rc == FERRY_EENDED)
        return err(409, "conflict", "%s", ferry_error_last());
    /* The gate is closed: nothing of the job can appear under a final name now. */
    ws_broadcast_job(srv, id, false);
    return ok(200, api_job_json(srv, id));
}

static reply cancel_many(server *srv, session *s)
{
    json_error_t jerr;
    json_t *o = json_loads(s->body ? s->body : "", 0, &jerr), *tag, *all, *arr;
    char **ids = NULL;
    size_t n = 0;

    if (!json_is_object(o)) {
        json_decref(o);
        return err(400, "bad_request", "body: {\"tag\": \"...\"} or {\"all\": true}");
    }
    tag = json_object_get(o, "tag");
    all = json_object_get(o, "all");
    if (!json_is_string(tag) && !json_is_true(all)) {
        json_decref(o);
        return err(400, "bad_request", "tag: a string, or all: true");
    }
    ferry_manager_cancel_tag(srv->m, json_is_string(tag) ? json_string_value(tag) : NULL, &ids, &n);
    arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(arr, json_string(ids[i]));
        ws_broadcast_job(srv, ids[i], false);
    }
    ferry_manager_ids_free(ids, n);
    json_decref(o);
    return ok(200, json_pack("{s:o}", "cancelled", arr));
}

static reply resume(server *srv, const char *id)
{
    json_t *job = api_job_json(srv, id);

    if (!job)
        return err(404, "not_found", "no job '%s'", id);
    json_decref(job);
    if (ferry_manager_resume(srv->m, id) < 0)
        return err(409, "conflict", "%s", ferry_error_last());
    return ok(200, api_job_json(srv, id));
}

/* Prometheus text format. */
static char *metrics(server *srv)
{
    ferry_job_info *v = NULL;
    size_t n = 0;
    uint64_t by_state[6] = {0}, bytes = 0, files = 0;
    static const double bounds[] = {100, 500, 1000, 2000, 5000, 10000, 50000, 100000};
    uint64_t buckets[sizeof(bounds) / sizeof(bounds[0])] = {0}, lat_n = 0;
    double lat_sum = 0;
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);

    if (!f)
        return NULL;
    ferry_manager_list(srv->m, NULL, NULL, &v, &n);
    for (size_t i = 0; i < n; i++) {
        if ((unsigned)v[i].state < 6)
            by_state[v[i].state]++;
        bytes += v[i].bytes_done;
        files += v[i].files_done;
        if (v[i].cancel_latency_us >= 0) {
            lat_n++;
            lat_sum += (double)v[i].cancel_latency_us;
            for (size_t b = 0; b < sizeof(bounds) / sizeof(bounds[0]); b++)
                if ((double)v[i].cancel_latency_us <= bounds[b])
                    buckets[b]++;
        }
    }
    ferry_job_info_free(v, n);
    fprintf(f, "# HELP ferry_jobs Jobs by state.\n# TYPE ferry_jobs gauge\n");
    for (int s = 0; s < 6; s++)
        fprintf(f, "ferry_jobs{state=\"%s\"} %llu\n", ferry_job_state_name((ferry_job_state)s),
                (unsigned long long)by_state[s]);
    fprintf(f, "# HELP ferry_bytes_copied_total Bytes copied by the jobs known.\n"
               "# TYPE ferry_bytes_copied_total counter\nferry_bytes_copied_total %llu\n",
            (unsigned long long)bytes);
    fprintf(f, "# HELP ferry_files_copied_total Files copied by the jobs known.\n"
               "# TYPE ferry_files_copied_total counter\nferry_files_copied_total %llu\n",
            (unsigned long long)files);
    fprintf(f, "# HELP ferry_cancel_latency_us From a cancel to the last worker stopped.\n"
               "# TYPE ferry_cancel_latency_us histogram\n");
    for (size_t b = 0; b < sizeof(bounds) / sizeof(bounds[0]); b++)
        fprintf(f, "ferry_cancel_latency_us_bucket{le=\"%.0f\"} %llu\n", bounds[b],
                (unsigned long long)buckets[b]);
    fprintf(f, "ferry_cancel_latency_us_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)lat_n);
    fprintf(f, "ferry_cancel_latency_us_sum %.0f\nferry_cancel_latency_us_count %llu\n", lat_sum,
            (unsigned long long)lat_n);
    fprintf(f, "# HELP ferry_ws_clients WebSocket clients connected.\n# TYPE ferry_ws_clients "
               "gauge\nferry_ws_clients %u\n",
            srv->nclients);
    fprintf(f, "# HELP ferry_http_requests_total HTTP requests served.\n# TYPE "
               "ferry_http_requests_total counter\nferry_http_requests_total %llu\n",
            (unsigned long long)srv->http_requests);
    fclose(f);
    return out;
}

/* Splits "/api/jobs/ID/verb" into id and verb (both may be NULL). */
static bool job_route(const char *path, char *id, size_t idlen, const char **verb)
{
    const char *p = path + strlen("/api/jobs/");
    const char *slash = strchr(p, '/');
    size_t n = slash ? (size_t)(slash - p) : strlen(p);

    if (n == 0 || n >= idlen)
        return false;
    memcpy(id, p, n);
    id[n] = '\0';
    *verb = slash ? slash + 1 : NULL;
    return true;
}

static reply route(server *srv, session *s)
{
    const char *path = s->path, *verb;
    bool get = s->method == LWSHUMETH_GET, post = s->method == LWSHUMETH_POST;
    char id[64];

    if (!strcmp(path, "/api/health")) {
        if (!get)
            return err(405, "method_not_allowed", "GET only");
        return ok(200, json_pack("{s:b,s:s}", "ok", 1, "version", ferry_version()));
    }
    if (!strcmp(path, "/api/jobs")) {
        if (get)
            return get_jobs(srv, s);
        if (post)
            return post_jobs(srv, s);
        return err(405, "method_not_allowed", "GET or POST");
    }
    if (!strcmp(path, "/api/fs")) {
        int status;
        json_t *body;
        if (!get)
            return err(405, "method_not_allowed", "GET only");
        body = api_fs(srv, s->query, &status);
        return ok(status, body);
    }
    if (!strcmp(path, "/api/cancel")) {
        if (!post)
            return err(405, "method_not_allowed", "POST only");
        return cancel_many(srv, s);
    }
    if (!strncmp(path, "/api/jobs/", 10) && job_route(path, id, sizeof(id), &verb)) {
        if (!verb) {
            json_t *job;
            if (!get)
                return err(405, "method_not_allowed", "GET only");
            if (!(job = api_job_json(srv, id)))
                return err(404, "not_found", "no job '%s'", id);
            return ok(200, job);
        }
        if (!strcmp(verb, "files"))
            return get ? get_files(srv, id, s) : err(405, "method_not_allowed", "GET only");
        if (!strcmp(verb, "cancel"))
            return post ? cancel_one(srv, id) : err(405, "method_not_allowed", "POST only");
        if (!strcmp(verb, "resume"))
            return post ? resume(srv, id) : err(405, "method_not_allowed", "POST only");
    }
    return err(404, "not_found", "no such endpoint: %s", path);
}

void api_dispatch(server *srv, session *s, int *status, char **body, const char **ctype)
{
    reply r;

    if (!strcmp(s->path, "/metrics")) {
        *status = s->method == LWSHUMETH_GET ? 200 : 405;
        *ctype = "text/plain; version=0.0.4";
        *body = *status == 200 ? metrics(srv) : strdup("GET only\n");
        return;
    }
    r = route(srv, s);
    *status = r.status;
    *ctype = "application/json";
    *body = r.body ? json_dumps(r.body, JSON_COMPACT) : NULL;
    json_decref(r.body);
}
