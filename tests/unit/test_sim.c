/* The simulated world (eval/world.c, eval/sim.c): scenarios' worlds load with their problems
 * named by key and line; the real host tools read the simulated programs' output through their
 * production parsers; and the catalog's actions change the world as the real programs would. */
#include "unit.h"

#include <time.h>

#include "core/diag.h"
#include "core/time.h"
#include "core/yaml.h"
#include "eval/world.h"
#include "tools_unit.h"

static const char base_world[] =
    "hosts:\n"
    "  web-1:\n"
    "    cores: 8\n"
    "    load: [7.9, 6.0, 3.0]\n"
    "    memory: {total: 16GiB, available: 1GiB, swap_total: 2GiB, swap_used: 1GiB}\n"
    "    filesystems:\n"
    "      - {mount: /, size: 100G, used: 60G, inodes: 1000000, inodes_used: 900000}\n"
    "      - {mount: /var/log, size: 20G, used: 18G}\n"
    "    directories:\n"
    "      - {path: /var/lib/mysql, size: 30G}\n"
    "    files:\n"
    "      - {path: /tmp/old.bin, size: 2G, age: 10d}\n"
    "      - {path: /tmp/new.bin, size: 3G, age: 1h}\n"
    "      - {dir: /var/log/app, name: \"app.log.{i}.gz\", count: 5, size: 1G, age: 1d..5d}\n"
    "    journal: {directory: /var/log/journal, archived: 8G, active: 100M, files: 8, oldest: 9d}\n"
    "    processes:\n"
    "      - {pid: 4242, command: java, cpu: 380, mem: 60, service: app.service, "
    "mem_after_restart: 5}\n"
    "      - {pid: 777, command: miner, cpu: 190, mem: 1, ignores_term: true}\n"
    "    services:\n"
    "      - {unit: app.service, memory: 9GiB}\n"
    "      - {unit: broken.service, state: failed, restarts: 7, exit_status: 1, restart_fails: "
    "true}\n"
    "    certificates:\n"
    "      - {path: /etc/letsencrypt/live/shop.example.com/cert.pem, days_left: 6}\n"
    "    logs:\n"
    "      /var/log/app/app.log: [\"start\", \"ERROR db timeout\", \"ok\"]\n";

static struct fs_world *world;
static struct fs_sim sim;

static int load(const char *text, struct fs_world **out, struct fs_buf *diag)
{
    /* as in a scenario: the world under `world:` (so line numbers are the file's) */
    struct fs_buf y = FS_BUF_INIT(0);
    fs_buf_puts(&y, "world:\n");
    for (const char *l = text; *l;) {
        size_t n = strcspn(l, "\n");
        fs_buf_printf(&y, "  %.*s\n", (int)n, l);
        l += n + (l[n] == '\n');
    }
    struct fs_yaml_doc doc = {0};
    struct fs_err err = {0};
    int prc = fs_yaml_parse(y.data, y.len, "s.yaml", &doc, &err);
    fs_buf_release(&y);
    if (prc < 0) {
        fs_buf_puts(diag, err.msg);
        return -1;
    }
    struct fs_diag d = {.out = diag, .code = FS_E_INVALID};
    int rc = fs_world_load(json_object_get(doc.root, "world"), &doc, "world", fs_now_ms(), out, &d,
                           &err);
    fs_yaml_doc_release(&doc);
    return rc;
}

static int setup(void **state)
{
    (void)state;
    if (tools_setup("fs-sim") < 0)
        return -1;
    struct fs_buf diag = FS_BUF_INIT(0);
    int rc = load(base_world, &world, &diag);
    if (rc < 0)
        fprintf(stderr, "world: %s\n", fs_buf_str(&diag));
    fs_buf_release(&diag);
    fs_world_sim(world, &sim);
    return rc;
}

static int teardown(void **state)
{
    fs_world_free(world);
    return tools_teardown(state);
}

