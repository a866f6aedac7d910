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
-- A record (service/spam_filter.py), binary: 1 byte of label (S spam, H legitimate), then
-- big-endian numbers: 2 bytes of weight, 2 of the number of personal slots, 3 per slot. Or
-- printable, as kept before: 1 character of label (s or h), then base-64 numbers (DIGITS): 2
-- of weight, 2 of the number of personal slots, 4 per slot. Both are read, and compared by
-- what they hold. A slot's counts: "<spam weight>:<legitimate weight>:<comments>".
-- Returns "conflict", "unchanged" or "learned". Every key holds the {spam-filter} tag.
local comment_id, expected, record = ARGV[1], ARGV[2], ARGV[3]
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

-- A record's label ('s' or 'h'), weight, number of personal slots and slots, whichever its
-- form.
local function read(learned)
  local label = string.sub(learned, 1, 1)
  local slots = {}
  if label == 'S' or label == 'H' then
    local high, low, personal_high, personal_low = string.byte(learned, 2, 5)
    for at = 6, #learned - 2, 3 do
      local a, b, c = string.byte(learned, at, at + 2)
      slots[#slots + 1] = (a * 256 + b) * 256 + c
    end
    return string.lower(label), high * 256 + low, personal_high * 256 + personal_low, slots
  end
  for at = 6, #learned - 3, 4 do
    slots[#slots + 1] = number(learned, at, at + 3)
  end
  return label, number(learned, 2, 3), number(learned, 4, 5), slots
end

local function binary(learned)
  local label = string.byte(learned)
  return label == 83 or label == 72 -- 'S' or 'H'
end

-- Whether two records hold the same: equal bytes, or a printable and a binary one that say
-- the same.
local function same(one, other)
  if one == other then
    return true
  end
  if one == '' or other == '' or binary(one) == binary(other) then
    return false
  end
  local label, weight, personal, slots = read(one)
  local other_label, other_weight, other_personal, other_slots = read(other)
  if label ~= other_label or weight ~= other_weight or personal ~= other_personal
      or #slots ~= #other_slots then
    return false
  end
  for i = 1, #slots do
    if slots[i] ~= other_slots[i] then
      return false
    end
  end
  return true
end

if comment_id ~= '' then
  local current = redis.call('HGET', KEYS[1], comment_id) or ''
  if expected == '*' then
    expected = current
  elseif current ~= expected then
    return 'conflict'
  end
  if ARGV[7] == '1' and same(current, record) then
    return 'unchanged'
  end
end

local slots_used = 0
local function apply(learned, sign)
  if learned == '' then
    return
  end
  local label, weight, _, slots = read(learned)
  local class = label == 's' and 1 or 2
  for _, slot in ipairs(slots) do
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
  redis.call('HINCRBY', KEYS[3], kind .. '_weight', sign * weight * #slots)
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
