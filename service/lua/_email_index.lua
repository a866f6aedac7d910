-- The email index (prepended to the steps that change it): a hash per shard, email hash ->
-- the space-separated ids of the bucket's comments written with that email (service/keys.py).

-- Add a comment id to an email's entry (nothing when it is there already).
local function index_email(key, email_hash, comment_id)
  local ids = redis.call('HGET', key, email_hash)
  if not ids then
    redis.call('HSET', key, email_hash, comment_id)
  elseif not string.find(' ' .. ids .. ' ', ' ' .. comment_id .. ' ', 1, true) then
    redis.call('HSET', key, email_hash, ids .. ' ' .. comment_id)
  end
end

-- Take a comment id out of an email's entry, the entry with its last id; answer 1 if it was
-- there, else 0.
local function unindex_email(key, email_hash, comment_id)
  local ids = redis.call('HGET', key, email_hash)
  if not ids then
    return 0
  end
  local padded = ' ' .. ids .. ' '
  local at = string.find(padded, ' ' .. comment_id .. ' ', 1, true)
  if not at then
    return 0
  end
  local before = string.sub(padded, 2, at - 1)
  local after = string.sub(padded, at + #comment_id + 2, -2)
  if before == '' and after == '' then
    redis.call('HDEL', key, email_hash)
  elseif before == '' or after == '' then
    redis.call('HSET', key, email_hash, before .. after)
  else
    redis.call('HSET', key, email_hash, before .. ' ' .. after)
  end
  return 1
end
