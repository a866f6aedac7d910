-- Replace a comment's sealed private data, only if it is still what was read (compare and set):
-- an erasure or deletion in between wins, and nothing is written back.
-- KEYS[1] the article's comment records   ARGV[1] comment id   ARGV[2] the sealed data read
-- ARGV[3] the sealed data to keep instead
-- Returns 1 when replaced, 0 when the data had changed or gone.
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then
  return 0
end
local record = cjson.decode(raw)
if record.x ~= ARGV[2] then
  return 0
end
record.x = ARGV[3]
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(record))
return 1
