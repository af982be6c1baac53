/*
 * daemon/daemon.h: `ferry serve`, the HTTP/JSON API and WebSocket events.
 *
 * Threads: one service thread runs the loop (loop.c, epoll) and owns every
 * socket and every field below that is not marked otherwise. HTTP/1.1 is
 * libmicrohttpd's, driven from that loop (its epoll descriptor is one of the
 * loop's); a WebSocket is a socket libmicrohttpd hands over after the
 * upgrade, framed by wslay (ws.c). Copy work runs on libferry's worker
 * threads, which publish events on the manager's bus; the bus's notify hook
 * writes the loop's eventfd (loop_wake), the only call made here off the
 * service thread. The daemon never touches files itself.
 */
#ifndef FERRY_DAEMON_H
#define FERRY_DAEMON_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <wslay/wslay.h>

#include "ferry/manager.h"
#include "ferry/roots.h"
#include "request.h"

#define MAX_BODY (1u << 20)        /* POST bodies: 413 above */
#define MAX_BODY_DRAIN (8u << 20)  /* a 413 body up to this is read before the answer */
#define MAX_WS_MESSAGE (64u << 10) /* client messages: closed (1009) above */
#define MAX_WS_CLIENTS 1024        /* refused above (fewer when open files are scarce) */
#define MAX_IDLE_CONNS 256         /* waiting for a request; the oldest goes beyond (conn.c) */
#define HEADERS_TIMEOUT_S 10       /* a waiting connection's next request's headers */
#define REQUEST_DEADLINE_S 30      /* a request's body and answer, from its headers */
#define IDLE_TIMEOUT_S 20          /* no byte either way for this long: closed (libmicrohttpd) */
#define WS_QUEUE_MAX_BYTES (8u << 20) /* a client this far behind is dropped */
#define TICK_MS 100                /* progress pushes: at most 10 per second per job */
#define WS_WRITE_BATCH (256u << 10) /* bytes of messages handed to wslay per write */
#define WS_SNDBUF (256 << 10)        /* a WebSocket client's socket send buffer */
#define WS_DRAIN_MAX 1024          /* bus events made into messages per service pass */
#define FILES_FLUSH_MS 25          /* file results go out in a pass this often at most */
#define WS_TURN_BUDGET (512u << 10) /* WebSocket bytes sent per turn of the service loop */

/* A message's JSON, made once and shared by every client it is queued for. */
typedef struct ws_payload {
    unsigned refs;
    bool bulk; /* file results: sent at normal priority (serve_lower) */
    size_t len;
    unsigned char data[];
} ws_payload;

/* A message waiting for one WebSocket client. */
typedef struct ws_msg {
    ws_payload *p;
    char job_id[16];    /* for progress messages: coalesced per job */
    bool progress;
    struct ws_msg *next;
    struct ws_msg *pnext; /* the client's other queued progress messages */
} ws_msg;

typedef struct server server;

/* loop.c: a descriptor the loop watches; ready() runs on the service thread
 * with the epoll events that came. */
typedef struct loop_watch {
    int fd;
    uint32_t events; /* EPOLLIN, EPOLLOUT: what is asked for now */
    void (*ready)(server *srv, struct loop_watch *w, uint32_t events);
} loop_watch;

