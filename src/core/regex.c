/* regex: the per-thread PCRE2 match data behind fs_re_match_data, and the anchored-pattern
 * helpers the catalog and the tool schemas share (compile with a readable error, whole-value
 * match under fixed limits). Patterns themselves belong to the modules that compile them. */
#include "core/common.h"

#include <pthread.h>
#include <stdio.h>

#include "core/regex.h"

static pthread_key_t md_key;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static __thread pcre2_match_data *tls_md;

static void md_destroy(void *md)
{
    pcre2_match_data_free(md);
}

static void md_key_init(void)
{
    (void)pthread_key_create(&md_key, md_destroy);
}

pcre2_match_data *fs_re_match_data(void)
{
    if (!tls_md) {
        pthread_once(&md_once, md_key_init);
        tls_md = pcre2_match_data_create(1, NULL);
        if (tls_md)
            (void)pthread_setspecific(md_key, tls_md);
    }
    return tls_md;
}

#define RE_MATCH_LIMIT 1000000
#define RE_DEPTH_LIMIT 10000
#define RE_HEAP_LIMIT_KIB 16384

static pcre2_match_context *limits;
static pthread_once_t limits_once = PTHREAD_ONCE_INIT;

static void limits_init(void)
{
    if ((limits = pcre2_match_context_create(NULL))) {
        pcre2_set_match_limit(limits, RE_MATCH_LIMIT);
        pcre2_set_depth_limit(limits, RE_DEPTH_LIMIT);
        pcre2_set_heap_limit(limits, RE_HEAP_LIMIT_KIB);
    }
}

bool fs_re_is_anchored(const char *s, size_t n)
{
    if (n < 2 || s[0] != '^' || s[n - 1] != '$')
        return false;
    size_t bs = 0;
    for (size_t i = n - 1; i > 0 && s[i - 1] == '\\'; i--)
        bs++;
    return bs % 2 == 0; /* "\$" is a literal dollar */
}

pcre2_code *fs_re_compile_checked(const char *s, size_t n, char *msg, size_t msgsize)
{
    int ec;
    PCRE2_SIZE off;
    pcre2_code *re =
        pcre2_compile((PCRE2_SPTR)s, n, PCRE2_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_BACKSLASH_C,
                      &ec, &off, NULL);
    if (!re) {
        PCRE2_UCHAR m[160];
        pcre2_get_error_message(ec, m, sizeof(m));
        snprintf(msg, msgsize, "not a valid regular expression at offset %zu: %s", (size_t)off,
                 (const char *)m);
        return NULL;
    }
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* the interpreter is the fallback */
    return re;
}

int fs_re_full_match(const pcre2_code *re, const char *s, size_t len)
{
    pthread_once(&limits_once, limits_init);
    pcre2_match_data *md = fs_re_match_data();
    if (!md || !limits)
        return -1;
    int m = pcre2_match(re, (PCRE2_SPTR)s, len, 0, PCRE2_ANCHORED | PCRE2_ENDANCHORED, md, limits);
    return m >= 0 ? 1 : m == PCRE2_ERROR_NOMATCH ? 0 : -1;
}
