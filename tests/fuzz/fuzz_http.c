/*
 * Fuzz target: whole connections through the real daemon, in-process.
 *
 * `ferry serve` (cmd_serve, src/daemon/serve.c) runs on a thread of this
 * process, started at the first input: a fresh root (mkdtemp, a few files)
 * and state directory, FERRY_TOKEN set to TOKEN, --listen 127.0.0.1:0; the
 * port is read from <state-dir>/daemon.json. Each input is then one TCP
 * connection to it: any number of requests (pipelined, chunked, upgraded to a
 * WebSocket and framed), sent in several writes, then a half-close
 * (shutdown(SHUT_WR)) and the answer read until the daemon closes.
 *
 * The half-close waits for the answer to start (FIN_WAIT_MS at most): a FIN
 * that reaches the daemon with the request's last bytes is not seen by
 * libmicrohttpd 0.9.75 (edge-triggered epoll: it reads the bytes, not the
 * end of the stream), and the connection stays open until conn.c's
 * HEADERS_TIMEOUT_S (10 s). Such an input (bit 4, below) is read until
 * QUIET_MS pass without a byte, then reset (SO_LINGER 0), which the daemon
 * does see; so is a WebSocket the daemon leaves open. An input takes
 * WRITE_MS + READ_MS at most, a few milliseconds most often.
 *
 * Input: byte 0, byte 1, then the bytes to send.
 *  - byte 0, bits 0-2: the bytes go out in 1 to 8 writes (TCP_NODELAY);
 *    bit 3: the harness waits up to 1 ms (reading) after each write, so that
 *    the daemon may see each piece on its own; bit 4: the half-close follows
 *    the last write at once; bits 5-7 and byte 1 seed where the writes split
 *    the bytes.
 *  - in the bytes, "@HOST@" becomes "127.0.0.1:PORT" and "@TOKEN@" the token,
 *    so that seeds and their mutations pass the Host and token gates. Nothing
 *    else is rewritten (no escape: the literal strings cannot be sent).
 *
 * Properties checked besides memory safety (ASan) and races (TSan):
 *  - whatever comes back, if anything, starts with "HTTP/1.1 " (a 100
 *    Continue or a 101 and WebSocket frames do too);
 *  - the daemon is not wedged: every HEALTH_EVERY inputs (every input in the
 *    replay build) a fresh connection's GET /api/health gets "HTTP/1.1 200"
 *    within HEALTH_MS. A wedge writes the last inputs (it may be any of them)
 *    to /tmp/ferry-fuzz-http-wedge-PID/ before aborting.
 *
 * The daemon is never stopped: the process exits with it running, idle (the
 * temp directories are removed at exit). The harness shares no memory with
 * it but what is written before its thread starts (argv, the environment).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TOKEN        "0123456789abcdef0123456789abcdef"
#define MAX_PIECES   8
#define WRITE_MS     1000  /* all the writes of an input */
#define FIN_WAIT_MS  3     /* before the half-close: for the answer to start */
#define READ_MS      300   /* the answer, after the half-close, at most */
#define SILENT_MS    100   /* ... of which nothing at all for this long: done */
#define QUIET_MS     10    /* ... or no byte for this long after some came */
#define HEALTH_MS    2000  /* the health check's answer */
#define START_MS     60000 /* the daemon's start (daemon.json written) */
#define HEALTH_EVERY 16    /* inputs between health checks (fuzzing) */
#define RECENT       16    /* inputs kept for a wedge's report */
#define STATUS       "HTTP/1.1 "

/* --- the daemon ------------------------------------------------------------- */

static char base_dir[] = "/tmp/ferry-fuzz-http-XXXXXX";
static char root_dir[64], state_dir[64], listen_arg[] = "127.0.0.1:0";
static char *serve_argv[] = {"serve",  "--listen",    listen_arg, "--root",
                             root_dir, "--state-dir", state_dir,  NULL};
static atomic_bool daemon_exited;
static atomic_int daemon_rc;
static int port;
static bool verbose;  /* FERRY_FUZZ_HTTP_VERBOSE set: a line per input on stderr */
static char host[32]; /* 127.0.0.1:PORT */

