-- forestall schema, version 5: notifications (docs/notifications.md). The outbox of deliveries,
-- one per (channel, notice), and the notifier's cursor in the audit trail. Times are
-- milliseconds. Secrets are never stored: notice holds what the channel is told, the channel's
-- configuration (with its secret references) stays in the config file.

CREATE TABLE deliveries (
    id          INTEGER PRIMARY KEY,
    channel     TEXT    NOT NULL,               -- notify.channels[].name
    event       TEXT    NOT NULL,               -- proposal_pending | decision | execution | ...
    audit_seq   INTEGER NOT NULL,               -- the audit record the notice comes from
    incident_id INTEGER,
    proposal_id INTEGER,
    notice      TEXT    NOT NULL,               -- JSON: the notice's data (struct fs_notice)
    status      TEXT    NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sent', 'dead')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_at     INTEGER NOT NULL,               -- not attempted before then
    last_error  TEXT,                           -- sanitized, no secrets
    ref         TEXT,                           -- what the peer returned (message ts, issue key)
    created_at  INTEGER NOT NULL,
    sent_at     INTEGER,
    UNIQUE (channel, audit_seq, event)          -- a notice is queued once, whatever crashes
);
CREATE INDEX deliveries_due ON deliveries (status, next_at);
CREATE INDEX deliveries_incident ON deliveries (channel, incident_id, status);
CREATE INDEX deliveries_ref ON deliveries (channel, ref);

-- The last audit record the notifier has turned into deliveries (one row).
CREATE TABLE notify_cursor (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    seq         INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
