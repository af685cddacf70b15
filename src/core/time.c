/* time: clocks and the text forms of times, durations and sizes. The RFC 3339 parser reads
 * bytes from webhooks and is covered by the payload fuzzers. */
#include "core/common.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "core/time.h"

int64_t fs_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct timespec fs_deadline_in(clockid_t clock, int64_t ms)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

int64_t fs_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

static int digits(const char *s, size_t n, unsigned *out)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return 0;
}

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int fs_time_parse_rfc3339(const char *s, size_t len, int64_t *out_ms)
{
    if (len == (size_t)-1)
        len = strlen(s);
    /* YYYY-MM-DDTHH:MM:SS at least */
    if (len < 20)
        return -FS_E_INVALID;
    unsigned Y, M, D, h, mi, sec;
    if (digits(s, 4, &Y) || s[4] != '-' || digits(s + 5, 2, &M) || s[7] != '-' ||
        digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
        digits(s + 17, 2, &sec))
        return -FS_E_INVALID;
    static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (M < 1 || M > 12 || D < 1 || h > 23 || mi > 59 || sec > 60)
        return -FS_E_INVALID;
    unsigned maxd = mdays[M - 1] + (M == 2 && is_leap(Y));
    if (D > maxd)
        return -FS_E_INVALID;
    if (sec == 60) /* leap second: clamp, as Go and most parsers effectively do */
        sec = 59;
    size_t i = 19;
    unsigned ms = 0;
    if (i < len && s[i] == '.') {
        i++;
        size_t start = i;
        while (i < len && isdigit((unsigned char)s[i])) {
            if (i - start < 3)
                ms = ms * 10 + (unsigned)(s[i] - '0');
            i++;
        }
        size_t nd = i - start;
        if (nd == 0 || nd > 9)
            return -FS_E_INVALID;
        for (size_t k = nd; k < 3; k++)
            ms *= 10;
    }
    int64_t offset_min = 0;
    if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i + 6 <= len && (s[i] == '+' || s[i] == '-')) {
        unsigned oh, om;
        if (digits(s + i + 1, 2, &oh) || s[i + 3] != ':' || digits(s + i + 4, 2, &om) || oh > 23 ||
            om > 59)
            return -FS_E_INVALID;
        offset_min = (int64_t)oh * 60 + om;
        if (s[i] == '-')
            offset_min = -offset_min;
        i += 6;
    } else {
        return -FS_E_INVALID;
    }
    if (i != len)
        return -FS_E_INVALID;
    if (Y == 1 && M == 1 && D == 1 && h == 0 && mi == 0 && sec == 0 && ms == 0 && offset_min == 0) {
        *out_ms = FS_TIME_UNSET; /* Go's zero time.Time: "not set" */
        return 0;
    }
    int64_t days = days_from_civil(Y, M, D);
    int64_t secs = days * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + sec - offset_min * 60;
    *out_ms = secs * 1000 + ms;
    return 0;
}

char *fs_time_format(int64_t ms, char *buf, size_t size)
{
    if (ms == FS_TIME_UNSET) {
        snprintf(buf, size, "0001-01-01T00:00:00Z");
        return buf;
    }
    int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    int64_t msr = ms - secs * 1000;
    int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    int64_t rem = secs - days * 86400;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    snprintf(buf, size, "%04" PRId64 "-%02u-%02uT%02d:%02d:%02d.%03dZ", y, m, d, (int)(rem / 3600),
             (int)(rem / 60 % 60), (int)(rem % 60), (int)msr);
    return buf;
}

int fs_duration_parse(const char *s, int64_t *out_ms)
{
    if (!s || !*s)
        return -FS_E_INVALID;
    int64_t total = 0;
    const char *p = s;
    if (strcmp(s, "0") == 0) {
        *out_ms = 0;
        return 0;
    }
    while (*p) {
        if (!isdigit((unsigned char)*p))
            return -FS_E_INVALID;
        int64_t v = 0;
        while (isdigit((unsigned char)*p)) {
            if (v > INT64_MAX / 10 - 10)
                return -FS_E_INVALID;
            v = v * 10 + (*p++ - '0');
        }
        int64_t unit;
        if (p[0] == 'm' && p[1] == 's') {
            unit = 1;
            p += 2;
        } else {
            switch (*p) {
            case 's': unit = 1000; break;
            case 'm': unit = 60 * 1000; break;
            case 'h': unit = 3600 * 1000; break;
            case 'd': unit = 86400 * 1000; break;
            case 'w': unit = 7 * 86400 * 1000LL; break;
            default: return -FS_E_INVALID;
            }
            p++;
        }
        if (v > (INT64_MAX - total) / unit)
            return -FS_E_INVALID;
        total += v * unit;
    }
    *out_ms = total;
    return 0;
}

char *fs_duration_format(int64_t ms, char *buf, size_t size)
{
    static const struct {
        int64_t unit;
        const char *name;
    } units[] = {{86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}, {1, "ms"}};
    size_t off = 0;
    buf[0] = '\0';
    if (ms <= 0) {
        snprintf(buf, size, "0s");
        return buf;
    }
    for (size_t i = 0; i < FS_ARRAY_LEN(units) && ms > 0; i++) {
        if (ms >= units[i].unit) {
            int n =
                snprintf(buf + off, size - off, "%" PRId64 "%s", ms / units[i].unit, units[i].name);
            if (n < 0 || (size_t)n >= size - off)
                break;
            off += (size_t)n;
            ms %= units[i].unit;
        }
    }
    return buf;
}

int fs_size_parse(const char *s, uint64_t *out)
{
    if (!s || !isdigit((unsigned char)*s))
        return -FS_E_INVALID;
    uint64_t v = 0;
    const char *p = s;
    while (isdigit((unsigned char)*p)) {
        if (v > UINT64_MAX / 10 - 10)
            return -FS_E_INVALID;
        v = v * 10 + (uint64_t)(*p++ - '0');
    }
    /* a fraction ("69.6G"): up to 6 decimal places, applied to the unit below */
    uint64_t frac = 0, scale = 1;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return -FS_E_INVALID;
        while (isdigit((unsigned char)*p)) {
            if (scale >= 1000000)
                return -FS_E_INVALID;
            frac = frac * 10 + (uint64_t)(*p++ - '0');
            scale *= 10;
        }
    }
    static const struct {
        const char *suffix;
        uint64_t mult;
    } sfx[] = {{"", 1},
               {"B", 1},
               {"K", 1000},
               {"KB", 1000},
               {"M", 1000000},
               {"MB", 1000000},
               {"G", 1000000000},
               {"GB", 1000000000},
               {"T", 1000000000000ULL},
               {"TB", 1000000000000ULL},
               {"KiB", 1 << 10},
               {"MiB", 1 << 20},
               {"GiB", 1ULL << 30},
               {"TiB", 1ULL << 40}};
    for (size_t i = 0; i < FS_ARRAY_LEN(sfx); i++) {
        if (strcmp(p, sfx[i].suffix) == 0) {
            uint64_t m = sfx[i].mult;
            /* frac < 10^6 and m <= 2^40: frac * m cannot overflow */
            uint64_t part = frac * m / scale;
            if (v > UINT64_MAX / m || (scale > 1 && m < scale) || v * m > UINT64_MAX - part)
                return -FS_E_INVALID; /* too large, or a fraction of a byte */
            *out = v * m + part;
            return 0;
        }
    }
    return -FS_E_INVALID;
}
