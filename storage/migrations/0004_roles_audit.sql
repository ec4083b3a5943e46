-- Roles beyond the configured admins, invitations, the audit log, blocked users, broadcasts.

-- Admins promoted in the bot (the ids in KHOOSHE_ADMINS are admins without a row here).
CREATE TABLE admins (
    user_id    INTEGER PRIMARY KEY,
    granted_by INTEGER NOT NULL,
    granted_at TEXT NOT NULL
);

-- Estate managers: one row per (manager, estate).
CREATE TABLE estate_managers (
    user_id    INTEGER NOT NULL,
    estate_id  INTEGER NOT NULL REFERENCES estates(id),
    granted_by INTEGER NOT NULL,
    granted_at TEXT NOT NULL,
    PRIMARY KEY (user_id, estate_id)
);

-- Single-use invitations; only a hash of the token is stored.
CREATE TABLE invitations (
    id          INTEGER PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    role        TEXT NOT NULL CHECK (role IN ('manager')),
    estate_id   INTEGER NOT NULL REFERENCES estates(id),
    created_by  INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_by     INTEGER,
    used_at     TEXT,
    revoked_at  TEXT
);

-- Every admin and manager action, and every refused one.
CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY,
    at       TEXT NOT NULL,
    user_id  INTEGER NOT NULL,
    action   TEXT NOT NULL,
    target   TEXT,
    outcome  TEXT NOT NULL CHECK (outcome IN ('ok', 'refused')),
    detail   TEXT
);
CREATE INDEX audit_log_user ON audit_log(user_id, id);

ALTER TABLE users ADD COLUMN blocked_at TEXT;
ALTER TABLE users ADD COLUMN blocked_by INTEGER;
ALTER TABLE estates ADD COLUMN renamed_at TEXT;

-- A broadcast by a manager or an admin: its audience is frozen into outbox rows when it starts.
CREATE TABLE broadcasts (
    id            INTEGER PRIMARY KEY,
    created_by    INTEGER NOT NULL,
    created_at    TEXT NOT NULL,
    audience      TEXT NOT NULL,
    content       TEXT NOT NULL,
    send_at       TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('draft', 'scheduled', 'running', 'done', 'cancelled')),
    recipients    INTEGER NOT NULL DEFAULT 0,
    progress_chat INTEGER,
    progress_msg  INTEGER,
    finished_at   TEXT
);
