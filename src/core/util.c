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

int fs_strlcpy(char *dst, const char *src, size_t size)
{
    size_t n = strlen(src);
    if (size == 0)
        return -FS_E_TOO_LARGE;
    if (n >= size) {
        memcpy(dst, src, size - 1);
        dst[size - 1] = '\0';
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
