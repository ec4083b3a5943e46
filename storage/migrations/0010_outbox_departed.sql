-- The moment a bulk message's request was about to go out, committed before the HTTP call: after
-- a crash, a row still 'sending' with it set may have reached the user (it becomes 'uncertain',
-- never sent again), while one without it was only claimed (it is sent, once). Cleared whenever
-- the row is claimed again or put back in the queue.
ALTER TABLE outbox ADD COLUMN departed_at TEXT;
