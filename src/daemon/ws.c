/*
 * daemon/ws.c: the WebSocket at /api/events (docs/api.md).
 *
 * Every client has its own queue. State changes and per-file results are
 * queued in order; progress is coalesced: a new progress message for a job
 * replaces the one still waiting, so a slow client gets the latest figures,
 * not a backlog. A client whose queue passes WS_QUEUE_MAX_BYTES is dropped.
 * Nothing here blocks: writing happens in SERVER_WRITEABLE, one message per
 * callback, as lws asks.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "ferry/common.h"

static ws_msg *msg_new(const char *text, const char *job_id, bool progress)
{
    size_t len = strlen(text);
    ws_msg *m = calloc(1, sizeof(*m));

    if (!m || !(m->buf = malloc(LWS_PRE + len))) {
        free(m);
        return NULL;
    }
    memcpy(m->buf + LWS_PRE, text, len);
    m->len = len;
    m->progress = progress;
    if (job_id)
        snprintf(m->job_id, sizeof(m->job_id), "%s", job_id);
    return m;
}

static void msg_free(ws_msg *m)
{
    if (m) {
        free(m->buf);
        free(m);
    }
}

/* Queues text for one client (progress replaces a waiting one of the same job). */
static void enqueue(ws_client *c, const char *text, const char *job_id, bool progress)
{
    if (c->dropped)
        return;
    if (progress) {
        for (ws_msg *m = c->head; m; m = m->next) {
            if (m->progress && !strcmp(m->job_id, job_id)) {
                ws_msg *fresh = msg_new(text, job_id, true);
                if (!fresh)
                    return;
                c->queued_bytes += fresh->len;
                c->queued_bytes -= m->len;
                free(m->buf);
                m->buf = fresh->buf;
                m->len = fresh->len;
                free(fresh);
                return;
            }
        }
    }
    ws_msg *m = msg_new(text, job_id, progress);
    if (!m)
        return;
    if (c->tail)
        c->tail->next = m;
    else
        c->head = m;
    c->tail = m;
    c->queued_bytes += m->len;
    if (c->queued_bytes > WS_QUEUE_MAX_BYTES)
        c->dropped = true; /* too far behind: closed at its next writeable */
    lws_callback_on_writable(c->wsi);
}

static void broadcast(server *srv, const char *text, const char *job_id, bool progress, bool file)
{
    for (ws_client *c = srv->clients; c; c = c->next)
        if (!file || c->files)
            enqueue(c, text, job_id, progress);
}

