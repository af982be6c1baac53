/*
 * daemon/http.c: HTTP requests on the service thread, as libmicrohttpd
 * hands them over: the message's framing checked strictly, the gates, body
 * collection (capped), dispatch to api.c, ws.c (the upgrade) or the embedded
 * UI, and the answer.
 *
 * libmicrohttpd parses the request and frames the answers (keep-alive,
 * pipelining, chunked bodies, Expect: 100-continue, HEAD without a body).
 * What it lets through and RFC 9112 forbids, because another server or
 * proxy in front could read the same bytes as a different message, is
 * refused here before any body is read, with 400 and the connection closed
 * (docs/design/daemon.md, "Framing"): two Content-Length headers,
 * Content-Length with Transfer-Encoding, a transfer coding other than
 * chunked, white space between a header's name and its colon, more than one
 * Host, Origin or Authorization (the gates read one).
 *
 * Gates, in this order, for every request: the Host header must name this
 * server (DNS rebinding), an Origin header must be this server's own origin
 * (no CORS), and every /api/ request but /api/health needs the bearer
 * token, compared in constant time.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon.h"

#define PATH_MAX_LEN 4096
#define HEADERS_MAX (8u << 10) /* the request's header fields, names and values */

/* lws's "best practices" set, which the UI was written for: no inline
 * scripts, no framing, no sniffing. */
static const char *const security_headers[][2] = {
    {"Content-Security-Policy",
     "default-src 'none'; img-src 'self' data: ; script-src 'self'; font-src 'self'; "
     "style-src 'self'; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; "
     "form-action 'self'"},
    {"X-Content-Type-Options", "nosniff"},
    {"X-Frame-Options", "deny"},
    {"Referrer-Policy", "no-referrer"},
    {"Cache-Control", "no-store"},
};

/* Queues an answer; the body is copied. close: the connection ends after it
 * (refusals, and answers given before the request's body is in). */
static enum MHD_Result respond(struct MHD_Connection *mc, int status, const char *ctype,
                               const void *body, size_t len, bool close)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result rc;

    if (!r)
        return MHD_NO;
    for (size_t i = 0; i < sizeof(security_headers) / sizeof(security_headers[0]); i++)
        MHD_add_response_header(r, security_headers[i][0], security_headers[i][1]);
    if (ctype)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (close)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    rc = MHD_queue_response(mc, (unsigned)status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result respond_json(struct MHD_Connection *mc, int status, json_t *j, bool close)
{
    char *text = json_dumps(j, JSON_COMPACT);
    enum MHD_Result rc = respond(mc, status, "application/json", text ? text : "{}",
                                 text ? strlen(text) : 2, close);
    free(text);
    json_decref(j);
    return rc;
}

enum MHD_Result http_error(struct MHD_Connection *mc, int status, const char *msg, bool close)
{
    return respond_json(mc, status, api_error(req_error_code(status), msg), close);
}

/* --- the request's headers ------------------------------------------------ */

typedef struct {
    size_t bytes; /* of the header fields, as ": " and CRLF would frame them */
    unsigned host, content_length, transfer_encoding;
    unsigned gate_twice; /* Origin or Authorization seen again */
    bool origin, authorization;
    const char *te;  /* the Transfer-Encoding's value */
    const char *bad; /* why the header block is refused, or NULL */
} header_scan;

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   size_t key_size, const char *value, size_t value_size)
{
    header_scan *h = cls;

    (void)kind;
    h->bytes += key_size + value_size + 4;
    if (key_size == 0 || strlen(key) != key_size || key[strcspn(key, " \t")] ||
        !value || strlen(value) != value_size) {
        h->bad = "a malformed header line (white space in its name, or a NUL byte)";
        return MHD_NO;
    }
    if (!strcasecmp(key, MHD_HTTP_HEADER_HOST))
        h->host++;
    else if (!strcasecmp(key, MHD_HTTP_HEADER_ORIGIN)) {
        h->gate_twice += h->origin;
        h->origin = true;
    } else if (!strcasecmp(key, MHD_HTTP_HEADER_AUTHORIZATION)) {
        h->gate_twice += h->authorization;
        h->authorization = true;
    }
    else if (!strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH))
        h->content_length++;
    else if (!strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
        h->transfer_encoding++;
        h->te = value;
    }
    return MHD_YES;
}

/*
 * RFC 9112 section 6: a message whose body's length another reader could
 * see differently is refused (400, then closed), before any of it is read;
 * so are headers over HEADERS_MAX (431). Returns 0, or the status with *why
 * set.
 */
