-- Scoring writes a round's new results beside the ones readers see, in short transactions, and
-- then makes them visible by changing one number: readers never wait for a long write and never
-- see half a round.  ``score_rows`` holds every generation of a round's results; the view
-- ``scores`` (the name every reader uses) shows only the round's published generation.
CREATE TABLE score_rows (
    round_id      INTEGER NOT NULL REFERENCES rounds(id),
    generation    INTEGER NOT NULL,
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
    PRIMARY KEY (round_id, generation, firm_id)
);
INSERT INTO score_rows (
    round_id, generation, firm_id, estate_id, cluster_id, province_id, dimensions, composite,
    weakest, rank_estate, size_estate, rank_cluster, size_cluster, rank_province, size_province,
    rank_nation, size_nation, percentile)
SELECT round_id, 1, firm_id, estate_id, cluster_id, province_id, dimensions, composite,
    weakest, rank_estate, size_estate, rank_cluster, size_cluster, rank_province, size_province,
    rank_nation, size_nation, percentile
FROM scores;
DROP TABLE scores;

-- score_generation: the generation readers see (NULL: never scored); score_generations: the
-- last one handed out, so two runs never write the same one.
ALTER TABLE rounds ADD COLUMN score_generation INTEGER;
ALTER TABLE rounds ADD COLUMN score_generations INTEGER NOT NULL DEFAULT 0;
UPDATE rounds SET score_generation = 1, score_generations = 1
    WHERE id IN (SELECT DISTINCT round_id FROM score_rows);

CREATE VIEW scores AS
SELECT s.round_id, s.firm_id, s.estate_id, s.cluster_id, s.province_id, s.dimensions,
    s.composite, s.weakest, s.rank_estate, s.size_estate, s.rank_cluster, s.size_cluster,
    s.rank_province, s.size_province, s.rank_nation, s.size_nation, s.percentile
FROM score_rows s JOIN rounds r ON r.id = s.round_id AND r.score_generation = s.generation;

-- The scoring's publish checks, inside its transaction, that the round's submitted submissions
-- did not change while it ran (count, ids, latest update, unpacked ones: the fingerprint).
-- From the table that is a 60 ms scan of 100,000 rows with the write lock held, which every
-- update waits for; from this index, 15 ms.
CREATE INDEX submissions_fingerprint ON submissions (round_id, status, updated_at, (packed IS NULL));
