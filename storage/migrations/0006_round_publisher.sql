-- Who published a round, so the final delivery report reaches them, and when it was sent.
ALTER TABLE rounds ADD COLUMN published_by INTEGER;
ALTER TABLE rounds ADD COLUMN publish_reported_at TEXT;
