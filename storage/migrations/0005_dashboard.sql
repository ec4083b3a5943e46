-- Privacy: a firm whose owner deleted their data is kept as an anonymous tombstone (no name,
-- national ID, phone or free text, detached from its owner) so that the scores and peer
-- statistics of rounds already scored stay as published and foreign keys hold.
ALTER TABLE firms ADD COLUMN deleted_at TEXT;
