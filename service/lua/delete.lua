-- Delete a comment and all its private data in one step. A comment that has replies stays as a
-- placeholder (state "deleted", no name, text, avatar or private data) so its thread holds.
-- KEYS[1..15], ARGV[1..7]: see _publication.lua (ARGV[7] is read from the record).
-- KEYS[16] the bucket's comment locator
-- KEYS[17] the bucket's email index shard of the author, as read before this step (ids are
--   removed from it only when the record still names that email)
-- KEYS[18] the article's duplicate fingerprints   KEYS[19] the bucket's audit stream
-- KEYS[20] the comment's revisions (texts a moderator edited)   KEYS[21] the bucket's events
-- ARGV[8] a state the comment must be in to be deleted, or "" for any
-- ARGV[9] who deletes   ARGV[10] the audit stream's length cap
-- ARGV[11] events kept (about; 0: no events)
-- ARGV[12] a moment (ms): keep a comment that joined the queue then or later (its `queued_ms`,
--   else its creation), or "" for no such condition (the purge of stale pending comments)
-- ARGV[13] the email hash whose shard KEYS[17] is ("" when none was read)
-- KEYS[22] the comment's open reports   KEYS[23] its reporters   KEYS[24] the bucket's reported
-- comments: every trace of readers' reports goes with it
-- Deleting a published comment changes the public list: an article.changed event. Deleting
-- another only renews the list version (what readers see of it does not change).
-- Returns "missing", "kept" (in another state than ARGV[8], or too recent), "deleted",
-- "placeholder", or "moved" (its email is not the one read before: read it again).
CHANGES.stream, CHANGES.kept = KEYS[21], ARGV[11]
local record = read_record(COMMENT_ID)
if not record or SLOT[record.s] == nil then
  return 'missing'
end
local state = record.s
if ARGV[8] ~= '' and state ~= ARGV[8] then
  return 'kept'
end
if ARGV[12] ~= '' then
  local since = record.q or ARGV[4]
  if tonumber(since) >= tonumber(ARGV[12]) then
    return 'kept'
  end
end
AUTHOR = record.e or ''
if AUTHOR ~= ARGV[13] then
  return 'moved'
end

reindex(state, nil)
redis.call('XADD', KEYS[19], 'MAXLEN', '~', ARGV[10], '*',
  'action', 'delete', 'comment_id', COMMENT_ID, 'article_id', ARGV[6], 'moderator', ARGV[9],
  'before', state, 'after', 'deleted', 'reason_code', '', 'reason', '')
if state == 'approved' then
  unpublish()
else
  redis.call('SET', KEYS[13], ARGV[5])
end
redis.call('DEL', KEYS[20], KEYS[22], KEYS[23])
redis.call('ZREM', KEYS[24], COMMENT_ID)
redis.call('HDEL', KEYS[16], COMMENT_ID)
if AUTHOR ~= '' then
  unindex_email(KEYS[17], AUTHOR, COMMENT_ID)
end
if record.f and redis.call('HGET', KEYS[18], record.f) == COMMENT_ID then
  redis.call('HDEL', KEYS[18], record.f)
end

if (record.rp or 0) > 0 then
  local placeholder = {s = 'deleted', p = record.p, r = record.r, a = record.a, d = record.d,
    rp = record.rp, q = record.q, st = record.st}
  write_record(COMMENT_ID, placeholder)
  return 'placeholder'
end
redis.call('HDEL', KEYS[1], COMMENT_ID)
if COMMENT_ID ~= ROOT_ID then
  redis.call('ZREM', KEYS[12], COMMENT_ID)
end
if record.p then
  local parent = read_record(record.p)
  if parent then
    parent.rp = (parent.rp or 1) - 1
    write_record(record.p, parent)
  end
end
return 'deleted'
