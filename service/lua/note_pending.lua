-- Add a pending comment's id to its network's list (a string of ids, 24 characters each), once,
-- and keep the list for a while after it (`Store.add`). The string is written whole, not
-- appended to, so Redis keeps no spare room at its end.
-- KEYS[1] the network's list   ARGV[1] comment id   ARGV[2] how long to keep the list (ms)
local ids = redis.call('GET', KEYS[1]) or ''
for at = 1, #ids, #ARGV[1] do
  if string.sub(ids, at, at + #ARGV[1] - 1) == ARGV[1] then
    return 0
  end
end
redis.call('SET', KEYS[1], ids .. ARGV[1], 'PX', ARGV[2])
return 1
