-- A bulk message whose send failed after the request had gone out (a 5xx answer, a time-out
-- waiting for the answer) may have reached the user: it becomes 'uncertain', is counted in its
-- broadcast's report and is never sent again. SQLite cannot widen a CHECK in place, so the table
-- is rebuilt (nothing references it).
CREATE TABLE outbox_new (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    dedupe_key  TEXT NOT NULL UNIQUE,
    chat_id     INTEGER NOT NULL,
    payload     TEXT NOT NULL,
    not_before  TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'unreachable', 'cancelled', 'uncertain')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    message_id  INTEGER,
    sent_at     TEXT,
    created_at  TEXT NOT NULL
);
INSERT INTO outbox_new (id, kind, dedupe_key, chat_id, payload, not_before, status, attempts, last_error,
                        message_id, sent_at, created_at)
    SELECT id, kind, dedupe_key, chat_id, payload, not_before, status, attempts, last_error,
           message_id, sent_at, created_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox(status, not_before, id);
