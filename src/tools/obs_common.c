/* obs_common: what the Prometheus and Loki tools share — the one HTTP request (libcurl easy
 * interface, http/https only, same-origin redirects only, a body cap and one deadline for the
 * whole exchange), time and step arguments, and form encoding. It reports transport failures
 * as error codes with libcurl's reason and leaves wording for the tool to choose. */
#include "core/common.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include <curl/curl.h>

#include "core/curl.h"
#include "core/time.h"
#include "tools/obs_int.h"
#include "tools/registry.h"
#include "version.h"

#define MAX_REDIRECTS 3
#define MAX_UNIX_S 253402300799LL /* 9999-12-31T23:59:59Z */

/* ---- arguments ---------------------------------------------------------------------------- */

/* "123", "123.456789" → milliseconds (fraction beyond ms dropped); false when not that shape. */
static bool decimal_ms(const char *s, int64_t *out)
{
    const char *p = s;
    int64_t v = 0;
    if (!isdigit((unsigned char)*p))
        return false;
    while (isdigit((unsigned char)*p)) {
        if (v > MAX_UNIX_S)
            return false;
        v = v * 10 + (*p++ - '0');
    }
    int64_t frac = 0;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return false;
        for (int i = 0; isdigit((unsigned char)*p); i++, p++)
            if (i < 3)
                frac += (*p - '0') * (i == 0 ? 100 : i == 1 ? 10 : 1);
    }
    if (*p || v > MAX_UNIX_S)
        return false;
    *out = v * 1000 + frac;
    return true;
}

int fs_obs_time_parse(const char *s, int64_t now_ms, int64_t *out_ms)
{
    if (!s || !*s || strlen(s) > 64)
        return -FS_E_INVALID;
    if (!strcmp(s, "now")) {
        *out_ms = now_ms;
        return 0;
    }
    const char *back = !strncmp(s, "now-", 4) ? s + 4 : (s[0] == '-' ? s + 1 : NULL);
    if (back) {
        int64_t d;
        if (fs_duration_parse(back, &d) < 0 || d > now_ms)
            return -FS_E_INVALID;
        *out_ms = now_ms - d;
        return 0;
    }
    if (decimal_ms(s, out_ms))
        return 0;
    int64_t ms;
    if (fs_time_parse_rfc3339(s, (size_t)-1, &ms) < 0 || ms == FS_TIME_UNSET || ms < 0 ||
        ms / 1000 > MAX_UNIX_S)
        return -FS_E_INVALID;
    *out_ms = ms;
    return 0;
}

int fs_obs_step_parse(const char *s, int64_t *out_ms)
{
    int64_t ms;
    if (!s || !*s || strlen(s) > 32)
        return -FS_E_INVALID;
    if (!decimal_ms(s, &ms) && fs_duration_parse(s, &ms) < 0)
        return -FS_E_INVALID;
    if (ms <= 0)
        return -FS_E_INVALID;
    *out_ms = ms;
    return 0;
}

char *fs_obs_seconds(int64_t ms, char *buf, size_t size)
{
    snprintf(buf, size, "%s%lld.%03lld", ms < 0 ? "-" : "", (long long)(llabs(ms) / 1000),
             (long long)(llabs(ms) % 1000));
    return buf;
}

int fs_obs_form_add(struct fs_buf *b, const char *key, const char *value)
{
    char *k = curl_easy_escape(NULL, key, 0);
    char *v = curl_easy_escape(NULL, value ? value : "", 0);
    int rc = (k && v) ? fs_buf_printf(b, "%s%s=%s", b->len ? "&" : "", k, v) : -FS_E_NOMEM;
    curl_free(k);
    curl_free(v);
    return rc;
}

/* ---- HTTP --------------------------------------------------------------------------------- */

struct sink {
    struct fs_buf *b;
    bool too_large;
};

static size_t on_data(char *ptr, size_t size, size_t n, void *arg)
{
    struct sink *s = arg;
    if (fs_buf_append(s->b, ptr, size * n) < 0) {
        s->too_large = s->b->max && s->b->len + size * n > s->b->max;
        return 0; /* abort the transfer */
    }
    return size * n;
}

/* scheme, host and port of url, lowercased where it does not matter; false when unparsable or
 * not http(s). */
static bool origin(const char *url, char *dst, size_t size)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL;
    bool ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK;
    ok = ok && (!strcasecmp(scheme, "http") || !strcasecmp(scheme, "https"));
    if (ok) {
        snprintf(dst, size, "%s://%s:%s", scheme, host, port);
        for (char *c = dst; *c; c++)
            *c = (char)tolower((unsigned char)*c);
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return ok;
}

