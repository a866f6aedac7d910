-- Read in one step what the submission rules ask about (changes nothing).
-- KEYS[1] article settings   KEYS[2] blocked emails   KEYS[3] blocked domains
-- KEYS[4] blocked networks   KEYS[5] flood mark of the IP   KEYS[6] flood mark of the email
-- KEYS[7] duplicate fingerprint   KEYS[8] approved comments per email hash   KEYS[9] global pending
-- ARGV[1] email hash
-- Returns {article settings as field, value pairs, email blocked (0/1), blocked domains,
-- blocked networks, ms until the flood marks expire, the duplicate's id or false,
-- the email's approved comments, the number of pending comments}.
return {
  redis.call('HGETALL', KEYS[1]),
  redis.call('HEXISTS', KEYS[2], ARGV[1]),
  redis.call('SMEMBERS', KEYS[3]),
  redis.call('SMEMBERS', KEYS[4]),
  math.max(redis.call('PTTL', KEYS[5]), redis.call('PTTL', KEYS[6]), 0),
  redis.call('GET', KEYS[7]),
  redis.call('HGET', KEYS[8], ARGV[1]) or '0',
  redis.call('ZCARD', KEYS[9]),
}