/* Call a tool on web-1 of the world behind s; the structured result (new reference). */
static json_t *call_on(struct fs_sim *s, const char *tool, const char *args)
{
    struct fs_tool_ctx ctx = {.target = FS_TOOL_SIM, .sim = s, .sim_host = "web-1:9100"};
    struct fs_tool_result res = {0};
    struct fs_err err = {0};
    json_t *a = J(args);
    int rc = fs_tools_call(reg, tool, a, &ctx, &res, &err);
    json_decref(a);
    if (rc != 0)
        fail_msg("%s: %s", tool, err.msg);
    if (res.is_error)
        fail_msg("%s failed: %s", tool, res.text);
    json_t *out = json_incref(res.structured);
    fs_tool_result_release(&res);
    return out;
}

/* Call a tool on web-1 of the shared world. */
static json_t *call(const char *tool, const char *args)
{
    return call_on(&sim, tool, args);
}

/* Run a program on web-1 as the executor would; its exit code, stdout into out (may be NULL). */
static int run(const char *const *argv, struct fs_buf *out)
{
    struct fs_child c = {.argv = argv, .max_stdout = 1 << 20};
    struct fs_err err = {0};
    int rc = sim.run(&sim, "web-1", &c, &err);
    if (rc < 0)
        fail_msg("%s: %s", argv[0], err.msg);
    if (out)
        fs_buf_puts(out, c.out.data);
    int code = c.exit_code;
    fs_child_release(&c);
    return code;
}

static json_int_t used_of(const char *mount)
{
    json_t *r = call("host.fs_usage", "{}");
    json_int_t used = -1;
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(r, "filesystems"), i,
                       f) if (!strcmp(json_string_value(json_object_get(f, "mount")), mount)) used =
        json_integer_value(json_object_get(f, "used_bytes"));
    json_decref(r);
    return used;
}

static void test_df_and_du(void **state)
{
    (void)state;
    /* a path is on the deepest mount above it */
    json_t *r = call("host.fs_usage", "{\"mount\":\"/var/log/journal\"}");
    assert_string_equal(json_string_value(jget(r, "filesystems[0].mount")), "/var/log");
    assert_int_equal(json_integer_value(jget(r, "filesystems[0].used_percent")), 90);
    json_decref(r);
    r = call("host.inode_usage", "{\"mount\":\"/\"}");
    assert_int_equal(json_integer_value(jget(r, "filesystems[0].inodes_used_percent")), 90);
    json_decref(r);
    /* du -x on / does not count /var/log (another filesystem) */
    r = call("host.dir_sizes", "{\"path\":\"/\",\"depth\":2}");
    json_int_t var = -1, lib = -1;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(r, "entries"), i, e)
    {
        const char *p = json_string_value(json_object_get(e, "path"));
        if (!strcmp(p, "/var"))
            var = json_integer_value(json_object_get(e, "size_bytes"));
        if (!strcmp(p, "/var/lib"))
            lib = json_integer_value(json_object_get(e, "size_bytes"));
    }
    json_decref(r);
    assert_true(lib >= 30000000000LL && lib < 30000100000LL);
    assert_true(var >= lib && var < lib + 100000); /* not the 13 GB on /var/log */
}

static void test_find_ages_and_tmp_cleanup(void **state)
{
    (void)state;
    json_t *r = call("host.largest_files", "{\"path\":\"/var/log/app\",\"limit\":10}");
    assert_int_equal(json_array_size(json_object_get(r, "files")), 5);
    /* ages spread from 1 day (app.log.1.gz) to 5 days (app.log.5.gz) */
    json_int_t min_age = INT64_MAX, max_age = 0;
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(r, "files"), i, f)
    {
        json_int_t a = json_integer_value(json_object_get(f, "age_s"));
        min_age = a < min_age ? a : min_age;
        max_age = a > max_age ? a : max_age;
    }
    json_decref(r);
    assert_true(min_age >= 86400 - 5 && min_age <= 86400 + 5);
    assert_true(max_age >= 5 * 86400 - 5 && max_age <= 5 * 86400 + 5);

    /* the catalog's tmp_cleanup argv deletes only what is old enough and frees it on / */
    json_int_t before = used_of("/");
    const char *argv[] = {"find", "/tmp",   "-xdev", "-mindepth", "1", "-type",
                          "f",    "-mtime", "+2",    "-delete",   NULL};
    assert_int_equal(run(argv, NULL), 0);
    assert_int_equal(before - used_of("/"), 2000000000LL);
    r = call("host.file_stat", "{\"path\":\"/tmp/new.bin\"}");
    assert_true(json_is_true(json_object_get(r, "exists")));
    json_decref(r);
    r = call("host.file_stat", "{\"path\":\"/tmp/old.bin\"}");
    assert_true(json_is_false(json_object_get(r, "exists")));
    json_decref(r);
    r = call("host.inode_usage", "{\"mount\":\"/\"}");
    assert_int_equal(json_integer_value(jget(r, "filesystems[0].inodes_used")), 899999);
    json_decref(r);
}

