-- Read the published counts of some articles in one step (reads only), on one server or behind
-- Sentinel; a cluster, whose buckets lie in many slots, reads them in a pipeline (see
-- Store.published_counts).
-- KEYS[i] the published counts of article ARGV[i]'s bucket (a key may come more than once)
-- Returns each article's count, or false for none, in ARGV's order.
local counts = {}
for i = 1, #ARGV do
  counts[i] = redis.call('HGET', KEYS[i], ARGV[i])
end
return counts
