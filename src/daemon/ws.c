/*
 * daemon/ws.c: the WebSocket at /api/events (docs/api.md).
 *
 * Every client has its own queue. State changes and per-file results are
 * queued in order; progress is coalesced: a new progress message for a job
 * replaces the one still waiting, so a slow client gets the latest figures,
 * not a backlog. A client whose queue passes WS_QUEUE_MAX_BYTES is dropped.
 * A message is serialized once and its bytes shared by every client it is
 * queued for. Nothing here blocks: writing happens in SERVER_WRITEABLE,
 * as lws asks, many queued messages framed into one write.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "daemon.h"
#include "json_text.h"
#include "ferry/common.h"

static ws_payload *payload_alloc(size_t cap)
{
    ws_payload *p = malloc(sizeof(*p) + cap);

    if (p) {
        p->refs = 0;
        p->framed = false;
        p->bulk = false;
        p->len = 0;
        p->cap = cap;
    }
    return p;
}

static ws_payload *payload_new(const char *text)
{
    size_t len = strlen(text);
    ws_payload *p = payload_alloc(len);

    if (p) {
        memcpy(p->data, text, len);
        p->len = len;
    }
    return p;
}

/* The header of an unmasked, final text frame (RFC 6455 5.2); its length. */
static size_t frame_header(unsigned char *h, size_t len)
{
    h[0] = 0x81;
    if (len < 126) {
        h[1] = (unsigned char)len;
        return 2;
    }
    if (len <= 0xffff) {
        h[1] = 126;
        h[2] = (unsigned char)(len >> 8);
        h[3] = (unsigned char)len;
        return 4;
    }
    h[1] = 127;
    for (int i = 0; i < 8; i++)
        h[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
    return 10;
}

static void payload_unref(ws_payload *p)
{
    if (p && --p->refs == 0)
        free(p);
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
        c->dropped = true; /* too far behind: closed at its next writeable */
        idle = true;
    }
    /* A queue that was not empty has its writeable asked for already, or
     * waits for the next drain of file results; anything else goes now. */
    if (idle || (c->bulk_waits && !p->bulk)) {
        c->bulk_waits = false;
        lws_callback_on_writable(c->wsi);
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
    ws_payload *p = payload_new(text);

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

    if (srv->clients && (p = payload_new(text)))
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
 * File results for the clients that take them one by one. Each result is a
 * message of its own, as the API says, but consecutive results are framed
 * once, into a run of up to WS_WRITE_BATCH bytes of whole frames, queued as
 * one entry for each such client and written as it lies. Queued and framed
 * per message and per client, 100 watchers of a 20,000-file job made
 * 2,000,000 queue entries, each framed and copied again at the write.
 */
static void run_flush(server *srv, ws_payload **run)
{
    ws_payload *p = *run;

    if (!p)
        return;
    *run = NULL;
    ws_payload *fit = realloc(p, sizeof(*p) + p->len); /* runs may wait long in queues */
    if (fit) {
        p = fit;
        p->cap = p->len;
    }
    p->bulk = true;
    broadcast_payload(srv, p, NULL, false, REQ_FILES_EACH);
}

/*
 * Appends one "file" message to the run, written by hand straight into it
 * (json_text.h): through jansson, setting each result's strings into a
 * message object and printing it, this was about 2 us a result, the largest
 * share of the service thread's time beside send() with 100 watchers.
 */
static void run_add(server *srv, ws_payload **run, const ferry_event *ev)
{
    json_file_result r = {.job_id = ev->job_id,
                          .path = ev->path,
                          .dest = ev->dest,
                          .state = ferry_file_result_name(ev->result),
                          .error = ev->message,
                          .bytes = ev->bytes};
    size_t max = json_file_message_max(&r) + 10;
    ws_payload *p = *run;

    if (!p || p->cap - p->len < max) {
        run_flush(srv, run);
        if (!(p = *run = payload_alloc(max > WS_WRITE_BATCH ? max : WS_WRITE_BATCH)))
            return;
        p->framed = true;
    }
    /* The text after room for the longest frame header, then moved up. */
    unsigned char *at = p->data + p->len, h[10];
    size_t n = json_file_message((char *)at + 10, &r);
    size_t hl = frame_header(h, n);
    memmove(at + hl, at + 10, n);
    memcpy(at, h, hl);
    p->len += hl + n;
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
    ws_payload *p = srv->clients && text ? payload_new(text) : NULL;
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
    ws_payload *run = NULL;
    unsigned n = 0;

    while (n < WS_DRAIN_MAX && ferry_sub_next(srv->sub, &ev, 0) == FERRY_OK) {
        n++;
        if (ev->type == FERRY_EVENT_FILE) {
            if (each)
                run_add(srv, &run, ev);
            if (batch)
                batch_add(srv, &b, ev);
        } else {
            /* State changes and the end (final counters, cancel latency),
             * after the results before them. */
            run_flush(srv, &run);
            batch_flush(srv, &b);
            if (ev->type == FERRY_EVENT_STATE)
                track(srv, ev->job_id, ev->state == FERRY_JOB_RUNNING);
            broadcast_job_as(srv, ev->job_id, ev->state);
        }
        ferry_event_free(ev);
    }
    run_flush(srv, &run);
    batch_flush(srv, &b);
    if (n == WS_DRAIN_MAX)
        lws_cancel_service(srv->ctx); /* more may wait: after the other sockets' turn */
}

/*
 * File results never wake the service loop (the bus holds them lazily): a
 * job of 20,000 files woke it 20,000 times, each a poll() over every socket,
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
            lws_callback_on_writable(c->wsi);
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
    uint64_t now = (uint64_t)lws_now_usecs() * 1000;

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

/* Room for n bytes of frames after LWS_PRE in the server's write buffer
 * (WS_WRITE_BATCH at least); 0, or -1 when out of memory. */
static int wbuf_reserve(server *srv, size_t n)
{
    size_t cap = n > WS_WRITE_BATCH ? n : WS_WRITE_BATCH;
    unsigned char *b;

    if (n <= srv->wcap)
        return 0;
    if (!(b = realloc(srv->wbuf, LWS_PRE + cap)))
        return -1;
    srv->wbuf = b;
    srv->wcap = cap;
    return 0;
}

/* The end of the frame that holds byte pos of a run of whole frames, walking
 * from the frame boundary at; pos itself when it is a boundary. */
static size_t frame_end(const unsigned char *d, size_t at, size_t pos)
{
    while (at < pos) {
        size_t hl = 2, n = d[at + 1] & 0x7f;
        if (n == 126) {
            hl = 4;
            n = (size_t)d[at + 2] << 8 | d[at + 3];
        } else if (n == 127) {
            hl = 10;
            n = 0;
            for (int i = 0; i < 8; i++)
                n = n << 8 | d[at + 2 + i];
        }
        at += hl + n;
    }
    return at;
}

/*
 * Writes what the socket takes of the client's first messages, runs of whole
 * frames shared by every client (file results), from where they lie: one
 * sendmsg() over up to WS_RUNS_IOV of them, the last the one that reaches
 * WS_WRITE_BATCH bytes (a run is 256 KiB at most).
 * What the socket leaves stays queued, as an offset into its run. Handed to
 * lws, the rest of a write was copied into a buffer of lws's own, which it
 * then sent as the socket drained: a turn of the loop (a poll() over every
 * socket) for each few kilobytes a slow watcher read. Only the rest of a
 * frame cut short goes through lws, which sends it before anything of its
 * own (a pong, a close frame), so the stream stays whole. 1 when the socket
 * is full, 0 when all of it went, -1 on an error.
 */
#define WS_RUNS_IOV 64
static int write_runs(server *srv, struct lws *wsi, ws_client *c)
{
    struct iovec iov[WS_RUNS_IOV];
    struct msghdr mh = {.msg_iov = iov};
    size_t total = 0, left;
    ssize_t n;

    for (ws_msg *m = c->head;
         m && m->p->framed && mh.msg_iovlen < WS_RUNS_IOV && total < WS_WRITE_BATCH; m = m->next) {
        iov[mh.msg_iovlen].iov_base = m->p->data + m->off;
        iov[mh.msg_iovlen].iov_len = m->p->len - m->off;
        total += iov[mh.msg_iovlen++].iov_len;
    }
    n = sendmsg(lws_get_socket_fd(wsi), &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        return -1;
    left = n > 0 ? (size_t)n : 0;
    srv->turn_bytes += left;
    while (left >= c->head->p->len - c->head->off) {
        left -= c->head->p->len - c->head->off;
        msg_free(dequeue(c));
        if (!left && (size_t)n == total)
            return 0;
    }
    ws_msg *m = c->head; /* the run the socket stopped in */
    size_t at = m->off + left, end = frame_end(m->p->data, m->off, at);
    if (end > at) {
        if (wbuf_reserve(srv, end - at) < 0)
            return -1;
        memcpy(srv->wbuf + LWS_PRE, m->p->data + at, end - at);
        if (lws_write(wsi, srv->wbuf + LWS_PRE, end - at, LWS_WRITE_HTTP) < (int)(end - at))
            return -1;
        srv->turn_bytes += end - at;
    }
    m->off = end;
    if (end == m->p->len)
        msg_free(dequeue(c));
    return 1;
}

/*
 * Writes the client's queued messages, up to WS_WRITE_BATCH bytes of them
 * (the caller asks for the next writeable when more wait). Runs of file
 * results, framed once for every client, go by write_runs. Other messages
 * (a job's state, progress) are framed here, many into one write, and
 * handed to lws as raw bytes (LWS_WRITE_HTTP goes out unframed on a
 * WebSocket in lws 4.1, and lws writes nothing before them); lws keeps what
 * the socket does not take of those and sends it before anything else.
 * Returns as write_runs does; this path never says full (lws keeps the rest).
 */
static int write_frames(server *srv, struct lws *wsi, ws_client *c)
{
    size_t off = 0;

    if (c->head && c->head->p->framed)
        return write_runs(srv, wsi, c);
    while (c->head && !c->head->p->framed) {
        ws_msg *m = c->head;
        size_t need = off + 10 + m->p->len;
        if (off > 0 && need > WS_WRITE_BATCH)
            break;
        if (wbuf_reserve(srv, need) < 0)
            return -1;
        unsigned char *out = srv->wbuf + LWS_PRE;
        off += frame_header(out + off, m->p->len);
        memcpy(out + off, m->p->data, m->p->len);
        off += m->p->len;
        msg_free(dequeue(c));
    }
    srv->turn_bytes += off;
    if (off && lws_write(wsi, srv->wbuf + LWS_PRE, off, LWS_WRITE_HTTP) < (int)off)
        return -1;
    return 0;
}

int ws_callback(server *srv, struct lws *wsi, enum lws_callback_reasons reason, session *s,
                void *in, size_t len)
{
    ws_client *c = s ? s->client : NULL;

    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
        const char *why = NULL;
        char uri[64];
        conn_request(srv, wsi);
        if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) < 0 || strcmp(uri, "/api/events"))
            return 1;
        if (http_gate(srv, wsi, true, &why))
            return 1; /* refused: lws answers the upgrade with an error */
        if (srv->nclients >= srv->max_clients)
            return 1;
        return 0;
    }
    case LWS_CALLBACK_ESTABLISHED:
        conn_upgraded(srv, wsi);
        /*
         * A client's backlog waits in its queue, where a message is one copy
         * shared by every client and counted against WS_QUEUE_MAX_BYTES, not
         * in the kernel, where it is a copy per client: autotuned, a socket
         * that is not read takes up to 4 MiB here (100 watchers: 400 MB).
         */
        setsockopt(lws_get_socket_fd(wsi), SOL_SOCKET, SO_SNDBUF, &(int){WS_SNDBUF}, sizeof(int));
        if (!(c = calloc(1, sizeof(*c))))
            return -1;
        c->wsi = wsi;
        c->files = REQ_FILES_EACH; /* the default subscription */
        c->next = srv->clients;
        srv->clients = c;
        srv->nclients++;
        ws_arm_files_flush(srv);
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
        /*
         * A turn of the loop sends at most WS_TURN_BUDGET bytes (a few tenths
         * of a millisecond); the other clients wait for the next turn, which
         * comes at once. A request that arrives meanwhile is served in that
         * next turn instead of after a whole pass of 100 clients' frames
         * (4 to 20 MB when file results go out: many milliseconds).
         */
        if (srv->turn_bytes >= WS_TURN_BUDGET) {
            lws_callback_on_writable(wsi);
            return 0;
        }
        if (lws_partial_buffered(wsi)) {
            lws_callback_on_writable(wsi); /* lws sends its own first */
            return 0;
        }
        if (c->head && c->head->p->bulk)
            serve_lower(srv);
        int full = write_frames(srv, wsi, c);
        if (full < 0)
            return -1;
        /*
         * While the drain of file results runs, a client whose socket is full
         * with only file results left is written again at the next drain,
         * with the other clients and what came meanwhile, not whenever its
         * socket takes a few more kilobytes (a turn of the loop each).
         * Anything else queued (a job's state, progress) goes as soon as the
         * socket takes it, with the results before it.
         */
        if (c->head && full && !c->urgent && srv->files_flush.armed)
            c->bulk_waits = true;
        else if (c->head)
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
