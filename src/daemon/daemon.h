/*
 * daemon/daemon.h: `ferry serve`, the HTTP/JSON API and WebSocket events.
 *
 * Threads: one libwebsockets service thread owns every socket and every
 * field below that is not marked otherwise. Copy work runs on libferry's
 * worker threads, which publish events on the manager's bus; the bus's
 * notify hook calls lws_cancel_service(), the only lws call made off the
 * service thread, and the service thread drains the events in
 * LWS_CALLBACK_EVENT_WAIT_CANCELLED. The daemon never touches files itself.
 */
#ifndef FERRY_DAEMON_H
#define FERRY_DAEMON_H

#include <jansson.h>
#include <libwebsockets.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "ferry/manager.h"
#include "ferry/roots.h"
#include "request.h"

#define MAX_BODY (1u << 20)        /* POST bodies: 413 above */
#define MAX_BODY_DRAIN (8u << 20)  /* a 413 body up to this is read before the answer */
#define MAX_WS_MESSAGE (64u << 10) /* client messages: closed above */
#define MAX_WS_CLIENTS 1024        /* refused above (fewer when open files are scarce) */
#define MAX_IDLE_CONNS 256         /* waiting for a request; the oldest goes beyond (conn.c) */
#define HEADERS_TIMEOUT_S 10       /* a request's headers, from their first byte */
#define KEEPALIVE_TIMEOUT_S 5      /* an answered connection waiting for the next request */
#define REQUEST_DEADLINE_S 30      /* a request's body and answer, from its headers */
#define WS_QUEUE_MAX_BYTES (8u << 20) /* a client this far behind is dropped */
#define TICK_MS 100                /* progress pushes: at most 10 per second per job */
#define WS_WRITE_BATCH (256u << 10) /* bytes of frames written per SERVER_WRITEABLE */
#define WS_SNDBUF (256 << 10)        /* a WebSocket client's socket send buffer */
#define WS_DRAIN_MAX 1024          /* bus events made into messages per service pass */
#define FILES_FLUSH_MS 25          /* file results go out in a pass this often at most */
#define WS_TURN_BUDGET (512u << 10) /* WebSocket bytes sent per turn of the service loop */

/*
 * A message's JSON, made once and shared by every client it is queued for;
 * or, `framed`, a run of whole frames (many file results: ws.c), written as
 * they lie. `pre`: headroom before the data, as lws_write() asks (it writes
 * nothing there for the raw writes made here, in lws 4.1).
 */
typedef struct ws_payload {
    unsigned refs;
    bool framed;
    bool bulk; /* file results: sent at normal priority (serve_lower) */
    size_t len;
    size_t cap; /* of data, while a run is being filled */
    unsigned char pre[LWS_PRE];
    unsigned char data[];
} ws_payload;

/* A message waiting for one WebSocket client. */
typedef struct ws_msg {
    ws_payload *p;
    size_t off;         /* bytes of a run of frames already written (ws.c) */
    char job_id[16];    /* for progress messages: coalesced per job */
    bool progress;
    struct ws_msg *next;
    struct ws_msg *pnext; /* the client's other queued progress messages */
} ws_msg;

typedef struct ws_client {
    struct lws *wsi;
    req_files_mode files; /* how it takes per-file results */
    ws_msg *head, *tail;
    ws_msg *progress;    /* the queued progress messages, one per job at most */
    size_t queued_bytes;
    bool dropped;        /* too far behind: closed at its next writeable */
    unsigned urgent;     /* queued messages other than file results */
    bool bulk_waits;     /* only file results queued: writeable asked at the next drain */
    char *rx;            /* a message being reassembled */
    size_t rx_len;
    struct ws_client *next;
} ws_client;

/* A running job whose progress is pushed; static fields fetched once. */
typedef struct live_job {
    char id[16];
    uint64_t last_bytes;
    uint64_t last_push_ns;
    struct live_job *next;
} live_job;

typedef struct conn conn; /* conn.c: a connection's budget */
typedef struct server server;

/* timer.c: a one-shot timer of the service loop, on a timerfd lws polls. */
typedef struct loop_timer {
    int fd;
    bool armed;
    void (*fire)(server *srv);
    struct loop_timer *next;
} loop_timer;

