-- Read what the spam filter learned about some slots, in one step (reads only).
-- KEYS[1] totals   ARGV[1] the name of the slot shards up to their number   ARGV[2] the slots
-- wanted, in ascending order, space separated   ARGV[3] slots per shard (SHARD_SIZE). A slot's
-- shard is ARGV[1] .. (slot // SHARD_SIZE), its field the slot within the shard. The shards are
-- named from ARGV rather than listed in KEYS, so a comment's hundred-odd shard names need not
-- travel: they hold the {spam-filter} tag of KEYS[1], and so live in its hash slot on a cluster.
-- Returns the totals (spam comments, legitimate comments, spam weight, legitimate weight,
-- slots used), then each wanted slot's counts ("<spam>:<legitimate>:<comments>" or false), in
-- ARGV[2]'s order.
local answer = redis.call('HMGET', KEYS[1],
  'spam_comments', 'ham_comments', 'spam_weight', 'ham_weight', 'slots_used')
local size = tonumber(ARGV[3])
local prefix = ARGV[1]
local shard, fields = nil, {}
local function read()
  local values = redis.call('HMGET', prefix .. shard, unpack(fields))
  for i = 1, #values do
    answer[#answer + 1] = values[i]
  end
end
for slot in string.gmatch(ARGV[2], '%d+') do
  local number = tonumber(slot)
  local this = math.floor(number / size)
  if this ~= shard then
    if shard ~= nil then
      read()
    end
    shard, fields = this, {}
  end
  fields[#fields + 1] = number % size
end
if shard ~= nil then
  read()
end
return answer
