-- Score a comment's slots where their counts are, in one step (reads only): the sums of the
-- complement naive Bayes described in service/spam_filter.py, so only two numbers travel back
-- rather than every slot's counts.
-- KEYS[1] totals   ARGV[1] the name of the slot shards up to their number   ARGV[2] the slots,
-- in ascending order, space separated   ARGV[3] slots per shard (SHARD_SIZE)
-- ARGV[4] the weight scale (WEIGHT_SCALE)   ARGV[5] the smoothing (ALPHA)
-- A slot's shard is ARGV[1] .. (slot // SHARD_SIZE), its field the slot within the shard
-- The shards are named here rather than listed in KEYS, so a comment's hundreds of shard names
-- need not travel: they hold the {spam-filter} tag of KEYS[1], and so live in its hash slot on
-- a cluster.
-- Returns the totals (spam comments, legitimate comments, spam weight, legitimate weight, slots
-- used), then the evidence sum and the sum of squared rarities (as text: Redis would cut a
-- number to an integer). For each slot some learned comment has:
--   ratio = log((spam + a) / (legitimate + a)) - log((total spam + v) / (total legitimate + v))
--   rarity = log((learned comments + 1) / (its comments + 0.5))
--   evidence += rarity * ratio; squares += rarity * rarity
-- with weights divided by the scale, a the smoothing and v = a * max(slots used, 1).
local totals = redis.call('HMGET', KEYS[1],
  'spam_comments', 'ham_comments', 'spam_weight', 'ham_weight', 'slots_used')
local function total(i)
  return tonumber(totals[i]) or 0
end
local size, scale, alpha = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local log = math.log
local vocabulary = alpha * math.max(total(5), 1)
local offset = log(total(4) / scale + vocabulary) - log(total(3) / scale + vocabulary)
local log_learned = log(total(1) + total(2) + 1)
local evidence, squares = 0, 0

local prefix = ARGV[1]
local shard, fields = nil, {}
local function score()
  local values = redis.call('HMGET', prefix .. shard, unpack(fields))
  for i = 1, #values do
    if values[i] then
      local spam, ham, comments = string.match(values[i], '^(-?%d+):(-?%d+):(-?%d+)$')
      comments = tonumber(comments)
      if comments and comments > 0 then
        local ratio = log((tonumber(spam) / scale + alpha) / (tonumber(ham) / scale + alpha))
          + offset
        local rarity = log_learned - log(comments + 0.5)
        evidence = evidence + rarity * ratio
        squares = squares + rarity * rarity
      end
    end
  end
end
for slot in string.gmatch(ARGV[2], '%d+') do
  local number = tonumber(slot)
  local this = math.floor(number / size)
  if this ~= shard then
    if shard ~= nil then
      score()
    end
    shard, fields = this, {}
  end
  fields[#fields + 1] = number % size
end
if shard ~= nil then
  score()
end
for i = 1, 5 do
  totals[i] = total(i)
end
totals[6] = string.format('%.17g', evidence)
totals[7] = string.format('%.17g', squares)
return totals
