/*
 * daemon/ws.c: the WebSocket at /api/events (docs/api.md).
 *
 * The handshake is answered here (through libmicrohttpd's upgrade), and the
 * socket it hands over is served by the loop with wslay framing the
 * messages: fragments, ping and pong, the close handshake, and the
 * protocol's refusals (unmasked or reserved frames: 1002; a message over
 * MAX_WS_MESSAGE: 1009; text that is not UTF-8: 1007).
 *
 * Every client has its own queue. State changes and per-file results are
 * queued in order; progress is coalesced: a new progress message for a job
 * replaces the one still waiting, so a slow client gets the latest figures,
 * not a backlog. A client whose queue passes WS_QUEUE_MAX_BYTES is dropped.
 * A message is serialized once and its bytes shared by every client it is
 * queued for; it is handed to wslay (which copies and frames it) only as the
 * socket takes what came before, so the queue, not wslay, holds the backlog.
 * Nothing here blocks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "daemon.h"
#include "json_text.h"
#include "util/clock.h"
#include "ferry/common.h"

static ws_payload *payload_new(const char *text, size_t len)
{
    ws_payload *p = malloc(sizeof(*p) + len);

    if (p) {
        p->refs = 0;
        p->bulk = false;
        p->len = len;
        memcpy(p->data, text, len);
    }
    return p;
}

static void payload_unref(ws_payload *p)
{
    if (p && --p->refs == 0)
        free(p);
}

/* Asks the loop for the client's writeable (the socket's EPOLLOUT). */
static void want_write(ws_client *c)
{
    if (!c->closing)
        loop_set(c->srv, &c->watch, c->watch.events | EPOLLOUT);
}

static void msg_free(ws_msg *m)
{
    if (m) {
        payload_unref(m->p);
        free(m);
    }
}

/*
 * Queues p for one client (progress replaces a waiting one of the same job,
 * found in the client's short list of queued progress messages: a client
 * behind by thousands of file results is not walked at every tick).
 */
static void enqueue(ws_client *c, ws_payload *p, const char *job_id, bool progress)
{
    bool idle = !c->head;

    if (c->dropped)
        return;
    if (progress) {
        for (ws_msg *m = c->progress; m; m = m->pnext) {
            if (!strcmp(m->job_id, job_id)) {
                c->queued_bytes += p->len;
                c->queued_bytes -= m->p->len;
                p->refs++;
                payload_unref(m->p);
                m->p = p;
                return;
            }
        }
    }
    ws_msg *m = calloc(1, sizeof(*m));
    if (!m)
        return;
    m->p = p;
    p->refs++;
    m->progress = progress;
    c->urgent += !p->bulk;
    if (job_id)
        snprintf(m->job_id, sizeof(m->job_id), "%s", job_id);
    if (progress) {
        m->pnext = c->progress;
        c->progress = m;
    }
    if (c->tail)
        c->tail->next = m;
    else
        c->head = m;
    c->tail = m;
    c->queued_bytes += p->len;
    if (c->queued_bytes > WS_QUEUE_MAX_BYTES) {
        c->dropped = true; /* too far behind: closed at its next write (client_write) */
        idle = true;
    }
    /* A queue that was not empty has its writeable asked for already, or
     * waits for the next drain of file results; anything else goes now. */
    if (idle || (c->bulk_waits && !p->bulk)) {
        c->bulk_waits = false;
        want_write(c);
    }
}

/* Takes the first queued message off the client's queue. */
static ws_msg *dequeue(ws_client *c)
{
    ws_msg *m = c->head;

    c->head = m->next;
    if (!c->head)
        c->tail = NULL;
    c->queued_bytes -= m->p->len;
    c->urgent -= !m->p->bulk;
    if (m->progress) {
        for (ws_msg **pp = &c->progress; *pp; pp = &(*pp)->pnext) {
            if (*pp == m) {
                *pp = m->pnext;
                break;
            }
        }
    }
    return m;
}

/* Queues text for one client. */
static void send_text(ws_client *c, const char *text)
{
    ws_payload *p = payload_new(text, strlen(text));

    if (!p)
        return;
    p->refs++; /* held across enqueue, which may not take it */
    enqueue(c, p, NULL, false);
    payload_unref(p);
}

