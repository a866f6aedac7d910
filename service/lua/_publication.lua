-- Shared by submit, decide and delete (prepended to each when it is registered).
-- Every script gets the same first KEYS and ARGV:
-- KEYS[1] the article's comment records (hash: comment id -> JSON; see service/records.py)
-- KEYS[2..5] the bucket's share of the site-wide state indexes: pending, approved, rejected, spam
-- KEYS[6..9] article state indexes: pending, approved, rejected, spam
-- KEYS[10] article roots   KEYS[11] article live counts   KEYS[12] the comment's thread
-- KEYS[13] article list version   KEYS[14] published counts of the bucket's articles
-- KEYS[15] the bucket's approved comments per email hash
-- ARGV[1] comment id   ARGV[2] root id   ARGV[3] root created (ms)   ARGV[4] created (ms)
-- ARGV[5] a new random list version   ARGV[6] article id
-- ARGV[7] the author's email hash ("" for none; decide and delete read it from the record)
-- Every key is in the article's bucket: one hash slot (see service/keys.py).
local SLOT = {pending = 0, approved = 1, rejected = 2, spam = 3}
local COMMENT_ID, ROOT_ID = ARGV[1], ARGV[2]
-- Whose approved comments publish() and unpublish() count: set before either runs.
local AUTHOR = ARGV[7]
-- Where list_changed writes its article.changed event: each script names its events stream and
-- how many entries it keeps ("0": no events) before it changes anything.
local CHANGES = {stream = nil, kept = '0'}

-- Move the comment between state indexes (either state may be nil).
local function reindex(old_state, new_state)
  if old_state then
    redis.call('ZREM', KEYS[2 + SLOT[old_state]], COMMENT_ID)
    redis.call('ZREM', KEYS[6 + SLOT[old_state]], COMMENT_ID)
  end
  if new_state then
    redis.call('ZADD', KEYS[2 + SLOT[new_state]], 0, COMMENT_ID)
    redis.call('ZADD', KEYS[6 + SLOT[new_state]], 0, COMMENT_ID)
  end
end

-- Note that the article's public list changed: new version, recounted published comments, and
-- an article.changed event (for webhooks and CDN purges) when events are written.
local function list_changed()
  redis.call('SET', KEYS[13], ARGV[5])
  if CHANGES.kept ~= '0' then
    redis.call('XADD', CHANGES.stream, 'MAXLEN', '~', CHANGES.kept, '*', 'type', 'article.changed',
      'comment_id', COMMENT_ID, 'article_id', ARGV[6], 'status', '', 'moderator', '')
  end
  local published = redis.call('ZCARD', KEYS[7])
  if published > 0 then
    redis.call('HSET', KEYS[14], ARGV[6], published)
  else
    redis.call('HDEL', KEYS[14], ARGV[6])
  end
end

local function count_author(delta)
  if AUTHOR == '' then
    return
  end
  if redis.call('HINCRBY', KEYS[15], AUTHOR, delta) <= 0 then
    redis.call('HDEL', KEYS[15], AUTHOR)
  end
end

-- Read a comment's record of the article (nil when there is none).
local function read_record(comment_id)
  local raw = redis.call('HGET', KEYS[1], comment_id)
  if not raw then
    return nil
  end
  return cjson.decode(raw)
end

local function write_record(comment_id, record)
  redis.call('HSET', KEYS[1], comment_id, cjson.encode(record))
end

-- Put the comment in its thread of the public list.
local function publish()
  if COMMENT_ID ~= ROOT_ID then
    -- A reply stays in its thread once published, so it can stand as a placeholder later.
    redis.call('ZADD', KEYS[12], ARGV[4], COMMENT_ID)
  end
  if redis.call('HINCRBY', KEYS[11], ROOT_ID, 1) == 1 then
    redis.call('ZADD', KEYS[10], ARGV[3], ROOT_ID)
  end
  count_author(1)
  list_changed()
end

-- Take the comment out of the public list (its thread entry stays as a possible placeholder).
local function unpublish()
  if redis.call('HINCRBY', KEYS[11], ROOT_ID, -1) <= 0 then
    redis.call('HDEL', KEYS[11], ROOT_ID)
    redis.call('ZREM', KEYS[10], ROOT_ID)
  end
  count_author(-1)
  list_changed()
end