typedef struct ws_client {
    loop_watch watch;     /* the socket, after the upgrade */
    struct MHD_UpgradeResponseHandle *urh; /* closes the socket (libmicrohttpd's) */
    wslay_event_context_ptr ws;
    unsigned char *extra; /* bytes read past the upgrade request: read first */
    size_t extra_len, extra_off;
    server *srv;
    req_files_mode files; /* how it takes per-file results */
    ws_msg *head, *tail;
    ws_msg *progress;    /* the queued progress messages, one per job at most */
    size_t queued_bytes;
    bool dropped;        /* too far behind: closed with 1008 */
    bool closing;        /* freed at the end of this turn (ws.c) */
    unsigned urgent;     /* queued messages other than file results */
    bool bulk_waits;     /* only file results queued: written at the next drain */
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

/* loop.c: a one-shot timer of the service loop, on a timerfd. */
typedef struct loop_timer {
    loop_watch watch;
    bool armed;
    void (*fire)(server *srv);
} loop_timer;

struct server {
    struct MHD_Daemon *httpd;
    loop_watch httpd_watch;  /* libmicrohttpd's epoll descriptor */
    int epfd;                /* the loop's */
    loop_watch wake;         /* an eventfd: the bus's wake-ups, a stop */
    ferry_manager *m;
    ferry_roots *roots;
    ferry_sub *sub;
    char token[65];
    char listen_addr[64];
    int port;
    char **allow_hosts;
    size_t nallow;
    ws_client *clients;
    ws_client *closed;    /* closed this turn: freed at its end (ws_reap) */
    unsigned nclients;
    unsigned max_clients; /* WebSocket clients: MAX_WS_CLIENTS, or what open files allow */
    conn *conns;          /* every HTTP connection, oldest first (conn.c) */
    conn *conns_tail;
    unsigned nidle, max_idle;
    uint64_t conns_dropped; /* closed for a full idle list or a passed deadline */
    loop_timer deadlines; /* the next connection deadline (conn.c) */
    uint64_t deadline_next; /* when it falls due (monotonic ms) */
    size_t turn_bytes;   /* sent to WebSocket clients in this turn of the loop */
    live_job *live;
    loop_timer tick;       /* TICK_MS: progress */
    loop_timer files_flush; /* FILES_FLUSH_MS, while a client takes file results */
    atomic_bool stop;    /* set by the signal thread */
    bool drain_again;    /* events left in the bus: drain in the next turn */
    bool httpd_again;    /* libmicrohttpd has work (a closed upgrade): run it at once */
    bool httpd_ready;    /* its descriptor was ready this turn (loop.c) */
    bool on_exit_wait;
    bool realtime; /* the service thread runs at SCHED_FIFO (--realtime) */
    bool lowered;  /* ... but this turn at normal priority (serve_lower) */
    /* metrics, service thread */
    uint64_t http_requests;
};

/* Per request (libmicrohttpd's request context). */
typedef struct session {
    conn *conn;          /* the connection's budget */
    unsigned method;     /* REQ_GET, REQ_POST, or 0 for another */
    bool head;           /* HEAD: answered as GET, without the body (libmicrohttpd) */
    char *path;          /* the URI path, decoded */
    req_query query;     /* the decoded query parameters */
    char *body;
    size_t body_len;
    bool body_too_large;
    size_t body_dropped; /* bytes of a body too large, read and dropped */
    bool bad_path;       /* over PATH_MAX_LEN, or a %00 in it */
    bool started;        /* the first call (headers only) is done */
    bool answered;       /* refused before its body was in */
} session;

/* http.c: libmicrohttpd's callbacks (serve.c passes them) */
void *http_uri_log(void *cls, const char *uri, struct MHD_Connection *mc);
enum MHD_Result http_access(void *cls, struct MHD_Connection *mc, const char *url,
                            const char *method, const char *version, const char *upload,
                            size_t *upload_size, void **req_cls);
void http_completed(void *cls, struct MHD_Connection *mc, void **req_cls,
                    enum MHD_RequestTerminationCode code);
/* Checks Host, Origin and (unless public) the token, which a WebSocket may
 * also give as ?token= in query; fills why on refusal. 0 or the status. */
int http_gate(server *srv, struct MHD_Connection *mc, bool need_token, const req_query *query,
              const char **why);
/* Queues a JSON error answer; close: the connection ends after it. */
enum MHD_Result http_error(struct MHD_Connection *mc, int status, const char *msg, bool close);

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

/* conn.c, service thread: opens the deadline timer (0 or -1); libmicrohttpd's
 * connection notices (accepted, closed); a connection's request's headers
 * in, answered and kept alive, upgraded to a WebSocket. */
int conn_start(server *srv);
void conn_notify(void *cls, struct MHD_Connection *mc, void **socket_context,
                 enum MHD_ConnectionNotificationCode code);
void conn_request(server *srv, conn *c);
void conn_waiting(server *srv, conn *c);
void conn_upgraded(server *srv, conn *c);

/* ws.c */
/* Whether the request asks for a WebSocket (Upgrade: websocket). */
bool ws_is_upgrade(struct MHD_Connection *mc);
/* Answers the upgrade of a request past the gates: 101, or an error. */
enum MHD_Result ws_accept(server *srv, struct MHD_Connection *mc, session *s);
/* Frees the clients closed during this turn of the loop. */
void ws_reap(server *srv);
/* Closes every client (the daemon stops). */
void ws_close_all(server *srv);
/* Drains the bus into client queues and asks to write them. */
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

/* loop.c: the service loop (epoll) over libmicrohttpd's descriptor, the
 * WebSockets, the timers and a wake-up eventfd. open: 0, or -1 with the
 * cause printed; a turn waits for what is ready and serves it. */
int loop_open(server *srv);
void loop_close(server *srv);
void loop_turn(server *srv);
/* Watches w->fd for events (EPOLLIN, EPOLLOUT): 0, or -1 with the cause printed. */
int loop_add(server *srv, loop_watch *w, uint32_t events);
void loop_set(server *srv, loop_watch *w, uint32_t events);
void loop_del(server *srv, loop_watch *w);
/* Any thread: wakes the loop, which drains the bus (ws_drain_events). */
void loop_wake(server *srv);
/* Opens t, which calls fire on the service thread each time it falls due;
 * 0, or -1 with the cause printed. */
int loop_timer_open(server *srv, loop_timer *t, void (*fire)(server *srv));
/* Arms t to fall due once, ms from now (again: from now instead). */
void loop_timer_arm(loop_timer *t, unsigned ms);
void loop_timer_close(loop_timer *t);

/* web.c: the embedded UI */
const unsigned char *web_asset(const char *path, size_t *len, const char **ctype);

#endif
