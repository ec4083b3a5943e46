-- Who published a round, so the final delivery report reaches them, and when it was sent.
ALTER TABLE rounds ADD COLUMN published_by INTEGER;
ALTER TABLE rounds ADD COLUMN publish_reported_at TEXT;
-- Rounds published before this migration had their results delivered long ago: no late report.
UPDATE rounds SET publish_reported_at = published_at WHERE published_at IS NOT NULL;
