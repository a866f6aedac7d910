-- Take comment ids out of one email's entry in the email index, in one step (an erasure, for
-- the ids another step already handled). Registered with _email_index.lua.
-- KEYS[1] the bucket's email index shard of the email   ARGV[1] the email hash
-- ARGV[2..] comment ids
for i = 2, #ARGV do
  unindex_email(KEYS[1], ARGV[1], ARGV[i])
end
return 0
