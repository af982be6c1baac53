/*
 * daemon/http.c: HTTP requests on the service thread: gates, body
 * collection (capped), dispatch to api.c or the embedded UI, and writing
 * the response as the socket becomes writeable.
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

#define RESP_CHUNK 16384
#define RESP_HEAD_MAX 2048 /* room for the status line and headers */

/* Copies a header into buf: 1, or 0 when absent ("" in buf), or -1 when it
 * does not fit or holds a NUL byte (a gate refuses those rather than read
 * them as absent, or as the part before the NUL). */
static int header(struct lws *wsi, enum lws_token_indexes h, char *buf, size_t len)
{
    int n = lws_hdr_total_length(wsi, h);

    buf[0] = '\0';
    if (n <= 0)
        return 0;
    if ((size_t)n >= len || (n = lws_hdr_copy(wsi, buf, (int)len, h)) < 0 ||
        strlen(buf) != (size_t)n)
        return -1;
    return 1;
}

int http_read_query(struct lws *wsi, req_query *q)
{
    for (int i = 0;; i++) {
        int n = lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i), rc;
        char *frag = malloc((size_t)n + 1);
        if (!frag)
            return -1;
        rc = lws_hdr_copy_fragment(wsi, frag, n + 1, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (rc >= 0 && req_query_add(q, frag, (size_t)rc) < 0)
            rc = -2;
        free(frag);
        if (rc == -2)
            return -1;
        if (rc < 0)
            return 0; /* no fragment i: the end */
    }
}

int http_gate(server *srv, struct lws *wsi, bool need_token, const char **why)
{
    char host[256], origin[300], auth[512];
    int has_origin;

    if (header(wsi, WSI_TOKEN_HOST, host, sizeof(host)) != 1 ||
        !req_host_allowed(host, srv->listen_addr, srv->port, (const char *const *)srv->allow_hosts,
                          srv->nallow)) {
        *why = "the Host header does not name this server";
        return 403;
    }
    if ((has_origin = header(wsi, WSI_TOKEN_ORIGIN, origin, sizeof(origin))) != 0 &&
        (has_origin < 0 || !req_origin_ok(origin, host))) {
        *why = "requests from other origins are refused";
        return 403;
    }
    if (!need_token)
        return 0;
    if (header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, auth, sizeof(auth)) == 1 &&
        req_token_equal(req_bearer(auth), srv->token))
        return 0;
    /* Browsers cannot set headers on a WebSocket: ?token= is accepted there. */
    if (lws_hdr_total_length(wsi, WSI_TOKEN_UPGRADE) > 0) {
        req_query q;
        bool good;
        req_query_init(&q);
        good = http_read_query(wsi, &q) == 0 && !q.malformed &&
               req_token_equal(req_query_get(&q, "token"), srv->token);
        req_query_release(&q);
        if (good)
            return 0;
    }
    *why = "missing or wrong token: use the link that ferry serve printed";
    return 401;
}

static void session_clear(session *s)
{
    free(s->path);
    req_query_release(&s->query);
    free(s->body);
    free(s->resp);
    s->path = s->body = NULL;
    s->resp = NULL;
    s->body_len = s->resp_len = s->resp_off = s->resp_head = 0;
    s->body_too_large = false;
    s->responded = false;
    s->close_after = false;
}

/* Writes the next part of the answer: the first holds the headers and as much
 * of the body as fits RESP_CHUNK, so that a small answer leaves in one
 * write and one TCP segment (headers and body sent apart arrived as two
 * reads on the client, the second up to 3 ms later on a busy machine). Each
 * part is written where it lies: the LWS_PRE bytes lws may use before it are
 * the headroom, or bytes already sent. */
