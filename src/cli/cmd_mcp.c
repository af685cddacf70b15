/* cmd_mcp: `forestall mcp add|list|remove|tools|config` — the MCP server registry managed on the
 * configured store directly (there is no daemon API for it), like `forestall executor` does.
 * Every command first loads the configuration's mcp.servers into the table. The rules live in
 * mcp/registry.c; this file parses the command line, prints, and writes mcp.json (mode 0600:
 * it holds resolved secrets). `mcp tools --refresh` lists a server's tools through the MCP
 * hub (mcp/hub.h), which records the pins. */
#include "core/common.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/log.h"
#include "core/time.h"
#include "mcp/hub.h"
#include "mcp/registry.h"
#include "store/store.h"

enum {
    M_DATA_DIR = 1000,
    M_AS,
    M_COMMAND,
    M_ARG,
    M_ENV,
    M_URL,
    M_HEADER,
    M_TRUST,
    M_READ_ONLY,
    M_MAP,
    M_DISABLED,
    M_REPLACE,
    M_APPROVE,
    M_APPROVE_ALL,
    M_REFRESH,
};

struct mopts {
    const char *config, *data_dir, *as, *output;
    bool json;
    /* add */
    json_t *def; /* the definition being built */
    bool replace;
    /* tools */
    const char *approve;
    bool approve_all;
    bool refresh;
};

struct mctx {
    struct fs_config *cfg;
    struct fs_store *store;
    struct fs_writer w;
};

static void mopts_release(struct mopts *o)
{
    json_decref(o->def);
}

/* NAME=VALUE: the parts, or a usage error naming the option. */
static int split_pair(const char *opt, const char *arg, char *name, size_t size, const char **value)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || (size_t)(eq - arg) >= size)
        return fs_cli_fail(FS_EXIT_USAGE, "%s: expected NAME=VALUE, got \"%s\"", opt, arg);
    memcpy(name, arg, (size_t)(eq - arg));
    name[eq - arg] = '\0';
    *value = eq + 1;
    return FS_EXIT_OK;
}

/* def[field][name] = v, refusing a name given twice. */
static int put_pair(json_t *def, const char *field, const char *opt, const char *name, json_t *v)
{
    json_t *m = json_object_get(def, field);
    if (!m) {
        m = json_object();
        json_object_set_new(def, field, m);
    }
    if (json_object_get(m, name)) {
        json_decref(v);
        return fs_cli_fail(FS_EXIT_USAGE, "%s: %s is given twice", opt, name);
    }
    json_object_set_new(m, name, v);
    return FS_EXIT_OK;
}

static void append(json_t *def, const char *field, const char *value)
{
    json_t *a = json_object_get(def, field);
    if (!a) {
        a = json_array();
        json_object_set_new(def, field, a);
    }
    json_array_append_new(a, json_string(value));
}

/* --env NAME=FORESTALL_VAR | NAME=env:FORESTALL_VAR | NAME=file:PATH */
static json_t *env_ref(const char *v)
{
    if (strncmp(v, "file:", 5) == 0)
        return json_pack("{ss}", "file", v + 5);
    return json_pack("{ss}", "env", strncmp(v, "env:", 4) == 0 ? v + 4 : v);
}

/* --header K=V: a V whose last word is env:FORESTALL_VAR or file:PATH is a secret reference,
 * the text before it its prefix ("Bearer env:FORESTALL_TOKEN"); any other V is literal. */
static json_t *header_value(const char *v)
{
    const char *word = strrchr(v, ' ');
    word = word ? word + 1 : v;
    bool env = strncmp(word, "env:", 4) == 0, file = strncmp(word, "file:", 5) == 0;
    if (!env && !file)
        return json_string(v);
    json_t *r = json_pack("{ss}", env ? "env" : "file", word + (env ? 4 : 5));
    if (r && word > v)
        json_object_set_new(r, "prefix", json_stringn(v, (size_t)(word - v)));
    return r;
}

