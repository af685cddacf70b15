-- forestall schema, version 2: the safety layer. Proposals and the approvals bound to them,
-- runtime controls (kill switch, modes), observations cited as evidence, executions of catalog
-- actions, and the hash-chained audit log. Times are integer milliseconds since the Unix epoch.

-- One proposed remediation as the gate decided it.
CREATE TABLE proposals (
    id              INTEGER PRIMARY KEY,
    incident_id     INTEGER REFERENCES incidents (id),  -- NULL: not about an incident
    status          TEXT    NOT NULL,   -- pending | approved | rejected | expired | blocked | shadow
    decision        TEXT    NOT NULL,   -- the gate's decision
    proposer        TEXT    NOT NULL,
    action          TEXT    NOT NULL,
    target_key      TEXT    NOT NULL,   -- canonical target, e.g. "host=web-1,service=api"
    body            TEXT    NOT NULL,   -- JSON: the gate input as decided
    gate            TEXT    NOT NULL,   -- JSON: the gate's result
    risk_score      INTEGER NOT NULL,
    risk_level      TEXT    NOT NULL,
    action_hash     TEXT    NOT NULL,
    catalog_version TEXT    NOT NULL,
    policy_version  TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    expires_at      INTEGER,            -- NULL: never
    decided_by      TEXT,               -- NULL while pending
    decided_at      INTEGER,
    reason          TEXT
);
CREATE INDEX proposals_status ON proposals (status, expires_at);
CREATE INDEX proposals_incident ON proposals (incident_id, id);

-- Approvals, rejections and force-overrides of one proposal; each approval is used once.
CREATE TABLE approvals (
    id          INTEGER PRIMARY KEY,
    proposal_id INTEGER NOT NULL REFERENCES proposals (id),
    kind        TEXT    NOT NULL,       -- approve | force_override | reject
    actor       TEXT    NOT NULL,
    role        TEXT    NOT NULL,
    reason      TEXT,
    action_hash TEXT    NOT NULL,       -- the hash the approver saw; '' for reject
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER,
    consumed_at INTEGER                 -- set once, by the execution that used it
);
CREATE INDEX approvals_proposal ON approvals (proposal_id, id);

-- Small named JSON values: the kill switch ("freeze"), runtime modes ("mode:...").
CREATE TABLE controls (
    key        TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL,        -- JSON
    updated_by TEXT,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;

-- What a tool call, a person or an external agent saw; proposals cite them as "obs-N".
CREATE TABLE observations (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER REFERENCES incidents (id),
    ts          INTEGER NOT NULL,
    tool        TEXT    NOT NULL,
    input       TEXT,                   -- JSON
    output      TEXT    NOT NULL,
    duration_ms INTEGER NOT NULL,
    actor       TEXT
);
CREATE INDEX observations_incident ON observations (incident_id, id);

-- Executions of catalog actions; the gate reads their history per action and target.
CREATE TABLE executions (
    id          INTEGER PRIMARY KEY,
    proposal_id INTEGER REFERENCES proposals (id),
    action      TEXT    NOT NULL,
    target_key  TEXT    NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,                -- NULL while running
    outcome     TEXT    NOT NULL        -- running | succeeded | failed | rolled_back | unknown
);
CREATE INDEX executions_history ON executions (action, target_key, started_at);
CREATE INDEX executions_proposal ON executions (proposal_id);

-- The audit chain: hash = SHA-256 over (prev_hash, seq, ts, type, actor, data), see
-- src/audit/audit.c. Rows are never updated or deleted; the triggers stop a bug from doing it,
-- the chain and the checkpoints outside the database catch anyone who bypasses them.
CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY,      -- 1, 2, ... without gaps
    ts        INTEGER NOT NULL,
    type      TEXT    NOT NULL,
    actor     TEXT    NOT NULL,
    data      TEXT    NOT NULL,         -- canonical JSON
    prev_hash TEXT    NOT NULL,
    hash      TEXT    NOT NULL
);
CREATE INDEX audit_log_ts ON audit_log (ts);
CREATE INDEX audit_log_type ON audit_log (type, seq);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
