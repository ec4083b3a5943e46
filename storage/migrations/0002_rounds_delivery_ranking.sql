-- Round life cycle, reminders and delivery (the outbox), scores and ranks.

ALTER TABLE users ADD COLUMN muted INTEGER NOT NULL DEFAULT 0;
-- Set when the Bot API answers 403 (the user blocked the bot); cleared when they write again.
ALTER TABLE users ADD COLUMN unreachable_since TEXT;

ALTER TABLE rounds ADD COLUMN published_at TEXT;
ALTER TABLE rounds ADD COLUMN scored_at TEXT;

-- Every bulk message: written first, then sent by the delivery worker at a steady pace.
-- dedupe_key makes "at most once per (firm, round, kind)" a database rule.
-- status: pending → sending (committed just before the HTTP call) → sent | failed | unreachable.
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    dedupe_key  TEXT NOT NULL UNIQUE,
    chat_id     INTEGER NOT NULL,
    payload     TEXT NOT NULL,
    not_before  TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'unreachable', 'cancelled')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    message_id  INTEGER,
    sent_at     TEXT,
    created_at  TEXT NOT NULL
);
CREATE INDEX outbox_due ON outbox(status, not_before, id);

-- One row per scored submission when a round closes: the scores and every rank.
CREATE TABLE scores (
    round_id      INTEGER NOT NULL REFERENCES rounds(id),
    firm_id       INTEGER NOT NULL REFERENCES firms(id) ON DELETE CASCADE,
    estate_id     INTEGER NOT NULL,
    cluster_id    INTEGER,
    province_id   INTEGER NOT NULL,
    dimensions    TEXT NOT NULL,
    composite     REAL NOT NULL,
    weakest       TEXT NOT NULL DEFAULT '[]',
    rank_estate   INTEGER,
    size_estate   INTEGER,
    rank_cluster  INTEGER,
    size_cluster  INTEGER,
    rank_province INTEGER,
    size_province INTEGER,
    rank_nation   INTEGER,
    size_nation   INTEGER,
    percentile    REAL,
    PRIMARY KEY (round_id, firm_id)
);
CREATE INDEX scores_round_composite ON scores(round_id, composite DESC);

-- Medians and means per group, stored only for groups of at least five firms.
-- scope is 'estate', 'cluster', 'province' or 'nation' (scope_id 0); metric is a dimension id
-- or 'composite'.
CREATE TABLE peer_stats (
    round_id INTEGER NOT NULL REFERENCES rounds(id),
    scope    TEXT NOT NULL CHECK (scope IN ('estate', 'cluster', 'province', 'nation')),
    scope_id INTEGER NOT NULL,
    metric   TEXT NOT NULL,
    n        INTEGER NOT NULL,
    median   REAL NOT NULL,
    mean     REAL NOT NULL,
    PRIMARY KEY (round_id, scope, scope_id, metric)
);
