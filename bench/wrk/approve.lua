-- wrk script: approve pending comments, each id once while the list lasts, then cycling.
-- Usage: wrk ... -H "Authorization: Bearer <token>" -s bench/wrk/approve.lua \
--          http://host:port/api/v1/moderation/comments -- <file of ids, one a line> <wrk threads>
-- Thread i of n takes the ids at positions i, i + n, i + 2n, ... so no two threads share an id.
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_index", threads)
end

local ids = {}
local position = 0

function init(args)
  local index, count = thread_index or 1, tonumber(args[2]) or 1
  local line_number = 0
  for line in io.lines(args[1]) do
    line_number = line_number + 1
    if (line_number - 1) % count == index - 1 and line ~= "" then
      ids[#ids + 1] = line
    end
  end
  assert(#ids > 0, "approve.lua: no comment ids in " .. args[1])
end

function request()
  position = position % #ids + 1
  return wrk.format("POST", wrk.path .. "/" .. ids[position] .. "/approve")
end