static int parse(int argc, char **argv, const char *cmd, const char *shorts, int positional,
                 struct mopts *o)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"data-dir", required_argument, NULL, M_DATA_DIR},
                                         {"as", required_argument, NULL, M_AS},
                                         {"command", required_argument, NULL, M_COMMAND},
                                         {"arg", required_argument, NULL, M_ARG},
                                         {"env", required_argument, NULL, M_ENV},
                                         {"url", required_argument, NULL, M_URL},
                                         {"header", required_argument, NULL, M_HEADER},
                                         {"trust", required_argument, NULL, M_TRUST},
                                         {"read-only", required_argument, NULL, M_READ_ONLY},
                                         {"map", required_argument, NULL, M_MAP},
                                         {"disabled", no_argument, NULL, M_DISABLED},
                                         {"replace", no_argument, NULL, M_REPLACE},
                                         {"approve", required_argument, NULL, M_APPROVE},
                                         {"approve-all", no_argument, NULL, M_APPROVE_ALL},
                                         {"refresh", no_argument, NULL, M_REFRESH},
                                         {NULL, 0, NULL, 0}};
    /* which long options each command takes */
    static const struct {
        const char *cmd;
        unsigned opts;
    } allowed[] = {
        {"mcp add", (1u << (M_COMMAND - M_DATA_DIR)) | (1u << (M_ARG - M_DATA_DIR)) |
                        (1u << (M_ENV - M_DATA_DIR)) | (1u << (M_URL - M_DATA_DIR)) |
                        (1u << (M_HEADER - M_DATA_DIR)) | (1u << (M_TRUST - M_DATA_DIR)) |
                        (1u << (M_READ_ONLY - M_DATA_DIR)) | (1u << (M_MAP - M_DATA_DIR)) |
                        (1u << (M_DISABLED - M_DATA_DIR)) | (1u << (M_REPLACE - M_DATA_DIR))},
        {"mcp tools", (1u << (M_APPROVE - M_DATA_DIR)) | (1u << (M_APPROVE_ALL - M_DATA_DIR)) |
                          (1u << (M_REFRESH - M_DATA_DIR))},
    };
    unsigned mine = (1u << 0) | (1u << (M_AS - M_DATA_DIR)); /* --data-dir, --as: every one */
    for (size_t i = 0; i < FS_ARRAY_LEN(allowed); i++)
        if (strcmp(allowed[i].cmd, cmd) == 0)
            mine |= allowed[i].opts;
    memset(o, 0, sizeof(*o));
    o->def = json_object();
    int c, rc = FS_EXIT_OK;
    char name[256];
    const char *value;
    while (rc == FS_EXIT_OK && (c = getopt_long(argc, argv, shorts, opts, NULL)) != -1) {
        if (c >= M_DATA_DIR && !(mine & (1u << (c - M_DATA_DIR)))) {
            fprintf(stderr, "forestall: %s does not take that option\n", cmd);
            c = '?';
        }
        switch (c) {
        case 'c': o->config = optarg; break;
        case 'o':
            if (strcmp(cmd, "mcp config") == 0)
                o->output = optarg;
            else if (fs_cli_output_json(optarg, &o->json) < 0)
                rc = FS_EXIT_USAGE;
            break;
        case M_DATA_DIR: o->data_dir = optarg; break;
        case M_AS: o->as = optarg; break;
        case M_COMMAND: json_object_set_new(o->def, "command", json_string(optarg)); break;
        case M_ARG: append(o->def, "args", optarg); break;
        case M_ENV:
            if ((rc = split_pair("--env", optarg, name, sizeof(name), &value)) == FS_EXIT_OK)
                rc = put_pair(o->def, "env", "--env", name, env_ref(value));
            break;
        case M_URL: json_object_set_new(o->def, "url", json_string(optarg)); break;
        case M_HEADER:
            if ((rc = split_pair("--header", optarg, name, sizeof(name), &value)) == FS_EXIT_OK)
                rc = put_pair(o->def, "headers", "--header", name, header_value(value));
            break;
        case M_TRUST: json_object_set_new(o->def, "trust", json_string(optarg)); break;
        case M_READ_ONLY: append(o->def, "read_only_tools", optarg); break;
        case M_MAP:
            if ((rc = split_pair("--map", optarg, name, sizeof(name), &value)) == FS_EXIT_OK)
                rc = put_pair(o->def, "tool_mappings", "--map", name, json_string(value));
            break;
        case M_DISABLED: json_object_set_new(o->def, "enabled", json_false()); break;
        case M_REPLACE: o->replace = true; break;
        case M_APPROVE: o->approve = optarg; break;
        case M_APPROVE_ALL: o->approve_all = true; break;
        case M_REFRESH: o->refresh = true; break;
        default: fs_cli_usage(cmd, false); rc = FS_EXIT_USAGE;
        }
    }
    if (rc == FS_EXIT_OK && argc - optind != positional) {
        fs_cli_usage(cmd, false);
        rc = FS_EXIT_USAGE;
    }
    if (rc == FS_EXIT_OK && o->as) {
        size_t n = strlen(o->as);
        bool ok = n >= 1 && n <= 64;
        for (const char *ch = o->as; ok && *ch; ch++)
            ok = (unsigned char)*ch >= 0x20 && *ch != 0x7f;
        if (!ok)
            rc = fs_cli_fail(FS_EXIT_USAGE, "--as: expected a name of 1-64 printable characters");
    }
    if (rc != FS_EXIT_OK)
        mopts_release(o);
    return rc;
}