static void *daemon_main(void *arg)
{
    (void)arg;
    atomic_store(&daemon_rc,
                 cmd_serve((int)(sizeof(serve_argv) / sizeof(serve_argv[0])) - 1, serve_argv));
    atomic_store(&daemon_exited, true);
    return NULL;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "fuzz_http: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (atomic_load(&daemon_exited))
        fprintf(stderr, "fuzz_http: ferry serve has returned %d\n", atomic_load(&daemon_rc));
    abort();
}

static void put_file(const char *dir, const char *name, const char *text)
{
    char path[128];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (!(f = fopen(path, "w")) || fputs(text, f) < 0 || fclose(f) != 0)
        die("write %s: %s", path, strerror(errno));
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

static void remove_dirs(void)
{
    nftw(base_dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int left_ms(uint64_t deadline)
{
    uint64_t now = now_ms();
    return now >= deadline ? 0 : (int)(deadline - now);
}

static void start_daemon(void)
{
    char path[128];
    pthread_t t;
    uint64_t deadline;

    if (!mkdtemp(base_dir))
        die("mkdtemp: %s", strerror(errno));
    atexit(remove_dirs);
    snprintf(root_dir, sizeof(root_dir), "%s/root", base_dir);
    snprintf(state_dir, sizeof(state_dir), "%s/state", base_dir);
    snprintf(path, sizeof(path), "%s/shot", root_dir);
    if (mkdir(root_dir, 0755) < 0 || mkdir(state_dir, 0700) < 0 || mkdir(path, 0755) < 0)
        die("mkdir: %s", strerror(errno));
    put_file(root_dir, "a.txt", "hello\n");
    put_file(root_dir, "shot/comp.1001.exr", "not an EXR\n");
    put_file(root_dir, "shot/comp.1002.exr", "not an EXR either\n");
    setenv("FERRY_TOKEN", TOKEN, 1);

    if (pthread_create(&t, NULL, daemon_main, NULL) != 0)
        die("cannot start the daemon's thread");
    pthread_detach(t);
    snprintf(path, sizeof(path), "%s/daemon.json", state_dir);
    for (deadline = now_ms() + START_MS; !port; usleep(10000)) {
        json_t *j = json_load_file(path, 0, NULL);
        port = j ? (int)json_integer_value(json_object_get(j, "port")) : 0;
        json_decref(j);
        if (!port && (atomic_load(&daemon_exited) || !left_ms(deadline)))
            die("ferry serve did not start (no port in %s)", path);
    }
    snprintf(host, sizeof(host), "127.0.0.1:%d", port);
}

/* --- a connection ----------------------------------------------------------- */

typedef struct {
    unsigned char head[16]; /* the answer's first bytes */
    size_t len;             /* of the whole answer */
    bool eof;               /* closed (or reset) by the daemon */
} reply;

static int dial(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd, err;

    /* Every input is a connection that the harness closes first (TIME_WAIT):
     * the local ports can run short for a moment; tcp_tw_reuse=2 (loopback,
     * the default) recycles them. */
    for (int tries = 0;; tries++) {
        if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
            die("socket: %s", strerror(errno));
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
            break;
        err = errno;
        close(fd);
        if ((err != EADDRNOTAVAIL && err != EINTR && err != EAGAIN) || tries == 200)
            die("connect to the daemon (port %d): %s", port, strerror(err));
        usleep(10000);
    }
    if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
        die("fcntl: %s", strerror(errno));
    return fd;
}

/* Reads what is there without waiting. */
static void drain(int fd, reply *r)
{
    unsigned char buf[16384];
    ssize_t n;

    while (!r->eof) {
        n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0) {
            if (r->len < sizeof(r->head))
                memcpy(r->head + r->len, buf,
                       (size_t)n < sizeof(r->head) - r->len ? (size_t)n : sizeof(r->head) - r->len);
            r->len += (size_t)n;
        } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            r->eof = true; /* closed, or reset (ECONNRESET) */
        } else if (errno != EINTR) {
            return;
        }
    }
}

/* Waits up to ms for an answer's bytes and reads them. */
static void wait_read(int fd, reply *r, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};

    if (!r->eof && poll(&p, 1, ms) > 0)
        drain(fd, r);
}