static void test_journal_vacuum(void **state)
{
    (void)state;
    json_t *r = call("host.journal_disk_usage", "{\"directory\":\"/var/log/journal\"}");
    assert_int_equal(json_integer_value(json_object_get(r, "archived_bytes")), 8000000000LL);
    assert_int_equal(json_integer_value(json_object_get(r, "archived_files")), 8);
    json_decref(r);
    json_int_t before = used_of("/var/log");
    /* journalctl's M is MiB: keep at most 3 GiB, the oldest archived files go first */
    const char *argv[] = {"journalctl", "--directory=/var/log/journal", "--vacuum-size=3072M",
                          NULL};
    struct fs_buf out = FS_BUF_INIT(0);
    assert_int_equal(run(argv, &out), 0);
    assert_non_null(strstr(fs_buf_str(&out), "Vacuuming done"));
    fs_buf_release(&out);
    r = call("host.journal_disk_usage", "{\"directory\":\"/var/log/journal\"}");
    json_int_t left = json_integer_value(json_object_get(r, "bytes"));
    json_decref(r);
    assert_true(left <= 3072LL * 1024 * 1024);
    assert_true(left > 3072LL * 1024 * 1024 - 1000000000LL); /* not more than one file too many */
    assert_int_equal(before - used_of("/var/log"), 8100000000LL - left);
    pthread_mutex_lock(&world->mu);
    bool recorded =
        world->neffects > 0 && !strcmp(world->effects[world->neffects - 1].program, "journalctl");
    pthread_mutex_unlock(&world->mu);
    assert_true(recorded);
}

static void test_services_and_memory(void **state)
{
    (void)state;
    json_t *r = call("host.service_status", "{\"unit\":\"app.service\"}");
    assert_string_equal(json_string_value(json_object_get(r, "active_state")), "active");
    json_decref(r);
    r = call("host.service_status", "{\"unit\":\"nope.service\"}");
    assert_string_equal(json_string_value(json_object_get(r, "load_state")), "not-found");
    json_decref(r);
    r = call("host.top_processes", "{\"sort\":\"memory\",\"limit\":1}");
    assert_string_equal(json_string_value(jget(r, "processes[0].command")), "java");
    json_decref(r);
    r = call("host.memory", "{}");
    json_int_t avail = json_integer_value(json_object_get(r, "available_bytes"));
    assert_int_equal(json_integer_value(json_object_get(r, "swap_used_bytes")), 1LL << 30);
    json_decref(r);
    const char *restart[] = {"systemctl", "restart", "app.service", NULL};
    assert_int_equal(run(restart, NULL), 0);
    r = call("host.memory", "{}");
    /* java held 60% of 16 GiB and comes back at 5%: 55% of it is available again */
    assert_true(json_integer_value(json_object_get(r, "available_bytes")) - avail >
                (json_int_t)(0.54 * 16 * (1LL << 30)));
    json_decref(r);
    const char *broken[] = {"systemctl", "restart", "broken.service", NULL};
    assert_int_equal(run(broken, NULL), 1);
    r = call("host.service_status", "{\"unit\":\"broken.service\"}");
    assert_string_equal(json_string_value(json_object_get(r, "active_state")), "failed");
    assert_int_equal(json_integer_value(json_object_get(r, "n_restarts")), 7);
    json_decref(r);
}

static void test_kill_and_load(void **state)
{
    (void)state;
    const char *term[] = {"kill", "-s", "TERM", "777", NULL};
    assert_int_equal(run(term, NULL), 0);
    json_t *r = call("host.process_info", "{\"pid\":777}");
    assert_true(json_is_true(json_object_get(r, "exists"))); /* it ignores TERM */
    json_decref(r);
    const char *kill9[] = {"kill", "-s", "KILL", "777", NULL};
    assert_int_equal(run(kill9, NULL), 0);
    r = call("host.process_info", "{\"pid\":777}");
    assert_true(json_is_false(json_object_get(r, "exists")));
    json_decref(r);
    r = call("host.load", "{}");
    assert_int_equal(json_integer_value(json_object_get(r, "cores")), 8);
    assert_true(json_number_value(json_object_get(r, "load1")) < 6.1); /* 7.9 - 1.9 */
    json_decref(r);
    const char *none[] = {"kill", "-s", "TERM", "31337", NULL};
    assert_int_equal(run(none, NULL), 1);
}

