/* curl: libcurl's process-wide setup (core/curl.h), shared by every libcurl user. */
#include "core/common.h"

#include <curl/curl.h>
#include <pthread.h>

#include "core/curl.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static CURLcode init_rc = CURLE_FAILED_INIT;

static void init(void)
{
    init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int fs_curl_init(struct fs_err *err)
{
    pthread_once(&once, init);
    if (init_rc != CURLE_OK)
        return fs_err_set(err, FS_E_SYSTEM, NULL, "libcurl: %s", curl_easy_strerror(init_rc));
    return 0;
}
