-- Learn a comment as spam or legitimate, relabel it, unlearn it or forget its personal slots,
-- in one step: what was learned from it before is subtracted exactly, whatever its text is now.
-- KEYS[1] records (comment id -> record)   KEYS[2] record order (sorted set, learned at ms)
-- KEYS[3] totals
-- ARGV[1] comment id ("" for a labelled example that is no comment: learned, never undone)
-- ARGV[2] the record the caller read ("" for none): the step is refused if it changed since;
-- "*": whatever record is there now is swapped
-- ARGV[3] the new record ("" to unlearn)   ARGV[4] now (ms)   ARGV[5] records kept at most
-- ARGV[6] the name of the slot shards up to their number   ARGV[7] "1": keep the new record
-- (it can be undone later); "0": learn it and keep no record   ARGV[8] slots per shard
-- (SHARD_SIZE): slot N lives in field N % ARGV[8] of shard N // ARGV[8]. The shards are named
-- here rather than listed in KEYS, since the records they touch are only read here; they hold
-- the {spam-filter} tag of KEYS, so live in its hash slot on a cluster.
-- A record (printable): 1 character of label (s or h), then base-64 numbers (DIGITS): 2 of
-- weight, 2 of the number of personal slots, 4 per slot. A slot's counts: "<spam weight>:
-- <legitimate weight>:<comments>".
-- Returns "conflict", "unchanged" or "learned". Every key holds the {spam-filter} tag.
local comment_id, expected, record = ARGV[1], ARGV[2], ARGV[3]
if comment_id ~= '' then
  local current = redis.call('HGET', KEYS[1], comment_id) or ''
  if expected == '*' then
    expected = current
  elseif current ~= expected then
    return 'conflict'
  end
  if current == record and ARGV[7] == '1' then
    return 'unchanged'
  end
end
local shards, size = ARGV[6], tonumber(ARGV[8])

local DIGITS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_'
local VALUE = {}
for i = 1, 64 do
  VALUE[string.byte(DIGITS, i)] = i - 1
end
local function number(text, from, to)
  local value = 0
  for i = from, to do
    value = value * 64 + VALUE[string.byte(text, i)]
  end
  return value
end

local slots_used = 0
local function apply(learned, sign)
  if learned == '' then
    return
  end
  local label = string.sub(learned, 1, 1)
  local weight = number(learned, 2, 3)
  local class = label == 's' and 1 or 2
  local count = (#learned - 5) / 4
  for i = 0, count - 1 do
    local slot = number(learned, 6 + 4 * i, 9 + 4 * i)
    local key = shards .. math.floor(slot / size)
    local field = tostring(slot % size)
    local counts = {0, 0, 0}
    local stored = redis.call('HGET', key, field)
    if stored then
      local at = 1
      for number in string.gmatch(stored, '-?%d+') do
        counts[at] = tonumber(number)
        at = at + 1
      end
    end
    counts[class] = counts[class] + sign * weight
    counts[3] = counts[3] + sign
    if counts[3] <= 0 then
      if stored then
        redis.call('HDEL', key, field)
        slots_used = slots_used - 1
      end
    else
      if not stored then
        slots_used = slots_used + 1
      end
      redis.call('HSET', key, field, counts[1] .. ':' .. counts[2] .. ':' .. counts[3])
    end
  end
  local kind = label == 's' and 'spam' or 'ham'
  redis.call('HINCRBY', KEYS[3], kind .. '_comments', sign)
  redis.call('HINCRBY', KEYS[3], kind .. '_weight', sign * weight * count)
end

if comment_id ~= '' then
  apply(expected, -1)
end
apply(record, 1)
if slots_used ~= 0 then
  redis.call('HINCRBY', KEYS[3], 'slots_used', slots_used)
end
if comment_id ~= '' then
  if record ~= '' and ARGV[7] == '1' then
    redis.call('HSET', KEYS[1], comment_id, record)
    redis.call('ZADD', KEYS[2], ARGV[4], comment_id)
    local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[5])
    if over > 0 then
      -- The oldest records go; what was learned from them stays, no longer undone.
      local oldest = redis.call('ZPOPMIN', KEYS[2], over)
      for i = 1, #oldest, 2 do
        redis.call('HDEL', KEYS[1], oldest[i])
      end
    end
  else
    redis.call('HDEL', KEYS[1], comment_id)
    redis.call('ZREM', KEYS[2], comment_id)
  end
end
return 'learned'