/*
 * Reads until quiet_ms pass without a byte once some came, or first_ms pass
 * without any, the daemon closes, or the deadline passes.
 */
static void settle(int fd, reply *r, int first_ms, int quiet_ms, uint64_t deadline)
{
    uint64_t first = now_ms() + (uint64_t)first_ms;
    size_t before = r->len, had;

    while (!r->eof) {
        int ms = r->len > before ? quiet_ms : left_ms(first);
        if (ms > left_ms(deadline))
            ms = left_ms(deadline);
        if (ms <= 0)
            return;
        had = r->len;
        wait_read(fd, r, ms);
        if (r->len == had && (r->len > before || !left_ms(first)))
            return; /* quiet, or silent */
    }
}

/* Sends all of buf, reading meanwhile (the daemon may answer a pipelined
 * request before taking the next); false when the daemon closed or reset
 * the connection, or the deadline passed. */
static bool send_all(int fd, const unsigned char *buf, size_t len, reply *r, uint64_t deadline)
{
    while (len) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd p = {.fd = fd, .events = POLLOUT | POLLIN};
            if (!left_ms(deadline))
                return false;
            if (poll(&p, 1, left_ms(deadline)) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR)))
                drain(fd, r);
        } else {
            return false; /* EPIPE, ECONNRESET: closed; its answer is read after */
        }
    }
    return true;
}

/* --- the input -------------------------------------------------------------- */

/* data with @HOST@ and @TOKEN@ replaced; *len its length. */
static unsigned char *substitute(const uint8_t *data, size_t size, size_t *len)
{
    static const char *const names[] = {"@HOST@", "@TOKEN@"};
    const char *const values[] = {host, TOKEN};
    unsigned char *out = malloc(size * 5 + 1), *o = out; /* a name grows 5 times at most */

    if (!out)
        die("out of memory");
    for (size_t i = 0; i < size;) {
        size_t k = 0;
        while (k < 2 &&
               (size - i < strlen(names[k]) || memcmp(data + i, names[k], strlen(names[k]))))
            k++;
        if (k < 2) {
            memcpy(o, values[k], strlen(values[k]));
            o += strlen(values[k]);
            i += strlen(names[k]);
        } else {
            *o++ = data[i++];
        }
    }
    *len = (size_t)(o - out);
    return out;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* Where the writes split msg: npieces - 1 points, sorted, from a seed. */
static unsigned split(uint8_t b0, uint8_t b1, size_t len, size_t cut[MAX_PIECES + 1])
{
    unsigned n = 1u + (b0 & 7u);
    uint32_t x = 0x9e3779b9u ^ ((uint32_t)(b0 >> 5) << 8 | b1);

    cut[0] = 0;
    for (unsigned i = 1; i < n; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5; /* xorshift32 */
        cut[i] = x % (len + 1);
    }
    qsort(cut + 1, n - 1, sizeof(cut[0]), cmp_size);
    cut[n] = len;
    return n;
}

static void print_bytes(const char *what, const unsigned char *p, size_t len)
{
    fprintf(stderr, "fuzz_http: %s (%zu bytes): \"", what, len);
    for (size_t i = 0; i < len && i < 2048; i++)
        fprintf(stderr,
                p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\' ? "%c" : "\\x%02x",
                p[i]);
    fprintf(stderr, "%s\"\n", len > 2048 ? "..." : "");
}

static void run_connection(const uint8_t *data, size_t size)
{
    size_t len, cut[MAX_PIECES + 1];
    unsigned char *msg = substitute(data + 2, size - 2, &len);
    unsigned n = split(data[0], data[1], len, cut);
    bool pause = data[0] & 8, fin_at_once = data[0] & 16;
    uint64_t start, deadline = now_ms() + WRITE_MS;
    reply r = {0};
    int fd = dial();

    for (unsigned i = 0; i < n; i++) {
        if (cut[i + 1] > cut[i] && !send_all(fd, msg + cut[i], cut[i + 1] - cut[i], &r, deadline))
            break;
        if (pause)
            wait_read(fd, &r, 1);
    }
    if (!fin_at_once)
        settle(fd, &r, FIN_WAIT_MS, 1, now_ms() + FIN_WAIT_MS * 4);
    shutdown(fd, SHUT_WR);
    start = now_ms();
    settle(fd, &r, SILENT_MS, QUIET_MS, start + READ_MS);
    if (!r.eof) /* a reset: the daemon sees it, where it may not have seen the FIN */
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &(struct linger){.l_onoff = 1},
                   sizeof(struct linger));
    close(fd);
    if (verbose)
        fprintf(stderr, "fuzz_http: sent %zu bytes in %u writes; %zu back, %s after %d ms: %.12s\n",
                len, n, r.len, r.eof ? "closed" : "still open", (int)(now_ms() - start),
                r.len ? (const char *)r.head : "");

    if (r.len && memcmp(r.head, STATUS, r.len < strlen(STATUS) ? r.len : strlen(STATUS))) {
        print_bytes("sent", msg, len);
        print_bytes("answer's start", r.head, r.len < sizeof(r.head) ? r.len : sizeof(r.head));
        die("an answer that does not start with \"" STATUS "\"");
    }
    free(msg);
}

