/* approval: roles and capabilities, the action hash, and the checks around a person's approval
 * and an action's start. Pure functions over rows the caller read; owns no state, does no I/O,
 * never consults an LLM. The rules are architecture.md §6 and seed 002's FORCE_OVERRIDE. */
#include "core/common.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/hash.h"
#include "core/json.h"
#include "core/time.h"
#include "safety/approval.h"

static const struct {
    const char *name, *doc;
} roles[] = {
#define FS_ROLE_ROW(e, name, doc) {name, doc},
    FS_ROLES(FS_ROLE_ROW)
#undef FS_ROLE_ROW
};

const char *fs_role_name(enum fs_role r)
{
    return (unsigned)r < FS_ROLE__COUNT ? roles[r].name : "?";
}

const char *fs_role_doc(enum fs_role r)
{
    return (unsigned)r < FS_ROLE__COUNT ? roles[r].doc : "";
}

int fs_role_parse(const char *s, enum fs_role *out)
{
    for (int i = 0; i < FS_ROLE__COUNT; i++)
        if (fs_streq(s, roles[i].name)) {
            *out = (enum fs_role)i;
            return 0;
        }
    return -FS_E_INVALID;
}

bool fs_role_can(enum fs_role r, enum fs_capability cap)
{
    switch (cap) {
    case FS_CAP_READ: return r >= FS_ROLE_VIEWER;
    case FS_CAP_PROPOSE: return r == FS_ROLE_AGENT || r == FS_ROLE_ADMIN;
    case FS_CAP_APPROVE:
    case FS_CAP_FREEZE: return r >= FS_ROLE_APPROVER;
    case FS_CAP_OVERRIDE: return r >= FS_ROLE_OVERRIDER;
    case FS_CAP_UNFREEZE:
    case FS_CAP_MODE: return r == FS_ROLE_ADMIN;
    }
    return false;
}

int fs_action_hash(const char *catalog_version, const char *action, const json_t *params,
                   const json_t *target, const char *policy_version, const char *incident,
                   int64_t expires_at, const char *proposal, char out[65])
{
    json_t *doc = json_object();
    if (!doc)
        return -FS_E_NOMEM;
    json_object_set_new(doc, "catalog_version",
                        json_string(catalog_version ? catalog_version : ""));
    json_object_set_new(doc, "action", json_string(action ? action : ""));
    json_object_set_new(doc, "params", params ? json_deep_copy(params) : json_object());
    json_object_set_new(doc, "target", target ? json_deep_copy(target) : json_object());
    json_object_set_new(doc, "policy_version", json_string(policy_version ? policy_version : ""));
    json_object_set_new(doc, "incident", incident ? json_string(incident) : json_null());
    json_object_set_new(doc, "expires_at", json_integer(expires_at));
    json_object_set_new(doc, "proposal", json_string(proposal ? proposal : ""));
    char *text = fs_json_canonical(doc);
    json_decref(doc);
    if (!text)
        return -FS_E_NOMEM;
    int rc = fs_sha256_hex(text, strlen(text), out);
    free(text);
    return rc;
}

int fs_proposal_row_hash(const struct fs_proposal_row *p, const char *catalog_version,
                         const char *policy_version, char out[65], struct fs_err *err)
{
    json_error_t je;
    json_t *body = p->body ? json_loads(p->body, 0, &je) : NULL;
    if (!json_is_object(body)) {
        json_decref(body);
        return fs_err_set(err, FS_E_STORE, NULL, "proposal %lld: stored body is not a JSON object",
                          (long long)p->id);
    }
    json_t *inc = json_object_get(body, "incident");
    int rc = fs_action_hash(catalog_version, json_string_value(json_object_get(body, "action")),
                            json_object_get(body, "params"), json_object_get(body, "target"),
                            policy_version, json_string_value(json_object_get(inc, "id")),
                            p->expires_at, json_string_value(json_object_get(body, "key")), out);
    json_decref(body);
    if (rc < 0)
        return fs_err_set(err, (enum fs_errcode) - rc, NULL, NULL);
    return 0;
}

static bool needs_force(const struct fs_proposal_row *p)
{
    return strcmp(p->decision, "needs_force_override") == 0;
}

