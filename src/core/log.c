/* log: one structured line per event on stderr. Values are quoted and escaped here, so a
 * hostile label can never forge a log line. Writes are a single write(2) per line. */
#include "core/common.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/time.h"

int fs_log_min_level = FS_LOG_INFO;
static enum fs_log_format log_format = FS_LOG_LOGFMT;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void fs_log_setup(enum fs_log_level level, enum fs_log_format format)
{
    fs_log_min_level = (int)level;
    log_format = format;
}

int fs_log_level_parse(const char *s, enum fs_log_level *out)
{
    for (int i = 0; i <= FS_LOG_OFF; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum fs_log_level)i;
            return 0;
        }
    }
    return -FS_E_INVALID;
}

const char *fs_log_fmt_i64(char buf[24], int64_t v)
{
    snprintf(buf, 24, "%" PRId64, v);
    return buf;
}

static void logfmt_value(struct fs_buf *b, const char *v)
{
    bool plain = *v != '\0';
    for (const char *p = v; *p && plain; p++)
        if ((unsigned char)*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' ||
            (unsigned char)*p >= 0x7f)
            plain = false;
    if (plain)
        fs_buf_puts(b, v);
    else
        fs_buf_json_str(b, v);
}

void fs_log_emit(enum fs_log_level level, const char *msg, ...)
{
    char ts[40];
    struct fs_buf b = FS_BUF_INIT(64 * 1024);
    fs_time_format(fs_now_ms(), ts, sizeof(ts));
    va_list ap;
    va_start(ap, msg);
    if (log_format == FS_LOG_JSON) {
        fs_buf_printf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":", ts, level_names[level]);
        fs_buf_json_str(&b, msg);
        for (const char *k = va_arg(ap, const char *); k; k = va_arg(ap, const char *)) {
            const char *v = va_arg(ap, const char *);
            fs_buf_putc(&b, ',');
            fs_buf_json_str(&b, k);
            fs_buf_putc(&b, ':');
            fs_buf_json_str(&b, v ? v : "");
        }
        fs_buf_puts(&b, "}\n");
    } else {
        fs_buf_printf(&b, "ts=%s level=%s msg=", ts, level_names[level]);
        logfmt_value(&b, msg);
        for (const char *k = va_arg(ap, const char *); k; k = va_arg(ap, const char *)) {
            const char *v = va_arg(ap, const char *);
            fs_buf_putc(&b, ' ');
            fs_buf_puts(&b, k);
            fs_buf_putc(&b, '=');
            logfmt_value(&b, v ? v : "");
        }
        fs_buf_putc(&b, '\n');
    }
    va_end(ap);
    if (b.data) {
        ssize_t w = write(STDERR_FILENO, b.data, b.len);
        (void)w;
    }
    fs_buf_release(&b);
}