/* Queues p for every client, or with `takers` other than REQ_FILES_NONE
 * (file results) for the clients that take file results that way. */
static void broadcast_payload(server *srv, ws_payload *p, const char *job_id, bool progress,
                              req_files_mode takers)
{
    p->refs++; /* held across the loop: freed here if no client takes it */
    for (ws_client *c = srv->clients; c; c = c->next)
        if (takers == REQ_FILES_NONE || c->files == takers)
            enqueue(c, p, job_id, progress);
    payload_unref(p);
}

static void broadcast(server *srv, const char *text, const char *job_id, bool progress,
                      req_files_mode takers)
{
    ws_payload *p;

    if (srv->clients && (p = payload_new(text, strlen(text))))
        broadcast_payload(srv, p, job_id, progress, takers);
}

/*
 * A job's message. The job object is read live, but the WebSocket is an
 * ordered stream and the live state runs ahead of it: a job's last file
 * results may still wait in the bus when its state is already done. So a
 * job never shows done or failed before the stream has reached that state:
 * `as` is the state of the event being sent (the STATE or END event drained,
 * or cancelled for a cancel), or AS_PROGRESS for a progress push, which is
 * skipped then (the end is sent in its turn). A client that stops reading at
 * "done" has had every file result.
 */
#define AS_PROGRESS (-1)
static char *job_message(server *srv, const char *id, int as)
{
    json_t *job = api_job_json(srv, id);
    const char *live;
    char *text;

    if (!job)
        return NULL;
    live = json_string_value(json_object_get(job, "state"));
    if (live && (!strcmp(live, ferry_job_state_name(FERRY_JOB_DONE)) ||
                 !strcmp(live, ferry_job_state_name(FERRY_JOB_FAILED)))) {
        if (as == AS_PROGRESS) {
            json_decref(job);
            return NULL;
        }
        if (as != FERRY_JOB_DONE && as != FERRY_JOB_FAILED)
            json_object_set_new(job, "state", json_string(ferry_job_state_name(as)));
    }
    json_t *o = json_pack("{s:s,s:o}", "type", "job", "job", job);
    text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

static void broadcast_job_as(server *srv, const char *id, int as)
{
    char *text = job_message(srv, id, as);

    if (text)
        broadcast(srv, text, id, as == AS_PROGRESS, REQ_FILES_NONE);
    free(text);
}

void ws_broadcast_cancelled(server *srv, const char *id)
{
    broadcast_job_as(srv, id, FERRY_JOB_CANCELLED);
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
    if (running && (*p = calloc(1, sizeof(live_job)))) {
        snprintf((*p)->id, sizeof((*p)->id), "%s", id);
        ws_arm_files_flush(srv); /* results are on their way */
        if (!srv->tick.armed)
            loop_timer_arm(&srv->tick, TICK_MS);
    }
}

static json_t *str_or_null(const char *s)
{
    json_t *j = s ? json_string(s) : NULL;
    return j ? j : json_null();
}

/* Sets o's `key` to the string s, or to null when s is absent or not UTF-8
 * (as json_string() refuses it), reusing the string value already there. */
static void set_str(json_t *o, const char *key, const char *s)
{
    json_t *v = json_object_get(o, key);

    if (s && json_is_string(v) && json_string_set(v, s) == 0)
        return;
    json_object_set_new(o, key, str_or_null(s));
}

/* One file result, what a "file" message and an entry of a "files" one
 * hold: set in o, in place where o has the fields already. */
static void set_file_fields(json_t *o, const ferry_event *ev)
{
    json_t *bytes = json_object_get(o, "bytes");

    set_str(o, "path", ev->path);
    set_str(o, "dest", ev->dest);
    set_str(o, "state", ferry_file_result_name(ev->result));
    set_str(o, "error", ev->message);
    if (!json_is_integer(bytes) || json_integer_set(bytes, (json_int_t)ev->bytes) != 0)
        json_object_set_new(o, "bytes", json_integer((json_int_t)ev->bytes));
}

static json_t *file_entry(const ferry_event *ev)
{
    json_t *o = json_object();

    if (o)
        set_file_fields(o, ev);
    return o;
}

/*
 * A file result for the clients that take them one by one: its message is
 * written by hand (json_text.h): through jansson, setting each result's
 * strings into a message object and printing it, this was about 2 us a
 * result, the largest share of the service thread's time beside send()
 * with 100 watchers.
 */
static void file_message(server *srv, const ferry_event *ev)
{
    json_file_result r = {.job_id = ev->job_id,
                          .path = ev->path,
                          .dest = ev->dest,
                          .state = ferry_file_result_name(ev->result),
                          .error = ev->message,
                          .bytes = ev->bytes};
    ws_payload *p = malloc(sizeof(*p) + json_file_message_max(&r));

    if (!p)
        return;
    p->refs = 0;
    p->bulk = true;
    p->len = json_file_message((char *)p->data, &r);
    broadcast_payload(srv, p, NULL, false, REQ_FILES_EACH);
}

/*
 * File results for the clients that take them in batches: consecutive results
 * of one job, up to a pass of the drain, in one "files" message (one frame to
 * parse instead of hundreds). Sent before anything else of the job, so the
 * order is the same as one by one.
 */
typedef struct {
    json_t *files;
    char job_id[16];
} file_batch;

static void batch_flush(server *srv, file_batch *b)
{
    char *text;

    if (!b->files)
        return;
    json_t *m = json_pack("{s:s,s:s,s:o}", "type", "files", "job_id", b->job_id, "files", b->files);
    text = m ? json_dumps(m, JSON_COMPACT) : NULL;
    json_decref(m);
    ws_payload *p = srv->clients && text ? payload_new(text, strlen(text)) : NULL;
    if (p) {
        p->bulk = true;
        broadcast_payload(srv, p, b->job_id, false, REQ_FILES_BATCH);
    }
    free(text);
    b->files = NULL;
}

static void batch_add(server *srv, file_batch *b, const ferry_event *ev)
{
    if (b->files && strcmp(b->job_id, ev->job_id))
        batch_flush(srv, b);
    if (!b->files) {
        if (!(b->files = json_array()))
            return;
        snprintf(b->job_id, sizeof(b->job_id), "%s", ev->job_id);
    }
    json_array_append_new(b->files, file_entry(ev));
}

/* Whether a client still served takes file results as `mode`
 * (REQ_FILES_NONE: in any way). */
static bool takers(server *srv, req_files_mode mode)
{
    for (ws_client *c = srv->clients; c; c = c->next)
        if (!c->dropped && c->files != REQ_FILES_NONE &&
            (mode == REQ_FILES_NONE || c->files == mode))
            return true;
    return false;
}

/*
 * Turns the bus's events into messages, WS_DRAIN_MAX at most per pass of the
 * service loop: a job's burst of file results (thousands, each queued for
 * every client) would otherwise keep requests waiting behind it. What is left
 * waits for the next pass, which a self-wake asks for. File results nobody
 * takes (the web UI opts out) are not even serialized.
 */
void ws_drain_events(server *srv)
{
    ferry_event *ev;
    bool each = takers(srv, REQ_FILES_EACH), batch = takers(srv, REQ_FILES_BATCH);
    file_batch b = {0};
    unsigned n = 0;

    while (n < WS_DRAIN_MAX && ferry_sub_next(srv->sub, &ev, 0) == FERRY_OK) {
        n++;
        if (ev->type == FERRY_EVENT_FILE) {
            if (each)
                file_message(srv, ev);
            if (batch)
                batch_add(srv, &b, ev);
        } else {
            /* State changes and the end (final counters, cancel latency),
             * after the results before them. */
            batch_flush(srv, &b);
            if (ev->type == FERRY_EVENT_STATE)
                track(srv, ev->job_id, ev->state == FERRY_JOB_RUNNING);
            broadcast_job_as(srv, ev->job_id, ev->state);
        }
        ferry_event_free(ev);
    }
    batch_flush(srv, &b);
    if (n == WS_DRAIN_MAX)
        srv->drain_again = true; /* more may wait: after the other sockets' turn */
}

/*
 * File results never wake the service loop (the bus holds them lazily): a
 * job of 20,000 files woke it 20,000 times, each a turn of the loop,
 * and each pass sent its one or two results to every client that takes them,
 * one send() each (100 watchers: 1,200,000 sends of a few hundred bytes for
 * two jobs). While a client takes them, a pass every FILES_FLUSH_MS sends
 * what came meanwhile, up to WS_WRITE_BATCH bytes a send, as long as a job
 * runs; otherwise they wait for the tick's drain. A state change still wakes
 * the loop at once, and is drained after the results before it.
 */
static void files_flush(server *srv)
{
    ws_drain_events(srv);
    for (ws_client *c = srv->clients; c; c = c->next) {
        if (c->bulk_waits) {
            c->bulk_waits = false;
            want_write(c);
        }
    }
    ws_arm_files_flush(srv);
}

void ws_arm_files_flush(server *srv)
{
    if (!srv->files_flush.armed && srv->live && takers(srv, REQ_FILES_NONE))
        loop_timer_arm(&srv->files_flush, FILES_FLUSH_MS);
}

static void ws_tick(server *srv)
{
    uint64_t now = ferry__now_ns();

    ws_drain_events(srv); /* results nobody takes (ws_arm_files_flush) */

    for (live_job *j = srv->live; j; j = j->next) {
        ferry_progress p;
        if (ferry_manager_progress(srv->m, j->id, &p) != FERRY_OK)
            continue;
        /* While bytes move: every tick; otherwise at least twice a second. */
        if (p.bytes_done != j->last_bytes || now - j->last_push_ns >= 500 * 1000000ull) {
            j->last_bytes = p.bytes_done;
            j->last_push_ns = now;
            if (srv->clients)
                broadcast_job_as(srv, j->id, AS_PROGRESS);
        }
    }
    /* Only while a job runs, so that an idle daemon sleeps: track() arms it
     * again. Meanwhile state changes wake the loop, and file results (a
     * cancelled job's last ones) wait in the bus for the event that ends
     * their job, which drains them. */
    if (srv->live)
        loop_timer_arm(&srv->tick, TICK_MS);
}

int ws_start(server *srv)
{
    if (loop_timer_open(srv, &srv->tick, ws_tick) < 0 ||
        loop_timer_open(srv, &srv->files_flush, files_flush) < 0)
        return -1;
    return 0; /* both armed when a job runs (track()) */
}

static void send_hello(server *srv, ws_client *c)
{
    ferry_job_info *v;
    size_t n;
    json_t *arr = json_array();

    if (ferry_manager_list(srv->m, NULL, NULL, &v, &n) == FERRY_OK) {
        for (size_t i = 0; i < n && i < 1000; i++) /* the listing, not a query a job */
            json_array_append_new(arr, api_job_json_of(srv, &v[i]));
        ferry_job_info_free(v, n);
    }
    json_t *o = json_pack("{s:s,s:o}", "type", "hello", "jobs", arr);
    char *text = json_dumps(o, JSON_COMPACT);
    if (text)
        send_text(c, text);
    free(text);
    json_decref(o);
}

static void reply_error(ws_client *c, const char *msg)
{
    json_t *o = json_pack("{s:s,s:s}", "type", "error", "message", msg);
    char *text = json_dumps(o, JSON_COMPACT);

    if (text)
        send_text(c, text);
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
        if (m.has_files) {
            c->files = m.files;
            ws_arm_files_flush(srv);
        }
    } else if (m.id) {
        int rc = ferry_manager_cancel(srv->m, m.id);
        if (rc == FERRY_ENOTFOUND)
            reply_error(c, "no such job");
        else if (rc == FERRY_EENDED) /* its end is on its way, in order */
            reply_error(c, ferry_error_last());
        else /* the resulting state goes to everyone at once, ahead of any worker */
            ws_broadcast_cancelled(srv, m.id);
    } else {
        char **ids;
        size_t n;
        ferry_manager_cancel_tag(srv->m, m.tag, &ids, &n);
        for (size_t i = 0; i < n; i++)
            ws_broadcast_cancelled(srv, ids[i]);
        ferry_manager_ids_free(ids, n);
    }
    req_ws_release(&m);
}

