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
#include "ferry/json.h"
#include "ferry/common.h"

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

/* The job's sequence sources: the schema of ferry copy --json's "sequence"
 * event (ferry_json_sequence), without "event" and "job". */
static json_t *sequences_json(const ferry_job_info *in)
{
    json_t *arr = json_array();

    for (size_t i = 0; arr && i < in->nseqs; i++) {
        char *text = ferry_json_sequence(NULL, &in->seqs[i]);
        json_t *o = text ? json_loads(text, 0, NULL) : NULL;
        free(text);
        if (!o)
            continue;
        json_object_del(o, "event");
        json_array_append_new(arr, o);
    }
    return arr;
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
    NUM("bytes_copied", live ? live->bytes_copied : in->bytes_copied);
    NUM("bytes_skipped", live ? live->bytes_skipped : in->bytes_skipped);
    NUM("files_total", live ? live->files_total : in->files_total);
    NUM("files_done", live ? live->files_done : in->files_done);
    NUM("files_skipped", live ? live->files_skipped : in->files_skipped);
    NUM("files_failed", live ? live->files_failed : in->files_failed);
    NUM("files_not_attempted", live ? live->files_not_attempted : in->files_not_attempted);
#undef NUM
    json_object_set_new(o, "current_file",
                        live && live->current_file[0] ? str(live->current_file) : json_null());
    json_object_set_new(o, "rate_bps", json_integer(live ? (json_int_t)live->rate_bps : 0));
    json_object_set_new(o, "eta_s", live && live->eta_s >= 0 ? json_integer(live->eta_s) : json_null());
    json_object_set_new(o, "error", str(in->error));
    int64_t lat = live ? live->cancel_latency_us : in->cancel_latency_us;
    json_object_set_new(o, "cancel_latency_us", lat >= 0 ? json_integer(lat) : json_null());
    json_object_set_new(o, "sequences", sequences_json(in));
    return o;
}

json_t *api_job_json_of(server *srv, const ferry_job_info *in)
{
    ferry_progress p;
    bool live = ferry_manager_progress(srv->m, in->id, &p) == FERRY_OK;

    return job_json_of(in, live ? &p : NULL);
}

json_t *api_job_json(server *srv, const char *id)
{
    ferry_job_info in;
    json_t *o;

    if (ferry_manager_get(srv->m, id, &in) != FERRY_OK)
        return NULL;
    o = api_job_json_of(srv, &in);
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

static reply refused(const req_error *e)
{
    return (reply){e->status, api_error(req_error_code(e->status), e->msg)};
}

static reply post_jobs(server *srv, session *s)
{
    req_error e;
    json_t *o = req_json_object(s->body, s->body_len, &e);
    ferry_job_spec spec;
    const char **sources = NULL;
    char id[16];
    reply r;

    if (!o)
        return refused(&e);
    ferry_job_spec_init(&spec);
    if (req_job_spec(o, srv->roots, &spec, &sources, &e) < 0)
        r = refused(&e);
    else if (ferry_manager_submit(srv->m, &spec, id) < 0)
        r = err(400, "bad_request", "%s", ferry_error_last());
    else
        r = ok(201, api_job_json(srv, id));
    free(sources);
    json_decref(o);
    return r;
}

static reply get_jobs(server *srv, session *s)
{
    const char *state = req_query_get(&s->query, "state"), *tag = req_query_get(&s->query, "tag");
    ferry_job_info *v;
    size_t n;
    json_t *arr;

    if (ferry_manager_list(srv->m, state, tag, &v, &n) < 0)
        return err(503, "overloaded", "%s", ferry_error_last());
    arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, api_job_json_of(srv, &v[i]));
    ferry_job_info_free(v, n);
    return ok(200, json_pack("{s:o}", "jobs", arr));
}

/* A count parameter into *out (left alone when absent); false when malformed. */
static bool query_count(const req_query *q, const char *name, size_t *out)
{
    const char *v = req_query_get(q, name);

    return !v || req_count(v, out) == 0;
}

