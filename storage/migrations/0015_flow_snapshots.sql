-- Where an admin's or manager's guided flow stands (a round being set up, a broadcast being
-- composed, an estate being added…) and what they gave it so far, so a restart or a crash does
-- not make them type it again. Written with the "handled" marks of the updates that moved it, in
-- one transaction; one row per user, dropped when the flow ends.
CREATE TABLE flow_snapshots (
    user_id    INTEGER PRIMARY KEY,
    snapshot   TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX flow_snapshots_updated ON flow_snapshots (updated_at);
