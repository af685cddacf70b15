/* Unit tests for report/postmortem.c: a store populated the way the engine fills it (incident,
 * episode, investigation with forecast and follow-ups, observations, a proposal with its gate
 * decision and an approval, an execution with its step log, the handling state moves), then the
 * post-mortem built from it (every section with the right facts, the JSON keys, a planted
 * secret redacted), and fs_incident_conclude (stored, history written once per entity even when
 * concluded twice, files written). Each test gets its own database. */
#include "unit.h"

#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/redact.h"
#include "core/time.h"
#include "incidents/state.h"
#include "report/postmortem.h"
#include "store/store.h"

#define SECRET "pm-secret-Zq8xW4vK2mT9"
#define T0 1795255200000LL /* 2026-11-21T10:00:00Z */

static char dir[] = "/tmp/fs-postmortem-XXXXXX";
static char path[200];
static int dbno;

static int setup_group(void **state)
{
    if (!mkdtemp(dir))
        return -1;
    return fs_redact_register(SECRET, "test_secret");
}

static int teardown_group(void **state)
{
    fs_redact_clear_registered();
    return 0;
}

static int setup(void **state)
{
    snprintf(path, sizeof(path), "%s/t%d.db", dir, ++dbno);
    return 0;
}

static struct fs_store *open_store(void)
{
    struct fs_store_options o = {.driver = "sqlite", .path = path, .busy_timeout_ms = 1000};
    struct fs_store *s = NULL;
    struct fs_err err;
    if (fs_store_open(&o, &s, &err) < 0)
        fail_msg("open: %s", err.msg);
    return s;
}

static void begin(struct fs_store *s)
{
    struct fs_err err;
    if (fs_store_begin(s, &err) < 0)
        fail_msg("begin: %s", err.msg);
}

static void commit(struct fs_store *s)
{
    struct fs_err err;
    if (fs_store_commit(s, &err) < 0)
        fail_msg("commit: %s", err.msg);
}

static int64_t add_incident(struct fs_store *s)
{
    struct fs_err err;
    struct fs_incident i = {.group_key = "{alertname=DiskSpaceWarning,instance=web-1:9100}",
                            .title = "DiskSpaceWarning on web-1:9100",
                            .labels = "{\"alertname\":\"DiskSpaceWarning\",\"env\":\"production\","
                                      "\"instance\":\"web-1:9100\",\"service\":\"monitoring\"}",
                            .open_episodes = 1,
                            .created_at = T0,
                            .updated_at = T0,
                            .resolved_at = FS_TIME_UNSET};
    fs_strlcpy(i.status, "open", sizeof(i.status));
    fs_strlcpy(i.severity, "warning", sizeof(i.severity));
    assert_int_equal(fs_store_incident_insert(s, &i, &err), 0);
    struct fs_episode e = {.status = FS_EP_FIRING,
                           .starts_at = T0 - 60000,
                           .starts_at_max = T0 - 60000,
                           .ends_at = FS_TIME_UNSET,
                           .expires_at = FS_TIME_UNSET,
                           .alertname = "DiskSpaceWarning",
                           .labels = i.labels,
                           .annotations = "{\"summary\":\"Disk 84% full on web-1\"}",
                           .extra = "{}",
                           .incident_id = i.id,
                           .created_at = T0,
                           .updated_at = T0};
    fs_strlcpy(e.fingerprint, "0123456789abcdef", sizeof(e.fingerprint));
    fs_strlcpy(e.source, "alertmanager", sizeof(e.source));
    fs_strlcpy(e.severity, "warning", sizeof(e.severity));
    assert_int_equal(fs_store_episode_insert(s, &e, &err), 0);
    assert_int_equal(fs_store_incident_event(s, i.id, T0, "incident.created", 0,
                                             "{\"title\":\"DiskSpaceWarning on web-1:9100\"}",
                                             &err),
                     0);
    assert_int_equal(fs_store_incident_event(s, i.id, T0, "episode.firing", e.id,
                                             "{\"alertname\":\"DiskSpaceWarning\"}", &err),
                     0);
    return i.id;
}

