-- forestall schema, version 3: the investigation and remediation engine. Where an incident is
-- in its handling, each investigation run, the executor's append-only step log, what the
-- knowledge graph learned from each incident, and the post-mortems. Times are milliseconds.

-- Where the incident is in its handling (docs/engine.md): new, investigating, proposed,
-- awaiting_approval, executing, verifying, resolved, escalated, no_action, shadowed, blocked.
-- `status` (open | resolved) stays what the alerts say; `state` is what forestall did about it.
ALTER TABLE incidents ADD COLUMN state TEXT NOT NULL DEFAULT 'new';
ALTER TABLE incidents ADD COLUMN state_at INTEGER;
CREATE INDEX incidents_state ON incidents (state, id);

-- One run of a planner over an incident.
CREATE TABLE investigations (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    planner     TEXT    NOT NULL,           -- playbook | llm | ...
    playbook    TEXT,                       -- the playbook that matched
    status      TEXT    NOT NULL,           -- running | proposed | escalated | no_action | failed
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    steps       INTEGER NOT NULL DEFAULT 0, -- tool calls made
    root_cause  TEXT,
    summary     TEXT,
    result      TEXT                        -- JSON: the planner's full result (forecast, followups)
);
CREATE INDEX investigations_incident ON investigations (incident_id, id);

-- Observations now also name the investigation that made them.
ALTER TABLE observations ADD COLUMN investigation_id INTEGER REFERENCES investigations (id);

-- The executor's append-only step log, one row per transition of one execution
-- (architecture.md §7): intent, started, result, verified, rollback_started, rolled_back,
-- escalated, skipped. On restart the log is replayed: a step with intent and no result is
-- re-run only when the action is idempotent, otherwise its probe decides.
CREATE TABLE exec_steps (
    id           INTEGER PRIMARY KEY,
    execution_id INTEGER NOT NULL REFERENCES executions (id),
    ts           INTEGER NOT NULL,
    state        TEXT    NOT NULL,
    detail       TEXT    NOT NULL            -- JSON
);
CREATE INDEX exec_steps_execution ON exec_steps (execution_id, id);
CREATE TRIGGER exec_steps_no_update BEFORE UPDATE ON exec_steps
BEGIN
    SELECT RAISE(ABORT, 'exec_steps is append-only');
END;

-- What the executor ran, on which target, and with what outcome; the queue it works from.
ALTER TABLE executions ADD COLUMN incident_id INTEGER REFERENCES incidents (id);
ALTER TABLE executions ADD COLUMN target_kind TEXT;
ALTER TABLE executions ADD COLUMN spec TEXT;   -- JSON: rendered argv/request, params, target
ALTER TABLE executions ADD COLUMN result TEXT; -- JSON: exit status, output (capped), verification
CREATE INDEX executions_open ON executions (outcome) WHERE outcome IN ('queued', 'running');

-- What the knowledge graph learned: one row per incident outcome per entity, read by the next
-- investigation on that entity ("what happened last time").
CREATE TABLE entity_history (
    id          INTEGER PRIMARY KEY,
    entity      TEXT    NOT NULL,           -- knowledge-graph name, or the host/service label
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    ts          INTEGER NOT NULL,
    outcome     TEXT    NOT NULL,           -- resolved | escalated | no_action | rolled_back | ...
    action      TEXT,
    root_cause  TEXT,
    summary     TEXT
);
CREATE INDEX entity_history_entity ON entity_history (entity, ts);

-- Post-mortems, written when an incident's handling ends (and rewritten if it reopens).
CREATE TABLE postmortems (
    incident_id INTEGER PRIMARY KEY REFERENCES incidents (id),
    created_at  INTEGER NOT NULL,
    markdown    TEXT    NOT NULL,
    data        TEXT    NOT NULL            -- JSON
);