/* --- the connection ----------------------------------------------------------- */

/* Ends the client: out of the loop and the broadcasts now, its socket
 * closed by libmicrohttpd, freed at the end of the turn (ws_reap), as an
 * event of this turn may still name it. */
static void client_close(ws_client *c)
{
    server *srv = c->srv;

    if (c->closing)
        return;
    c->closing = true;
    loop_del(srv, &c->watch);
    for (ws_client **p = &srv->clients; *p; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            break;
        }
    }
    srv->nclients--;
    c->next = srv->closed;
    srv->closed = c;
    MHD_upgrade_action(c->urh, MHD_UPGRADE_ACTION_CLOSE);
    srv->httpd_again = true; /* libmicrohttpd closes it in its next run: now */
}

void ws_reap(server *srv)
{
    for (ws_client *c = srv->closed, *next; c; c = next) {
        next = c->next;
        for (ws_msg *m = c->head, *mn; m; m = mn) {
            mn = m->next;
            msg_free(m);
        }
        wslay_event_context_free(c->ws);
        free(c->extra);
        free(c);
    }
    srv->closed = NULL;
}

void ws_close_all(server *srv)
{
    while (srv->clients)
        client_close(srv->clients);
    ws_reap(srv);
}

static ssize_t on_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                       void *user)
{
    ws_client *c = user;
    ssize_t n;

    (void)flags;
    if (c->extra_off < c->extra_len) { /* read with the upgrade request */
        n = (ssize_t)(c->extra_len - c->extra_off < len ? c->extra_len - c->extra_off : len);
        memcpy(buf, c->extra + c->extra_off, (size_t)n);
        c->extra_off += (size_t)n;
        return n;
    }
    n = recv(c->watch.fd, buf, len, MSG_DONTWAIT);
    if (n > 0)
        return n;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    else
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE); /* the peer is gone */
    return -1;
}