/* Who the audit trail names: --as, else the login name of this process's user. */
static const char *actor_of(const struct mopts *o, char *buf, size_t size)
{
    if (o->as)
        return o->as;
    struct passwd *pw = getpwuid(geteuid());
    if (pw && pw->pw_name && *pw->pw_name)
        snprintf(buf, size, "%s", pw->pw_name);
    else
        snprintf(buf, size, "uid-%d", (int)geteuid());
    return buf;
}

/* The configuration, the store in its data_dir (created if missing), and the configuration's
 * servers loaded into it. */
static int ctx_open(const struct mopts *o, struct mctx *m)
{
    memset(m, 0, sizeof(*m));
    struct fs_err err;
    if (fs_cli_load_config(o->config, NULL, o->data_dir, &m->cfg, &err) < 0)
        return fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
    if (mkdir(m->cfg->data_dir, 0700) < 0 && errno != EEXIST)
        return fs_cli_fail(FS_EXIT_FAILURE, "cannot create %s: %s", m->cfg->data_dir,
                           strerror(errno));
    if (fs_cli_open_store(m->cfg, &m->store, &err) < 0)
        return fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
    fs_store_direct_writer(m->store, &m->w);
    if (fs_mcp_registry_load_config(&m->w, m->cfg, fs_now_ms(), NULL, &err) < 0)
        return fs_cli_fail(FS_EXIT_FAILURE, "mcp.servers: %s", err.msg);
    return FS_EXIT_OK;
}

static void ctx_close(struct mctx *m)
{
    fs_cli_close_store(m->cfg, m->store);
    fs_config_free(m->cfg);
}

/* A server of the configuration is changed there, not here. */
static int refuse_declared(const struct mctx *m, const char *name, const char *what)
{
    if (!fs_mcp_config_declares(m->cfg, name))
        return FS_EXIT_OK;
    return fs_cli_fail(FS_EXIT_FAILURE,
                       "MCP server %s is declared in mcp.servers of %s; %s it there (the "
                       "configuration wins at every start)",
                       name, m->cfg->file, what);
}

/* "cmd arg arg" or the URL, for listings. */
static void endpoint(const json_t *s, char *out, size_t size)
{
    const char *url = json_string_value(json_object_get(s, "url"));
    if (url) {
        snprintf(out, size, "%s", url);
        return;
    }
    snprintf(out, size, "%s", json_string_value(json_object_get(s, "command")));
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(s, "args"), i, a)
    {
        size_t n = strlen(out);
        snprintf(out + n, size - n, " %s", json_string_value(a));
    }
}

/* ---- mcp add ------------------------------------------------------------------------------ */

struct add_tx {
    const json_t *def;
    const char *actor;
    bool replace;
    enum fs_mcp_change what;
    bool exists;
};

