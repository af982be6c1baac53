/*
 * cli/quote.h: how the ferry command shows a file name (or any string that
 * came from outside: a tag, a daemon's message) on a terminal or in a log.
 *
 * A name may hold any byte but '/' and NUL: a newline, a carriage return,
 * an escape sequence that turns the terminal red, bytes that are not UTF-8.
 * Printed raw they forge lines, redraw the screen or break a log that is
 * cat'ed later. So every name is shown in the shell quoting of GNU ls
 * (--quoting-style=shell-escape, ls's default on a terminal):
 *
 *     plate.exr   'a b.exr'   'evil'$'\n''name'$'\033''[31m.exr'   'bad'$'\377'
 *
 * on a terminal and off one alike (a pipe, a log file): ls prints raw names
 * into a pipe, which is exactly what makes such a log unsafe to read; the
 * quoted form can be pasted back into a shell and means the same file.
 * Escaped are C0 controls (1-31), DEL, the C1 controls (U+0080-U+009F, some
 * terminals obey them) and every byte that is not part of valid UTF-8.
 * --json output is not quoted: JSON escapes are exact.
 *
 * The returned strings live in a small ring of buffers owned here (as GNU's
 * quotearg_n): valid until QUOTE_SLOTS later calls. Main thread only.
 */
#ifndef FERRY_CLI_QUOTE_H
#define FERRY_CLI_QUOTE_H

#define QUOTE_SLOTS 8

/* s as it is if it needs no quoting (plate.exr), else quoted: for listings. */
const char *cli_quote(const char *s);

/* s always in quotes ('plate.exr'): for a name inside a message. */
const char *cli_quote_always(const char *s);

/*
 * A message made elsewhere (libferry, the daemon) that may name files as
 * '...': each '<path>' of the given paths (NULL: none) is replaced by its
 * quoted form, and any unsafe byte left is written as its escape (\n, \033,
 * \377) so that nothing raw reaches the terminal.
 */
const char *cli_message(const char *msg, const char *path, const char *path2);

#endif