static ssize_t on_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *user)
{
    ws_client *c = user;
    ssize_t n = send(c->watch.fd, data, len,
                     MSG_DONTWAIT | MSG_NOSIGNAL | (flags & WSLAY_MSG_MORE ? MSG_MORE : 0));

    if (n >= 0) {
        c->srv->turn_bytes += (size_t)n;
        return n;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    else
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
}

static int on_genmask(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *user)
{
    (void)ctx, (void)buf, (void)len, (void)user;
    return 0; /* a server sends unmasked frames: never called */
}

/* UTF-8 as RFC 3629 allows it: no overlong forms, no surrogates, nothing
 * past U+10FFFF. */
static bool utf8_valid(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        unsigned char b = s[i];
        size_t n;
        uint32_t cp;
        if (b < 0x80) {
            i++;
            continue;
        }
        if (b >= 0xc2 && b <= 0xdf)
            n = 1, cp = b & 0x1f;
        else if (b >= 0xe0 && b <= 0xef)
            n = 2, cp = b & 0x0f;
        else if (b >= 0xf0 && b <= 0xf4)
            n = 3, cp = b & 0x07;
        else
            return false;
        if (len - i <= n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return false;
        i += n + 1;
    }
    return true;
}

static void on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                   void *user)
{
    ws_client *c = user;

    if (arg->opcode == WSLAY_TEXT_FRAME) {
        if (!utf8_valid(arg->msg, arg->msg_length)) {
            wslay_event_queue_close(ctx, WSLAY_CODE_INVALID_FRAME_PAYLOAD_DATA, NULL, 0);
            return;
        }
        on_message(c->srv, c, (const char *)arg->msg, arg->msg_length);
    } else if (arg->opcode == WSLAY_BINARY_FRAME) {
        reply_error(c, "messages are JSON text");
    }
    /* Control frames: wslay answers a ping and a close itself. */
}

