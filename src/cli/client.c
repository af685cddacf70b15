/* client: how CLI commands talk to a running daemon — libcurl requests with the bearer token
 * from FORESTALL_TOKEN, bounded replies, and the mapping of HTTP outcomes to exit codes. */
#include "core/common.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"

#define REPLY_MAX (256u << 20)

void fs_client_init(struct fs_client *c, const char *url_opt)
{
    const char *u = url_opt ? url_opt : getenv("FORESTALL_URL");
    snprintf(c->url, sizeof(c->url), "%s", u && *u ? u : "http://127.0.0.1:9797");
    size_t n = strlen(c->url);
    while (n > 0 && c->url[n - 1] == '/')
        c->url[--n] = '\0';
    const char *t = getenv("FORESTALL_TOKEN");
    c->token = t && *t ? fs_strdup(t) : NULL;
    c->timeout_ms = 30000;
}

void fs_client_release(struct fs_client *c)
{
    free(c->token);
    c->token = NULL;
}

static size_t on_data(char *ptr, size_t size, size_t n, void *arg)
{
    struct fs_buf *b = arg;
    if (fs_buf_append(b, ptr, size * n) < 0)
        return 0; /* too large: abort the transfer */
    return size * n;
}

int fs_client_request(struct fs_client *c, const char *method, const char *path, const char *body,
                      size_t len, struct fs_http_reply *out)
{
    memset(out, 0, sizeof(*out));
    fs_buf_init(&out->body, REPLY_MAX);
    CURL *h = curl_easy_init();
    if (!h) {
        snprintf(out->error, sizeof(out->error), "cannot initialise libcurl");
        return FS_EXIT_FAILURE;
    }
    char url[1024], auth[1024];
    snprintf(url, sizeof(url), "%s%s", c->url, path);
    struct curl_slist *hdr = NULL;
    hdr = curl_slist_append(hdr, "Accept: application/json");
    if (body)
        hdr = curl_slist_append(hdr, "Content-Type: application/json");
    if (c->token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->token);
        hdr = curl_slist_append(hdr, auth);
        explicit_bzero(auth, sizeof(auth));
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "forestall-cli");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &out->body);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? len : 0));
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }
    CURLcode rc = curl_easy_perform(h);
    int ret = FS_EXIT_OK;
    if (rc != CURLE_OK) {
        snprintf(out->error, sizeof(out->error), "%s: %s", c->url, curl_easy_strerror(rc));
        ret = FS_EXIT_UNREACHABLE;
    } else {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    }
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    return ret;
}

int fs_client_query(struct fs_buf *path, const char *key, const char *value)
{
    if (!value)
        return 0;
    char *esc = curl_easy_escape(NULL, value, 0);
    if (!esc)
        return -FS_E_NOMEM;
    int rc = fs_buf_printf(path, "%c%s=%s", strchr(fs_buf_str(path), '?') ? '&' : '?', key, esc);
    curl_free(esc);
    return rc;
}

void fs_http_reply_release(struct fs_http_reply *r)
{
    fs_buf_release(&r->body);
}

int fs_client_check(const struct fs_http_reply *r)
{
    if (r->status >= 200 && r->status < 300)
        return FS_EXIT_OK;
    json_t *v = json_loads(fs_buf_str(&r->body), 0, NULL);
    json_t *e = json_object_get(v, "error");
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    if (code)
        fprintf(stderr, "forestall: daemon answered %ld %s: %s\n", r->status, code, msg ? msg : "");
    else
        fprintf(stderr, "forestall: daemon answered HTTP %ld\n", r->status);
    json_decref(v);
    return r->status >= 500 ? FS_EXIT_UNAVAILABLE : FS_EXIT_REJECTED;
}