static void test_certificates(void **state)
{
    (void)state;
    json_t *r =
        call("host.cert_expiry", "{\"path\":\"/etc/letsencrypt/live/shop.example.com/cert.pem\"}");
    assert_int_equal(json_integer_value(json_object_get(r, "min_days_left")), 6);
    assert_non_null(strstr(json_string_value(jget(r, "certificates[0].issuer")), "Let's Encrypt"));
    json_decref(r);
    const char *renew[] = {"certbot",          "renew", "--non-interactive", "--cert-name",
                           "shop.example.com", NULL};
    assert_int_equal(run(renew, NULL), 0);
    r = call("host.cert_expiry", "{\"path\":\"/etc/letsencrypt/live/shop.example.com/cert.pem\"}");
    assert_true(json_integer_value(json_object_get(r, "min_days_left")) >= 89);
    json_decref(r);
}

static void test_logs_and_unknowns(void **state)
{
    (void)state;
    json_t *r = call("host.log_lines", "{\"path\":\"/var/log/app/app.log\",\"filter\":\"ERROR\"}");
    assert_int_equal(json_array_size(json_object_get(r, "lines")), 1);
    assert_string_equal(json_string_value(jget(r, "lines[0]")), "ERROR db timeout");
    json_decref(r);
    /* a program the world does not have: not found, as on a host without it */
    const char *argv[] = {"rm", "-rf", "/", NULL};
    struct fs_child c = {.argv = argv};
    struct fs_err err = {0};
    assert_int_equal(sim.run(&sim, "web-1", &c, &err), -FS_E_NOT_FOUND);
    /* a host the world does not have: what ssh says */
    const char *df[] = {"df", "-P", "-B1", "-T", NULL};
    struct fs_child d = {.argv = df};
    assert_int_equal(sim.run(&sim, "db-9", &d, &err), 0);
    assert_int_equal(d.exit_code, 255);
    assert_non_null(strstr(d.err.data, "Could not resolve hostname db-9"));
    fs_child_release(&d);
}

/* The kernel's OOM kills land in kern.log as a 6.1 kernel writes them (through rsyslog), oldest
 * first after the log's own lines; {ago, text} lines get rsyslog's stamp and the host name. */
