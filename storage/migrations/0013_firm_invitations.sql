-- Firm invitations: an estate manager uploads the estate's firm list; each firm gets a personal,
-- single-use link that opens its registration pre-filled. Only a SHA-256 hash of the token is
-- stored. A firm listed again gets a new link and its older one is revoked.
CREATE TABLE firm_invitations (
    id          INTEGER PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    estate_id   INTEGER NOT NULL REFERENCES estates(id),
    name        TEXT NOT NULL,
    national_id TEXT NOT NULL,
    -- The owner's mobile as the manager gave it, canonical (+989…); NULL when not given.
    mobile      TEXT,
    created_by  INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    -- The first time the link was opened (the funnel's "opened").
    opened_at   TEXT,
    -- Who confirmed the pre-filled registration (single use: set once).
    used_by     INTEGER,
    used_at     TEXT,
    revoked_at  TEXT
);
CREATE INDEX firm_invitations_estate ON firm_invitations(estate_id, national_id);