void fs_obs_reply_release(struct fs_obs_reply *r)
{
    if (r)
        fs_buf_release(&r->body);
}

int fs_obs_http(const struct fs_obs_req *req, struct fs_obs_reply *out, struct fs_err *err)
{
    memset(out, 0, sizeof(*out));
    fs_buf_init(&out->body, req->max_body ? req->max_body : FS_OBS_MAX_BODY);
    char want[512], got[512];
    if (!req->base || !origin(req->base, want, sizeof(want)))
        return fs_err_set(err, FS_E_INVALID, NULL, "%s is not an http:// or https:// URL",
                          req->base ? req->base : "(null)");
    if (fs_curl_init(err) < 0)
        return -FS_E_SYSTEM;

    struct fs_buf url = FS_BUF_INIT(0);
    size_t blen = strlen(req->base);
    while (blen > 0 && req->base[blen - 1] == '/')
        blen--;
    bool post = req->post;
    int rc = fs_buf_append(&url, req->base, blen);
    if (rc == 0)
        rc = fs_buf_puts(&url, req->path);
    if (rc == 0 && !post && req->form && *req->form)
        rc = fs_buf_printf(&url, "?%s", req->form);
    if (rc < 0) {
        fs_buf_release(&url);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }

    if (req->sim) {
        rc = req->sim->http(req->sim, fs_buf_str(&url), post, req->form, &out->status,
                            &out->body, err);
        fs_buf_release(&url);
        return rc;
    }
    int64_t deadline = fs_mono_ns() + (req->timeout_ms > 0 ? req->timeout_ms : 10000) * 1000000;
    char ua[64];
    snprintf(ua, sizeof(ua), "forestall/%s", FS_VERSION);
    struct curl_slist *hdr = curl_slist_append(NULL, "Accept: application/json");
    rc = hdr ? 0 : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    for (int hop = 0; rc == 0; hop++) {
        int64_t left_ms = (deadline - fs_mono_ns()) / 1000000;
        if (left_ms <= 0) {
            rc = fs_err_set(err, FS_E_TIMEOUT, NULL, "no answer within %lld ms",
                            (long long)req->timeout_ms);
            break;
        }
        CURL *h = curl_easy_init();
        if (!h) {
            rc = fs_err_set(err, FS_E_NOMEM, NULL, "cannot initialise libcurl");
            break;
        }
        char ebuf[CURL_ERROR_SIZE] = "";
        struct sink sink = {&out->body, false};
        fs_buf_reset(&out->body);
        curl_easy_setopt(h, CURLOPT_URL, fs_buf_str(&url));
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)left_ms);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)FS_MIN(left_ms, 5000));
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(h, CURLOPT_USERAGENT, ua);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
        curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)out->body.max);
        curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, ""); /* gzip is counted after decoding */
        if (post) {
            const char *f = req->form ? req->form : "";
            curl_easy_setopt(h, CURLOPT_POST, 1L);
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, f);
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(f));
        }
        CURLcode cc = curl_easy_perform(h);
        const char *why = ebuf[0] ? ebuf : curl_easy_strerror(cc);
        char *loc = NULL;
        if (cc == CURLE_OK) {
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
            curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &loc);
        }
        if (cc == CURLE_OK && out->status >= 300 && out->status < 400 && loc) {
            if (hop >= MAX_REDIRECTS) {
                rc = fs_err_set(err, FS_E_PROTOCOL, NULL, "more than %d redirects", MAX_REDIRECTS);
            } else if (!origin(loc, got, sizeof(got)) || strcmp(got, want) != 0) {
                rc = fs_err_set(err, FS_E_PROTOCOL, NULL,
                                "redirected (HTTP %ld) to %.200s, another host; not followed",
                                out->status, loc);
            } else {
                /* 301/302/303 turn a POST into a GET (what browsers and curl do) */
                bool keep = out->status == 307 || out->status == 308;
                fs_buf_reset(&url);
                rc = fs_buf_puts(&url, loc);
                if (rc == 0 && post && !keep && req->form && *req->form)
                    rc = fs_buf_printf(&url, "%s%s", strchr(loc, '?') ? "&" : "?", req->form);
                if (rc < 0)
                    rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
                post = post && keep;
            }
            curl_easy_cleanup(h);
            if (rc == 0)
                continue;
            break;
        }
        curl_easy_cleanup(h);
        if (cc == CURLE_OK)
            break;
        if (sink.too_large || cc == CURLE_FILESIZE_EXCEEDED)
            rc = fs_err_set(err, FS_E_TOO_LARGE, NULL, "the response is larger than %zu bytes",
                            out->body.max);
        else if (cc == CURLE_OPERATION_TIMEDOUT)
            rc = fs_err_set(err, FS_E_TIMEOUT, NULL, "no answer within %lld ms",
                            (long long)req->timeout_ms);
        else if (cc == CURLE_OUT_OF_MEMORY || cc == CURLE_WRITE_ERROR)
            rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        else
            rc = fs_err_set(err, FS_E_CONNECT, NULL, "%s", why);
        break;
    }
    curl_slist_free_all(hdr);
    fs_buf_release(&url);
    return rc;
}

