/* regex: the per-thread PCRE2 match data behind fs_re_match_data. Owns nothing else; patterns
 * and their limits belong to the modules that compile them. */
#include "core/common.h"

#include <pthread.h>

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
