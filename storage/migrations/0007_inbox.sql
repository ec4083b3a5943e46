-- Updates as the Bot API delivered them, committed before the server is told they arrived, so a
-- crash between the two loses nothing. The payload (what the user typed) is dropped as soon as
-- the update is handled; the id stays a while so a refetched update is recognised.
CREATE TABLE inbox (
    update_id   INTEGER PRIMARY KEY,
    user_id     INTEGER,
    payload     TEXT,
    state       TEXT NOT NULL DEFAULT 'new' CHECK (state IN ('new', 'done', 'skipped')),
    received_at TEXT NOT NULL
);
CREATE INDEX inbox_new ON inbox (update_id) WHERE state = 'new';
CREATE INDEX inbox_received ON inbox (received_at);