static int add_fn(struct fs_store *s, void *arg, struct fs_err *err)
{
    struct add_tx *t = arg;
    const char *name = json_string_value(json_object_get(t->def, "name"));
    json_t *old = NULL;
    int rc = fs_store_mcp_server_get(s, name, &old, err);
    json_decref(old);
    t->exists = rc == 0;
    if (rc < 0 && rc != -FS_E_NOT_FOUND)
        return rc;
    if (t->exists && !t->replace)
        return fs_err_set(err, FS_E_INVALID, "name",
                          "MCP server %s exists; add --replace to redefine it, or `forestall mcp "
                          "remove %s` first",
                          name, name);
    return fs_mcp_server_put(s, t->def, "cli", t->actor, fs_now_ms(), &t->what, err);
}

int fs_cmd_mcp_add(int argc, char **argv)
{
    struct mopts o;
    int rc = parse(argc, argv, "mcp add", "c:", 1, &o);
    if (rc != FS_EXIT_OK)
        return rc;
    const char *name = argv[optind];
    json_object_set_new(o.def, "name", json_string(name));
    bool cmd = json_object_get(o.def, "command"), url = json_object_get(o.def, "url");
    if (cmd == url) {
        mopts_release(&o);
        return fs_cli_fail(FS_EXIT_USAGE, cmd ? "mcp add: --command and --url exclude each other"
                                              : "mcp add: needs --command CMD (a stdio server) or "
                                                "--url URL (a Streamable HTTP server)");
    }
    /* the command line's own check, before any store is touched */
    json_t *def = NULL;
    struct fs_buf diag = FS_BUF_INIT(1 << 14);
    struct fs_err err;
    if (fs_mcp_server_check(o.def, &def, &diag, &err) < 0) {
        /* every problem, each naming its field */
        const char *line = fs_buf_str(&diag);
        for (const char *nl; *line; line = nl + 1) {
            nl = strchr(line, '\n');
            fprintf(stderr, "forestall: mcp add: %.*s\n", (int)(nl - line), line);
        }
        fs_buf_release(&diag);
        mopts_release(&o);
        return FS_EXIT_USAGE;
    }
    fs_buf_release(&diag);
    struct mctx m;
    char who[128];
    if ((rc = ctx_open(&o, &m)) == FS_EXIT_OK &&
        (rc = refuse_declared(&m, name, "change")) == FS_EXIT_OK) {
        struct add_tx t = {def, actor_of(&o, who, sizeof(who)), o.replace, FS_MCP_UNCHANGED, false};
        if (fs_writer_run(&m.w, add_fn, &t, &err) < 0) {
            rc = fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
        } else {
            char ep[1024];
            endpoint(def, ep, sizeof(ep));
            printf("%s MCP server %s (%s: %s)\n",
                   t.what == FS_MCP_ADDED     ? "added"
                   : t.what == FS_MCP_CHANGED ? "changed"
                                              : "unchanged:",
                   name, json_string_value(json_object_get(def, "transport")), ep);
        }
    }
    ctx_close(&m);
    json_decref(def);
    mopts_release(&o);
    return rc;
}

/* ---- mcp list ----------------------------------------------------------------------------- */

/* server["pins"] = {"approved": n, "changed": n, "new": n} */
static int add_pin_counts(struct fs_store *s, json_t *server, struct fs_err *err)
{
    json_t *pins = NULL;
    int rc =
        fs_store_mcp_pins_get(s, json_string_value(json_object_get(server, "name")), &pins, err);
    if (rc < 0)
        return rc;
    json_int_t approved = 0, changed = 0, fresh = 0;
    size_t i;
    json_t *p;
    json_array_foreach(pins, i, p)
    {
        const char *st = json_string_value(json_object_get(p, "status"));
        approved += fs_streq(st, "approved");
        changed += fs_streq(st, "changed");
        fresh += fs_streq(st, "new");
    }
    json_decref(pins);
    json_object_set_new(
        server, "pins",
        json_pack("{sI sI sI}", "approved", approved, "changed", changed, "new", fresh));
    return 0;
}