static void move(struct fs_store *s, int64_t id, enum fs_incident_state to, int64_t at)
{
    struct fs_err err;
    if (fs_incident_transition(s, id, to, "forestall", NULL, at, &err) < 0)
        fail_msg("transition to %s: %s", fs_incident_state_name(to), err.msg);
}

/* The whole story of a journal that filled a disk: investigated, proposed, approved by alice,
 * executed, verified, resolved. Returns the incident id. */
static int64_t populate(struct fs_store *s)
{
    struct fs_err err;
    begin(s);
    int64_t inc = add_incident(s);
    move(s, inc, FS_ISTATE_INVESTIGATING, T0 + 1000);
    struct fs_investigation_row inv = {.incident_id = inc,
                                       .planner = "playbook",
                                       .playbook = "disk-filling",
                                       .status = "running",
                                       .started_at = T0 + 1000,
                                       .finished_at = FS_TIME_UNSET};
    int64_t inv_id;
    assert_int_equal(fs_store_investigation_insert(s, &inv, &inv_id, &err), 0);
    struct fs_observation_row o1 = {.incident_id = inc,
                                    .ts = T0 + 2000,
                                    .tool = "host.fs_usage",
                                    .input = "{\"mount\":\"/\"}",
                                    .output = "/dev/xvda1 ext4 50G 42G 8.0G 84% /\n",
                                    .duration_ms = 12,
                                    .actor = "planner:playbook",
                                    .investigation_id = inv_id};
    struct fs_observation_row o2 = {.incident_id = inc,
                                    .ts = T0 + 3000,
                                    .tool = "host.dir_sizes",
                                    .input = "{\"path\":\"/var/log\"}",
                                    .output =
                                        "9.8G /var/log/journal\n1.1G /var/log/syslog\n"
                                        "leaked " SECRET " here\nl4\nl5\nl6\nl7\nl8\nl9\nl10\n",
                                    .duration_ms = 40,
                                    .actor = "planner:playbook",
                                    .investigation_id = inv_id};
    int64_t ob1, ob2;
    assert_int_equal(fs_store_observation_insert(s, &o1, &ob1, &err), 0);
    assert_int_equal(fs_store_observation_insert(s, &o2, &ob2, &err), 0);
    inv.status = "proposed";
    inv.finished_at = T0 + 4000;
    inv.steps = 2;
    inv.root_cause = "journal_bloat";
    inv.summary = "The systemd journal holds 9.8 GiB of the 42 GiB used on /.";
    inv.result = "{\"forecast\":{\"summary\":\"95% in ~5d 2h (at +1.4 GiB/day, r²=0.98)\","
                 "\"seconds_to_threshold\":439200},"
                 "\"followups\":[\"Set SystemMaxUse=2G in /etc/systemd/journald.conf\","
                 "\"Set SystemMaxUse=2G in /etc/systemd/journald.conf\"],"
                 "\"reasoning\":[\"/ is 84% full\",\"/var/log/journal is the largest directory\"]}";
    assert_int_equal(fs_store_investigation_finish(s, inv_id, &inv, &err), 0);
    move(s, inc, FS_ISTATE_PROPOSED, T0 + 4000);

    struct fs_proposal_row p = {
        .incident_id = inc,
        .created_at = T0 + 4000,
        .updated_at = T0 + 4000,
        .expires_at = T0 + 3600000,
        .proposer = "planner:playbook",
        .action = "journal_vacuum",
        .target_key = "host=web-1",
        .body = "{\"action\":\"journal_vacuum\",\"params\":{\"max_size\":\"1G\"},"
                "\"target\":{\"host\":\"web-1\"},\"rationale\":\"the journal is the largest "
                "consumer\"}",
        .gate = "{\"decision\":\"needs_approval\",\"rule\":11,\"rule_name\":\"score_threshold\","
                "\"risk\":{\"score\":45,\"level\":\"MEDIUM\",\"contributions\":["
                "{\"factor\":\"baseline_risk\",\"points\":10,\"detail\":\"x\"},"
                "{\"factor\":\"production\",\"points\":15,\"detail\":\"y\"},"
                "{\"factor\":\"dependents\",\"points\":20,\"detail\":\"z\"},"
                "{\"factor\":\"critical\",\"points\":0,\"detail\":\"w\"}]},"
                "\"reasons\":[\"risk score 45 is above the threshold 40\"]}",
        .risk_score = 45,
        .decided_at = FS_TIME_UNSET};
    fs_strlcpy(p.status, "pending", sizeof(p.status));
    fs_strlcpy(p.decision, "needs_approval", sizeof(p.decision));
    fs_strlcpy(p.risk_level, "MEDIUM", sizeof(p.risk_level));
    memset(p.action_hash, 'a', 64);
    fs_strlcpy(p.catalog_version, "catalog-1", sizeof(p.catalog_version));
    fs_strlcpy(p.policy_version, "policy-1", sizeof(p.policy_version));
    assert_int_equal(fs_store_proposal_insert(s, &p, &err), 0);
    move(s, inc, FS_ISTATE_AWAITING_APPROVAL, T0 + 4000);
    struct fs_approval_row a = {.proposal_id = p.id,
                                .created_at = T0 + 60000,
                                .expires_at = T0 + 3600000,
                                .consumed_at = FS_TIME_UNSET,
                                .actor = "alice",
                                .reason = "looks right"};
    fs_strlcpy(a.kind, "approve", sizeof(a.kind));
    fs_strlcpy(a.role, "approver", sizeof(a.role));
    memset(a.action_hash, 'a', 64);
    assert_int_equal(fs_store_approval_insert(s, &a, &err), 0);
    assert_int_equal(fs_store_proposal_set_status(s, p.id, "approved", "alice", T0 + 60000, NULL,
                                                  T0 + 60000, &err),
                     0);
    move(s, inc, FS_ISTATE_EXECUTING, T0 + 61000);
    struct fs_execution_row x = {.proposal_id = p.id,
                                 .action = "journal_vacuum",
                                 .target_key = "host=web-1",
                                 .started_at = T0 + 61000,
                                 .finished_at = FS_TIME_UNSET,
                                 .outcome = "running",
                                 .incident_id = inc,
                                 .target_kind = "ssh",
                                 .spec = "{\"argv\":[\"journalctl\",\"--vacuum-size=1G\"]}"};
    int64_t xid;
    assert_int_equal(fs_store_execution_insert(s, &x, &xid, &err), 0);
    assert_int_equal(fs_store_exec_step_insert(s, xid, T0 + 61000, "intent", "{}", &err), 0);
    assert_int_equal(fs_store_exec_step_insert(s, xid, T0 + 61100, "started", "{}", &err), 0);
    assert_int_equal(fs_store_exec_step_insert(s, xid, T0 + 65000, "result",
                                               "{\"exit_code\":0,\"output\":\"freed 8.7G\"}", &err),
                     0);
    move(s, inc, FS_ISTATE_VERIFYING, T0 + 65000);
    assert_int_equal(fs_store_exec_step_insert(s, xid, T0 + 95000, "verified",
                                               "{\"message\":\"/ at 66%, below 80%\"}", &err),
                     0);
    assert_int_equal(
        fs_store_execution_finish(s, xid, "succeeded", T0 + 95000, "{\"exit_code\":0}", &err), 0);
    move(s, inc, FS_ISTATE_RESOLVED, T0 + 95000);
    commit(s);
    return inc;
}

