/* manifest: `forestall runner manifest` — the Kubernetes batch/v1 Job that runs the runner's
 * agent for one incident in a cluster (seed 000's runner container): the same Claude Code argv,
 * the gateway over HTTP as its only MCP server, the API key and the gateway token read from a
 * Secret by reference (never their values), no retries (backoffLimit 0), a deadline, a TTL,
 * its own service account, and a non-root, read-only, capability-free container. Pure: builds
 * JSON from the configuration and the incident; creates nothing. */
#include "core/common.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "runner/runner.h"

#define RUN_AS 65532 /* the "nonroot" user of distroless images */

static json_t *secret_env(const char *name, const char *secret, const char *key)
{
    return json_pack("{s:s,s:{s:{s:s,s:s}}}", "name", name, "valueFrom", "secretKeyRef", "name",
                     secret, "key", key);
}

static json_t *value_env(const char *name, const char *value)
{
    return json_pack("{s:s,s:s}", "name", name, "value", value);
}

json_t *fs_runner_manifest(const struct fs_config *cfg, const json_t *scope, int64_t incident_id,
                           const json_t *allowed)
{
    char inc[32], name[64], url[600];
    snprintf(inc, sizeof(inc), "inc-%" PRId64, incident_id);
    /* one Job per incident: a second create of the same name is refused (AlreadyExists), so
     * the agent does not run twice for it by accident */
    snprintf(name, sizeof(name), "forestall-runner-inc-%" PRId64, incident_id);
    if (cfg->runner.gateway_url)
        fs_strlcpy(url, cfg->runner.gateway_url, sizeof(url));
    else
        snprintf(url, sizeof(url), "http://forestall.%s.svc:9797/mcp", cfg->runner.namespace);
    int max_turns = (int)cfg->runner.max_turns;
    char *prompt = fs_runner_prompt(cfg, scope, max_turns, cfg->runner.wall_time_ms);
    json_t *mcp = fs_runner_mcp_config(cfg, url, NULL, incident_id);
    char *mcptext = mcp ? json_dumps(mcp, JSON_COMPACT) : NULL;
    json_decref(mcp);
    char **argv = NULL;
    struct fs_err e;
    json_t *job = NULL;
    if (!prompt || !mcptext ||
        fs_runner_argv(cfg, prompt, mcptext, allowed, max_turns, &argv, &e) < 0)
        goto out;
    json_t *args = json_array();
    for (size_t i = 1; argv[i] && args; i++)
        json_array_append_new(args, json_string(argv[i]));
    json_t *env = json_array();
    json_array_append_new(env, value_env("HOME", "/home/runner"));
    json_array_append_new(env, value_env("TMPDIR", "/tmp"));
    const char *base = cfg->runner.base_url                       ? cfg->runner.base_url
                       : fs_streq(cfg->llm.provider, "anthropic") ? cfg->llm.base_url
                                                                  : NULL;
    if (base)
        json_array_append_new(env, value_env("ANTHROPIC_BASE_URL", base));
    json_array_append_new(env,
                          secret_env("ANTHROPIC_API_KEY", cfg->runner.secret, "anthropic-api-key"));
    json_array_append_new(env,
                          secret_env(FS_RUNNER_TOKEN_ENV, cfg->runner.secret, "gateway-token"));
    json_array_append_new(env, value_env("CLAUDE_CODE_MAX_RETRIES", "0"));
    json_array_append_new(env, value_env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"));
    json_array_append_new(env, value_env("DISABLE_TELEMETRY", "1"));
    json_array_append_new(env, value_env("DISABLE_ERROR_REPORTING", "1"));
    json_array_append_new(env, value_env("DISABLE_AUTOUPDATER", "1"));
    json_t *labels =
        json_pack("{s:s,s:s,s:s}", "app.kubernetes.io/name", "forestall-runner",
                  "app.kubernetes.io/managed-by", "forestall", "forestall.dev/incident", inc);
    json_t *container = json_pack(
        "{s:s,s:s,s:s,s:[s],s:o,s:s,s:o,s:{s:{s:s,s:s},s:{s:s,s:s}},"
        "s:{s:b,s:b,s:b,s:i,s:{s:[s]}},s:[{s:s,s:s},{s:s,s:s},{s:s,s:s}]}",
        "name", "claude-code", "image", cfg->runner.image, "imagePullPolicy", "IfNotPresent",
        "command", cfg->runner.command, "args", args, "workingDir", "/work", "env", env,
        "resources", "requests", "cpu", "250m", "memory", "512Mi", "limits", "cpu", "1", "memory",
        "1Gi", "securityContext", "allowPrivilegeEscalation", 0, "readOnlyRootFilesystem", 1,
        "runAsNonRoot", 1, "runAsUser", RUN_AS, "capabilities", "drop", "ALL", "volumeMounts",
        "name", "home", "mountPath", "/home/runner", "name", "tmp", "mountPath", "/tmp", "name",
        "work", "mountPath", "/work");
    json_t *pod =
        json_pack("{s:s,s:b,s:s,s:{s:b,s:i,s:i,s:i,s:{s:s}},s:[o],s:[{s:s,s:{s:s}},{s:s,s:{s:s}},"
                  "{s:s,s:{s:s}}]}",
                  "serviceAccountName", cfg->runner.service_account,
                  /* the agent reaches nothing but the gateway: it needs no Kubernetes API token */
                  "automountServiceAccountToken", 0, "restartPolicy", "Never", "securityContext",
                  "runAsNonRoot", 1, "runAsUser", RUN_AS, "runAsGroup", RUN_AS, "fsGroup", RUN_AS,
                  "seccompProfile", "type", "RuntimeDefault", "containers", container, "volumes",
                  "name", "home", "emptyDir", "sizeLimit", "256Mi", "name", "tmp", "emptyDir",
                  "sizeLimit", "256Mi", "name", "work", "emptyDir", "sizeLimit", "64Mi");
    job = json_pack("{s:s,s:s,s:{s:s,s:s,s:O,s:{s:s}},s:{s:i,s:I,s:I,s:{s:{s:o},s:o}}}",
                    "apiVersion", "batch/v1", "kind", "Job", "metadata", "name", name, "namespace",
                    cfg->runner.namespace, "labels", labels, "annotations", "forestall.dev/gateway",
                    url, "spec", "backoffLimit", 0, "activeDeadlineSeconds",
                    (json_int_t)(cfg->runner.active_deadline_ms / 1000), "ttlSecondsAfterFinished",
                    (json_int_t)(cfg->runner.ttl_after_finished_ms / 1000), "template", "metadata",
                    "labels", json_incref(labels), "spec", pod);
    json_decref(labels);
out:
    fs_runner_strv_free(argv);
    free(prompt);
    free(mcptext);
    return job;
}
