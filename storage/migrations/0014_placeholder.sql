-- Placeholder on branch signup only: another branch of the same day takes migration 0014.
-- Drop this file when merging (the real 0014 replaces it).
SELECT 1;