static char *job_message(server *srv, const char *id)
{
    json_t *job = api_job_json(srv, id);
    char *text;

    if (!job)
        return NULL;
    json_t *o = json_pack("{s:s,s:o}", "type", "job", "job", job);
    text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

void ws_broadcast_job(server *srv, const char *id, bool progress)
{
    char *text = job_message(srv, id);

    if (text)
        broadcast(srv, text, id, progress, false);
    free(text);
}

static void track(server *srv, const char *id, bool running)
{
    live_job **p = &srv->live;

    for (; *p; p = &(*p)->next) {
        if (!strcmp((*p)->id, id)) {
            if (!running) {
                live_job *dead = *p;
                *p = dead->next;
                free(dead);
            }
            return;
        }
    }
    if (running && (*p = calloc(1, sizeof(live_job))))
        snprintf((*p)->id, sizeof((*p)->id), "%s", id);
}

static json_t *str_or_null(const char *s)
{
    json_t *j = s ? json_string(s) : NULL;
    return j ? j : json_null();
}

void ws_drain_events(server *srv)
{
    ferry_event *ev;

    while (ferry_sub_next(srv->sub, &ev, 0) == FERRY_OK) {
        if (ev->type == FERRY_EVENT_FILE) {
            json_t *o = json_pack("{s:s,s:s,s:o,s:o,s:s,s:o,s:I}", "type", "file", "job_id",
                                  ev->job_id, "path", str_or_null(ev->path), "dest",
                                  str_or_null(ev->dest), "state", ferry_file_result_name(ev->result),
                                  "error", str_or_null(ev->message), "bytes", (json_int_t)ev->bytes);
            char *text = json_dumps(o, JSON_COMPACT);
            if (text)
                broadcast(srv, text, ev->job_id, false, true);
            free(text);
            json_decref(o);
        } else {
            /* State changes and the end (final counters, cancel latency). */
            if (ev->type == FERRY_EVENT_STATE)
                track(srv, ev->job_id, ev->state == FERRY_JOB_RUNNING);
            ws_broadcast_job(srv, ev->job_id, false);
        }
        ferry_event_free(ev);
    }
}

void ws_tick(lws_sorted_usec_list_t *sul)
{
    server *srv = lws_container_of(sul, server, tick);
    uint64_t now = (uint64_t)lws_now_usecs() * 1000;

    for (live_job *j = srv->live; j; j = j->next) {
        ferry_progress p;
        if (ferry_manager_progress(srv->m, j->id, &p) != FERRY_OK)
            continue;
        /* While bytes move: every tick; otherwise at least twice a second. */
        if (p.bytes_done != j->last_bytes || now - j->last_push_ns >= 500 * 1000000ull) {
            j->last_bytes = p.bytes_done;
            j->last_push_ns = now;
            if (srv->clients)
                ws_broadcast_job(srv, j->id, true);
        }
    }
    lws_sul_schedule(srv->ctx, 0, &srv->tick, ws_tick, TICK_MS * LWS_US_PER_MS);
}

static void send_hello(server *srv, ws_client *c)
{
    ferry_job_info *v;
    size_t n;
    json_t *arr = json_array();

    if (ferry_manager_list(srv->m, NULL, NULL, &v, &n) == FERRY_OK) {
        for (size_t i = 0; i < n && i < 1000; i++) {
            json_t *job = api_job_json(srv, v[i].id);
            if (job)
                json_array_append_new(arr, job);
        }
        ferry_job_info_free(v, n);
    }
    json_t *o = json_pack("{s:s,s:o}", "type", "hello", "jobs", arr);
    char *text = json_dumps(o, JSON_COMPACT);
    if (text)
        enqueue(c, text, NULL, false);
    free(text);
    json_decref(o);
}

static void reply_error(ws_client *c, const char *msg)
{
    json_t *o = json_pack("{s:s,s:s}", "type", "error", "message", msg);
    char *text = json_dumps(o, JSON_COMPACT);

    if (text)
        enqueue(c, text, NULL, false);
    free(text);
    json_decref(o);
}

static void on_message(server *srv, ws_client *c, const char *text, size_t len)
{
    req_ws_msg m;

    req_ws_parse(text, len, &m);
    if (m.kind == WSREQ_BAD) {
        reply_error(c, m.error);
    } else if (m.kind == WSREQ_SUBSCRIBE) {
        if (m.has_files)
            c->files = m.files;
    } else if (m.id) {
        int rc = ferry_manager_cancel(srv->m, m.id);
        if (rc == FERRY_ENOTFOUND)
            reply_error(c, "no such job");
        /* The resulting state goes to everyone at once, ahead of any worker. */
        ws_broadcast_job(srv, m.id, false);
    } else {
        char **ids;
        size_t n;
        ferry_manager_cancel_tag(srv->m, m.tag, &ids, &n);
        for (size_t i = 0; i < n; i++)
            ws_broadcast_job(srv, ids[i], false);
        ferry_manager_ids_free(ids, n);
    }
    req_ws_release(&m);
}

static void client_free(server *srv, ws_client *c)
{
    for (ws_client **p = &srv->clients; *p; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            break;
        }
    }
    for (ws_msg *m = c->head, *next; m; m = next) {
        next = m->next;
        msg_free(m);
    }
    free(c->rx);
    free(c);
    srv->nclients--;
}

int ws_callback(server *srv, struct lws *wsi, enum lws_callback_reasons reason, session *s,
                void *in, size_t len)
{
    ws_client *c = s ? s->client : NULL;

    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
        const char *why = NULL;
        char uri[64];
        if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) < 0 || strcmp(uri, "/api/events"))
            return 1;
        if (http_gate(srv, wsi, true, &why))
            return 1; /* refused: lws answers the upgrade with an error */
        if (srv->nclients >= MAX_WS_CLIENTS)
            return 1;
        return 0;
    }
    case LWS_CALLBACK_ESTABLISHED:
        if (!(c = calloc(1, sizeof(*c))))
            return -1;
        c->wsi = wsi;
        c->files = true;
        c->next = srv->clients;
        srv->clients = c;
        srv->nclients++;
        s->client = c;
        send_hello(srv, c);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        if (!c)
            return -1;
        if (c->rx_len + len > MAX_WS_MESSAGE)
            return -1; /* oversized message: close */
        char *p = realloc(c->rx, c->rx_len + len + 1);
        if (!p)
            return -1;
        c->rx = p;
        memcpy(c->rx + c->rx_len, in, len);
        c->rx_len += len;
        if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
            on_message(srv, c, c->rx, c->rx_len);
            c->rx_len = 0;
        }
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE: {
        if (!c)
            return 0;
        if (c->dropped) {
            lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION,
                             (unsigned char *)"too slow", 8);
            return -1;
        }
        /* Several messages per callback while the socket takes them: one
         * poll round per message would cost more than the messages. */
        for (int k = 0; k < WS_WRITES_PER_CALLBACK && c->head; k++) {
            ws_msg *m = c->head;
            if (k > 0 && lws_send_pipe_choked(wsi))
                break;
            if (lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT) < (int)m->len)
                return -1;
            c->head = m->next;
            if (!c->head)
                c->tail = NULL;
            c->queued_bytes -= m->len;
            msg_free(m);
        }
        if (c->head)
            lws_callback_on_writable(wsi);
        return 0;
    }
    case LWS_CALLBACK_CLOSED:
        if (c)
            client_free(srv, c);
        if (s)
            s->client = NULL;
        return 0;
    default:
        return 0;
    }
}
