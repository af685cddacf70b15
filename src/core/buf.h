/* A growable byte buffer with a hard cap, always NUL-terminated.
 *
 * Every buffer filled from outside bytes has a max: appends beyond it fail with -FS_E_TOO_LARGE
 * and leave the buffer as it was. Ownership: the buffer owns data until fs_buf_detach(). */
#ifndef FS_BUF_H
#define FS_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct fs_buf {
    char *data; /* NUL-terminated when non-NULL */
    size_t len;
    size_t cap;
    size_t max; /* 0 = no cap */
};

#define FS_BUF_INIT(maxbytes)                                                                      \
    {                                                                                              \
        NULL, 0, 0, (maxbytes)                                                                     \
    }

void fs_buf_init(struct fs_buf *b, size_t max);
void fs_buf_release(struct fs_buf *b); /* frees data, back to empty; max kept */
void fs_buf_reset(struct fs_buf *b);   /* len = 0, memory kept */
int fs_buf_reserve(struct fs_buf *b, size_t extra);
int fs_buf_append(struct fs_buf *b, const void *data, size_t len);
int fs_buf_puts(struct fs_buf *b, const char *s);
int fs_buf_putc(struct fs_buf *b, char c);
int fs_buf_printf(struct fs_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int fs_buf_vprintf(struct fs_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Append s as a JSON string literal (quotes included). */
int fs_buf_json_str(struct fs_buf *b, const char *s);
/* Take the data (caller frees with free()); the buffer becomes empty. Never NULL on success. */
char *fs_buf_detach(struct fs_buf *b, size_t *len);
/* The contents as a C string ("" when empty). */
const char *fs_buf_str(const struct fs_buf *b);

struct fs_err;
/* Read a whole file (or stdin for "-") into out, at most max bytes: -FS_E_IO (named in the
 * message), -FS_E_TOO_LARGE, -FS_E_NOMEM. out is initialised here. */
int fs_read_file(const char *path, size_t max, struct fs_buf *out, struct fs_err *err);

#endif
