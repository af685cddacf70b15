-- forestall schema, version 1: the durable inbox, dead letters, episodes and incidents.
-- Times are integer milliseconds since the Unix epoch (UTC).

-- Every accepted webhook body, committed before the sender gets its 2xx.
CREATE TABLE inbox (
    id          INTEGER PRIMARY KEY,
    received_at INTEGER NOT NULL,
    source      TEXT    NOT NULL,
    remote      TEXT,
    body        BLOB    NOT NULL,
    alerts      INTEGER NOT NULL,
    applied     INTEGER NOT NULL DEFAULT 0,   -- 1 once folded into episodes/incidents
    error       TEXT                          -- why applying failed (re-tried at startup)
);
CREATE INDEX inbox_received ON inbox (received_at);
CREATE INDEX inbox_unapplied ON inbox (id) WHERE applied = 0;

-- Bodies that were rejected (400, 413, ...), kept so nothing a sender posted is lost.
CREATE TABLE dead_letters (
    id          INTEGER PRIMARY KEY,
    received_at INTEGER NOT NULL,
    source      TEXT    NOT NULL,
    remote      TEXT,
    http_status INTEGER NOT NULL,
    code        TEXT    NOT NULL,
    message     TEXT    NOT NULL,
    path        TEXT,
    body        BLOB,
    body_len    INTEGER NOT NULL,             -- bytes kept
    body_total  INTEGER NOT NULL              -- bytes sent (or declared)
);
CREATE INDEX dead_letters_received ON dead_letters (received_at);

-- Idempotency keys of generic events.
CREATE TABLE event_ids (
    id          TEXT    PRIMARY KEY,
    received_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE incidents (
    id            INTEGER PRIMARY KEY,
    group_key     TEXT    NOT NULL,
    status        TEXT    NOT NULL,           -- open | resolved
    severity      TEXT    NOT NULL,
    title         TEXT    NOT NULL,
    labels        TEXT    NOT NULL,           -- JSON: labels common to all its episodes
    open_episodes INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    resolved_at   INTEGER
);
CREATE INDEX incidents_group ON incidents (group_key, id);
CREATE INDEX incidents_status ON incidents (status, id);

CREATE TABLE episodes (
    id            INTEGER PRIMARY KEY,
    fingerprint   TEXT    NOT NULL,
    source        TEXT    NOT NULL,
    status        TEXT    NOT NULL,           -- firing | resolved
    starts_at     INTEGER NOT NULL,
    starts_at_max INTEGER NOT NULL,
    ends_at       INTEGER,
    end_inferred  INTEGER NOT NULL DEFAULT 0,
    expires_at    INTEGER,
    severity      TEXT    NOT NULL,
    alertname     TEXT,
    labels        TEXT    NOT NULL,
    annotations   TEXT    NOT NULL,
    extra         TEXT    NOT NULL,
    incident_id   INTEGER NOT NULL REFERENCES incidents (id),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX episodes_fp ON episodes (fingerprint, starts_at);
CREATE INDEX episodes_incident ON episodes (incident_id, id);
-- The invariant the incident logic relies on: at most one open episode per fingerprint.
CREATE UNIQUE INDEX episodes_one_open ON episodes (fingerprint) WHERE status = 'firing';
CREATE INDEX episodes_expiring ON episodes (expires_at) WHERE status = 'firing';

-- What happened to an incident, in order.
CREATE TABLE incident_events (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    ts          INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    episode_id  INTEGER,
    detail      TEXT    NOT NULL
);
CREATE INDEX incident_events_incident ON incident_events (incident_id, id);