static int check_framing(struct MHD_Connection *mc, const char **why)
{
    header_scan h = {0};

    MHD_get_connection_values_n(mc, MHD_HEADER_KIND, scan_header, &h);
    if (h.bytes > HEADERS_MAX) {
        *why = "request headers over 8 KiB";
        return 431;
    }
    if (h.bad)
        *why = h.bad;
    else if (h.host > 1 || h.gate_twice)
        *why = "more than one Host, Origin or Authorization header";
    else if (h.content_length > 1)
        *why = "more than one Content-Length header";
    else if (h.transfer_encoding > 1 || (h.transfer_encoding && h.content_length))
        *why = "Transfer-Encoding with Content-Length, or more than one Transfer-Encoding";
    else if (h.te && strcasecmp(h.te, "chunked"))
        *why = "a transfer coding other than chunked";
    else
        return 0;
    return 400;
}

/* Copies a header into buf: 1, or 0 when absent ("" in buf), or -1 when it
 * does not fit or holds a NUL byte (a gate refuses those rather than read
 * them as absent, or as the part before the NUL). */
static int header(struct MHD_Connection *mc, const char *name, char *buf, size_t len)
{
    const char *v = NULL;
    size_t n = 0;

    buf[0] = '\0';
    if (MHD_lookup_connection_value_n(mc, MHD_HEADER_KIND, name, strlen(name), &v, &n) != MHD_YES ||
        !v)
        return 0;
    if (n >= len || strlen(v) != n)
        return -1;
    memcpy(buf, v, n + 1);
    return 1;
}

static enum MHD_Result add_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                 size_t key_size, const char *value, size_t value_size)
{
    req_query *q = cls;
    size_t len = key_size + (value ? 1 + value_size : 0);
    char *frag = malloc(len + 1);
    int rc;

    (void)kind;
    if (!frag)
        return MHD_NO;
    memcpy(frag, key, key_size);
    if (value) {
        frag[key_size] = '=';
        memcpy(frag + key_size + 1, value, value_size);
    }
    frag[len] = '\0';
    rc = req_query_add(q, frag, len);
    free(frag);
    return rc < 0 ? MHD_NO : MHD_YES;
}

int http_gate(server *srv, struct MHD_Connection *mc, bool need_token, const req_query *query,
              const char **why)
{
    char host[256], origin[300], auth[512];
    int has_origin;

    if (header(mc, MHD_HTTP_HEADER_HOST, host, sizeof(host)) != 1 ||
        !req_host_allowed(host, srv->listen_addr, srv->port, (const char *const *)srv->allow_hosts,
                          srv->nallow)) {
        *why = "the Host header does not name this server";
        return 403;
    }
    if ((has_origin = header(mc, MHD_HTTP_HEADER_ORIGIN, origin, sizeof(origin))) != 0 &&
        (has_origin < 0 || !req_origin_ok(origin, host))) {
        *why = "requests from other origins are refused";
        return 403;
    }
    if (!need_token)
        return 0;
    if (header(mc, MHD_HTTP_HEADER_AUTHORIZATION, auth, sizeof(auth)) == 1 &&
        req_token_equal(req_bearer(auth), srv->token))
        return 0;
    /* Browsers cannot set headers on a WebSocket: ?token= is accepted there. */
    if (query && !query->malformed && req_token_equal(req_query_get(query, "token"), srv->token))
        return 0;
    *why = "missing or wrong token: use the link that ferry serve printed";
    return 401;
}

/* --- the request ------------------------------------------------------------ */

void *http_uri_log(void *cls, const char *uri, struct MHD_Connection *mc)
{
    session *s = calloc(1, sizeof(*s));
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    (void)cls;
    if (!s)
        return NULL;
    req_query_init(&s->query);
    s->conn = info ? info->socket_context : NULL;
    /* libmicrohttpd decodes the path into a C string, cut at a %00: such a
     * path would name another file than the one asked for. */
    size_t plen = strcspn(uri, "?");
    s->bad_path = memmem(uri, plen, "%00", 3) != NULL || plen > PATH_MAX_LEN;
    return s;
}

static void session_free(session *s)
{
    if (!s)
        return;
    free(s->path);
    req_query_release(&s->query);
    free(s->body);
    free(s);
}

void http_completed(void *cls, struct MHD_Connection *mc, void **req_cls,
                    enum MHD_RequestTerminationCode code)
{
    server *srv = cls;
    session *s = *req_cls;

    (void)mc;
    if (s) {
        if (code == MHD_REQUEST_TERMINATED_COMPLETED_OK)
            conn_waiting(srv, s->conn); /* kept alive: waits for the next request */
        session_free(s);
    }
    *req_cls = NULL;
}

static enum MHD_Result serve_static(struct MHD_Connection *mc, session *s)
{
    size_t len;
    const char *ctype;
    const unsigned char *data = web_asset(s->path, &len, &ctype);

    if (!data)
        return http_error(mc, 404, "no such page", false);
    return respond(mc, 200, ctype, data, len, false);
}