static reply get_files(server *srv, const char *id, session *s)
{
    const char *state = req_query_get(&s->query, "state");
    ferry_file_info *v;
    size_t n;
    json_t *arr, *job = api_job_json(srv, id);

    if (!job)
        return err(404, "not_found", "no job '%s'", id);
    json_decref(job);
    size_t offset = 0, limit = 0; /* limit 0: all */
    const char *bad = !query_count(&s->query, "offset", &offset)  ? "offset"
                      : !query_count(&s->query, "limit", &limit) ? "limit"
                                                                  : NULL;
    if (bad)
        return err(400, "bad_request", "%s: a non-negative integer", bad);
    if (ferry_manager_files(srv->m, id, state, offset, limit, &v, &n) < 0)
        return err(503, "overloaded", "%s", ferry_error_last());
    arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:o,s:o,s:s,s:o,s:I}", "path", str(v[i].path),
                                             "dest", str(v[i].dest), "state",
                                             ferry_file_result_name(v[i].result), "error",
                                             str(v[i].error), "bytes", (json_int_t)v[i].bytes));
    ferry_file_info_free(v, n);
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
    ws_broadcast_cancelled(srv, id);
    return ok(200, api_job_json(srv, id));
}

static reply cancel_many(server *srv, session *s)
{
    req_error e;
    json_t *o = req_json_object(s->body, s->body_len, &e), *arr;
    const char *tag;
    bool all;
    char **ids = NULL;
    size_t n = 0;

    if (!o || req_cancel_body(o, &tag, &all, &e) < 0) {
        json_decref(o);
        return refused(&e);
    }
    ferry_manager_cancel_tag(srv->m, tag, &ids, &n);
    arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(arr, json_string(ids[i]));
        ws_broadcast_cancelled(srv, ids[i]);
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
        bytes += v[i].bytes_copied;
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
    unsigned file_clients = 0;
    for (ws_client *c = srv->clients; c; c = c->next)
        file_clients += c->files != REQ_FILES_NONE;
    fprintf(f, "# HELP ferry_ws_file_clients WebSocket clients taking per-file results.\n"
               "# TYPE ferry_ws_file_clients gauge\nferry_ws_file_clients %u\n",
            file_clients);
    fprintf(f, "# HELP ferry_service_realtime 1 when the service loop runs at real-time "
               "priority (--realtime).\n# TYPE ferry_service_realtime gauge\n"
               "ferry_service_realtime %d\n",
            srv->realtime);
    fprintf(f, "# HELP ferry_http_requests_total HTTP requests served.\n# TYPE "
               "ferry_http_requests_total counter\nferry_http_requests_total %llu\n",
            (unsigned long long)srv->http_requests);
    fclose(f);
    return out;
}

static reply wrong_method(unsigned methods)
{
    return err(405, "method_not_allowed", "%s",
               methods == (REQ_GET | REQ_POST) ? "GET or POST"
               : methods == REQ_POST           ? "POST only"
                                               : "GET only");
}

static reply route(server *srv, session *s)
{
    req_route rt;
    unsigned method = s->method;
    json_t *job;
    int status;

    req_match(s->path, &rt);
    if (rt.kind == ROUTE_NONE || rt.kind == ROUTE_EVENTS)
        return err(404, "not_found", "no such endpoint: %s", s->path);
    if (!(rt.methods & method))
        return wrong_method(rt.methods);
    if (s->query.malformed)
        return err(400, "bad_request", "query: a NUL byte, or more than %d parameters",
                   REQ_QUERY_MAX);
    switch (rt.kind) {
    case ROUTE_HEALTH:
        return ok(200, json_pack("{s:b,s:s}", "ok", 1, "version", ferry_version()));
    case ROUTE_JOBS:
        return method == REQ_GET ? get_jobs(srv, s) : post_jobs(srv, s);
    case ROUTE_FS: {
        json_t *body = api_fs(srv, &s->query, &status);
        return ok(status, body);
    }
    case ROUTE_CANCEL:
        return cancel_many(srv, s);
    case ROUTE_JOB:
        if (!(job = api_job_json(srv, rt.id)))
            return err(404, "not_found", "no job '%s'", rt.id);
        return ok(200, job);
    case ROUTE_JOB_FILES:
        return get_files(srv, rt.id, s);
    case ROUTE_JOB_CANCEL:
        return cancel_one(srv, rt.id);
    case ROUTE_JOB_RESUME:
        return resume(srv, rt.id);
    default:
        return err(404, "not_found", "no such endpoint: %s", s->path);
    }
}

void api_dispatch(server *srv, session *s, int *status, char **body, const char **ctype)
{
    reply r;

    if (!strcmp(s->path, "/metrics")) {
        *status = s->method == REQ_GET ? 200 : 405;
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