int fs_cmd_mcp_list(int argc, char **argv)
{
    struct mopts o;
    int rc = parse(argc, argv, "mcp list", "c:o:", 0, &o);
    if (rc != FS_EXIT_OK)
        return rc;
    struct mctx m;
    json_t *list = NULL;
    struct fs_err err;
    if ((rc = ctx_open(&o, &m)) != FS_EXIT_OK)
        goto out;
    if (fs_store_mcp_servers_list(m.store, &list, &err) < 0) {
        rc = fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
        goto out;
    }
    size_t i;
    json_t *s;
    json_array_foreach(list, i, s) if (add_pin_counts(m.store, s, &err) < 0)
    {
        rc = fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
        goto out;
    }
    if (o.json) {
        rc = fs_cli_print_json(list);
        goto out;
    }
    if (!json_array_size(list)) {
        printf("no MCP servers (forestall mcp add, or mcp.servers in the configuration)\n");
        goto out;
    }
    printf("%-20s %-9s %-8s %-16s %-7s %-11s %s\n", "NAME", "TRANSPORT", "ENABLED", "TRUST",
           "SOURCE", "TOOLS", "ENDPOINT");
    json_array_foreach(list, i, s)
    {
        char ep[1024], tools[48];
        endpoint(s, ep, sizeof(ep));
        json_t *pins = json_object_get(s, "pins");
        json_int_t ok = json_integer_value(json_object_get(pins, "approved"));
        json_int_t waiting = json_integer_value(json_object_get(pins, "changed")) +
                             json_integer_value(json_object_get(pins, "new"));
        /* approved, and waiting for an approval (new or changed) */
        if (waiting)
            snprintf(tools, sizeof(tools), "%lld+%lld?", (long long)ok, (long long)waiting);
        else
            snprintf(tools, sizeof(tools), "%lld", (long long)ok);
        printf("%-20s %-9s %-8s %-16s %-7s %-11s %s\n",
               json_string_value(json_object_get(s, "name")),
               json_string_value(json_object_get(s, "transport")),
               json_is_true(json_object_get(s, "enabled")) ? "yes" : "no",
               json_string_value(json_object_get(s, "trust")),
               json_string_value(json_object_get(s, "source")), tools, ep);
    }
out:
    json_decref(list);
    ctx_close(&m);
    mopts_release(&o);
    return rc;
}

/* ---- mcp remove --------------------------------------------------------------------------- */

struct remove_tx {
    const char *name, *actor;
};

static int remove_fn(struct fs_store *s, void *arg, struct fs_err *err)
{
    struct remove_tx *t = arg;
    return fs_mcp_server_delete(s, t->name, t->actor, fs_now_ms(), err);
}

int fs_cmd_mcp_remove(int argc, char **argv)
{
    struct mopts o;
    int rc = parse(argc, argv, "mcp remove", "c:", 1, &o);
    if (rc != FS_EXIT_OK)
        return rc;
    struct mctx m;
    char who[128];
    struct remove_tx t = {argv[optind], actor_of(&o, who, sizeof(who))};
    struct fs_err err;
    if ((rc = ctx_open(&o, &m)) == FS_EXIT_OK &&
        (rc = refuse_declared(&m, t.name, "remove")) == FS_EXIT_OK) {
        if (fs_writer_run(&m.w, remove_fn, &t, &err) < 0)
            rc = fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
        else
            printf("removed MCP server %s\n", t.name);
    }
    ctx_close(&m);
    mopts_release(&o);
    return rc;
}

/* ---- mcp tools ---------------------------------------------------------------------------- */

struct tools_tx {
    const char *server, *tool, *actor;
    json_t *approved;
};

static int approve_fn(struct fs_store *s, void *arg, struct fs_err *err)
{
    struct tools_tx *t = arg;
    json_decref(t->approved);
    t->approved = NULL;
    return fs_mcp_pin_approve(s, t->server, t->tool, t->actor, fs_now_ms(), &t->approved, err);
}