static void test_kernel_log(void **state)
{
    (void)state;
    const char *text =
        "hosts:\n"
        "  web-1:\n"
        "    logs:\n"
        "      /var/log/kern.log:\n"
        "        - {ago: 2d, text: \"kernel: [    2.1] EXT4-fs (vda1): mounted\"}\n"
        "        - \"plain line\"\n"
        "    oom_kills:\n"
        "      - {ago: 5m, process: app, pid: 4242, uid: 1000, rss: 2GiB, limit: 3GiB,\n"
        "         service: app.service}\n"
        "      - {ago: 1h, process: java, pid: 777, rss: 8GiB}\n";
    struct fs_world *w = NULL;
    struct fs_buf diag = FS_BUF_INIT(0);
    int64_t before = fs_now_ms();
    if (load(text, &w, &diag) < 0)
        fail_msg("world: %s", fs_buf_str(&diag));
    fs_buf_release(&diag);
    struct fs_sim s;
    fs_world_sim(w, &s);

    json_t *r = call_on(&s, "host.log_lines", "{\"path\":\"/var/log/kern.log\"}");
    const char *first = json_string_value(jget(r, "lines[0]"));
    /* "2026-11-19T10:12:03.123456+00:00 web-1 kernel: ..." two days before the world's now */
    struct tm tm = {0};
    const char *rest = strptime(first, "%Y-%m-%dT%H:%M:%S", &tm);
    assert_non_null(rest);
    int64_t t = (int64_t)timegm(&tm) * 1000;
    assert_true(t >= before - 2 * 86400000LL - 1000 && t <= fs_now_ms() - 2 * 86400000LL);
    assert_non_null(strstr(rest, "+00:00 web-1 kernel: [    2.1] EXT4-fs (vda1): mounted"));
    assert_string_equal(json_string_value(jget(r, "lines[1]")), "plain line");
    json_decref(r);

    /* the victims, oldest first: java (the host ran out), then app (its cgroup's limit) */
    r = call_on(&s, "host.log_lines",
                "{\"path\":\"/var/log/kern.log\",\"filter\":\"Killed process\"}");
    assert_int_equal(json_array_size(json_object_get(r, "lines")), 2);
    assert_non_null(strstr(json_string_value(jget(r, "lines[0]")),
                           " web-1 kernel: [3452400.000000] Out of memory: Killed process 777 "
                           "(java) total-vm:16842752kB, anon-rss:8388608kB, file-rss:167772kB, "
                           "shmem-rss:0kB, UID:0 pgtables:16781kB oom_score_adj:0"));
    assert_non_null(strstr(json_string_value(jget(r, "lines[1]")),
                           "Memory cgroup out of memory: Killed process 4242 (app) "));
    json_decref(r);
    r = call_on(&s, "host.log_lines", "{\"path\":\"/var/log/kern.log\",\"filter\":\"oom-kill:\"}");
    assert_non_null(strstr(json_string_value(jget(r, "lines[0]")),
                           "oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,"
                           "mems_allowed=0,global_oom,task_memcg=/,task=java,pid=777,uid=0"));
    assert_non_null(strstr(json_string_value(jget(r, "lines[1]")),
                           "constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
                           "oom_memcg=/system.slice/app.service,task_memcg=/system.slice/"
                           "app.service,task=app,pid=4242,uid=1000"));
    json_decref(r);
    r = call_on(&s, "host.log_lines",
                "{\"path\":\"/var/log/kern.log\",\"filter\":\"memory: usage\"}");
    assert_int_equal(json_array_size(json_object_get(r, "lines")), 1);
    assert_non_null(strstr(json_string_value(jget(r, "lines[0]")),
                           "kernel: [3455700.000000] memory: usage 3145728kB, limit 3145728kB"));
    json_decref(r);
    /* the log is a file of what its lines add up to */
    r = call_on(&s, "host.file_stat", "{\"path\":\"/var/log/kern.log\"}");
    assert_true(json_integer_value(json_object_get(r, "size")) > 2000);
    json_decref(r);
    fs_world_free(w);

    /* what the loader refuses */
    diag = (struct fs_buf)FS_BUF_INIT(0);
    const char *bad = "hosts:\n"
                      "  h:\n"
                      "    logs:\n"
                      "      /var/log/kern.log: [{text: no age}, 7]\n"
                      "    oom_kills:\n"
                      "      - {process: a-name-far-too-long, service: a.service, cgroup: /x}\n"
                      "      - {ago: 50d, process: x, color: red}\n"
                      "      - {ago: 50d, process: x}\n";
    assert_int_equal(load(bad, &w, &diag), -FS_E_INVALID);
    const char *d = fs_buf_str(&diag);
    assert_non_null(strstr(d, "world.hosts.h.logs[\"/var/log/kern.log\"][0].ago: required"));
    assert_non_null(
        strstr(d, "world.hosts.h.logs[\"/var/log/kern.log\"][1]: must be a string or {ago, text}"));
    assert_non_null(
        strstr(d, "oom_kills[0].process: must be a command name of 1 to 15 characters"));
    assert_non_null(
        strstr(d, "oom_kills[0]: give service (its cgroup is /system.slice/UNIT) or cgroup"));
    assert_non_null(strstr(d, "oom_kills[1].color: unknown key"));
    assert_non_null(strstr(d, "oom_kills[2].ago: at most 40d"));
    fs_buf_release(&diag);
}

/* The journal: every {ago, text} line of the logs and every line of an OOM kill is an entry
 * (journal-only ones too), read through host.journal_lines in journalctl's short-iso format with
 * its selectors: -k (the kernel's, without their clock), --unit (systemd's line about the unit
 * whose process was killed), --priority, --since and -n. */
