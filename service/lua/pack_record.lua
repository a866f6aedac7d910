-- Pack one comment of the layout before packed records into its article's records hash
-- (`news-comments migrate-keys`); a comment packed already is left alone.
-- KEYS[1] its old hash   KEYS[2] its old private data   KEYS[3] its old duplicate fingerprint
-- KEYS[4] the article's comment records   KEYS[5] the article's fingerprints
-- KEYS[6] the bucket's comment locator
-- ARGV[1] comment id   ARGV[2] its record (JSON)   ARGV[3] its new locator record, or "" when
-- the locator does not hold it (a placeholder)   ARGV[4] its fingerprint (32 hex digits) or ""
-- Returns 1 when packed, 0 when there was nothing to pack.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
if ARGV[4] ~= '' and redis.call('GET', KEYS[3]) == ARGV[1] then
  redis.call('HSET', KEYS[5], ARGV[4], ARGV[1])
  redis.call('DEL', KEYS[3])
end
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[6], ARGV[1], ARGV[3])
end
redis.call('DEL', KEYS[1], KEYS[2])
return 1