int fs_approval_authorize(const struct fs_proposal_row *p, const struct fs_identity *who,
                          bool force, const char *current_hash, int64_t now, struct fs_err *err)
{
    char when[40];
    if (!fs_role_can(who->role, force ? FS_CAP_OVERRIDE : FS_CAP_APPROVE))
        return fs_err_set(err, FS_E_FORBIDDEN, NULL, "%s (role %s) may not %s proposals", who->name,
                          fs_role_name(who->role), force ? "force-override" : "approve");
    if (strcmp(p->status, "pending") != 0)
        return fs_err_set(err, FS_E_NOT_PENDING, NULL, "prop-%lld is %s, not pending",
                          (long long)p->id, p->status);
    if (now >= p->expires_at)
        return fs_err_set(err, FS_E_EXPIRED, NULL, "prop-%lld expired at %s", (long long)p->id,
                          fs_time_format(p->expires_at, when, sizeof(when)));
    if (p->proposer && strcmp(p->proposer, who->name) == 0)
        return fs_err_set(err, FS_E_SELF_APPROVAL, NULL,
                          "%s proposed prop-%lld and cannot approve it; another person must",
                          who->name, (long long)p->id);
    if (needs_force(p) && !force)
        return fs_err_set(err, FS_E_FORCE_REQUIRED, NULL,
                          "prop-%lld is for a critical incident: APPROVE is refused; only "
                          "FORCE_OVERRIDE (role overrider) can let it run, and is logged "
                          "permanently",
                          (long long)p->id);
    if (!current_hash || strcmp(current_hash, p->action_hash) != 0)
        return fs_err_set(err, FS_E_STALE, NULL,
                          "prop-%lld was decided under catalog %s and policy %s, which are no "
                          "longer in force; propose it again",
                          (long long)p->id, p->catalog_version, p->policy_version);
    return 0;
}

int fs_rejection_authorize(const struct fs_proposal_row *p, const struct fs_identity *who,
                           struct fs_err *err)
{
    bool own = p->proposer && strcmp(p->proposer, who->name) == 0;
    if (!own && !fs_role_can(who->role, FS_CAP_APPROVE))
        return fs_err_set(err, FS_E_FORBIDDEN, NULL, "%s (role %s) may not reject proposals",
                          who->name, fs_role_name(who->role));
    if (strcmp(p->status, "pending") != 0)
        return fs_err_set(err, FS_E_NOT_PENDING, NULL, "prop-%lld is %s, not pending",
                          (long long)p->id, p->status);
    return 0;
}

int fs_approval_check_execution(const struct fs_proposal_row *p, const struct fs_approval_row *a,
                                const char *recomputed_hash, int64_t now, struct fs_err *err)
{
    char when[40];
    long long id = (long long)p->id;
    if (strcmp(p->status, "approved") != 0)
        return fs_err_set(err, FS_E_NOT_PENDING, NULL, "prop-%lld is %s, not approved", id,
                          p->status);
    if (!a) {
        if (strcmp(p->decision, "execute") != 0)
            return fs_err_set(err, FS_E_FORBIDDEN, NULL,
                              "prop-%lld needed approval (%s) and has none", id, p->decision);
        if (!recomputed_hash || strcmp(recomputed_hash, p->action_hash) != 0)
            return fs_err_set(err, FS_E_STALE, NULL,
                              "prop-%lld changed since the gate decided (action, params, target, "
                              "catalog or policy); refused",
                              id);
        if (now >= p->expires_at)
            return fs_err_set(err, FS_E_EXPIRED, NULL, "prop-%lld expired at %s", id,
                              fs_time_format(p->expires_at, when, sizeof(when)));
        return 0;
    }
    if (a->proposal_id != p->id)
        return fs_err_set(err, FS_E_FORBIDDEN, NULL,
                          "approval apr-%lld was given for prop-%lld, not prop-%lld",
                          (long long)a->id, (long long)a->proposal_id, id);
    bool force = strcmp(a->kind, "force_override") == 0;
    if (!force && strcmp(a->kind, "approve") != 0)
        return fs_err_set(err, FS_E_FORBIDDEN, NULL, "apr-%lld is a %s, not an approval",
                          (long long)a->id, a->kind);
    if (needs_force(p) && !force)
        return fs_err_set(err, FS_E_FORCE_REQUIRED, NULL,
                          "prop-%lld needs FORCE_OVERRIDE; apr-%lld is a plain approval", id,
                          (long long)a->id);
    if (p->proposer && a->actor && strcmp(p->proposer, a->actor) == 0)
        return fs_err_set(err, FS_E_SELF_APPROVAL, NULL,
                          "apr-%lld was given by %s, who proposed prop-%lld", (long long)a->id,
                          a->actor, id);
    if (a->consumed_at != FS_TIME_UNSET)
        return fs_err_set(err, FS_E_NOT_PENDING, NULL,
                          "apr-%lld was already used at %s; an approval covers one execution",
                          (long long)a->id, fs_time_format(a->consumed_at, when, sizeof(when)));
    if (now >= a->expires_at)
        return fs_err_set(err, FS_E_EXPIRED, NULL, "apr-%lld expired at %s", (long long)a->id,
                          fs_time_format(a->expires_at, when, sizeof(when)));
    if (!recomputed_hash || strcmp(recomputed_hash, a->action_hash) != 0)
        return fs_err_set(err, FS_E_STALE, NULL,
                          "prop-%lld is not what %s approved: the action, params, target, "
                          "catalog or policy changed since (hash %.12s, approved %.12s); refused",
                          id, a->actor ? a->actor : "?", recomputed_hash ? recomputed_hash : "-",
                          a->action_hash);
    return 0;
}