void fs_obs_snippet(const struct fs_buf *body, size_t max, char *dst, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < body->len && i < max && o + 4 < size; i++) {
        char c = body->data[i];
        dst[o++] = (c == '\n' || c == '\r' || c == '\t' || c == '\0') ? ' ' : c;
    }
    while (o > 0 && dst[o - 1] == ' ')
        o--;
    if (body->len > max && o + 4 < size)
        dst[o++] = '.', dst[o++] = '.', dst[o++] = '.';
    dst[o] = '\0';
    if (!o)
        snprintf(dst, size, "(empty body)");
}

/* ---- what both tools write ---------------------------------------------------------------- */

int fs_obs_fail(struct fs_tool_result *out, const char *fmt, ...)
{
    struct fs_buf b = FS_BUF_INIT(16384);
    va_list ap;
    va_start(ap, fmt);
    int rc = fs_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (rc == -FS_E_NOMEM) {
        fs_buf_release(&b);
        return rc;
    }
    free(out->text);
    out->text = fs_buf_detach(&b, NULL);
    out->is_error = true;
    return out->text ? 0 : -FS_E_NOMEM;
}

int fs_obs_transport_fail(struct fs_tool_result *out, const char *service, const char *base, int rc,
                          const struct fs_err *err)
{
    switch (-rc) {
    case FS_E_NOMEM: return rc;
    case FS_E_CONNECT: return fs_obs_fail(out, "%s unreachable at %s: %s", service, base, err->msg);
    case FS_E_TIMEOUT:
        return fs_obs_fail(out, "%s at %s did not answer in time: %s", service, base, err->msg);
    case FS_E_TOO_LARGE:
        return fs_obs_fail(out,
                           "%s: response too large (more than %u MiB); narrow the query (fewer "
                           "series, a shorter range, a larger step or a lower limit)",
                           service, FS_OBS_MAX_BODY >> 20);
    case FS_E_INVALID:
        return fs_obs_fail(out, "%s: the configured URL is not usable: %s", service, err->msg);
    default: return fs_obs_fail(out, "%s at %s: %s", service, base, err->msg);
    }
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int fs_obs_labels(struct fs_buf *b, const json_t *labels, bool name)
{
    const char *n = name ? json_string_value(json_object_get(labels, "__name__")) : NULL;
    size_t total = json_object_size(labels), nk = 0;
    const char **keys = fs_calloc(total ? total : 1, sizeof(*keys));
    if (!keys)
        return -FS_E_NOMEM;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)labels, k, v)
    {
        if (!(n && !strcmp(k, "__name__")))
            keys[nk++] = k;
    }
    qsort(keys, nk, sizeof(*keys), cmp_key); /* one order whatever the peer sent */
    int rc = n ? fs_buf_puts(b, n) : 0;
    if (rc == 0 && (!n || nk))
        rc = fs_buf_putc(b, '{');
    for (size_t i = 0; rc == 0 && i < nk; i++) {
        v = json_object_get(labels, keys[i]);
        rc = fs_buf_printf(b, "%s%s=\"", i ? ", " : "", keys[i]);
        const char *s = json_string_value(v);
        for (size_t j = 0; rc == 0 && s && j < json_string_length(v); j++) {
            char c = s[j];
            if (c == '\\' || c == '"')
                rc = fs_buf_printf(b, "\\%c", c);
            else if (c == '\n')
                rc = fs_buf_puts(b, "\\n");
            else if (c == '\0')
                continue;
            else
                rc = fs_buf_putc(b, c);
        }
        if (rc == 0)
            rc = fs_buf_putc(b, '"');
    }
    if (rc == 0 && (!n || nk))
        rc = fs_buf_putc(b, '}');
    free(keys);
    return rc;
}
