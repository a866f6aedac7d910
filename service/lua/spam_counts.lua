-- Read what the spam filter learned about some slots, in one step (reads only).
-- KEYS[1] totals   KEYS[2..] slot shards   ARGV[i] the fields (slots within the shard) wanted
-- from KEYS[i + 1], space separated.
-- Returns the totals (spam comments, legitimate comments, spam weight, legitimate weight,
-- slots used), then each wanted field's counts ("<spam>:<legitimate>:<comments>" or false),
-- shard after shard, in ARGV's order.
local answer = redis.call('HMGET', KEYS[1],
  'spam_comments', 'ham_comments', 'spam_weight', 'ham_weight', 'slots_used')
for i = 2, #KEYS do
  local fields = {}
  for field in string.gmatch(ARGV[i - 1], '%d+') do
    fields[#fields + 1] = field
  end
  local values = redis.call('HMGET', KEYS[i], unpack(fields))
  for j = 1, #values do
    answer[#answer + 1] = values[j]
  end
end
return answer