static int send_part(struct lws *wsi, session *s)
{
    size_t n = s->resp_len - s->resp_off, most = RESP_CHUNK + (s->resp_off ? 0 : s->resp_head);
    bool final;

    if (n > most)
        n = most;
    final = s->resp_off + n == s->resp_len;
    if (lws_write(wsi, s->resp + LWS_PRE + s->resp_off, n,
                  final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
        return -1;
    s->resp_off += n;
    /* Once all is written, WRITEABLE ends the transaction (lws flushes what
     * the socket did not take first). */
    lws_callback_on_writable(wsi);
    return 0;
}

/* Answers now: the status line, headers and body go out together, the rest
 * of a large body as the socket allows. */
static int respond(struct lws *wsi, session *s, int status, const char *ctype, const char *body,
                   size_t len)
{
    unsigned char *start, *p, *end;

    free(s->resp);
    s->responded = true;
    s->resp = malloc(LWS_PRE + RESP_HEAD_MAX + len);
    if (!s->resp)
        return -1;
    start = p = s->resp + LWS_PRE;
    end = start + RESP_HEAD_MAX - 1;
    if (lws_add_http_common_headers(wsi, (unsigned)status, ctype, len, &p, end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                     (const unsigned char *)"no-store", 8, &p, end) ||
        (s->close_after &&
         lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION, (const unsigned char *)"close",
                                      5, &p, end)) ||
        lws_finalize_http_header(wsi, &p, end))
        return -1;
    s->resp_head = (size_t)(p - start);
    memcpy(p, body, len);
    s->resp_len = s->resp_head + len;
    s->resp_off = 0;
    return send_part(wsi, s);
}

static int respond_json(struct lws *wsi, session *s, int status, json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    int rc = respond(wsi, s, status, "application/json", text ? text : "{}",
                     text ? strlen(text) : 2);
    free(text);
    json_decref(j);
    return rc;
}

static int respond_error(struct lws *wsi, session *s, int status, const char *msg)
{
    return respond_json(wsi, s, status, api_error(req_error_code(status), msg));
}

static int dispatch(server *srv, struct lws *wsi, session *s)
{
    int status = 200;
    char *body = NULL;
    const char *ctype = "application/json";
    int rc;

    if (s->responded || !s->path)
        return 0; /* one answer per request */
    if (s->body_too_large)
        return respond_error(wsi, s, 413, "request body over 1 MiB");
    api_dispatch(srv, s, &status, &body, &ctype);
    rc = respond(wsi, s, status, ctype, body ? body : "{}", body ? strlen(body) : 2);
    free(body);
    return rc;
}

static int serve_static(struct lws *wsi, session *s)
{
    size_t len;
    const char *ctype;
    const unsigned char *data = web_asset(s->path, &len, &ctype);

    if (!data)
        return respond_error(wsi, s, 404, "no such page");
    return respond(wsi, s, 200, ctype, (const char *)data, len);
}

static int on_request(server *srv, struct lws *wsi, session *s, const char *in)
{
    const char *why = NULL;
    char *uri;
    int ulen, status;
    bool api;

    session_clear(s);
    conn_request(srv, wsi);
    srv->http_requests++;
    s->method = lws_http_get_uri_and_method(wsi, &uri, &ulen);
    /* Refusals close the connection: a refused client gets no keep-alive, and
     * a body it may still be sending is not waited for. */
    s->close_after = true;
    if (!(s->path = strdup(in ? in : "/")) || strlen(s->path) > 4096)
        return respond_error(wsi, s, 414, "path too long");
    if (http_read_query(wsi, &s->query) < 0)
        return -1;
    api = req_is_api(s->path);
    status = http_gate(srv, wsi, req_needs_token(s->path), &why);
    if (status)
        return respond_error(wsi, s, status, why);
    if (s->method == LWSHUMETH_POST) {
        /* With a Content-Length (even 0) or a chunked body, lws calls
         * HTTP_BODY_COMPLETION when the body is in: answer there. */
        if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0) {
            char cl[32];
            unsigned long long n = 0;
            if (lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH) < 0 ||
                (n = strtoull(cl, NULL, 10)) > MAX_BODY_DRAIN)
                return respond_error(wsi, s, 413, "request body over 1 MiB");
            /* A body a little too large is read and dropped, and the 413 sent
             * once it is in: closing on a client still sending makes the
             * kernel reset the connection, and the client may never read the
             * answer (seen: 71 of 200 such requests from Node's fetch). */
            s->body_too_large = n > MAX_BODY;
            s->close_after = s->body_too_large;
            return 0;
        }
        s->close_after = false;
        if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0)
            return 0;
        return dispatch(srv, wsi, s);
    }
    s->close_after = false;
    if (!api) {
        if (s->method != LWSHUMETH_GET)
            return respond_error(wsi, s, 405, "only GET here");
        return serve_static(wsi, s);
    }
    return dispatch(srv, wsi, s);
}

static int on_body(session *s, const void *in, size_t len)
{
    if (len == 0)
        return 0;
    if (s->body_too_large || s->body_len + len > MAX_BODY) {
        s->body_too_large = true;
        return 0;
    }
    char *p = realloc(s->body, s->body_len + len + 1);
    if (!p)
        return -1;
    s->body = p;
    memcpy(s->body + s->body_len, in, len);
    s->body_len += len;
    s->body[s->body_len] = '\0';
    return 0;
}

static int on_writeable(server *srv, struct lws *wsi, session *s)
{
    bool close_after = s->close_after;

    if (!s->resp)
        return 0;
    if (s->resp_off < s->resp_len)
        return send_part(wsi, s);
    session_clear(s);
    if (close_after || lws_http_transaction_completed(wsi))
        return -1;
    conn_waiting(srv, wsi); /* kept alive: waits for the next request */
    return 0;
}

int http_callback(server *srv, struct lws *wsi, enum lws_callback_reasons reason, session *s,
                  void *in, size_t len)
{
    switch (reason) {
    case LWS_CALLBACK_HTTP:
    case LWS_CALLBACK_HTTP_BODY:
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (!s)
            return -1; /* no session to answer with: close */
        break;
    default:
        break;
    }
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return on_request(srv, wsi, s, in) ? -1 : 0;
    case LWS_CALLBACK_HTTP_BODY:
        return on_body(s, in, len);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return dispatch(srv, wsi, s) ? -1 : 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return on_writeable(srv, wsi, s);
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        /* No session when lws refused the request before binding it to our
         * protocol (a NUL byte or a bad %-escape in the URI, too many
         * fragments): nothing to clear. */
        if (s)
            session_clear(s);
        return 0;
    default:
        return 0;
    }
}
