-- Fold one email's sorted set of the layouts before compact indexes into its entry in today's
-- email index, in one step (`news-comments migrate-keys`). Registered with _email_index.lua.
-- KEYS[1] the old sorted set   KEYS[2] the email index shard of the email's hash today
-- ARGV[1] the email's hash today
-- Returns the number of ids folded.
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
for _, comment_id in ipairs(ids) do
  index_email(KEYS[2], ARGV[1], comment_id)
end
redis.call('DEL', KEYS[1])
return #ids
