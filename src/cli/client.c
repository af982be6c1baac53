/*
 * cli/client.c: HTTP and WebSocket client of the daemon, on libwebsockets.
 * Every call runs its own short-lived lws context on the calling thread.
 */
#define _GNU_SOURCE
#include "client.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *state_file(const char *state_dir, const char *name)
{
    const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    char *p = NULL;

    if (state_dir)
        return asprintf(&p, "%s/%s", state_dir, name) < 0 ? NULL : p;
    if (xdg && *xdg == '/')
        return asprintf(&p, "%s/ferry/%s", xdg, name) < 0 ? NULL : p;
    return asprintf(&p, "%s/.local/state/ferry/%s", home ? home : "/tmp", name) < 0 ? NULL : p;
}

int cli_daemon_find(cli_daemon *d, const char *state_dir)
{
    char *dj = state_file(state_dir, "daemon.json"), *tk = state_file(state_dir, "token");
    const char *env = getenv("FERRY_TOKEN");
    json_t *o = dj ? json_load_file(dj, 0, NULL) : NULL;
    int rc = 1;

    if (!o || !json_is_integer(json_object_get(o, "port"))) {
        fprintf(stderr, "ferry: no daemon found ('%s' is missing): start one with 'ferry serve'\n",
                dj ? dj : "daemon.json");
        goto out;
    }
    d->port = (int)json_integer_value(json_object_get(o, "port"));
    if (env && *env) {
        snprintf(d->token, sizeof(d->token), "%s", env);
    } else {
        FILE *f = tk ? fopen(tk, "r") : NULL;
        if (!f || !fgets(d->token, sizeof(d->token), f)) {
            fprintf(stderr, "ferry: cannot read the daemon's token '%s' (or set FERRY_TOKEN)\n",
                    tk ? tk : "token");
            if (f)
                fclose(f);
            goto out;
        }
        fclose(f);
        d->token[strcspn(d->token, "\r\n")] = '\0';
    }
    rc = 0;
out:
    json_decref(o);
    free(dj);
    free(tk);
    return rc;
}

typedef struct {
    const cli_daemon *d;
    char *req_body;
    size_t req_len;
    int status;
    char *resp;
    size_t resp_len;
    bool done, failed;
    bool (*on_message)(json_t *, void *);
    void *arg;
    const char *ws_first; /* a WebSocket message sent once connected, or NULL */
    char err[256];
} call;

static int add_auth(struct lws *wsi, call *c, unsigned char **p, unsigned char *end)
{
    char auth[160];
    int n = snprintf(auth, sizeof(auth), "Bearer %s", c->d->token);
    return lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, (unsigned char *)auth,
                                        n, p, end);
}