static void has(const char *text, const char *needle)
{
    if (!strstr(text, needle))
        fail_msg("missing \"%s\" in:\n%s", needle, text);
}

static void test_build_sections(void **state)
{
    struct fs_store *s = open_store();
    int64_t inc = populate(s);
    json_t *data;
    char *md;
    struct fs_err err;
    if (fs_postmortem_build(s, inc, T0 + 100000, &data, &md, &err) < 0)
        fail_msg("build: %s", err.msg);

    has(md, "# Post-mortem: inc-1 — DiskSpaceWarning on web-1:9100\n");
    static const char *const sections[] = {
        "\n## Summary\n",    "\n## Impact\n",  "\n## Timeline\n",     "\n## Evidence\n",
        "\n## Root cause\n", "\n## Actions\n", "\n## Verification\n", "\n## Follow-ups\n"};
    const char *prev = md;
    for (size_t i = 0; i < FS_ARRAY_LEN(sections); i++) {
        const char *at = strstr(md, sections[i]);
        if (!at || at < prev)
            fail_msg("section %s missing or out of order", sections[i]);
        prev = at;
    }
    /* summary and impact */
    has(md, "DiskSpaceWarning fired on host web-1 (service monitoring, env production)");
    has(md, "found the root cause: journal_bloat.");
    has(md, "Handling ended as resolved after 1m 35s.");
    has(md, "**Time to exhaustion when acted:** 95% in ~5d 2h (at +1.4 GiB/day, r²=0.98).");
    has(md, "The alert said: \"Disk 84% full on web-1\".");
    /* timeline, in UTC */
    has(md, "| Time (UTC) | Event |");
    has(md, "| 2026-11-21 10:00:00 | Incident inc-1 opened: DiskSpaceWarning on web-1:9100 |");
    has(md, "| 2026-11-21 10:01:00 | Approved prop-1 by alice (approver) |");
    has(md, "| 2026-11-21 10:01:35 | Handling: verifying → resolved |");
    has(md, "exec-1 journal_vacuum: result (exit code 0)");
    /* evidence: inputs, first lines, secret redacted, the cut noted */
    has(md, "### obs-1 · host.fs_usage · 12 ms");
    has(md, "Input: `{\"mount\":\"/\"}`");
    has(md, "9.8G /var/log/journal");
    has(md, "[... 2 more lines]");
    assert_null(strstr(md, SECRET));
    has(md, "[REDACTED");
    /* root cause with its reasoning */
    has(md, "`journal_bloat` — The systemd journal holds 9.8 GiB");
    has(md, "- /var/log/journal is the largest directory\n");
    /* the action, the gate's decision and who approved it */
    has(md, "### prop-1 · `journal_vacuum` on host=web-1");
    has(md, "- Parameters: `{\"max_size\":\"1G\"}`");
    has(md, "- Gate decision: **needs_approval** (needs a person's approval) — risk score 45/100, "
            "MEDIUM; rule 11 (score_threshold)");
    has(md, "  - Why: risk score 45 is above the threshold 40");
    has(md, "- Score: baseline_risk +10, production +15, dependents +20\n");
    has(md, "- Approved by alice (role approver) at 2026-11-21 10:01:00 UTC: looks right");
    has(md, "- Execution exec-1: outcome **succeeded**, started 2026-11-21 10:01:01 UTC, finished "
            "2026-11-21 10:01:35 UTC, exit code 0; verified");
    /* verification and follow-ups (the duplicate listed once) */
    has(md, "**verified** — The verification probe of exec-1 (journal_vacuum) confirmed recovery "
            "at 2026-11-21 10:01:35 UTC: / at 66%, below 80%.");
    has(md, "- [ ] Set SystemMaxUse=2G in /etc/systemd/journald.conf\n");
    const char *fu = strstr(md, "Set SystemMaxUse");
    assert_null(strstr(fu + 1, "Set SystemMaxUse"));
    has(md, "Audit trail: 6 records about this incident, seq 1–6");

    /* the JSON form */
    static const char *const keys[] = {"version",      "generatedAt", "incident",       "outcome",
                                       "summary",      "impact",      "forecast",       "timeline",
                                       "evidence",     "rootCause",   "investigations", "actions",
                                       "verification", "followups",   "duration",       "audit"};
    for (size_t i = 0; i < FS_ARRAY_LEN(keys); i++)
        if (!json_object_get(data, keys[i]))
            fail_msg("data lacks %s", keys[i]);
    assert_string_equal(json_string_value(json_object_get(data, "outcome")), "resolved");
    json_t *incj = json_object_get(data, "incident");
    assert_string_equal(json_string_value(json_object_get(incj, "id")), "inc-1");
    assert_string_equal(json_string_value(json_object_get(incj, "host")), "web-1");
    assert_string_equal(json_string_value(json_object_get(incj, "service")), "monitoring");
    json_t *fc = json_object_get(data, "forecast");
    assert_int_equal(json_integer_value(json_object_get(fc, "secondsToThreshold")), 439200);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(data, "rootCause"), "label")),
        "journal_bloat");
    json_t *act = json_array_get(json_object_get(data, "actions"), 0);
    assert_string_equal(json_string_value(json_object_get(act, "decision")), "needs_approval");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(act, "risk"), "score")),
                     45);
    json_t *apr = json_array_get(json_object_get(act, "approvals"), 0);
    assert_string_equal(json_string_value(json_object_get(apr, "actor")), "alice");
    assert_string_equal(json_string_value(json_object_get(apr, "role")), "approver");
    json_t *ex = json_array_get(json_object_get(act, "executions"), 0);
    assert_int_equal(json_integer_value(json_object_get(ex, "exitCode")), 0);
    assert_true(json_is_true(json_object_get(ex, "verified")));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(data, "verification"), "result")),
        "verified");
    assert_int_equal(json_array_size(json_object_get(data, "followups")), 1);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(data, "duration"), "seconds")), 95);
    assert_int_equal(json_array_size(json_object_get(data, "evidence")), 2);
    json_t *audit = json_object_get(data, "audit");
    assert_int_equal(json_integer_value(json_object_get(audit, "records")), 6);
    char *text = json_dumps(data, JSON_COMPACT);
    assert_null(strstr(text, SECRET));
    free(text);
    /* timeline in order */
    json_t *tl = json_object_get(data, "timeline");
    for (size_t i = 1; i < json_array_size(tl); i++)
        assert_true(strcmp(json_string_value(json_object_get(json_array_get(tl, i - 1), "ts")),
                           json_string_value(json_object_get(json_array_get(tl, i), "ts"))) <= 0);
    json_decref(data);
    free(md);
    fs_store_close(s);
}

