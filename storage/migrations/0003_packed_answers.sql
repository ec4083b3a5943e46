-- A packed, ready-to-score copy of each submitted assessment, written once at submit time, so
-- that scoring a round reads one row per submission instead of one row per answer.
--
-- answer_values numbers each distinct stored answer (question id + JSON value) once; ids are
-- never deleted or reused.  Free text never goes here: an answer whose JSON holds a string that
-- is not a plain identifier (an option id) stays with its submission, in packed_text.
CREATE TABLE answer_values (
    id    INTEGER PRIMARY KEY,
    qid   TEXT NOT NULL,
    value TEXT NOT NULL,
    UNIQUE (qid, value)
);

-- packed: the answer_values ids of the submission's answers, 4-byte little-endian unsigned
-- integers (an empty blob when it has no such answer); packed_text: its other answers as
-- qid || char(31) || value joined by char(30), or NULL.  packed IS NULL means there is no
-- packed copy (a submission from before this migration, or one changed after submitting):
-- the ranking then reads the answers table.
ALTER TABLE submissions ADD COLUMN packed BLOB;
ALTER TABLE submissions ADD COLUMN packed_text TEXT;

-- Ranks are computed with numpy now (bot/ranking.py), so nothing reads scores by composite any
-- more, and the index made writing and replacing a round's scores twice as slow.
DROP INDEX scores_round_composite;
