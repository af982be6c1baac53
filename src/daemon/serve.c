/*
 * daemon/serve.c: `ferry serve`: options, token, the listening socket,
 * libmicrohttpd and the service loop, and the shutdown on SIGTERM/SIGINT.
 *
 * The token is FERRY_TOKEN when set, else 32 random bytes in hex kept in
 * <state-dir>/token (mode 0600). <state-dir>/daemon.json tells clients where
 * the server listens (never the token).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netdb.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../cli/cli.h"
#include "../cli/runjob.h"
#include "daemon.h"
#include "ferry/common.h"

void cmd_serve_help(FILE *out)
{
    fprintf(out,
            "usage: ferry serve [--listen ADDR:PORT] [--root DIR]... [--state-dir DIR]\n"
            "                   [--max-running N] [--allow-host NAME]... [--on-exit cancel|wait]\n"
            "                   [--realtime]\n\n"
            "Runs the daemon: the web UI at /, the JSON API under /api/ (docs/api.md) and\n"
            "live events on the WebSocket /api/events.\n\n"
            "  --listen ADDR:PORT  default 127.0.0.1:8470; port 0 picks a free one\n"
            "  --root DIR          sources and destinations must lie beneath a root\n"
            "                      (repeatable; default: your home directory)\n"
            "  --state-dir DIR     journal, token and daemon.json (default\n"
            "                      $XDG_STATE_HOME/ferry or ~/.local/state/ferry)\n"
            "  --max-running N     jobs copying at once (default 4); others wait, queued\n"
            "  --allow-host NAME   accept this Host name too (behind a proxy)\n"
            "  --on-exit P         on SIGTERM/SIGINT: cancel running jobs (default) or wait\n"
            "  --realtime          run the service loop at real-time priority (SCHED_FIFO 1;\n"
            "                      needs CAP_SYS_NICE or RLIMIT_RTPRIO), so that answers\n"
            "                      never wait for copy threads or the kernel's writeback\n"
            "                      (file results for clients go out at normal priority)\n\n"
            "The token is FERRY_TOKEN if set, else generated and kept in <state-dir>/token.\n");
}

typedef struct {
    const char *listen;
    const char **roots;
    size_t nroots;
    const char *state_dir;
    unsigned max_running;
    const char **allow;
    size_t nallow;
    bool on_exit_wait;
    bool realtime;
    char *home_root; /* the default root, when no --root was given */
} serve_opts;

enum { O_LISTEN = 256, O_ROOT, O_STATE, O_MAXRUN, O_ALLOW, O_ONEXIT, O_REALTIME };

static int parse(int argc, char **argv, serve_opts *o)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, O_LISTEN},
        {"root", required_argument, NULL, O_ROOT},
        {"state-dir", required_argument, NULL, O_STATE},
        {"max-running", required_argument, NULL, O_MAXRUN},
        {"allow-host", required_argument, NULL, O_ALLOW},
        {"on-exit", required_argument, NULL, O_ONEXIT},
        {"realtime", no_argument, NULL, O_REALTIME},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    opterr = 0;
    optind = 0; /* glibc: start afresh (permuting, options after operands as GNU tools do) */
    o->roots = calloc((size_t)argc, sizeof(char *));
    o->allow = calloc((size_t)argc, sizeof(char *));
    if (!o->roots || !o->allow)
        return 1;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case O_LISTEN:
            o->listen = optarg;
            break;
        case O_ROOT:
            o->roots[o->nroots++] = optarg;
            break;
        case O_STATE:
            o->state_dir = optarg;
            break;
        case O_MAXRUN: {
            long n;
            if (req_int_parse(optarg, 1, 1000, &n) < 0)
                return cli_usage_error("serve", "invalid --max-running '%s'", optarg);
            o->max_running = (unsigned)n;
            break;
        }
        case O_ALLOW:
            o->allow[o->nallow++] = optarg;
            break;
        case O_ONEXIT:
            if (strcmp(optarg, "cancel") && strcmp(optarg, "wait"))
                return cli_usage_error("serve", "--on-exit: cancel or wait");
            o->on_exit_wait = !strcmp(optarg, "wait");
            break;
        case O_REALTIME:
            o->realtime = true;
            break;
        case 'h':
            cmd_serve_help(stdout);
            return -1;
        default:
            return cli_bad_option("serve", c, argv);
        }
    }
    if (optind != argc)
        return cli_usage_error("serve", "unexpected argument '%s'", argv[optind]);
    return 0;
}

