-- Placeholder on branch signup only: another branch of the same day takes migration 0015.
-- Drop this file when merging (the real 0015 replaces it).
SELECT 1;