static const struct wslay_event_callbacks callbacks = {
    .recv_callback = on_recv,
    .send_callback = on_send,
    .genmask_callback = on_genmask,
    .on_msg_recv_callback = on_msg,
};

/*
 * Hands queued messages to wslay, WS_WRITE_BATCH bytes at a time, and sends
 * what the socket takes. A turn of the loop sends at most WS_TURN_BUDGET
 * bytes (a few tenths of a millisecond); the other clients wait for the next
 * turn, which comes at once: a request that arrives meanwhile is served in
 * that next turn instead of after a whole pass of 100 clients' frames.
 */
static int client_write(ws_client *c)
{
    server *srv = c->srv;

    /* Too far behind: a close frame (1008) if its socket takes it, then the
     * connection ends; a client that reads nothing would never answer it. */
    if (c->dropped) {
        wslay_event_queue_close(c->ws, WSLAY_CODE_POLICY_VIOLATION, (const uint8_t *)"too slow", 8);
        wslay_event_send(c->ws);
        return -1;
    }
    while (srv->turn_bytes < WS_TURN_BUDGET) {
        while (c->head && wslay_event_get_queued_msg_length(c->ws) < WS_WRITE_BATCH &&
               wslay_event_get_write_enabled(c->ws) && !wslay_event_get_close_sent(c->ws)) {
            ws_msg *m = dequeue(c);
            struct wslay_event_msg msg = {WSLAY_TEXT_FRAME, m->p->data, m->p->len};
            if (m->p->bulk)
                serve_lower(srv);
            int rc = wslay_event_queue_msg(c->ws, &msg);
            msg_free(m);
            if (rc == WSLAY_ERR_NO_MORE_MSG) { /* closing: the close frame goes alone */
                while (c->head)
                    msg_free(dequeue(c));
            } else if (rc != 0) {
                return -1;
            }
        }
        size_t before = srv->turn_bytes;
        if (wslay_event_send(c->ws) != 0)
            return -1;
        if (wslay_event_want_write(c->ws) || !c->head || srv->turn_bytes == before)
            break; /* the socket is full, or all is sent */
    }
    return 0;
}