static enum MHD_Result answer(server *srv, struct MHD_Connection *mc, session *s)
{
    int status = 200;
    char *body = NULL;
    const char *ctype = "application/json";
    enum MHD_Result rc;

    if (s->body_too_large)
        return http_error(mc, 413, "request body over 1 MiB", true);
    if (!req_is_api(s->path)) {
        if (s->method != REQ_GET)
            return http_error(mc, 405, "only GET here", false);
        return serve_static(mc, s);
    }
    api_dispatch(srv, s, &status, &body, &ctype);
    rc = respond(mc, status, ctype, body ? body : "{}", body ? strlen(body) : 2, false);
    free(body);
    return rc;
}

/* The declared length of the body: 0 when none, -1 when chunked. */
static long long declared_length(struct MHD_Connection *mc)
{
    const char *cl = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

    if (MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING))
        return -1;
    return cl ? strtoll(cl, NULL, 10) : 0; /* digits only: libmicrohttpd checked */
}

/* The headers are in: check, gate, and answer now or after the body. */
static enum MHD_Result on_headers(server *srv, struct MHD_Connection *mc, session *s,
                                  const char *url, const char *method)
{
    const char *why = NULL;
    int status;
    long long length = declared_length(mc);
    bool api;

    srv->http_requests++;
    conn_request(srv, s->conn);
    if ((status = check_framing(mc, &why)) != 0)
        return http_error(mc, status, why, true);
    s->head = !strcmp(method, MHD_HTTP_METHOD_HEAD);
    s->method = !strcmp(method, MHD_HTTP_METHOD_GET) || s->head ? REQ_GET
                : !strcmp(method, MHD_HTTP_METHOD_POST)        ? REQ_POST
                                                               : 0;
    if (s->bad_path)
        return http_error(mc, 414, "path too long, or holding a NUL byte", true);
    if (!(s->path = strdup(url)))
        return MHD_NO;
    if (MHD_get_connection_values_n(mc, MHD_GET_ARGUMENT_KIND, add_query, &s->query) < 0)
        return MHD_NO;
    api = req_is_api(s->path);
    /* Refusals close the connection: a refused client gets no keep-alive, and
     * a body it may still be sending is not waited for. */
    status = http_gate(srv, mc, req_needs_token(s->path),
                       MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_UPGRADE)
                           ? &s->query
                           : NULL,
                       &why);
    if (status)
        return http_error(mc, status, why, true);
    if (api && ws_is_upgrade(mc))
        return ws_accept(srv, mc, s);
    /*
     * A body declared over 1 MiB: 413. Up to MAX_BODY_DRAIN it is read and
     * dropped first, unless the client waits for a 100 Continue: closing on
     * a client still sending makes the kernel reset the connection, and the
     * client may never read the answer (seen: 71 of 200 such requests from
     * Node's fetch).
     */
    if (length > (long long)MAX_BODY) {
        const char *expect = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
        if (length > (long long)MAX_BODY_DRAIN || (expect && !strcasecmp(expect, "100-continue")))
            return http_error(mc, 413, "request body over 1 MiB", true);
        s->body_too_large = true;
    }
    /* Answered at the next call, once the body is in (a 100 Continue first
     * if asked). Even without a body: an answer queued at this first call,
     * before libmicrohttpd has seen the request's end, closes the
     * connection after it, as the refusals above want and nothing else. */
    return MHD_YES;
}

static enum MHD_Result on_body(struct MHD_Connection *mc, session *s, const char *data, size_t len)
{
    if (s->body_too_large || s->body_len + len > MAX_BODY) {
        s->body_too_large = true;
        s->body_dropped += len;
        if (s->body_dropped > MAX_BODY_DRAIN) { /* chunked, endless: answer, close */
            s->answered = true;
            return http_error(mc, 413, "request body over 1 MiB", true);
        }
        return MHD_YES;
    }
    char *p = realloc(s->body, s->body_len + len + 1);
    if (!p)
        return MHD_NO;
    s->body = p;
    memcpy(s->body + s->body_len, data, len);
    s->body_len += len;
    s->body[s->body_len] = '\0';
    return MHD_YES;
}

enum MHD_Result http_access(void *cls, struct MHD_Connection *mc, const char *url,
                            const char *method, const char *version, const char *upload,
                            size_t *upload_size, void **req_cls)
{
    server *srv = cls;
    session *s = *req_cls;

    (void)version;
    if (!s)
        return MHD_NO; /* out of memory at the request's start: close */
    if (!s->started) {
        s->started = true;
        return on_headers(srv, mc, s, url, method);
    }
    if (s->answered)
        return MHD_YES; /* refused mid-body: the rest is not read */
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        return on_body(mc, s, upload, n);
    }
    return answer(srv, mc, s);
}
