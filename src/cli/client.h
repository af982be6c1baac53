/*
 * cli/client.h: talking to a running `ferry serve` (found through
 * <state-dir>/daemon.json and <state-dir>/token), with libwebsockets' client.
 */
#ifndef FERRY_CLI_CLIENT_H
#define FERRY_CLI_CLIENT_H

#include <jansson.h>
#include <stdbool.h>

typedef struct cli_daemon {
    int port;
    char token[128];
} cli_daemon;

/* Finds the daemon of state_dir (NULL: the default). Prints why not; returns 0 or 1. */
int cli_daemon_find(cli_daemon *d, const char *state_dir);

/*
 * One request; *status gets the HTTP status and *out the parsed JSON body
 * (owned by the caller, may be NULL). Returns 0, or 1 after printing why.
 */
int cli_daemon_request(const cli_daemon *d, const char *method, const char *path,
                       json_t *body, int *status, json_t **out);

/*
 * Calls on_message with each WebSocket message until it returns false: hello
 * and job events (it opts out of per-file results). Returns 0 or 1.
 */
int cli_daemon_watch(const cli_daemon *d, bool (*on_message)(json_t *msg, void *arg), void *arg);

#endif
