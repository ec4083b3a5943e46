-- Updates as the Bot API delivered them, committed before the server is told they arrived, so a
-- crash between the two loses nothing. The payload (what the user typed) is dropped as soon as
-- the update is handled; the id stays a while so a refetched update is recognised.
CREATE TABLE inbox (
    update_id   INTEGER PRIMARY KEY,
    user_id     INTEGER,
    payload     TEXT,
    -- new: not handled yet; effected: its handler committed its effect but had not finished
    -- (its reply may be missing); done: handled; skipped: unreadable.
    state       TEXT NOT NULL DEFAULT 'new' CHECK (state IN ('new', 'effected', 'done', 'skipped')),
    received_at TEXT NOT NULL
);
CREATE INDEX inbox_open ON inbox (update_id) WHERE state IN ('new', 'effected');
CREATE INDEX inbox_received ON inbox (received_at);
