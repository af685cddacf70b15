/* state: the incident handling state machine — names, the table of allowed moves, and the one
 * function that moves an incident (state, timeline entry and audit record together). */
#include "core/common.h"

#include <string.h>

#include "audit/audit.h"
#include "incidents/state.h"

static const char *const names[] = {
#define FS_ISTATE_NAME(e, name, doc) name,
    FS_INCIDENT_STATES(FS_ISTATE_NAME)
#undef FS_ISTATE_NAME
};

static const char *const docs[] = {
#define FS_ISTATE_DOC(e, name, doc) doc,
    FS_INCIDENT_STATES(FS_ISTATE_DOC)
#undef FS_ISTATE_DOC
};

#define B(s) (1u << FS_ISTATE_##s)

/* allowed[from] = the states it may move to. Ending states may go back to investigating.
 *
 * escalated → executing is "a person approves after the escalation": the incident was handed to
 * a person, who then approved a proposal for it — their own (`forestall propose`, the console,
 * an agent's through the gateway) or one that was still waiting for approval when another
 * ended the incident in escalation — and the executor runs it. Nothing was investigated in
 * between, so the move does not pass through investigating and proposed (the executor's
 * shortest legal path, exec.c incident_move). A proposal made for the escalated incident that
 * the gate lets run on its own takes the same move. tests/unit/test_state.c pins the table. */
static const unsigned allowed[FS_ISTATE__COUNT] = {
    [FS_ISTATE_NEW] = B(INVESTIGATING) | B(ESCALATED) | B(NO_ACTION),
    [FS_ISTATE_INVESTIGATING] = B(PROPOSED) | B(ESCALATED) | B(NO_ACTION) | B(INVESTIGATING),
    [FS_ISTATE_PROPOSED] =
        B(AWAITING_APPROVAL) | B(EXECUTING) | B(SHADOWED) | B(BLOCKED) | B(ESCALATED),
    [FS_ISTATE_AWAITING_APPROVAL] = B(EXECUTING) | B(ESCALATED),
    [FS_ISTATE_EXECUTING] = B(VERIFYING) | B(ESCALATED),
    [FS_ISTATE_VERIFYING] = B(RESOLVED) | B(ESCALATED),
    [FS_ISTATE_RESOLVED] = B(INVESTIGATING),
    [FS_ISTATE_ESCALATED] = B(INVESTIGATING) | B(EXECUTING),
    [FS_ISTATE_NO_ACTION] = B(INVESTIGATING),
    [FS_ISTATE_SHADOWED] = B(INVESTIGATING),
    [FS_ISTATE_BLOCKED] = B(INVESTIGATING) | B(ESCALATED),
};

const char *fs_incident_state_name(enum fs_incident_state s)
{
    return (unsigned)s < FS_ISTATE__COUNT ? names[s] : "?";
}

int fs_incident_state_parse(const char *name, enum fs_incident_state *out)
{
    for (int i = 0; name && i < FS_ISTATE__COUNT; i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (enum fs_incident_state)i;
            return 0;
        }
    }
    return -FS_E_INVALID;
}

bool fs_incident_state_final(enum fs_incident_state s)
{
    return s == FS_ISTATE_RESOLVED || s == FS_ISTATE_ESCALATED || s == FS_ISTATE_NO_ACTION ||
           s == FS_ISTATE_SHADOWED || s == FS_ISTATE_BLOCKED;
}

bool fs_incident_transition_allowed(enum fs_incident_state from, enum fs_incident_state to)
{
    if ((unsigned)from >= FS_ISTATE__COUNT || (unsigned)to >= FS_ISTATE__COUNT)
        return false;
    return (allowed[from] & (1u << to)) != 0;
}

int fs_incident_transition(struct fs_store *s, int64_t id, enum fs_incident_state to,
                           const char *actor, const json_t *detail, int64_t now, struct fs_err *err)
{
    struct fs_incident inc;
    int rc = fs_store_incident_load(s, id, &inc, err);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return fs_err_set(err, FS_E_NOT_FOUND, NULL, "no incident inc-%lld", (long long)id);
    enum fs_incident_state from = FS_ISTATE_NEW;
    if (inc.state[0] && fs_incident_state_parse(inc.state, &from) < 0)
        from = FS_ISTATE_NEW; /* unknown (newer forestall): treat as new */
    fs_incident_clear(&inc);
    if (from == to && to != FS_ISTATE_INVESTIGATING)
        return 0;
    if (!fs_incident_transition_allowed(from, to))
        return fs_err_set(err, FS_E_INVALID, NULL, "inc-%lld cannot move from %s to %s",
                          (long long)id, names[from], names[to]);
    json_t *d = json_pack("{s:s,s:s,s:s}", "from", names[from], "to", names[to], "actor",
                          actor ? actor : "forestall");
    if (!d)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    char idbuf[32];
    snprintf(idbuf, sizeof(idbuf), "inc-%lld", (long long)id);
    json_object_set_new(d, "incident", json_string(idbuf));
    if (detail && json_is_object(detail))
        json_object_update_missing(d, (json_t *)detail);
    char *text = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text) {
        json_decref(d);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    if ((rc = fs_store_incident_set_state(s, id, names[to], now, err)) == 0 &&
        (rc = fs_store_incident_event(s, id, now, "state", 0, text, err)) == 0)
        rc = fs_audit_append(s, now, FS_AUDIT_INCIDENT, actor ? actor : "forestall", d, NULL, err);
    free(text);
    json_decref(d);
    return rc;
}

/* Moves that are not plain progress along the diagram, with why they exist (the generated page
 * lists them under the table). */
static const char *const notes[][3] = {
    {"`investigating`", "investigating",
     "a crash or a failed commit left the investigation unfinished: the dispatcher investigates "
     "again (investigations only read)"},
    {"`proposed`", "executing",
     "the gate decided `execute`: the executor runs it, no person asked"},
    {"`escalated`", "executing",
     "a person approves after the escalation: the incident was handed to a person, who approved "
     "a proposal for it (their own — `forestall propose`, the console, an agent's — or one still "
     "waiting for approval when another ended the incident in escalation); the executor runs it. "
     "Nothing was investigated in between, so the move does not pass through `investigating`. "
     "A proposal made for the escalated incident that the gate lets run on its own (`execute`) "
     "takes the same move"},
    {"`resolved`, `escalated`, `no_action`, `shadowed`, `blocked`", "investigating",
     "the incident reopened (a new firing episode) or was handed back: it is investigated again"},
};

int fs_incident_states_doc_markdown(struct fs_buf *b)
{
    int rc = fs_buf_puts(b, "| state | meaning | may move to |\n|---|---|---|\n");
    for (int i = 0; i < FS_ISTATE__COUNT && rc == 0; i++) {
        rc |= fs_buf_printf(b, "| `%s` | %s | ", names[i], docs[i]);
        const char *sep = "";
        for (int j = 0; j < FS_ISTATE__COUNT; j++) {
            if (allowed[i] & (1u << j)) {
                rc |= fs_buf_printf(b, "%s`%s`", sep, names[j]);
                sep = ", ";
            }
        }
        rc |= fs_buf_puts(b, " |\n");
    }
    rc |= fs_buf_puts(b, "\nMoves that need a word:\n\n| from | to | why |\n|---|---|---|\n");
    for (size_t i = 0; i < FS_ARRAY_LEN(notes) && rc == 0; i++)
        rc |= fs_buf_printf(b, "| %s | `%s` | %s |\n", notes[i][0], notes[i][1], notes[i][2]);
    return rc;
}