static bool is_loopback(const char *addr)
{
    struct in_addr a4;

    if (!strcmp(addr, "localhost") || !strcmp(addr, "[::1]") || !strcmp(addr, "::1"))
        return true;
    return inet_pton(AF_INET, addr, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

static int load_token(server *srv, const char *state_dir)
{
    const char *env = getenv("FERRY_TOKEN");
    unsigned char r[32];
    char path[4096];
    int fd;

    if (env && *env) {
        snprintf(srv->token, sizeof(srv->token), "%s", env);
        return 0;
    }
    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
        return -1;
    for (size_t i = 0; i < sizeof(r); i++)
        snprintf(srv->token + 2 * i, 3, "%02x", r[i]);
    snprintf(path, sizeof(path), "%s/token", state_dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || fchmod(fd, 0600) < 0 || write(fd, srv->token, 64) != 64 || close(fd) < 0) {
        fprintf(stderr, "ferry: write '%s': %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int write_daemon_json(server *srv, const char *state_dir)
{
    char path[4096], tmp[4096];
    json_t *o = json_pack("{s:i,s:I}", "port", srv->port, "pid", (json_int_t)getpid());
    char url[128];

    snprintf(url, sizeof(url), "http://%s:%d/",
             strcmp(srv->listen_addr, "0.0.0.0") ? srv->listen_addr : "127.0.0.1", srv->port);
    json_object_set_new(o, "url", json_string(url));
    snprintf(path, sizeof(path), "%s/daemon.json", state_dir);
    snprintf(tmp, sizeof(tmp), "%s/.daemon.json.tmp", state_dir);
    int rc = json_dump_file(o, tmp, JSON_COMPACT) == 0 && rename(tmp, path) == 0 ? 0 : -1;
    json_decref(o);
    return rc;
}

/* Any thread: the bus's wake-up, coalesced by the eventfd into one loop wake. */
static void wake_service(void *arg)
{
    loop_wake(arg);
}

/*
 * --realtime: the service thread at SCHED_FIFO 1. At normal priority a woken
 * service thread waited 5 to 8 ms for a core during a durable copy (copy
 * threads running to the tick, the kernel's writeback and loop workers), and
 * its client as long again: API p99 16 to 20 ms (4 to 9 ms with it).
 * SCHED_RESET_ON_FORK: the threads it starts (a job's runner and committer)
 * are normal ones. Not permitted: a warning, and normal priority.
 */
static int set_fifo(bool on)
{
    struct sched_param sp = {.sched_priority = on ? 1 : 0};

    return sched_setscheduler(0, (on ? SCHED_FIFO : SCHED_OTHER) | SCHED_RESET_ON_FORK, &sp);
}

static void go_realtime(server *srv)
{
    if (set_fifo(true) == 0) {
        srv->realtime = true;
        return;
    }
    fprintf(stderr, "ferry: --realtime: cannot use SCHED_FIFO: %s; the service loop runs at "
                    "normal priority\n", strerror(errno));
}

/*
 * File results for clients that take them are bulk: 100 watchers of a
 * 20,000-file job are 350 MB of frames. Sent at real-time priority they took
 * a core from the copy whenever they were ready (jobs 1.2x to 5x slower); so
 * a turn that sends them drops to normal priority, and the loop is real-time
 * again before its next epoll_wait(): a request still wakes it at once.
 */
void serve_lower(server *srv)
{
    if (srv->realtime && !srv->lowered && set_fifo(false) == 0)
        srv->lowered = true;
}

static void serve_restore(server *srv)
{
    if (!srv->lowered)
        return;
    srv->lowered = false;
    if (set_fifo(true) != 0)
        srv->realtime = false; /* no longer permitted: normal from now on */
}

static void *signal_main(void *arg)
{
    server *srv = arg;
    sigset_t set;
    int sig;

    pthread_setname_np(pthread_self(), "ferry-signal");
    cli_stop_signals(&set);
    while (sigwait(&set, &sig) != 0)
        ;
    atomic_store(&srv->stop, true);
    loop_wake(srv);
    return NULL;
}

static char *default_root(void)
{
    const char *home = getenv("HOME");
    return strdup(home && *home ? home : "/");
}

/*
 * Open files. The soft limit is raised towards the hard one (a desktop
 * session's 1,024 would not hold 1,024 WebSocket clients and the rest).
 * FD_RESERVE stays for the engine (journal, roots, the workers' files); the
 * server gets the others, shared between idle connections, requests being
 * answered and WebSocket clients, each cap shrinking to fit a low limit.
 * libmicrohttpd stops accepting at its connection limit, so the caps keep it
 * from filling.
 */
#define FD_RESERVE 128
#define FD_REQUESTS 64

static unsigned fd_budget(server *srv)
{
    struct rlimit rl;
    rlim_t want = MAX_WS_CLIENTS + MAX_IDLE_CONNS + FD_REQUESTS + FD_RESERVE;
    unsigned fds, busy;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 0;
    if (rl.rlim_cur < want && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || getrlimit(RLIMIT_NOFILE, &rl) < 0)
            return 0;
    }
    if (rl.rlim_cur < FD_RESERVE + 16)
        return 0;
    fds = rl.rlim_cur >= want ? (unsigned)(want - FD_RESERVE) : (unsigned)(rl.rlim_cur - FD_RESERVE);
    srv->max_idle = fds / 4 < MAX_IDLE_CONNS ? fds / 4 : MAX_IDLE_CONNS;
    busy = fds / 4 < FD_REQUESTS ? fds / 4 : FD_REQUESTS;
    srv->max_clients = fds - srv->max_idle - busy;
    if (srv->max_clients < MAX_WS_CLIENTS)
        fprintf(stderr,
                "ferry: note: %llu open files allowed (ulimit -n): at most %u WebSocket clients\n",
                (unsigned long long)rl.rlim_cur, srv->max_clients);
    return fds;
}

/* The roots, before the manager: its jobs work beneath them (core/roots_priv.h). */
static int open_roots(server *srv, serve_opts *o)
{
    if (o->nroots == 0) {
        if (!(o->home_root = default_root()))
            return 1;
        o->roots[o->nroots++] = o->home_root;
    }
    if (ferry_roots_new(&srv->roots, o->roots, o->nroots) != FERRY_OK) {
        fprintf(stderr, "ferry: %s\n", ferry_error_last());
        return 1;
    }
    return 0;
}

/* The listening socket, bound here so that port 0 and IPv6 addresses work
 * alike; libmicrohttpd takes it over. -1 with the cause printed. */
static int listen_socket(server *srv)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICHOST | AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char addr[64], port[8];
    int fd = -1, rc;

    snprintf(addr, sizeof(addr), "%s", !strcmp(srv->listen_addr, "localhost") ? "127.0.0.1"
                                                                             : srv->listen_addr);
    if (addr[0] == '[' && addr[strlen(addr) - 1] == ']') { /* [::1] */
        memmove(addr, addr + 1, strlen(addr));
        addr[strlen(addr) - 1] = '\0';
    }
    snprintf(port, sizeof(port), "%d", srv->port);
    if ((rc = getaddrinfo(addr, port, &hints, &ai)) != 0) {
        fprintf(stderr, "ferry: cannot listen on %s:%d: %s\n", srv->listen_addr, srv->port,
                gai_strerror(rc));
        return -1;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){1}, sizeof(int)) < 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 511) < 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
        fprintf(stderr, "ferry: cannot listen on %s:%d: %s\n", srv->listen_addr, srv->port,
                strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    srv->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

static int start(server *srv)
{
    unsigned fds = fd_budget(srv);
    int fd;

    if (!fds) {
        fprintf(stderr, "ferry: too few open files allowed (ulimit -n)\n");
        return 1;
    }
    if ((fd = listen_socket(srv)) < 0)
        return 1;
    /*
     * Strict about what clients send (RFC 9112; http.c refuses the rest of
     * what could frame a message two ways); no thread of its own: the loop
     * runs it (MHD_USE_EPOLL without a polling thread).
     */
    srv->httpd = MHD_start_daemon(
        MHD_USE_EPOLL | MHD_ALLOW_UPGRADE, 0, NULL, NULL, http_access, srv,
        MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
        MHD_OPTION_CONNECTION_LIMIT, fds,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S,
        MHD_OPTION_NOTIFY_CONNECTION, conn_notify, srv,
        MHD_OPTION_URI_LOG_CALLBACK, http_uri_log, srv,
        MHD_OPTION_NOTIFY_COMPLETED, http_completed, srv,
        MHD_OPTION_END);
    if (!srv->httpd) {
        fprintf(stderr, "ferry: cannot start the HTTP server on %s:%d\n", srv->listen_addr,
                srv->port);
        close(fd);
        return 1;
    }
    return 0;
}

int cmd_serve(int argc, char **argv)
{
    serve_opts o = {0};
    server srv = {0};
    ferry_manager_opts mo;
    pthread_t sigthread;
    char state[4096];
    int rc;

    if ((rc = parse(argc, argv, &o)) != 0) {
        free(o.roots);
        free(o.allow);
        return rc < 0 ? 0 : rc;
    }
    if (req_listen_parse(o.listen ? o.listen : "127.0.0.1:8470", srv.listen_addr,
                         sizeof(srv.listen_addr), &srv.port) < 0)
        return cli_usage_error("serve", "invalid --listen '%s': expected ADDR:PORT", o.listen);
    if (!is_loopback(srv.listen_addr))
        fprintf(stderr, "ferry: warning: listening on %s, beyond this machine; the token is "
                        "the only protection and travels unencrypted\n",
                srv.listen_addr);
    srv.allow_hosts = (char **)o.allow;
    srv.nallow = o.nallow;
    srv.on_exit_wait = o.on_exit_wait;

    cli_block_signals(); /* before any thread: the signal thread alone takes them */

    if (open_roots(&srv, &o) != 0)
        return 1;
    ferry_manager_opts_init(&mo);
    mo.state_dir = o.state_dir;
    mo.max_running = o.max_running;
    mo.roots = srv.roots;
    if (ferry_manager_open(&srv.m, &mo) < 0) {
        fprintf(stderr, "ferry: %s\n", ferry_error_last());
        ferry_roots_free(srv.roots);
        return 1;
    }
    if (ferry_manager_notice(srv.m))
        fprintf(stderr, "ferry: note: %s\n", ferry_manager_notice(srv.m));
    if (o.state_dir)
        snprintf(state, sizeof(state), "%s", o.state_dir);
    else if (getenv("XDG_STATE_HOME") && getenv("XDG_STATE_HOME")[0] == '/')
        snprintf(state, sizeof(state), "%s/ferry", getenv("XDG_STATE_HOME"));
    else
        snprintf(state, sizeof(state), "%s/.local/state/ferry",
                 getenv("HOME") ? getenv("HOME") : "/tmp");
    srv.epfd = srv.wake.fd = -1;
    if (load_token(&srv, state) < 0 || start(&srv) != 0 || loop_open(&srv) < 0 ||
        ws_start(&srv) < 0 || conn_start(&srv) < 0) {
        loop_close(&srv);
        if (srv.httpd)
            MHD_stop_daemon(srv.httpd);
        ferry_manager_close(srv.m);
        ferry_roots_free(srv.roots);
        return 1;
    }
    if (ferry_bus_subscribe(ferry_manager_bus(srv.m), &srv.sub, wake_service, &srv) < 0 ||
        pthread_create(&sigthread, NULL, signal_main, &srv) != 0) {
        fprintf(stderr, "ferry: cannot start: %s\n", ferry_error_last());
        return 1;
    }
    pthread_detach(sigthread);
    ferry_sub_lazy_files(srv.sub, true); /* drained by a timer (ws_arm_files_flush) */
    write_daemon_json(&srv, state);
    fprintf(stderr, "ferry: serving http://%s:%d/#token=%s\n",
            strcmp(srv.listen_addr, "0.0.0.0") ? srv.listen_addr : "127.0.0.1", srv.port,
            srv.token);

    if (o.realtime)
        go_realtime(&srv);
    while (!atomic_load(&srv.stop)) {
        srv.turn_bytes = 0; /* one turn: an epoll_wait, then each ready descriptor served */
        loop_turn(&srv);
        serve_restore(&srv);
    }

    /* Stop accepting; cancel (or let finish) what runs; journal it; exit 0. */
    if (!srv.on_exit_wait)
        ferry_manager_cancel_tag(srv.m, NULL, NULL, &(size_t){0});
    ferry_bus_unsubscribe(ferry_manager_bus(srv.m), srv.sub); /* no wake-up after this */
    ws_close_all(&srv);
    MHD_run(srv.httpd); /* the upgraded sockets closed */
    MHD_stop_daemon(srv.httpd);
    loop_close(&srv);
    ferry_manager_close(srv.m);
    ferry_roots_free(srv.roots);
    for (live_job *j = srv.live, *next; j; j = next) {
        next = j->next;
        free(j);
    }
    free(o.home_root);
    free(o.roots);
    free(o.allow);
    return 0;
}