static void test_journal(void **state)
{
    (void)state;
    const char *text =
        "hosts:\n"
        "  web-1:\n"
        "    logs:\n"
        "      /var/log/syslog:\n"
        "        - {ago: 3h, text: \"nginx[812]: upstream timed out\", unit: nginx.service,\n"
        "           priority: err}\n"
        "        - \"plain line, in no journal\"\n"
        "      journal:\n"
        "        - {ago: 2h, text: \"kernel: [ 7.5] EXT4-fs (vda1): re-mounted\"}\n"
        "        - {ago: 1h, text: \"app[77]: first line\\nsecond line\", unit: app.service}\n"
        "        - {ago: 50d, text: \"kernel: from an earlier boot\"}\n"
        "    oom_kills:\n"
        "      - {ago: 5m, process: app, pid: 4242, rss: 2GiB, service: app.service, log: "
        "journal}\n";
    struct fs_world *w = NULL;
    struct fs_buf diag = FS_BUF_INIT(0);
    if (load(text, &w, &diag) < 0)
        fail_msg("world: %s", fs_buf_str(&diag));
    fs_buf_release(&diag);
    struct fs_sim s;
    fs_world_sim(w, &s);

    /* the kill is in the journal only: no kern.log was made for it */
    json_t *r = call_on(&s, "host.file_stat", "{\"path\":\"/var/log/kern.log\"}");
    assert_true(json_is_false(json_object_get(r, "exists")));
    json_decref(r);

    r = call_on(&s, "host.journal_lines", "{\"kernel\":true,\"filter\":\"Killed process\"}");
    assert_int_equal(json_array_size(json_object_get(r, "lines")), 1);
    assert_string_equal(json_string_value(jget(r, "lines[0].host")), "web-1");
    assert_string_equal(json_string_value(jget(r, "lines[0].ident")), "kernel");
    assert_true(json_is_null(jget(r, "lines[0].pid")));
    assert_string_equal(json_string_value(jget(r, "lines[0].message")),
                        "Out of memory: Killed process 4242 (app) total-vm:4259840kB, "
                        "anon-rss:2097152kB, file-rss:41943kB, shmem-rss:0kB, UID:0 "
                        "pgtables:4198kB oom_score_adj:0");
    /* "2026-11-21T10:12:03+0000", five minutes before now */
    struct tm tm = {0};
    const char *rest =
        strptime(json_string_value(jget(r, "lines[0].time")), "%Y-%m-%dT%H:%M:%S", &tm);
    assert_non_null(rest);
    assert_string_equal(rest, "+0000");
    int64_t t = (int64_t)timegm(&tm) * 1000;
    assert_true(t <= fs_now_ms() - 5 * 60000 && t >= fs_now_ms() - 5 * 60000 - 60000);
    /* the kernel's lines of this boot: the mount and the eight of the kill, not the old one */
    json_decref(r);
    r = call_on(&s, "host.journal_lines", "{\"kernel\":true}");
    assert_int_equal(json_integer_value(json_object_get(r, "lines_read")), 9);
    assert_string_equal(json_string_value(jget(r, "lines[0].message")),
                        "EXT4-fs (vda1): re-mounted");
    assert_string_equal(
        json_string_value(jget(r, "lines[1].message")),
        "app invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), "
        "order=0, oom_score_adj=0");
    json_decref(r);
    r = call_on(&s, "host.journal_lines", "{\"kernel\":true,\"lines\":2}");
    assert_int_equal(json_array_size(json_object_get(r, "lines")), 2);
    assert_non_null(strstr(json_string_value(jget(r, "lines[1].message")), "Killed process 4242"));
    json_decref(r);

    /* one unit: its own line (two lines joined back) and systemd's about the kill */
    r = call_on(&s, "host.journal_lines", "{\"unit\":\"app.service\"}");
    assert_int_equal(json_array_size(json_object_get(r, "lines")), 2);
    assert_string_equal(json_string_value(jget(r, "lines[0].ident")), "app");
    assert_int_equal(json_integer_value(jget(r, "lines[0].pid")), 77);
    assert_string_equal(json_string_value(jget(r, "lines[0].message")), "first line\nsecond line");
    assert_string_equal(json_string_value(jget(r, "lines[1].ident")), "systemd");
    assert_int_equal(json_integer_value(jget(r, "lines[1].pid")), 1);
    assert_string_equal(json_string_value(jget(r, "lines[1].message")),
                        "app.service: A process of this unit has been killed by the OOM killer.");
    json_decref(r);

    /* priority: err and worse is nginx's error and the kill; since: the last 90 minutes */
    r = call_on(&s, "host.journal_lines", "{\"priority\":\"err\"}");
    assert_int_equal(json_array_size(json_object_get(r, "lines")), 2);
    assert_string_equal(json_string_value(jget(r, "lines[0].message")), "upstream timed out");
    json_decref(r);
    r = call_on(&s, "host.journal_lines", "{\"since\":\"90m\",\"filter\":\"line\"}");
    assert_int_equal(json_integer_value(json_object_get(r, "lines_read")), 10);
    assert_int_equal(json_array_size(json_object_get(r, "lines")), 1);
    json_decref(r);
    /* the whole journal: the plain line is in no entry */
    r = call_on(&s, "host.journal_lines", "{\"lines\":1000,\"filter\":\"plain line\"}");
    assert_int_equal(json_integer_value(json_object_get(r, "lines_read")), 13);
    assert_int_equal(json_array_size(json_object_get(r, "lines")), 0);
    json_decref(r);

    /* what the simulated journalctl refuses, as the real one does */
    const char *bad_p[] = {"journalctl", "-n", "5", "--priority=loud", NULL};
    struct fs_child c = {.argv = bad_p};
    struct fs_err err = {0};
    assert_int_equal(s.run(&s, "web-1", &c, &err), 0);
    assert_int_equal(c.exit_code, 1);
    assert_non_null(strstr(c.err.data, "Unknown log level loud"));
    fs_child_release(&c);
    fs_world_free(w);

    diag = (struct fs_buf)FS_BUF_INIT(0);
    const char *bad = "hosts:\n"
                      "  h:\n"
                      "    logs:\n"
                      "      journal: [\"no time\", {ago: 1m, text: x, priority: loud}]\n";
    assert_int_equal(load(bad, &w, &diag), -FS_E_INVALID);
    const char *d = fs_buf_str(&diag);
    assert_non_null(strstr(d, "logs.journal[0]: must be {ago, text}"));
    assert_non_null(strstr(d, "logs.journal[1].priority: must be one of emerg"));
    fs_buf_release(&diag);
}