int fs_cmd_mcp_tools(int argc, char **argv)
{
    struct mopts o;
    int rc = parse(argc, argv, "mcp tools", "c:o:", 1, &o);
    if (rc != FS_EXIT_OK)
        return rc;
    if (o.approve && o.approve_all) {
        mopts_release(&o);
        return fs_cli_fail(FS_EXIT_USAGE, "mcp tools: --approve and --approve-all exclude each "
                                          "other");
    }
    if ((o.approve || o.approve_all) && !o.as) {
        mopts_release(&o);
        return fs_cli_fail(FS_EXIT_USAGE, "mcp tools: approving needs --as NAME (who approves, "
                                          "kept in the audit trail)");
    }
    struct mctx m;
    struct tools_tx t = {argv[optind], o.approve, o.as, NULL};
    json_t *server = NULL, *pins = NULL, *listed = NULL;
    struct fs_err err;
    if ((rc = ctx_open(&o, &m)) != FS_EXIT_OK)
        goto out;
    if (fs_store_mcp_server_get(m.store, t.server, &server, &err) < 0) {
        rc = fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
        goto out;
    }
    /* --refresh: the live listing, its pins recorded (new tools pinned, changed definitions
     * disabled, both audited), before the approvals and the listing below; without it the
     * listing is what the store holds */
    if (o.refresh) {
        fs_log_setup(FS_LOG_ERROR, FS_LOG_LOGFMT); /* this command reports what happened */
        struct fs_mcp_hub_opts ho = {.w = &m.w};
        struct fs_mcp_hub *hub = NULL;
        int hrc = fs_mcp_hub_new(&ho, &hub, &err);
        if (hrc == 0)
            hrc = fs_mcp_hub_sync(hub, t.server, &listed, &err);
        fs_mcp_hub_free(hub); /* closes the server */
        if (hrc < 0) {
            rc = fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
            goto out;
        }
    }
    if ((o.approve || o.approve_all) && fs_writer_run(&m.w, approve_fn, &t, &err) < 0) {
        rc = fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
        goto out;
    }
    if (fs_store_mcp_pins_get(m.store, t.server, &pins, &err) < 0) {
        rc = fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
        goto out;
    }
    if (o.json) {
        json_t *r = json_pack("{ss sO so}", "server", t.server, "tools", pins, "approved",
                              t.approved ? json_incref(t.approved) : json_array());
        if (r && listed) {
            /* what this listing changed: [{tool, change: new|changed|unchanged|missing}] */
            json_t *l = json_array();
            size_t k;
            json_t *c;
            json_array_foreach(listed, k, c)
                json_array_append_new(l, json_pack("{sO sO}", "tool", json_object_get(c, "tool"),
                                                   "change", json_object_get(c, "change")));
            json_object_set_new(r, "listed", l);
        }
        rc = fs_cli_print_json(r);
        json_decref(r);
        goto out;
    }
    size_t i;
    json_t *p;
    if (listed) {
        int counts[4] = {0};
        static const char *const changes[] = {"new", "changed", "unchanged", "missing"};
        json_array_foreach(listed, i, p)
        {
            for (int k = 0; k < 4; k++)
                counts[k] += fs_streq(json_string_value(json_object_get(p, "change")), changes[k]);
        }
        printf("listed %s: %d tool(s); %d new, %d changed, %d unchanged, %d no longer listed\n",
               t.server, counts[0] + counts[1] + counts[2], counts[0], counts[1], counts[2],
               counts[3]);
    }
    json_array_foreach(t.approved, i, p) printf("approved %s/%s\n", t.server, json_string_value(p));
    if ((o.approve || o.approve_all) && !json_array_size(t.approved))
        printf("nothing to approve: %s\n",
               o.approve ? "that tool is approved already" : "every pinned tool is approved");
    if (!json_array_size(pins)) {
        printf("no tools pinned for %s yet: they are pinned when forestall first lists the "
               "server's tools\n",
               t.server);
        goto out;
    }
    printf("%-32s %-9s %-14s %-16s %s\n", "TOOL", "STATUS", "SHA256", "APPROVED BY", "APPROVED AT");
    json_array_foreach(pins, i, p)
    {
        char at[40];
        const char *by = json_string_value(json_object_get(p, "approved_by"));
        const char *when = json_string_value(json_object_get(p, "approved_at"));
        fs_cli_short_time(when, at, sizeof(at));
        printf("%-32s %-9s %-14.12s %-16s %s\n", json_string_value(json_object_get(p, "tool")),
               json_string_value(json_object_get(p, "status")),
               json_string_value(json_object_get(p, "sha256")), by ? by : "-", when ? at : "-");
    }
out:
    json_decref(t.approved);
    json_decref(listed);
    json_decref(pins);
    json_decref(server);
    ctx_close(&m);
    mopts_release(&o);
    return rc;
}

