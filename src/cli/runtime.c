/* runtime: what the commands that run forestall itself (serve, executor, investigate) share —
 * the configuration with its command-line overrides, the safety rules it names, each with
 * every problem collected into one message, the data directory with its owner's lock, and the
 * registered MCP servers' hub. */
#include "core/common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "cli/cli.h"
#include "mcp/hub.h"
#include "mcp/registry.h"
#include "store/store.h"
#include "core/config.h"
#include "core/time.h"
#include "safety/service.h"

#define LOCK_GRACE_MS 3000

int fs_cli_load_config(const char *file, const char *listen, const char *data_dir,
                       struct fs_config **out, struct fs_err *err)
{
    struct fs_buf diag = FS_BUF_INIT(1 << 16);
    int rc = fs_config_load(file, out, &diag, err);
    if (rc < 0)
        fs_cli_diag_into(&diag, err);
    fs_buf_release(&diag);
    if (rc < 0)
        return rc;
    if ((listen && (rc = fs_config_set(*out, "server.listen", listen, err)) < 0) ||
        (data_dir && (rc = fs_config_set(*out, "data_dir", data_dir, err)) < 0) ||
        (rc = fs_config_check(*out, err)) < 0) {
        fs_config_free(*out);
        *out = NULL;
    }
    return rc;
}

int fs_cli_load_rules(const struct fs_config *cfg, struct fs_rules **out, struct fs_err *err)
{
    struct fs_buf diag = FS_BUF_INIT(1 << 16);
    int rc =
        fs_rules_load(cfg->safety.policy, cfg->safety.catalog, cfg->context.graph, out, &diag, err);
    if (rc < 0)
        fs_cli_diag_into(&diag, err);
    fs_buf_release(&diag);
    return rc;
}

int fs_cli_lock_data_dir(const char *dir, const char *name, const char *held, int *fd_out,
                         struct fs_err *err)
{
    *fd_out = -1;
    char path[4096];
    if (fs_strlcpy(path, dir, sizeof(path)) < 0)
        return fs_err_set(err, FS_E_CONFIG, "data_dir", "data_dir: path too long");
    for (char *p = path + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(path, 0755) < 0 && errno != EEXIST)
                return fs_err_set(err, FS_E_IO, "data_dir", "cannot create %s: %s", path,
                                  strerror(errno));
            *p = '/';
        }
    }
    if (mkdir(path, 0700) < 0 && errno != EEXIST)
        return fs_err_set(err, FS_E_IO, "data_dir", "cannot create %s: %s", path, strerror(errno));
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return fs_err_set(err, FS_E_IO, "data_dir", "cannot open %s: %s", path, strerror(errno));
    /* A process that just died (kill -9, a crash restarted by systemd) can leave the lock held
     * for a moment by a child it forked that has not reached exec yet: wait a little for it
     * before calling the directory taken. */
    int64_t until = fs_mono_ns() + LOCK_GRACE_MS * 1000000LL;
    int locked;
    while ((locked = flock(fd, LOCK_EX | LOCK_NB)) < 0 && errno == EWOULDBLOCK &&
           fs_mono_ns() < until) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (locked < 0) {
        close(fd);
        return fs_err_set(err, FS_E_BUSY, "data_dir", "%s is in use (lock %s is held): %s", dir,
                          path, held);
    }
    char pid[32];
    int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
    if (ftruncate(fd, 0) < 0 || write(fd, pid, (size_t)n) < 0) {
        /* the pid is for people looking at the file; the lock is what counts */
    }
    *fd_out = fd;
    return 0;
}

int fs_cli_open_hub(const struct fs_writer *w, const struct fs_config *cfg, struct fs_registry *reg,
                    struct fs_mcp_hub **hub, struct fs_err *err)
{
    struct fs_mcp_hub_opts ho = {.w = w, .tools = reg};
    if (fs_mcp_registry_load_config(w, cfg, fs_now_ms(), NULL, err) < 0 ||
        fs_mcp_hub_new(&ho, hub, err) < 0 || fs_mcp_hub_refresh(*hub, NULL, err) < 0)
        return -1;
    return 0;
}

int fs_cli_open_store(const struct fs_config *cfg, struct fs_store **store, struct fs_err *err)
{
    char *path = fs_config_store_path(cfg);
    struct fs_store_options so = {
        .driver = cfg->store.driver, .path = path, .busy_timeout_ms = cfg->store.busy_timeout_ms};
    int rc = path ? fs_store_open(&so, store, err) : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    free(path);
    return rc;
}

void fs_cli_close_store(const struct fs_config *cfg, struct fs_store *store)
{
    if (!store)
        return;
    unsigned char key[128];
    size_t keylen = 0;
    struct fs_audit_checkpointer *cp = NULL;
    struct fs_err err;
    char *path = fs_config_data_path(cfg, cfg->audit.checkpoint_file);
    if (!path || fs_cli_audit_key(cfg, true, key, sizeof(key), &keylen, &err) < 0 ||
        fs_audit_checkpointer_open(path, key, keylen, &cp, &err) < 0 ||
        fs_audit_checkpoint(cp, store, fs_now_ms(), &err) < 0)
        fprintf(stderr, "forestall: cannot write an audit checkpoint: %s\n",
                path ? err.msg : "out of memory");
    fs_audit_checkpointer_free(cp);
    explicit_bzero(key, sizeof(key));
    free(path);
    fs_store_close(store);
}
