/* util: allocation wrappers (with fault points for tests) and bounded string helpers. Nothing
 * here knows what forestall does. */
#include "core/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/fault.h"

void *fs_malloc(size_t n)
{
    if (fs_fault_check(FS_FAULT_ALLOC))
        return NULL;
    return malloc(n ? n : 1);
}

void *fs_calloc(size_t n, size_t size)
{
    if (fs_fault_check(FS_FAULT_ALLOC))
        return NULL;
    return calloc(n ? n : 1, size ? size : 1);
}

void *fs_realloc(void *p, size_t n)
{
    if (fs_fault_check(FS_FAULT_ALLOC))
        return NULL;
    return realloc(p, n ? n : 1);
}

char *fs_strdup(const char *s)
{
    return s ? fs_strndup(s, strlen(s)) : NULL;
}

char *fs_strndup(const char *s, size_t n)
{
    char *d = fs_malloc(n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

void fs_utf8_cut(char *s)
{
    size_t n = strlen(s), i = n;
    /* back over continuation bytes (at most 3) to the lead byte of the last character */
    while (i > 0 && n - i < 4 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
        i--;
    if (i == 0)
        return;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (want > 1 && n - (i - 1) < want)
        s[i - 1] = '\0';
}

int fs_strlcpy(char *dst, const char *src, size_t size)
{
    size_t n = strlen(src);
    if (size == 0)
        return -FS_E_TOO_LARGE;
    if (n >= size) {
        memcpy(dst, src, size - 1);
        dst[size - 1] = '\0';
        fs_utf8_cut(dst);
        return -FS_E_TOO_LARGE;
    }
    memcpy(dst, src, n + 1);
    return 0;
}

bool fs_streq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}
