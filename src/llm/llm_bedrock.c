/* llm_bedrock: AWS Bedrock's Converse API (POST /model/{modelId}/converse) — the neutral
 * conversation as Converse messages (union blocks text / toolUse / toolResult, one user message
 * per turn of tool results, tool names [a-zA-Z][a-zA-Z0-9_]*), the response parsed back, and
 * authentication: a Bedrock API key as a bearer token, or SigV4 by libcurl's CURLOPT_AWS_SIGV4
 * with signing name "bedrock" (the host says bedrock-runtime) and credentials from the AWS
 * environment variables or the shared profile files, read again for every call.
 *
 * The signed path. AWS signs a non-S3 request over its path URI-encoded once more than it is
 * sent: a model id "anthropic.claude-3-haiku-20240307-v1:0" travels as ".../v1%3A0/converse"
 * and is signed as ".../v1%253A0/converse" (botocore does the same). libcurl before 8.14 puts
 * the URL's path into the canonical request as it is, so no single URL is right for both. We
 * give curl the canonical form as the URL (what it signs) and the once-encoded path as
 * CURLOPT_REQUEST_TARGET (what it sends; curl signs the URL's path, not the target). From 8.14
 * curl encodes the path itself, and the plain URL is used. The unit test checks the signature
 * against an independent SigV4 computation validated on AWS's published test vector. */
#include "core/common.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "core/json.h"
#include "core/redact.h"
#include "llm/llm_int.h"

#define WHO "bedrock"
#define PROFILE_FILE_MAX (1u << 20)

/* ---- credentials ------------------------------------------------------------------------ */

void fs_aws_creds_release(struct fs_aws_creds *c)
{
    fs_llm_secret_free(c->secret);
    fs_llm_secret_free(c->token);
    memset(c, 0, sizeof(*c));
}

struct profile {
    bool found;
    char key_id[128];
    char *secret, *token;
    char region[64];
    char unsupported[64]; /* the first key that needs what forestall does not do */
};

static void profile_release(struct profile *p)
{
    fs_llm_secret_free(p->secret);
    fs_llm_secret_free(p->token);
    memset(p, 0, sizeof(*p));
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* One section of an INI file (section or alt, alt may be NULL) into p, keys not yet set. A
 * missing file is not an error. */
static int read_ini(const char *path, const char *section, const char *alt, struct profile *p)
{
    struct fs_buf b = FS_BUF_INIT(0);
    struct fs_err e;
    int rc = fs_read_file(path, PROFILE_FILE_MAX, &b, &e);
    if (rc < 0) { /* a missing or unreadable file has nothing to say */
        fs_buf_release(&b);
        return rc == -FS_E_NOMEM ? rc : 0;
    }
    bool in = false;
    char *save = NULL;
    for (char *line = strtok_r(b.data ? b.data : (char *)"", "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char *l = trim(line);
        if (*l == '#' || *l == ';' || !*l)
            continue;
        if (*l == '[') {
            char *end = strchr(l, ']');
            if (end)
                *end = '\0';
            char *name = trim(l + 1);
            in = !strcmp(name, section) || (alt && !strcmp(name, alt));
            p->found |= in;
            continue;
        }
        char *eq = strchr(l, '=');
        if (!in || !eq)
            continue;
        *eq = '\0';
        char *k = trim(l), *v = trim(eq + 1);
        if (!strcasecmp(k, "aws_access_key_id") && !p->key_id[0])
            snprintf(p->key_id, sizeof(p->key_id), "%s", v);
        else if (!strcasecmp(k, "aws_secret_access_key") && !p->secret)
            p->secret = fs_strdup(v);
        else if (!strcasecmp(k, "aws_session_token") && !p->token)
            p->token = fs_strdup(v);
        else if (!strcasecmp(k, "region") && !p->region[0])
            snprintf(p->region, sizeof(p->region), "%s", v);
        else if (!p->unsupported[0] &&
                 (!strcasecmp(k, "role_arn") || !strcasecmp(k, "credential_process") ||
                  !strcasecmp(k, "sso_session") || !strcasecmp(k, "sso_start_url") ||
                  !strcasecmp(k, "web_identity_token_file") || !strcasecmp(k, "source_profile")))
            snprintf(p->unsupported, sizeof(p->unsupported), "%s", k);
    }
    explicit_bzero(b.data, b.len);
    fs_buf_release(&b);
    return 0;
}

static void aws_path(const char *env, const char *file, char *out, size_t size)
{
    const char *v = getenv(env), *home = getenv("HOME");
    if (v && *v)
        snprintf(out, size, "%s", v);
    else
        snprintf(out, size, "%s/.aws/%s", home && *home ? home : "", file);
}

/* The profile name (explicit, else AWS_PROFILE, else default) read from both files. */
static int read_profile(const char *explicit_name, struct profile *p, char *name, size_t nsize,
                        char *files, size_t fsize)
{
    const char *env = getenv("AWS_PROFILE");
    snprintf(name, nsize, "%s",
             explicit_name && *explicit_name ? explicit_name : (env && *env ? env : "default"));
    char cred[512], conf[512], sect[300];
    aws_path("AWS_SHARED_CREDENTIALS_FILE", "credentials", cred, sizeof(cred));
    aws_path("AWS_CONFIG_FILE", "config", conf, sizeof(conf));
    snprintf(files, fsize, "%s and %s", cred, conf);
    snprintf(sect, sizeof(sect), "profile %s", name);
    int rc = read_ini(cred, name, NULL, p);
    if (rc == 0)
        rc = read_ini(conf, sect, !strcmp(name, "default") ? "default" : NULL, p);
    return rc;
}

static bool key_id_ok(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s))
            return false;
    return true;
}