struct server {
    struct lws_context *ctx;
    struct lws_vhost *vhost;
    ferry_manager *m;
    ferry_roots *roots;
    ferry_sub *sub;
    char token[65];
    char listen_addr[64];
    int port;
    char **allow_hosts;
    size_t nallow;
    ws_client *clients;
    unsigned nclients;
    unsigned max_clients; /* WebSocket clients: MAX_WS_CLIENTS, or what open files allow */
    conn *idle_head, *idle_tail; /* connections waiting for a request, oldest first */
    unsigned nidle, max_idle;
    uint64_t conns_dropped; /* closed for a full idle list or a passed deadline */
    size_t turn_bytes;   /* sent to WebSocket clients in this turn of the loop */
    unsigned char *wbuf; /* LWS_PRE + wcap: frames being written to one client */
    size_t wcap;
    live_job *live;
    loop_timer *timers;    /* every loop_timer opened (timer.c) */
    loop_timer tick;       /* TICK_MS: progress */
    loop_timer files_flush; /* FILES_FLUSH_MS, while a client takes file results */
    atomic_bool stop;    /* set by the signal thread */
    bool on_exit_wait;
    bool realtime; /* the service thread runs at SCHED_FIFO (--realtime) */
    bool lowered;  /* ... but this turn at normal priority (serve_lower) */
    /* metrics, service thread */
    uint64_t http_requests;
};

/* Per connection, allocated by lws (per_session_data_size). */
typedef struct session {
    int method;          /* LWSHUMETH_* */
    char *path;          /* the URI path, decoded */
    req_query query;     /* the decoded query parameters */
    char *body;
    size_t body_len;
    bool body_too_large;
    bool responded;      /* the answer to this request is under way */
    bool close_after;    /* close once answered (refusals, answers before the body) */
    unsigned char *resp; /* LWS_PRE headroom, then the headers and the body */
    size_t resp_head;    /* the headers' length */
    size_t resp_len, resp_off; /* headers and body; how much is written */
    ws_client *client;   /* for WebSocket connections */
} session;

/* http.c */
int http_callback(server *srv, struct lws *wsi, enum lws_callback_reasons reason, session *s,
                  void *in, size_t len);
/* Checks Host, Origin and (unless public) the token; fills why on refusal.
 * Returns 0 or the HTTP status to answer. */
int http_gate(server *srv, struct lws *wsi, bool need_token, const char **why);
/* Adds the decoded query parameters of the request to q: 0, or -1 out of memory. */
int http_read_query(struct lws *wsi, req_query *q);

/* api.c: dispatches an API request; fills status and a new JSON body. */
void api_dispatch(server *srv, session *s, int *status, char **body, const char **ctype);
/* The job object of the API (docs/api.md), or NULL when unknown. */
json_t *api_job_json(server *srv, const char *id);
/* The same from a listing's row (live figures for a job of this process). */
json_t *api_job_json_of(server *srv, const ferry_job_info *in);
json_t *api_error(const char *code, const char *message);

/* fs_api.c: GET /api/fs[?path=DIR], the roots or a directory beneath them;
 * sets *status and returns a new JSON body (an error object when refused). */
json_t *api_fs(server *srv, const req_query *query, int *status);

/* conn.c, service thread: a connection accepted, its request's headers in,
 * answered and kept alive, upgraded to a WebSocket, destroyed. */
void conn_open(server *srv, struct lws *wsi);
void conn_request(server *srv, struct lws *wsi);
void conn_waiting(server *srv, struct lws *wsi);
void conn_upgraded(server *srv, struct lws *wsi);
void conn_close(server *srv, struct lws *wsi);

/* ws.c */
int ws_callback(server *srv, struct lws *wsi, enum lws_callback_reasons reason, session *s,
                void *in, size_t len);
/* Drains the bus into client queues and asks for writeable callbacks. */
void ws_drain_events(server *srv);
/* Opens the timers, unarmed: the TICK_MS tick (progress of running jobs),
 * the drain of file results; 0, or -1 with the cause printed. */
int ws_start(server *srv);
/* Starts the drain of file results (every FILES_FLUSH_MS) if a job runs and
 * a client takes them; call when a job starts, a client comes or subscribes. */
void ws_arm_files_flush(server *srv);

/* serve.c: --realtime: the rest of this turn of the loop at normal priority. */
void serve_lower(server *srv);
/* Tells every client at once that job id was cancelled. */
void ws_broadcast_cancelled(server *srv, const char *id);

/* timer.c: opens t, which calls fire on the service thread each time it
 * falls due; 0, or -1 with the cause printed. */
int loop_timer_open(server *srv, loop_timer *t, void (*fire)(server *srv));
/* Arms t to fall due once, ms from now (again: from now instead). */
void loop_timer_arm(loop_timer *t, unsigned ms);
/* LWS_CALLBACK_RAW_RX_FILE: fires the timer of wsi; false if none is its. */
bool loop_timer_ready(server *srv, struct lws *wsi);

/* web.c: the embedded UI */
const unsigned char *web_asset(const char *path, size_t *len, const char **ctype);

#endif