/* --- the wedge check -------------------------------------------------------- */

static struct {
    uint8_t *data;
    size_t size;
} recent[RECENT];
static unsigned recent_next;

static void remember(const uint8_t *data, size_t size)
{
    unsigned i = recent_next++ % RECENT;

    free(recent[i].data);
    recent[i].data = malloc(size ? size : 1);
    recent[i].size = recent[i].data ? size : 0;
    if (recent[i].data)
        memcpy(recent[i].data, data, size);
}

/* The last inputs, oldest first, as 00, 01...: one of them wedged the daemon. */
static void dump_recent(void)
{
    char dir[64], path[96];
    unsigned k = 0;
    FILE *f;

    snprintf(dir, sizeof(dir), "/tmp/ferry-fuzz-http-wedge-%d", (int)getpid());
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return;
    for (unsigned i = 0; i < RECENT; i++) {
        unsigned j = (recent_next + i) % RECENT;
        if (!recent[j].data)
            continue;
        snprintf(path, sizeof(path), "%s/%02u", dir, k++);
        if ((f = fopen(path, "wb"))) {
            fwrite(recent[j].data, 1, recent[j].size, f);
            fclose(f);
        }
    }
    fprintf(stderr, "fuzz_http: the last %u inputs, oldest first, are in %s/\n", k, dir);
}

static void health_check(void)
{
    char req[128];
    int len = snprintf(req, sizeof(req), "GET /api/health HTTP/1.1\r\nHost: %s\r\n\r\n", host);
    uint64_t deadline = now_ms() + HEALTH_MS;
    reply r = {0};
    int fd = dial();

    if (send_all(fd, (const unsigned char *)req, (size_t)len, &r, deadline))
        while (r.len < 12 && !r.eof && left_ms(deadline))
            wait_read(fd, &r, left_ms(deadline));
    close(fd);
    if (r.len < 12 || memcmp(r.head, "HTTP/1.1 200", 12)) {
        print_bytes("health answer's start", r.head,
                    r.len < sizeof(r.head) ? r.len : sizeof(r.head));
        dump_recent();
        die("the daemon is wedged: no 200 to GET /api/health within %d ms", HEALTH_MS);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
#ifndef FERRY_FUZZ_REPLAY
    static unsigned long inputs;
#endif

    if (!port) {
        verbose = getenv("FERRY_FUZZ_HTTP_VERBOSE") != NULL;
        start_daemon();
    }
    remember(data, size);
    if (size >= 2)
        run_connection(data, size);
#ifdef FERRY_FUZZ_REPLAY
    health_check(); /* after every input: a wedge names its input */
#else
    if (++inputs % HEALTH_EVERY == 0)
        health_check();
#endif
    return 0;
}
