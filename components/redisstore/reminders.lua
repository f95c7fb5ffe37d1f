-- Writes or deletes one reminder record together with its due-index entry, all or
-- nothing. The record is a hash with fields "data", "version" and "tag".
--
-- KEYS[1]: the record; KEYS[2]: the group's due index (a sorted set of members by due
-- time in Unix milliseconds); KEYS[3]: the fence key when ARGV[6] is not empty.
-- ARGV: kind ("u" upsert, "d" delete), member, expected version or "", value, due,
-- fence token (decimal) or "", tag, keep ("1": leave a record with the same tag alone).
--
-- Reply: {0} applied; {1} the version did not match (or the record is missing); {2,
-- stored} the fence holds a newer token; {3} kept as it was.

local kind, member, etag, value, due, fence, tag, keep =
  ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]

-- The fence goes first, as in the transaction script; tokens are compared as decimal
-- strings because they may exceed a Lua number's exact range.
if fence ~= "" then
  local stored = false
  if redis.call("TYPE", KEYS[3])["ok"] == "hash" then
    stored = redis.call("HGET", KEYS[3], "token")
  end
  if stored and (#stored > #fence or (#stored == #fence and stored > fence)) then
    return {2, stored}
  end
end

-- Unlike state keys, a missing record fails an ETag check.
local isHash = redis.call("TYPE", KEYS[1])["ok"] == "hash"
if etag ~= "" then
  local v = isHash and redis.call("HGET", KEYS[1], "version")
  if v ~= etag then
    return {1}
  end
end

if keep == "1" and tag ~= "" and isHash and redis.call("HGET", KEYS[1], "tag") == tag then
  return {3}
end

if kind == "d" then
  redis.call("DEL", KEYS[1])
  redis.call("ZREM", KEYS[2], member)
else
  if not isHash then
    redis.call("DEL", KEYS[1])
  end
  redis.call("HSET", KEYS[1], "data", value, "tag", tag)
  redis.call("HINCRBY", KEYS[1], "version", 1)
  redis.call("ZADD", KEYS[2], due, member)
end

if fence ~= "" then
  if redis.call("TYPE", KEYS[3])["ok"] ~= "hash" then
    redis.call("DEL", KEYS[3])
  end
  redis.call("HSET", KEYS[3], "token", fence)
end
return {0}
