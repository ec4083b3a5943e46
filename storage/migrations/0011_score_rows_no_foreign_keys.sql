-- score_rows without foreign-key clauses: with them SQLite looked up the firm and the round of
-- every row written (100,000 B-tree searches of firms per scoring of a large round, about a
-- sixth of the time spent writing the rows, bench/ranking.py).  A run only writes firms and the
-- round it has just read, and publishes nothing if the round's submissions changed meanwhile
-- (the fingerprint check in the publishing transaction).  What the clauses did when a parent
-- goes is kept by triggers: a deleted firm takes its score rows with it (ON DELETE CASCADE), and
-- a round with score rows cannot be deleted (the foreign key's refusal).
CREATE TABLE score_rows_new (
    round_id      INTEGER NOT NULL,
    generation    INTEGER NOT NULL,
    firm_id       INTEGER NOT NULL,
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
INSERT INTO score_rows_new (
    round_id, generation, firm_id, estate_id, cluster_id, province_id, dimensions, composite,
    weakest, rank_estate, size_estate, rank_cluster, size_cluster, rank_province, size_province,
    rank_nation, size_nation, percentile)
SELECT round_id, generation, firm_id, estate_id, cluster_id, province_id, dimensions, composite,
    weakest, rank_estate, size_estate, rank_cluster, size_cluster, rank_province, size_province,
    rank_nation, size_nation, percentile
FROM score_rows;
DROP VIEW scores;
DROP TABLE score_rows;
ALTER TABLE score_rows_new RENAME TO score_rows;

CREATE VIEW scores AS
SELECT s.round_id, s.firm_id, s.estate_id, s.cluster_id, s.province_id, s.dimensions,
    s.composite, s.weakest, s.rank_estate, s.size_estate, s.rank_cluster, s.size_cluster,
    s.rank_province, s.size_province, s.rank_nation, s.size_nation, s.percentile
FROM score_rows s JOIN rounds r ON r.id = s.round_id AND r.score_generation = s.generation;

CREATE TRIGGER score_rows_firm_deleted AFTER DELETE ON firms
BEGIN
    DELETE FROM score_rows WHERE firm_id = OLD.id;
END;

CREATE TRIGGER score_rows_keep_round BEFORE DELETE ON rounds
WHEN EXISTS (SELECT 1 FROM score_rows WHERE round_id = OLD.id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed');
END;