/* Sets what the loop watches the socket for; closes the client when wslay
 * wants neither (the close handshake is done, or failed). */
static void client_update(ws_client *c)
{
    bool full, rd = wslay_event_want_read(c->ws), wr = wslay_event_want_write(c->ws);
    uint32_t ev = rd ? EPOLLIN : 0;

    if (!rd && !wr) {
        client_close(c);
        return;
    }
    full = wr; /* wslay still holds bytes: the socket took no more */
    /*
     * While the drain of file results runs, a client whose socket is full
     * with only file results left is written again at the next drain, with
     * the other clients and what came meanwhile, not whenever its socket
     * takes a few more kilobytes (a turn of the loop each). Anything else
     * (a job's state, progress, a pong) goes as soon as the socket takes it.
     */
    if (full && !c->urgent && c->head && c->srv->files_flush.armed)
        c->bulk_waits = true;
    else if (wr || (c->head && wslay_event_get_write_enabled(c->ws)))
        ev |= EPOLLOUT;
    loop_set(c->srv, &c->watch, ev);
}

static void client_ready(server *srv, loop_watch *w, uint32_t events)
{
    ws_client *c = (ws_client *)w;

    (void)srv;
    if (c->closing)
        return;
    if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && wslay_event_recv(c->ws) != 0) {
        client_close(c);
        return;
    }
    if (wslay_event_want_write(c->ws) || (events & EPOLLOUT)) {
        c->bulk_waits = false;
        if (client_write(c) < 0) {
            client_close(c);
            return;
        }
    }
    client_update(c);
}

/* --- the handshake (RFC 6455 section 4.2) ----------------------------------- */

/* Whether the comma-separated header name holds token, in any case. */
static bool header_has_token(struct MHD_Connection *mc, const char *name, const char *token)
{
    const char *v = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, name);
    size_t n = strlen(token);

    for (const char *p = v; p && *p;) {
        p += strspn(p, " \t,");
        size_t len = strcspn(p, ",");
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len == n && !strncasecmp(p, token, n))
            return true;
        p += strcspn(p, ",");
    }
    return false;
}

bool ws_is_upgrade(struct MHD_Connection *mc)
{
    return header_has_token(mc, MHD_HTTP_HEADER_UPGRADE, "websocket");
}

