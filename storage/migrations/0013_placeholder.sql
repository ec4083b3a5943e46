-- Placeholder on branch signup only: another branch of the same day takes migration 0013.
-- Drop this file when merging (the real 0013 replaces it).
SELECT 1;
