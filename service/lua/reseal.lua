-- Replace a comment's sealed private data, only if it is still what was read (compare and set):
-- an erasure or deletion in between wins, and nothing is written back.
-- KEYS[1] private data   ARGV[1] the sealed data read   ARGV[2] the sealed data to keep instead
-- Returns 1 when replaced, 0 when the data had changed or gone.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2])
return 1