/* An incident nothing has happened to yet still gets a post-mortem that says so; an unknown
 * incident is not found. */
static void test_build_bare(void **state)
{
    struct fs_store *s = open_store();
    begin(s);
    int64_t inc = add_incident(s);
    commit(s);
    json_t *data;
    char *md;
    struct fs_err err;
    assert_int_equal(fs_postmortem_build(s, inc, T0 + 5000, &data, &md, &err), 0);
    has(md, "No investigation was recorded.");
    has(md, "Handling has not ended: the incident is new.");
    has(md, "**Time to exhaustion when acted:** no forecast was recorded.");
    has(md, "No tool calls or observations were recorded.");
    has(md, "No root cause was recorded.");
    has(md, "No action was proposed.");
    has(md, "**not_run** — Nothing has run for this incident yet.");
    has(md, "None were recorded.");
    has(md, "Audit trail: no record names this incident.");
    assert_true(json_is_null(json_object_get(data, "forecast")));
    assert_true(json_is_null(json_object_get(json_object_get(data, "duration"), "endedAt")));
    json_decref(data);
    free(md);
    assert_int_equal(fs_postmortem_build(s, 99, T0, &data, &md, &err), -FS_E_NOT_FOUND);
    assert_null(data);
    assert_null(md);
    fs_store_close(s);
}