/* ---- mcp config --------------------------------------------------------------------------- */

/* Write text to path through a temporary file in the same directory: mode 0600 from the start
 * (it holds secrets), complete or absent, never half-written. */
static int write_private(const char *path, const char *text, struct fs_err *err)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
        return fs_err_set(err, FS_E_INVALID, NULL, "%s: path too long", path);
    int fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 */
    if (fd < 0)
        return fs_err_set(err, FS_E_IO, NULL, "cannot create %s: %s", tmp, strerror(errno));
    int rc = 0;
    const char *parts[] = {text, "\n"};
    for (size_t i = 0; i < FS_ARRAY_LEN(parts) && rc == 0; i++) {
        size_t n = strlen(parts[i]), off = 0;
        while (off < n && rc == 0) {
            ssize_t w = write(fd, parts[i] + off, n - off);
            if (w < 0 && errno != EINTR)
                rc = fs_err_set(err, FS_E_IO, NULL, "cannot write %s: %s", tmp, strerror(errno));
            else if (w > 0)
                off += (size_t)w;
        }
    }
    if (rc == 0 && (fchmod(fd, 0600) < 0 || fsync(fd) < 0))
        rc = fs_err_set(err, FS_E_IO, NULL, "cannot write %s: %s", tmp, strerror(errno));
    if (close(fd) < 0 && rc == 0)
        rc = fs_err_set(err, FS_E_IO, NULL, "cannot write %s: %s", tmp, strerror(errno));
    if (rc == 0 && rename(tmp, path) < 0)
        rc = fs_err_set(err, FS_E_IO, NULL, "cannot write %s: %s", path, strerror(errno));
    if (rc < 0)
        unlink(tmp);
    return rc;
}

int fs_cmd_mcp_config(int argc, char **argv)
{
    struct mopts o;
    int rc = parse(argc, argv, "mcp config", "c:o:", 0, &o);
    if (rc != FS_EXIT_OK)
        return rc;
    struct mctx m;
    json_t *servers = NULL, *doc = NULL, *args = NULL;
    char *text = NULL;
    struct fs_err err;
    if ((rc = ctx_open(&o, &m)) != FS_EXIT_OK)
        goto out;
    /* the gateway entry runs this very binary, with this configuration */
    char self[PATH_MAX], cfgpath[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0) {
        rc = fs_cli_fail(FS_EXIT_FAILURE, "cannot find this program's path: %s", strerror(errno));
        goto out;
    }
    self[n] = '\0';
    args = json_pack("[ss]", "mcp", "serve");
    if (o.config && realpath(o.config, cfgpath)) {
        json_array_append_new(args, json_string("-c"));
        json_array_append_new(args, json_string(cfgpath));
    }
    if (o.data_dir && realpath(m.cfg->data_dir, cfgpath)) {
        json_array_append_new(args, json_string("--data-dir"));
        json_array_append_new(args, json_string(cfgpath));
    }
    if (fs_store_mcp_servers_list(m.store, &servers, &err) < 0 ||
        fs_mcp_config_render(servers, self, args, fs_mcp_secret_resolve, NULL, &doc, &err) < 0) {
        rc = fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
        goto out;
    }
    if (!(text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER))) {
        rc = fs_cli_fail(FS_EXIT_FAILURE, "out of memory");
        goto out;
    }
    if (!o.output || strcmp(o.output, "-") == 0) {
        puts(text);
    } else if (write_private(o.output, text, &err) < 0) {
        rc = fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
    } else {
        printf("wrote %s (mode 0600): %zu server(s) and forestall's gateway\n", o.output,
               json_object_size(json_object_get(doc, "mcpServers")) - 1);
    }
out:
    if (text) {
        explicit_bzero(text, strlen(text));
        free(text);
    }
    json_decref(doc);
    json_decref(servers);
    json_decref(args);
    ctx_close(&m);
    mopts_release(&o);
    return rc;
}
