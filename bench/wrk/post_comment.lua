-- wrk script: POST a new top-level comment as JSON, a different reader and text each request.
-- Usage: wrk ... -s bench/wrk/post_comment.lua http://host:port/api/v1/articles/<id>/comments
-- Each wrk thread numbers its own requests; the thread index keeps emails apart across threads,
-- and a token per run keeps runs apart (the service refuses a duplicate with 409).
local threads = 0
local run = tostring(os.time())

function setup(thread)
  threads = threads + 1
  thread:set("thread_index", threads)
end

local counter = 0
local headers = { ["Content-Type"] = "application/json" }
local template = '{"name":"Reader %d","email":"reader-%s-%d-%d@example.com",'
  .. '"body":"Comment %d of the benchmark. Worth reading: https://example.com/story/%d."}'

function request()
  counter = counter + 1
  local index = thread_index or 1
  local body = string.format(template, counter, run, index, counter, counter, counter)
  return wrk.format("POST", nil, headers, body)
end