static json_t *history_of(struct fs_store *s, const char *entity)
{
    json_t *h;
    struct fs_err err;
    if (fs_store_entity_history(s, entity, 10, &h, &err) < 0)
        fail_msg("history: %s", err.msg);
    return h;
}

static char *slurp(const char *file)
{
    struct fs_buf b = FS_BUF_INIT(0);
    FILE *f = fopen(file, "r");
    if (!f)
        fail_msg("cannot open %s", file);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        assert_int_equal(fs_buf_append(&b, chunk, n), 0);
    fclose(f);
    return fs_buf_detach(&b, NULL);
}

static void test_conclude(void **state)
{
    struct fs_store *s = open_store();
    int64_t inc = populate(s);
    struct fs_err err;
    struct fs_config *cfg;
    assert_int_equal(fs_config_load(NULL, &cfg, NULL, &err), 0);
    char data_dir[300], graph[300];
    snprintf(data_dir, sizeof(data_dir), "%s/data%d", dir, dbno);
    snprintf(graph, sizeof(graph), "%s/graph%d.yaml", dir, dbno);
    FILE *g = fopen(graph, "w");
    assert_non_null(g);
    fputs("entities:\n  - {name: web-1.prod, kind: host, aliases: [web-1]}\n"
          "  - {name: monitoring, kind: service, runs_on: web-1.prod}\n",
          g);
    fclose(g);
    assert_int_equal(fs_config_set(cfg, "data_dir", data_dir, &err), 0);
    assert_int_equal(fs_config_set(cfg, "context.graph", graph, &err), 0);
    assert_int_equal(fs_config_set(cfg, "executor.postmortem_dir", "pm/out", &err), 0);
    struct fs_writer w;
    fs_store_direct_writer(s, &w);
    if (fs_incident_conclude(&w, cfg, inc, T0 + 100000, &err) < 0)
        fail_msg("conclude: %s", err.msg);
    if (fs_incident_conclude(&w, cfg, inc, T0 + 200000, &err) < 0)
        fail_msg("conclude again: %s", err.msg);

    /* stored, replaced by the second conclusion */
    json_t *pm;
    assert_int_equal(fs_store_postmortem_get(s, inc, &pm, &err), 0);
    const char *md = json_string_value(json_object_get(pm, "markdown"));
    has(md, "Written by forestall at 2026-11-21 10:03:20 UTC");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(pm, "data"), "incident"), "id")),
                        "inc-1");

    /* one history row per entity: host, service, and the graph's name for the host */
    static const char *const entities[] = {"web-1", "monitoring", "web-1.prod"};
    for (size_t i = 0; i < FS_ARRAY_LEN(entities); i++) {
        json_t *h = history_of(s, entities[i]);
        if (json_array_size(h) != 1)
            fail_msg("%s: %zu history rows", entities[i], json_array_size(h));
        json_t *r = json_array_get(h, 0);
        assert_string_equal(json_string_value(json_object_get(r, "incidentId")), "inc-1");
        assert_string_equal(json_string_value(json_object_get(r, "outcome")), "resolved");
        assert_string_equal(json_string_value(json_object_get(r, "action")), "journal_vacuum");
        assert_string_equal(json_string_value(json_object_get(r, "rootCause")), "journal_bloat");
        has(json_string_value(json_object_get(r, "ts")), "2026-11-21T10:03:20");
        json_decref(h);
    }

    /* the files: the same Markdown, the JSON form, no temporary left */
    char file[400];
    snprintf(file, sizeof(file), "%s/pm/out/inc-1.md", data_dir);
    char *on_disk = slurp(file);
    assert_string_equal(on_disk, md);
    free(on_disk);
    snprintf(file, sizeof(file), "%s/pm/out/inc-1.json", data_dir);
    char *jtext = slurp(file);
    json_t *j = json_loads(jtext, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "outcome")), "resolved");
    assert_null(strstr(jtext, SECRET));
    json_decref(j);
    free(jtext);
    struct stat st;
    snprintf(file, sizeof(file), "%s/pm/out", data_dir);
    assert_int_equal(stat(file, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0750);
    snprintf(file, sizeof(file), "%s/pm/out/.inc-1.md.%ld.tmp", data_dir, (long)getpid());
    assert_int_not_equal(access(file, F_OK), 0);

    json_decref(pm);
    fs_config_free(cfg);
    fs_store_close(s);
}