static void upgraded(void *cls, struct MHD_Connection *mc, void *req_cls, const char *extra_in,
                     size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
    server *srv = cls;
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    ws_client *c = calloc(1, sizeof(*c));

    (void)req_cls;
    conn_upgraded(srv, info ? info->socket_context : NULL);
    if (!c || wslay_event_context_server_init(&c->ws, &callbacks, c) != 0 ||
        (extra_in_size && !(c->extra = malloc(extra_in_size)))) {
        if (c)
            wslay_event_context_free(c->ws);
        free(c);
        MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
        return;
    }
    wslay_event_config_set_max_recv_msg_length(c->ws, MAX_WS_MESSAGE);
    if (extra_in_size)
        memcpy(c->extra, extra_in, extra_in_size);
    c->extra_len = extra_in_size;
    c->srv = srv;
    c->urh = urh;
    c->watch.fd = sock;
    c->watch.ready = client_ready;
    /*
     * A client's backlog waits in its queue, where a message is one copy
     * shared by every client and counted against WS_QUEUE_MAX_BYTES, not in
     * the kernel, where it is a copy per client: autotuned, a socket that is
     * not read takes up to 4 MiB here (100 watchers: 400 MB). TCP keepalive
     * finds peers that vanished without a word.
     */
    setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &(int){WS_SNDBUF}, sizeof(int));
    setsockopt(sock, SOL_SOCKET, SO_KEEPALIVE, &(int){1}, sizeof(int));
    setsockopt(sock, IPPROTO_TCP, TCP_KEEPIDLE, &(int){30}, sizeof(int));
    setsockopt(sock, IPPROTO_TCP, TCP_KEEPINTVL, &(int){5}, sizeof(int));
    setsockopt(sock, IPPROTO_TCP, TCP_KEEPCNT, &(int){3}, sizeof(int));
    if (loop_add(srv, &c->watch, EPOLLIN) < 0) {
        wslay_event_context_free(c->ws);
        free(c->extra);
        free(c);
        MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
        return;
    }
    c->files = REQ_FILES_EACH; /* the default subscription */
    c->next = srv->clients;
    srv->clients = c;
    srv->nclients++;
    ws_arm_files_flush(srv);
    send_hello(srv, c);
    /* Frames that came with the request are read now: epoll will not say. */
    client_ready(srv, &c->watch, EPOLLOUT | (extra_in_size ? EPOLLIN : 0));
}

/* Sec-WebSocket-Accept: base64(SHA-1(key + the protocol's GUID)). */
static bool accept_key(const char *key, char out[29])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char md[EVP_MAX_MD_SIZE], raw[18];
    char in[24 + sizeof(guid)];
    unsigned mdlen;

    /* A key is 16 random bytes in base64: 24 characters ending "==". */
    if (strlen(key) != 24 || EVP_DecodeBlock(raw, (const unsigned char *)key, 24) != 18 ||
        key[22] != '=' || key[23] != '=')
        return false;
    memcpy(in, key, 24);
    memcpy(in + 24, guid, sizeof(guid) - 1);
    if (!EVP_Digest(in, 24 + sizeof(guid) - 1, md, &mdlen, EVP_sha1(), NULL))
        return false;
    EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen);
    return true;
}

enum MHD_Result ws_accept(server *srv, struct MHD_Connection *mc, session *s)
{
    const char *key = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Sec-WebSocket-Key");
    const char *version = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Sec-WebSocket-Version");
    struct MHD_Response *r;
    enum MHD_Result rc;
    char accept[29];

    if (strcmp(s->path, "/api/events"))
        return http_error(mc, 404, "no WebSocket here: /api/events", true);
    if (s->method != REQ_GET || s->head)
        return http_error(mc, 405, "a WebSocket opens with GET", true);
    if (!header_has_token(mc, MHD_HTTP_HEADER_CONNECTION, "upgrade") || !key ||
        !accept_key(key, accept))
        return http_error(mc, 400, "not a WebSocket handshake (RFC 6455)", true);
    if (!version || strcmp(version, "13")) {
        r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        if (!r)
            return MHD_NO;
        MHD_add_response_header(r, "Sec-WebSocket-Version", "13");
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
        rc = MHD_queue_response(mc, MHD_HTTP_UPGRADE_REQUIRED, r);
        MHD_destroy_response(r);
        return rc;
    }
    if (srv->nclients >= srv->max_clients)
        return http_error(mc, 503, "too many WebSocket clients", true);
    if (!(r = MHD_create_response_for_upgrade(upgraded, srv)))
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_UPGRADE, "websocket");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "Upgrade");
    MHD_add_response_header(r, "Sec-WebSocket-Accept", accept);
    rc = MHD_queue_response(mc, MHD_HTTP_SWITCHING_PROTOCOLS, r);
    MHD_destroy_response(r);
    return rc;
}
