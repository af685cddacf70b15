/* buf: capped growable buffers (struct fs_buf). The cap is how forestall bounds every size an
 * outsider controls: request bodies, tool output, rendered replies. */
#include "core/common.h"

#include <errno.h>
#include <string.h>

#include <stdio.h>
#include <stdlib.h>

#include "core/buf.h"
#include "core/err.h"

void fs_buf_init(struct fs_buf *b, size_t max)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->max = max;
}

void fs_buf_release(struct fs_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void fs_buf_reset(struct fs_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

int fs_buf_reserve(struct fs_buf *b, size_t extra)
{
    if (extra > SIZE_MAX / 2 - b->len)
        return -FS_E_TOO_LARGE;
    size_t need = b->len + extra + 1;
    if (b->max && b->len + extra > b->max)
        return -FS_E_TOO_LARGE;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    if (b->max && cap > b->max + 1)
        cap = b->max + 1;
    char *p = fs_realloc(b->data, cap);
    if (!p)
        return -FS_E_NOMEM;
    if (!b->data)
        p[0] = '\0';
    b->data = p;
    b->cap = cap;
    return 0;
}

int fs_buf_append(struct fs_buf *b, const void *data, size_t len)
{
    int rc = fs_buf_reserve(b, len);
    if (rc < 0)
        return rc;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int fs_buf_puts(struct fs_buf *b, const char *s)
{
    return fs_buf_append(b, s, strlen(s));
}

int fs_buf_putc(struct fs_buf *b, char c)
{
    return fs_buf_append(b, &c, 1);
}

int fs_buf_vprintf(struct fs_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return -FS_E_INVALID;
    int rc = fs_buf_reserve(b, (size_t)n);
    if (rc < 0)
        return rc;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int fs_buf_printf(struct fs_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = fs_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

int fs_buf_json_str(struct fs_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t start = b->len;
    int rc = fs_buf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; rc == 0 && *p; p++) {
        switch (*p) {
        case '"': rc = fs_buf_puts(b, "\\\""); break;
        case '\\': rc = fs_buf_puts(b, "\\\\"); break;
        case '\n': rc = fs_buf_puts(b, "\\n"); break;
        case '\r': rc = fs_buf_puts(b, "\\r"); break;
        case '\t': rc = fs_buf_puts(b, "\\t"); break;
        default:
            if (*p < 0x20) {
                char u[7] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15], 0};
                rc = fs_buf_puts(b, u);
            } else {
                rc = fs_buf_putc(b, (char)*p);
            }
        }
    }
    if (rc == 0)
        rc = fs_buf_putc(b, '"');
    if (rc < 0 && b->data) { /* leave the buffer as it was */
        b->len = start;
        b->data[start] = '\0';
    }
    return rc;
}

char *fs_buf_detach(struct fs_buf *b, size_t *len)
{
    if (!b->data && fs_buf_reserve(b, 0) < 0)
        return NULL;
    char *d = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}

const char *fs_buf_str(const struct fs_buf *b)
{
    return b->data ? b->data : "";
}

int fs_read_file(const char *path, size_t max, struct fs_buf *out, struct fs_err *err)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return fs_err_set(err, FS_E_IO, path, "%s: %s", path, strerror(errno));
    fs_buf_init(out, max);
    char chunk[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if ((rc = fs_buf_append(out, chunk, n)) < 0) {
            rc = fs_err_set(err, rc == -FS_E_TOO_LARGE ? FS_E_TOO_LARGE : FS_E_NOMEM, path,
                            "%s: larger than %zu bytes", path, max);
            break;
        }
    }
    if (rc == 0 && ferror(f))
        rc = fs_err_set(err, FS_E_IO, path, "%s: read error", path);
    if (f != stdin)
        fclose(f);
    if (rc < 0)
        fs_buf_release(out);
    return rc;
}
