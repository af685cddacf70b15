/* The gate policy: every number and rule the gate uses, as data. A default policy
 * (etc/policy.yaml) is embedded in the binary; an operator file is read over it (objects merge
 * key by key, lists and scalars replace). Unknown keys are errors naming file, line and key.
 *
 * Thread safety: a loaded policy is immutable and may be shared by any number of threads. */
#ifndef FS_POLICY_H
#define FS_POLICY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

enum fs_mode { FS_MODE_SHADOW, FS_MODE_SUPERVISED, FS_MODE_AUTONOMOUS };
enum fs_level { FS_LEVEL_LOW, FS_LEVEL_MEDIUM, FS_LEVEL_HIGH };

/* A list of accepted values for one match key; n == 0 means "any". */
struct fs_match_values {
    char **v;
    size_t n;
};

/* match: {service, env, severity, host, action, category}, each exact or a list. All given keys
 * must match (AND); values within one key are alternatives (OR). */
struct fs_match {
    struct fs_match_values service, env, severity, host, action, category;
};

/* What a match is tested against; NULL fields never match a non-empty key. */
struct fs_match_subject {
    const char *service, *env, *severity, *host, *action, *category;
};

struct fs_policy_mode_rule {
    struct fs_match match;
    enum fs_mode mode;
    int line;
};

struct fs_policy_deny {
    struct fs_match match;
    struct fs_match_values actions; /* n == 0: every action */
    char *reason;                   /* optional, shown in the decision */
    int line;
};

struct fs_policy_pattern {
    char *source;
    void *re; /* compiled pcre2_code (JIT when available), owned */
};

struct fs_policy {
    char *version;     /* "<declared version>+<first 12 hex of SHA-256 of canonical policy>" */
    char hash[65];     /* the whole hex SHA-256 of the canonical merged policy */
    char *declared;    /* the file's `version` as text */
    char *source;      /* "(embedded)" or the operator file */
    int threshold;     /* rule 11: score > threshold → needs_approval */
    enum fs_mode mode; /* default mode */
    struct fs_policy_mode_rule *modes; /* first match wins */
    size_t nmodes;
    struct fs_policy_deny *deny;
    size_t ndeny;
    struct fs_policy_pattern *forbidden;
    size_t nforbidden;
    struct fs_match *require_approval; /* rule 10: categories (and scopes) that need a human */
    size_t nrequire;
    int approval_tier;                    /* rule 10: tier >= this → needs_approval (2) */
    enum fs_level approval_incident_risk; /* rule 10: incident risk >= this (MEDIUM) */
    struct fs_match_values force_override_severities; /* rule 9: [critical] */
    int rate_limit_per_action_target_per_hour;        /* rule 7 (3) */
    struct {
        int min_cited;         /* rule 6: fewer cited observations → blocked (1) */
        int max_contradicting; /* rule 6: more contradicting → blocked (1, i.e. >= 2 blocks) */
    } evidence;
    struct {
        int production, per_dependent, dependents_max, critical, irreversible, recent_failure;
    } scores;
    struct {
        int medium, high; /* LOW < medium <= MEDIUM < high <= HIGH (30, 60) */
    } levels;
    struct {
        json_t *resource_class;     /* object: class -> weight */
        int resource_class_unknown; /* weight of a class not listed (or none given) */
        json_t *severity;           /* object: severity -> weight */
        int severity_unknown;
        int per_dependent, dependents_max;
    } incident_risk;
    int64_t approval_ttl_ms;
    json_t *doc;     /* the merged policy as JSON (for `forestall policy show`) */
    void *match_ctx; /* pcre2_match_context with the match/depth limits of the forbidden
                        patterns (read-only while matching, so threads share it), owned */
};

/* Load the embedded default, then file (may be NULL) over it. diag gets one line per problem
 * ("file:line: key: message"); err gets the first, err.path = "file:line". */
int fs_policy_load(const char *file, struct fs_policy **out, struct fs_buf *diag,
                   struct fs_err *err);
/* The same from bytes; with_default false parses the bytes alone (every key required). */
int fs_policy_load_buf(const char *buf, size_t len, const char *name, bool with_default,
                       struct fs_policy **out, struct fs_buf *diag, struct fs_err *err);
void fs_policy_free(struct fs_policy *p);

bool fs_match_test(const struct fs_match *m, const struct fs_match_subject *s);
/* The mode the policy gives a subject: first matching modes[] rule, else the default. *rule is
 * the index of the rule (-1 for the default). */
enum fs_mode fs_policy_mode_for(const struct fs_policy *p, const struct fs_match_subject *s,
                                int *rule);
enum fs_level fs_policy_level(const struct fs_policy *p, int score);

const char *fs_mode_name(enum fs_mode m);
int fs_mode_parse(const char *s, enum fs_mode *out);
const char *fs_level_name(enum fs_level l); /* "LOW" | "MEDIUM" | "HIGH" */
int fs_level_parse(const char *s, enum fs_level *out);

#endif