/* Without a post-mortem directory only the store is written. */
static void test_conclude_store_only(void **state)
{
    struct fs_store *s = open_store();
    begin(s);
    int64_t inc = add_incident(s);
    move(s, inc, FS_ISTATE_ESCALATED, T0 + 30000);
    commit(s);
    struct fs_err err;
    struct fs_config *cfg;
    assert_int_equal(fs_config_load(NULL, &cfg, NULL, &err), 0);
    free(cfg->executor.postmortem_dir);
    cfg->executor.postmortem_dir = NULL;
    struct fs_writer w;
    fs_store_direct_writer(s, &w);
    assert_int_equal(fs_incident_conclude(&w, cfg, inc, T0 + 40000, &err), 0);
    json_t *pm;
    assert_int_equal(fs_store_postmortem_get(s, inc, &pm, &err), 0);
    has(json_string_value(json_object_get(pm, "markdown")),
        "Nothing ran: the incident was handed to a person before any action.");
    json_decref(pm);
    json_t *h = history_of(s, "web-1");
    assert_int_equal(json_array_size(h), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 0), "outcome")),
                        "escalated");
    json_decref(h);
    fs_config_free(cfg);
    fs_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_build_sections, setup),
        cmocka_unit_test_setup(test_build_bare, setup),
        cmocka_unit_test_setup(test_conclude, setup),
        cmocka_unit_test_setup(test_conclude_store_only, setup),
    };
    return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
