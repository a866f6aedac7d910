-- Lease due webhook retries to one worker: each due delivery's time moves to the lease's end, so
-- no other worker takes it while this one tries; if this worker dies, the lease runs out and the
-- delivery is due again. A delivery without a record (finished meanwhile) leaves the schedule.
-- KEYS[1] retry schedule (delivery id -> due ms)   KEYS[2] retry records (delivery id -> JSON)
-- ARGV[1] now (ms)   ARGV[2] lease end (ms)   ARGV[3] most deliveries to take
-- Returns {delivery id, record, delivery id, record, ...}.
local due = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, ARGV[3])
local leased = {}
for _, delivery_id in ipairs(due) do
  local record = redis.call('HGET', KEYS[2], delivery_id)
  if record then
    redis.call('ZADD', KEYS[1], 'XX', ARGV[2], delivery_id)
    leased[#leased + 1] = delivery_id
    leased[#leased + 1] = record
  else
    redis.call('ZREM', KEYS[1], delivery_id)
  end
end
return leased