static void append(call *c, const void *in, size_t len)
{
    char *p = realloc(c->resp, c->resp_len + len + 1);
    if (!p)
        return;
    c->resp = p;
    memcpy(c->resp + c->resp_len, in, len);
    c->resp_len += len;
    c->resp[c->resp_len] = '\0';
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    call *c = lws_get_opaque_user_data(wsi);

    (void)user;
    if (!c)
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
        unsigned char **p = (unsigned char **)in, *end = (*p) + len;
        if (add_auth(wsi, c, p, end))
            return -1;
        if (c->req_body) {
            char cl[32];
            int n = snprintf(cl, sizeof(cl), "%zu", c->req_len);
            if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
                                             (unsigned char *)"application/json", 16, p, end) ||
                lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH,
                                             (unsigned char *)cl, n, p, end))
                return -1;
            lws_client_http_body_pending(wsi, 1);
            lws_callback_on_writable(wsi);
        }
        return 0;
    }
    case LWS_CALLBACK_CLIENT_HTTP_WRITEABLE: {
        unsigned char *buf = malloc(LWS_PRE + c->req_len);
        if (!buf)
            return -1;
        memcpy(buf + LWS_PRE, c->req_body, c->req_len);
        int n = lws_write(wsi, buf + LWS_PRE, c->req_len, LWS_WRITE_HTTP_FINAL);
        free(buf);
        lws_client_http_body_pending(wsi, 0);
        return n < (int)c->req_len ? -1 : 0;
    }
    case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
        c->status = (int)lws_http_client_http_response(wsi);
        return 0;
    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP: {
        char buf[LWS_PRE + 4096], *px = buf + LWS_PRE;
        int n = (int)sizeof(buf) - LWS_PRE;
        return lws_http_client_read(wsi, &px, &n) < 0 ? -1 : 0;
    }
    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
        append(c, in, len);
        return 0;
    case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
    case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
    case LWS_CALLBACK_CLIENT_CLOSED:
        c->done = true;
        lws_cancel_service(lws_get_context(wsi));
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        snprintf(c->err, sizeof(c->err), "%s", in ? (const char *)in : "connection failed");
        c->failed = c->done = true;
        return 0;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (c->ws_first)
            lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE: {
        if (!c->ws_first)
            return 0;
        size_t n = strlen(c->ws_first);
        unsigned char buf[LWS_PRE + 128];
        if (n > sizeof(buf) - LWS_PRE)
            return -1;
        memcpy(buf + LWS_PRE, c->ws_first, n);
        c->ws_first = NULL;
        return lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT) < (int)n ? -1 : 0;
    }
    case LWS_CALLBACK_CLIENT_RECEIVE:
        append(c, in, len);
        if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
            json_t *msg = json_loadb(c->resp, c->resp_len, 0, NULL);
            c->resp_len = 0;
            bool more = msg && c->on_message(msg, c->arg);
            json_decref(msg);
            if (!more) {
                c->done = true;
                return -1;
            }
        }
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols protocols[] = {
    {"ferry-client", callback, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static int run(call *c, const char *method, const char *path)
{
    struct lws_context_creation_info info;
    struct lws_client_connect_info ci;
    struct lws_context *ctx;
    char host[64];

    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    lws_set_log_level(LLL_ERR, NULL);
    if (!(ctx = lws_create_context(&info))) {
        fprintf(stderr, "ferry: cannot start a client\n");
        return 1;
    }
    snprintf(host, sizeof(host), "127.0.0.1:%d", c->d->port);
    memset(&ci, 0, sizeof(ci));
    ci.context = ctx;
    ci.address = "127.0.0.1";
    ci.port = c->d->port;
    ci.path = path;
    ci.host = host;
    ci.origin = NULL;
    ci.method = method; /* NULL: a WebSocket */
    ci.protocol = method ? NULL : NULL;
    ci.local_protocol_name = "ferry-client";
    ci.opaque_user_data = c;
    if (!lws_client_connect_via_info(&ci)) {
        lws_context_destroy(ctx);
        fprintf(stderr, "ferry: cannot connect to the daemon on port %d\n", c->d->port);
        return 1;
    }
    while (!c->done)
        if (lws_service(ctx, 0) < 0)
            break;
    lws_context_destroy(ctx);
    if (c->failed) {
        fprintf(stderr, "ferry: daemon on port %d: %s\n", c->d->port, c->err);
        return 1;
    }
    return 0;
}

int cli_daemon_request(const cli_daemon *d, const char *method, const char *path,
                       json_t *body, int *status, json_t **out)
{
    call c = {.d = d};
    int rc;

    if (body && !(c.req_body = json_dumps(body, JSON_COMPACT)))
        return 1;
    c.req_len = c.req_body ? strlen(c.req_body) : 0;
    rc = run(&c, method, path);
    *status = c.status;
    *out = c.resp ? json_loads(c.resp, 0, NULL) : NULL;
    free(c.req_body);
    free(c.resp);
    return rc;
}

int cli_daemon_watch(const cli_daemon *d, bool (*on_message)(json_t *msg, void *arg), void *arg)
{
    /* Job events only: per-file results would cost the daemon and us for nothing. */
    call c = {.d = d, .on_message = on_message, .arg = arg,
              .ws_first = "{\"type\":\"subscribe\",\"files\":false}"};
    int rc = run(&c, NULL, "/api/events");

    free(c.resp);
    return rc;
}
