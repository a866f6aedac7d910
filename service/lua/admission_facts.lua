-- Read in one step what the submission rules need to know (reads only). On one server or behind
-- Sentinel; a cluster, whose keys here lie in many slots, reads the same in a pipeline (see
-- Store.admission_facts).
-- KEYS[1] the article's settings   KEYS[2..4] blocked emails, domains, networks
-- KEYS[5], KEYS[6] the flood marks of the client's IP and email   KEYS[7] the article's duplicate
-- fingerprints   KEYS[8] the client network's pending list
-- KEYS[9 ..] each bucket's approved comments per email hash, then each bucket's pending queue
-- ARGV[1] the email hash   ARGV[2] the fingerprint   ARGV[3] the number of buckets
-- Returns the article's settings (field, value, ...), whether the email is blocked (1 or 0), the
-- blocked domains, the blocked networks, the PTTL of both flood marks, the id of the comment
-- with the same fingerprint (or false), the length of the network's pending list, the email's
-- approved comments and the site's pending comments.
local buckets = tonumber(ARGV[3])
local approved, pending = 0, 0
for i = 1, buckets do
  approved = approved + (tonumber(redis.call('HGET', KEYS[8 + i], ARGV[1])) or 0)
  pending = pending + redis.call('ZCARD', KEYS[8 + buckets + i])
end
return {
  redis.call('HGETALL', KEYS[1]),
  redis.call('HEXISTS', KEYS[2], ARGV[1]),
  redis.call('SMEMBERS', KEYS[3]),
  redis.call('SMEMBERS', KEYS[4]),
  redis.call('PTTL', KEYS[5]),
  redis.call('PTTL', KEYS[6]),
  redis.call('HGET', KEYS[7], ARGV[2]),
  redis.call('STRLEN', KEYS[8]),
  approved,
  pending,
}
