-- Provinces, estates, clusters, users, firms, registration drafts, rounds, submissions, answers.
-- Times are ISO 8601 in UTC.

CREATE TABLE provinces (
    id      INTEGER PRIMARY KEY,
    name_fa TEXT NOT NULL UNIQUE,
    name_en TEXT NOT NULL UNIQUE
);

CREATE TABLE estates (
    id          INTEGER PRIMARY KEY,
    province_id INTEGER NOT NULL REFERENCES provinces(id),
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('estate', 'zone', 'park')),
    active      INTEGER NOT NULL DEFAULT 1,
    UNIQUE (province_id, name)
);

CREATE TABLE clusters (
    id          INTEGER PRIMARY KEY,
    province_id INTEGER NOT NULL REFERENCES provinces(id),
    name        TEXT NOT NULL,
    sector      TEXT,
    active      INTEGER NOT NULL DEFAULT 1,
    UNIQUE (province_id, name)
);

CREATE TABLE users (
    id         INTEGER PRIMARY KEY,
    language   TEXT NOT NULL DEFAULT 'fa',
    first_name TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE firms (
    id             INTEGER PRIMARY KEY,
    owner_id       INTEGER NOT NULL UNIQUE REFERENCES users(id),
    name           TEXT NOT NULL,
    national_id    TEXT NOT NULL UNIQUE,
    province_id    INTEGER NOT NULL REFERENCES provinces(id),
    estate_id      INTEGER NOT NULL REFERENCES estates(id),
    cluster_id     INTEGER REFERENCES clusters(id),
    sector         TEXT NOT NULL,
    employees      INTEGER NOT NULL,
    founded_year   INTEGER NOT NULL,
    phone          TEXT NOT NULL,
    consent_public INTEGER NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX firms_estate ON firms(estate_id);

-- A registration (or a profile edit) in progress: each answer lands here the moment it is given,
-- with the step that is asked next, so a restart resumes exactly where the owner was.
CREATE TABLE registration_drafts (
    user_id    INTEGER PRIMARY KEY REFERENCES users(id),
    step       TEXT NOT NULL,
    data       TEXT NOT NULL DEFAULT '{}',
    editing    INTEGER NOT NULL DEFAULT 0,
    active     INTEGER NOT NULL DEFAULT 1,
    updated_at TEXT NOT NULL
);

CREATE TABLE rounds (
    id                    INTEGER PRIMARY KEY,
    title                 TEXT NOT NULL,
    questionnaire_version INTEGER NOT NULL,
    opens_at              TEXT NOT NULL,
    closes_at             TEXT NOT NULL,
    state                 TEXT NOT NULL CHECK (state IN ('scheduled', 'open', 'closed')),
    weights               TEXT,
    created_at            TEXT NOT NULL
);
CREATE UNIQUE INDEX rounds_one_open ON rounds(state) WHERE state = 'open';

-- cursor is the question on screen ('review' for the review screen); pending holds the options
-- ticked so far on a multiple-choice question not yet confirmed with "done"; active is 0 while
-- the owner has stepped out of the assessment to the menu.
CREATE TABLE submissions (
    id           INTEGER PRIMARY KEY,
    round_id     INTEGER NOT NULL REFERENCES rounds(id),
    firm_id      INTEGER NOT NULL REFERENCES firms(id) ON DELETE CASCADE,
    status       TEXT NOT NULL CHECK (status IN ('draft', 'submitted')),
    cursor       TEXT,
    pending      TEXT,
    active       INTEGER NOT NULL DEFAULT 1,
    started_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    submitted_at TEXT,
    UNIQUE (round_id, firm_id)
);

CREATE TABLE answers (
    submission_id INTEGER NOT NULL REFERENCES submissions(id) ON DELETE CASCADE,
    qid           TEXT NOT NULL,
    value         TEXT NOT NULL,
    answered_at   TEXT NOT NULL,
    PRIMARY KEY (submission_id, qid)
);

INSERT INTO provinces (id, name_fa, name_en) VALUES
    (1, 'آذربایجان شرقی', 'East Azerbaijan'),
    (2, 'آذربایجان غربی', 'West Azerbaijan'),
    (3, 'اردبیل', 'Ardabil'),
    (4, 'اصفهان', 'Isfahan'),
    (5, 'البرز', 'Alborz'),
    (6, 'ایلام', 'Ilam'),
    (7, 'بوشهر', 'Bushehr'),
    (8, 'تهران', 'Tehran'),
    (9, 'چهارمحال و بختیاری', 'Chaharmahal and Bakhtiari'),
    (10, 'خراسان جنوبی', 'South Khorasan'),
    (11, 'خراسان رضوی', 'Razavi Khorasan'),
    (12, 'خراسان شمالی', 'North Khorasan'),
    (13, 'خوزستان', 'Khuzestan'),
    (14, 'زنجان', 'Zanjan'),
    (15, 'سمنان', 'Semnan'),
    (16, 'سیستان و بلوچستان', 'Sistan and Baluchestan'),
    (17, 'فارس', 'Fars'),
    (18, 'قزوین', 'Qazvin'),
    (19, 'قم', 'Qom'),
    (20, 'کردستان', 'Kurdistan'),
    (21, 'کرمان', 'Kerman'),
    (22, 'کرمانشاه', 'Kermanshah'),
    (23, 'کهگیلویه و بویراحمد', 'Kohgiluyeh and Boyer-Ahmad'),
    (24, 'گلستان', 'Golestan'),
    (25, 'گیلان', 'Gilan'),
    (26, 'لرستان', 'Lorestan'),
    (27, 'مازندران', 'Mazandaran'),
    (28, 'مرکزی', 'Markazi'),
    (29, 'هرمزگان', 'Hormozgan'),
    (30, 'همدان', 'Hamadan'),
    (31, 'یزد', 'Yazd');
