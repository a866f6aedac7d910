-- Rewrite one comment's record with its email hash and fingerprint in today's shorter forms,
-- and move its duplicate fingerprint entry, in one step (`news-comments migrate-keys`).
-- KEYS[1] the article's comment records   KEYS[2] the article's duplicate fingerprints
-- ARGV[1] comment id   ARGV[2] the record as read   ARGV[3] the record to keep instead
-- ARGV[4] its fingerprint as read, or ""   ARGV[5] its fingerprint today, or ""
-- Returns 1 when rewritten, 0 when the record changed since it was read (read it again).
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
-- The entry moves only when it names this comment, and never takes another comment's place.
if ARGV[4] ~= '' and redis.call('HGET', KEYS[2], ARGV[4]) == ARGV[1] then
  redis.call('HDEL', KEYS[2], ARGV[4])
  redis.call('HSETNX', KEYS[2], ARGV[5], ARGV[1])
end
return 1