static void test_loader_errors(void **state)
{
    (void)state;
    struct fs_world *w = NULL;
    struct fs_buf diag = FS_BUF_INIT(0);
    const char *bad = "hosts:\n"
                      "  h:\n"
                      "    filesystems:\n"
                      "      - {mount: /data, size: 10G, used: 1G, growth: 1G}\n"
                      "      - {mount: /, size: 10G, used: 1G}\n"
                      "    files:\n"
                      "      - {path: /tmp/x, size: 5G}\n"
                      "      - {path: relative, size: 1}\n"
                      "    processes:\n"
                      "      - {pid: 5, command: a}\n"
                      "      - {pid: 5, command: b}\n"
                      "metrics:\n"
                      "  - {match: up, value: 1, points: [{ago: 1m, value: 1}]}\n";
    assert_int_equal(load(bad, &w, &diag), -FS_E_INVALID);
    assert_null(w);
    const char *t = fs_buf_str(&diag);
    assert_non_null(strstr(t, "s.yaml:5: world.hosts.h.filesystems[0].growth: unknown key "
                              "(known: mount, "));
    assert_non_null(strstr(t, "world.hosts.h.files[1].path: must be an absolute, normalised path"));
    assert_non_null(strstr(t, "pid 5 is used twice"));
    assert_non_null(strstr(t, "more than used"));
    assert_non_null(strstr(t, "give either value (and per_hour) or points, not both"));
    fs_buf_release(&diag);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_df_and_du),         cmocka_unit_test(test_find_ages_and_tmp_cleanup),
        cmocka_unit_test(test_journal_vacuum),    cmocka_unit_test(test_services_and_memory),
        cmocka_unit_test(test_kill_and_load),     cmocka_unit_test(test_certificates),
        cmocka_unit_test(test_logs_and_unknowns), cmocka_unit_test(test_kernel_log),
        cmocka_unit_test(test_journal),           cmocka_unit_test(test_loader_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
