-- Appends no longer write the `head` state row: the head is the last event's position, and the row is a floor
-- that prune and restore record (so positions continue after every event was pruned). The row is brought up
-- to date once here; a binary older than this migration refuses the database (unknown migration) instead of
-- reading a stale head.
UPDATE state SET value = max(value, coalesce((SELECT max(position) FROM events), 0)) WHERE name = 'head';
