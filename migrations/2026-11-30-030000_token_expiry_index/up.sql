-- Housekeeping deletes expired access tokens by expiry: without an index that was a
-- scan of the whole table while holding the write lock (a 119 ms write tail with 1.4
-- million tokens; BENCHMARKS.md, "Five minutes of writes").
CREATE INDEX access_tokens_expires_at ON access_tokens (expires_at);
