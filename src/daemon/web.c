/* daemon/web.c: the UI files embedded at build time (cmake/embed.cmake). */
#include <string.h>

#include "daemon.h"

struct web_file {
    const char *path;
    const unsigned char *data;
    size_t len;
    const char *ctype;
};
extern const struct web_file web_files[];

const unsigned char *web_asset(const char *path, size_t *len, const char **ctype)
{
    if (!strcmp(path, "/"))
        path = "/index.html";
    for (const struct web_file *f = web_files; f->path; f++) {
        if (!strcmp(f->path, path)) {
            *len = f->len;
            *ctype = f->ctype;
            return f->data;
        }
    }
    return NULL;
}