int fs_aws_creds_load(const char *profile, struct fs_aws_creds *out, struct fs_err *err)
{
    memset(out, 0, sizeof(*out));
    struct profile p = {0};
    char name[256], files[1100];
    int rc = read_profile(profile, &p, name, sizeof(name), files, sizeof(files));
    if (rc < 0) {
        profile_release(&p);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    snprintf(out->region, sizeof(out->region), "%s", p.region);
    const char *ek = getenv("AWS_ACCESS_KEY_ID"), *es = getenv("AWS_SECRET_ACCESS_KEY");
    const char *et = getenv("AWS_SESSION_TOKEN");
    bool explicit_profile = profile && *profile;
    if (!explicit_profile && ek && *ek) {
        if (!es || !*es) {
            profile_release(&p);
            return fs_err_set(err, FS_E_CONFIG, NULL,
                              WHO ": AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
        }
        snprintf(out->key_id, sizeof(out->key_id), "%s", ek);
        out->secret = fs_strdup(es);
        out->token = et && *et ? fs_strdup(et) : NULL;
        snprintf(out->source, sizeof(out->source), "the AWS_ACCESS_KEY_ID environment variables");
    } else if (p.key_id[0] && p.secret && *p.secret) {
        snprintf(out->key_id, sizeof(out->key_id), "%s", p.key_id);
        out->secret = p.secret;
        out->token = p.token && *p.token ? p.token : NULL;
        if (out->token != p.token)
            free(p.token);
        p.secret = p.token = NULL;
        snprintf(out->source, sizeof(out->source), "profile %s (%s)", name, files);
    } else {
        if (p.unsupported[0])
            rc = fs_err_set(err, FS_E_CONFIG, "llm.aws_profile",
                            WHO ": AWS profile %s uses %s, which forestall does not support: give "
                                "it static keys (aws_access_key_id, aws_secret_access_key, "
                                "aws_session_token), set AWS_ACCESS_KEY_ID and "
                                "AWS_SECRET_ACCESS_KEY, or use a Bedrock API key (llm.api_key)",
                            name, p.unsupported);
        else if (explicit_profile && !p.found)
            rc = fs_err_set(err, FS_E_CONFIG, "llm.aws_profile",
                            WHO ": AWS profile %s is not in %s", name, files);
        else
            rc = fs_err_set(err, FS_E_CONFIG, "llm.aws_profile",
                            WHO ": no AWS credentials: set AWS_ACCESS_KEY_ID and "
                                "AWS_SECRET_ACCESS_KEY, give profile %s static keys in %s "
                                "(llm.aws_profile or AWS_PROFILE names another), or use a Bedrock "
                                "API key (llm.api_key or AWS_BEARER_TOKEN_BEDROCK)",
                            name, files);
        profile_release(&p);
        return rc;
    }
    profile_release(&p);
    if (!out->secret) {
        fs_aws_creds_release(out);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    if (!key_id_ok(out->key_id) || strpbrk(out->secret, "\r\n") ||
        (out->token && strpbrk(out->token, "\r\n"))) {
        char src[300];
        snprintf(src, sizeof(src), "%s", out->source);
        fs_aws_creds_release(out);
        return fs_err_set(err, FS_E_CONFIG, NULL,
                          WHO ": the AWS credentials from %s are malformed (the key id must be "
                              "letters and digits)",
                          src);
    }
    fs_redact_register(out->secret, "aws_secret_key");
    if (out->token)
        fs_redact_register(out->token, "aws_session_token");
    return 0;
}

/* ---- paths --------------------------------------------------------------------------------- */

static bool unreserved(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static int encode(struct fs_buf *b, const char *s, size_t n, bool keep_slash)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        rc = unreserved(c) || (keep_slash && c == '/') ? fs_buf_putc(b, (char)c)
                                                       : fs_buf_printf(b, "%%%02X", c);
    }
    return rc;
}

int fs_llm_bedrock_urls(const char *base, const char *model, bool curl_encodes, char **url,
                        char **sign_url, char **target)
{
    *url = *sign_url = *target = NULL;
    const char *auth = strstr(base, "://");
    const char *slash = auth ? strchr(auth + 3, '/') : NULL;
    size_t olen = slash ? (size_t)(slash - base) : strlen(base);
    struct fs_buf path = FS_BUF_INIT(0), u = FS_BUF_INIT(0), s = FS_BUF_INIT(0);
    int rc = fs_buf_puts(&path, slash ? slash : "");
    while (rc == 0 && path.len && path.data[path.len - 1] == '/')
        path.data[--path.len] = '\0';
    if (rc == 0)
        rc = fs_buf_puts(&path, "/model/");
    if (rc == 0)
        rc = encode(&path, model, strlen(model), false);
    if (rc == 0)
        rc = fs_buf_puts(&path, "/converse");
    if (rc == 0)
        rc = fs_buf_append(&u, base, olen);
    if (rc == 0)
        rc = fs_buf_puts(&u, fs_buf_str(&path));
    if (rc == 0 && !curl_encodes) {
        rc = fs_buf_append(&s, base, olen);
        if (rc == 0)
            rc = encode(&s, path.data, path.len, true);
    }
    if (rc == 0) {
        *url = fs_buf_detach(&u, NULL);
        if (!curl_encodes) {
            *sign_url = fs_buf_detach(&s, NULL);
            *target = fs_buf_detach(&path, NULL);
        }
    }
    fs_buf_release(&path);
    fs_buf_release(&u);
    fs_buf_release(&s);
    return rc < 0 ? -FS_E_NOMEM : 0;
}

const char *fs_llm_bedrock_test_date(const char *base_url)
{
    const char *d = getenv("FORESTALL_TEST_AWS_DATE");
    if (!d || !base_url || strlen(d) != 16 || !fs_llm_url_is_loopback(base_url))
        return NULL;
    for (int i = 0; i < 16; i++) {
        bool ok = i == 8 ? d[i] == 'T' : i == 15 ? d[i] == 'Z' : isdigit((unsigned char)d[i]);
        if (!ok)
            return NULL;
    }
    return d;
}

/* ---- the client ---------------------------------------------------------------------------- */

static bool region_ok(const char *r)
{
    if (!*r || strlen(r) > 63)
        return false;
    for (; *r; r++)
        if (!islower((unsigned char)*r) && !isdigit((unsigned char)*r) && *r != '-')
            return false;
    return true;
}

static int init(struct fs_llm *m, struct fs_err *err)
{
    const char *bearer =
        m->cfg.api_key && *m->cfg.api_key ? m->cfg.api_key : getenv("AWS_BEARER_TOKEN_BEDROCK");
    char region[64] = "";
    const char *r = m->cfg.region;
    if (!r || !*r)
        r = getenv("AWS_REGION");
    if (!r || !*r)
        r = getenv("AWS_DEFAULT_REGION");
    if (r && *r)
        snprintf(region, sizeof(region), "%s", r);
    if (bearer && *bearer) {
        m->bearer = fs_strdup(bearer);
        if (!m->bearer)
            return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        fs_redact_register(bearer, "llm_api_key");
        if (!region[0]) {
            struct profile p = {0};
            char name[256], files[1100];
            if (read_profile(m->cfg.aws_profile, &p, name, sizeof(name), files, sizeof(files)) == 0)
                snprintf(region, sizeof(region), "%s", p.region);
            profile_release(&p);
        }
    } else {
        struct fs_aws_creds c;
        int rc = fs_aws_creds_load(m->cfg.aws_profile, &c, err);
        if (rc < 0)
            return rc;
        if (!region[0])
            snprintf(region, sizeof(region), "%s", c.region);
        fs_aws_creds_release(&c);
    }
    bool needed = !m->bearer || !m->cfg.base_url || strstr(m->cfg.base_url, "{region}");
    if (!region[0] && needed)
        return fs_err_set(err, FS_E_CONFIG, "llm.region",
                          WHO ": no region: set llm.region, AWS_REGION or AWS_DEFAULT_REGION, or "
                              "region in the AWS profile");
    if (region[0] && !region_ok(region))
        return fs_err_set(err, FS_E_CONFIG, "llm.region", WHO ": \"%s\" is not a region name",
                          region);
    if (region[0] && !(m->region = fs_strdup(region)))
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    return 0;
}

static int prepare(const struct fs_llm *m, struct fs_llm_http *h, struct fs_err *err)
{
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    bool curl_encodes = v && v->version_num >= 0x080e00;
    char *sign_url = NULL;
    if (fs_llm_bedrock_urls(m->base_url, m->cfg.model, curl_encodes || m->bearer, &h->url,
                            &sign_url, &h->target) < 0)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    if (m->bearer)
        return fs_llm_http_bearer(h, m->bearer) < 0 ? fs_err_set(err, FS_E_NOMEM, NULL, NULL) : 0;
    if (sign_url) { /* curl signs the URL's path; the target is what it sends */
        free(h->url);
        h->url = sign_url;
    }
    struct fs_aws_creds c;
    struct fs_err ce;
    int rc = fs_aws_creds_load(m->cfg.aws_profile, &c, &ce);
    if (rc == -FS_E_NOMEM)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    if (rc < 0)
        return fs_err_set(err, FS_E_UNAUTHORIZED, NULL, "%s", ce.msg);
    snprintf(h->sigv4, sizeof(h->sigv4), "aws:amz:%s:bedrock", m->region);
    h->aws_key_id = fs_strdup(c.key_id);
    h->aws_secret = c.secret;
    c.secret = NULL;
    const char *date = fs_llm_bedrock_test_date(m->base_url);
    rc = h->aws_key_id ? 0 : -FS_E_NOMEM;
    if (rc == 0 && c.token)
        rc = fs_llm_http_header(h, "x-amz-security-token", c.token);
    if (rc == 0 && date) { /* tests only (loopback endpoint): signed with this date */
        rc = fs_llm_http_header(h, "X-Amz-Date", date);
        h->presign = true;
    }
    fs_aws_creds_release(&c);
    return rc < 0 ? fs_err_set(err, FS_E_NOMEM, NULL, NULL) : 0;
}

/* ---- the Converse body ------------------------------------------------------------------------
 */

static json_t *render_block(const json_t *tools, const json_t *b)
{
    const char *type = json_string_value(json_object_get(b, "type"));
    if (!strcmp(type, "text"))
        return json_pack("{s:O}", "text", json_object_get(b, "text"));
    if (!strcmp(type, "tool_use")) {
        char name[72];
        fs_llm_tool_name_map(tools, json_string_value(json_object_get(b, "name")), name,
                             sizeof(name));
        json_t *in = json_object_get(b, "input");
        json_t *input = in ? json_incref(in) : json_object();
        return input ? json_pack("{s:{s:O s:s s:o}}", "toolUse", "toolUseId",
                                 json_object_get(b, "id"), "name", name, "input", input)
                     : NULL;
    }
    char *text = fs_llm_result_text(json_object_get(b, "content"));
    json_t *r = text ? json_pack("{s:{s:O s:[{s:s}] s:s}}", "toolResult", "toolUseId",
                                 json_object_get(b, "tool_use_id"), "content", "text",
                                 *text ? text : "(no output)", "status",
                                 json_is_true(json_object_get(b, "is_error")) ? "error" : "success")
                     : NULL;
    free(text);
    return r;
}

/* a tool definition as a Converse tool: {"toolSpec": {name, inputSchema: {json}, description}} */
static json_t *tool_spec(json_t *spec)
{
    return json_pack("{s:o}", "toolSpec", spec);
}

int fs_llm_bedrock_render(const struct fs_llm_config *cfg, const struct fs_llm_request *rq,
                          json_t **out, struct fs_err *err)
{
    json_t *msgs = fs_llm_block_messages(rq->messages, rq->tools, render_block);
    json_t *inf = json_pack("{s:I}", "maxTokens", fs_llm_max_tokens(cfg));
    json_t *body = json_object();
    bool ok = msgs && inf && body;
    if (ok)
        ok = json_object_set(body, "messages", msgs) == 0;
    if (ok && rq->system && *rq->system)
        ok = json_object_set_new(body, "system", json_pack("[{s:s}]", "text", rq->system)) == 0;
    if (ok && cfg->temperature >= 0)
        ok = json_object_set_new(inf, "temperature", json_real(cfg->temperature)) == 0;
    if (ok)
        ok = json_object_set(body, "inferenceConfig", inf) == 0;
    if (ok && json_array_size(rq->tools) > 0) {
        json_t *tools = fs_llm_tool_defs(rq->tools, "inputSchema", "json", tool_spec);
        ok = tools && json_object_set_new(
                          body, "toolConfig",
                          json_pack("{s:o s:{s:{}}}", "tools", tools, "toolChoice", "auto")) == 0;
    }
    json_decref(msgs);
    json_decref(inf);
    return fs_llm_render_done(ok, body, out, err);
}

/* stopReason */
static const struct fs_llm_stop stops[] = {
    {"end_turn", "end_turn"},
    {"stop_sequence", "end_turn"},
    {"tool_use", "tool_use"},
    {"max_tokens", "max_tokens"},
    {"model_context_window_exceeded", "max_tokens"},
    {"guardrail_intervened", "refusal"},
    {"content_filtered", "refusal"},
};

int fs_llm_bedrock_parse(const struct fs_llm_parse_ctx *px, const char *body, size_t len,
                         struct fs_llm_response *rs, struct fs_err *err)
{
    json_t *doc;
    int rc = fs_llm_parse_body(WHO, body, len, &doc, err);
    if (rc < 0)
        return rc;
    json_t *content =
        json_object_get(json_object_get(json_object_get(doc, "output"), "message"), "content");
    if (!json_is_array(content)) {
        json_decref(doc);
        return fs_err_set(err, FS_E_PROTOCOL, "output.message.content",
                          WHO ": output.message.content: expected an array of blocks");
    }
    json_t *out = json_array();
    rc = out ? 0 : -FS_E_NOMEM;
    size_t i;
    json_t *b;
    json_array_foreach(content, i, b)
    {
        if (rc < 0)
            break;
        json_t *tu = json_object_get(b, "toolUse");
        if (json_is_string(json_object_get(b, "text")))
            rc = fs_llm_add_text(out, json_string_value(json_object_get(b, "text")));
        else if (json_is_object(tu))
            rc = fs_llm_add_tool_use(px, out, json_string_value(json_object_get(tu, "toolUseId")),
                                     json_string_value(json_object_get(tu, "name")),
                                     json_object_get(tu, "input"));
        /* reasoningContent, guardContent, ...: skipped */
    }
    const char *stop = json_string_value(json_object_get(doc, "stopReason"));
    rc = fs_llm_take_content(rs, out, rc, fs_llm_stop_map(stops, FS_ARRAY_LEN(stops), stop), err);
    if (rc == 0) {
        json_t *u = json_object_get(doc, "usage");
        rs->input_tokens = fs_llm_tokens(u, "inputTokens") +
                           fs_llm_tokens(u, "cacheReadInputTokens") +
                           fs_llm_tokens(u, "cacheWriteInputTokens");
        rs->output_tokens = fs_llm_tokens(u, "outputTokens");
        fs_llm_set_model(rs, NULL, px->model); /* Converse does not say */
    }
    json_decref(doc);
    return rc;
}

const struct fs_llm_ops fs_llm_bedrock_ops = {
    .init = init,
    .render = fs_llm_bedrock_render,
    .prepare = prepare,
    .parse = fs_llm_bedrock_parse,
};
