/* err: the error vocabulary (names and default messages generated from FS_ERRORS) and the
 * helpers that fill struct fs_err. Knows nothing about HTTP status codes or exit codes; the
 * edges (intake routes, CLI) map codes to those. */
#include "core/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const err_names[] = {
#define FS_ERR_NAME(e, name, msg) name,
    FS_ERRORS(FS_ERR_NAME)
#undef FS_ERR_NAME
};

static const char *const err_msgs[] = {
#define FS_ERR_MSG(e, name, msg) msg,
    FS_ERRORS(FS_ERR_MSG)
#undef FS_ERR_MSG
};

const char *fs_err_name(int code)
{
    if (code < 0)
        code = -code;
    if (code >= FS_E__COUNT)
        return "unknown";
    return err_names[code];
}

const char *fs_err_default_msg(int code)
{
    if (code < 0)
        code = -code;
    if (code >= FS_E__COUNT)
        return "unknown error";
    return err_msgs[code];
}

int fs_err_vset(struct fs_err *err, enum fs_errcode code, const char *path, const char *fmt,
                va_list ap)
{
    if (err) {
        err->code = code;
        if (snprintf(err->path, sizeof(err->path), "%s", path ? path : "") >=
            (int)sizeof(err->path))
            fs_utf8_cut(err->path);
        if (fmt && vsnprintf(err->msg, sizeof(err->msg), fmt, ap) >= (int)sizeof(err->msg))
            fs_utf8_cut(err->msg);
        else if (!fmt)
            snprintf(err->msg, sizeof(err->msg), "%s", fs_err_default_msg(code));
    }
    return -(int)code;
}

int fs_err_at(struct fs_err *err, enum fs_errcode code, const char *path, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    if (vsnprintf(msg, sizeof(msg), fmt, ap) >= (int)sizeof(msg))
        fs_utf8_cut(msg);
    va_end(ap);
    return fs_err_set(err, code, path, "%s: %s", path && path[0] ? path : "(top level)", msg);
}

int fs_err_set(struct fs_err *err, enum fs_errcode code, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = fs_err_vset(err, code, path, fmt, ap);
    va_end(ap);
    return rc;
}

void fs_err_prefix(struct fs_err *err, const char *fmt, ...)
{
    if (!err)
        return;
    char pre[256], old[sizeof(err->msg)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof(pre), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    snprintf(err->msg, sizeof(err->msg), "%s%s", pre, old);
}

void fs_bug(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "BUG at %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}
