-- Applies one troupe transaction all or nothing, keeping Dapr's state.redis layout: each
-- key is a hash with fields "data" and "version".
--
-- KEYS: the op keys in order, then the fence key when ARGV[2] is not empty.
-- ARGV[1]: number of ops n.
-- ARGV[2]: fence token (decimal, no leading zeros) or "" for no fence.
-- ARGV[3 + 4*(i-1) ..]: for op i: kind ("u" upsert, "d" delete), expected version or "",
--   TTL in milliseconds ("0" for none), value.
--
-- Reply: {0} applied; {1, i} op i failed its ETag check; {2, stored} the fence holds a
-- newer token. Nothing is written unless the reply is {0}.

local n = tonumber(ARGV[1])
local fence = ARGV[2]

-- version returns the stored version of key, or false when the key is absent, is not a
-- hash, or has no version (all of which pass an ETag check, as in Dapr). It also returns
-- whether the key holds something other than a hash, which an upsert must delete first.
-- HGET on such a key is an error, which pcall hands back as a table: one call, not TYPE
-- and HGET.
local function version(key)
  local v = redis.pcall("HGET", key, "version")
  if type(v) == "table" then
    return false, true
  end
  if not v or v == "" then
    return false, false
  end
  return v, false
end

-- The fence goes first: a writer that lost ownership must learn that, not that its
-- ETags are stale.
--
-- Tokens are uint64 and may exceed a Lua number's exact range, so compare them as
-- decimal strings: the longer is larger, and equal lengths compare lexically.
local fenceWrongType = false
if fence ~= "" then
  local fkey = KEYS[n + 1]
  local stored = redis.pcall("HGET", fkey, "token")
  if type(stored) == "table" then
    stored, fenceWrongType = false, true
  end
  if stored and (#stored > #fence or (#stored == #fence and stored > fence)) then
    return {2, stored}
  end
end

-- Check every op against the versions earlier ops of this transaction would leave.
local pending = {}
local wrongType = {}
for i = 1, n do
  local key = KEYS[i]
  local base = 3 + 4 * (i - 1)
  local kind, etag = ARGV[base], ARGV[base + 1]

  local v = pending[key]
  if v == nil then
    v, wrongType[key] = version(key)
  end
  if etag ~= "" and v and v ~= etag then
    return {1, i}
  end

  if kind == "d" then
    pending[key] = false
  else
    pending[key] = tostring((tonumber(v) or 0) + 1)
  end
end

for i = 1, n do
  local key = KEYS[i]
  local base = 3 + 4 * (i - 1)
  local kind, ttl, value = ARGV[base], tonumber(ARGV[base + 2]), ARGV[base + 3]

  if kind == "d" then
    redis.call("DEL", key)
    wrongType[key] = false
  else
    if wrongType[key] then
      redis.call("DEL", key)
      wrongType[key] = false
    end
    redis.call("HSET", key, "data", value)
    redis.call("HINCRBY", key, "version", 1)
    if ttl > 0 then
      redis.call("PEXPIRE", key, ttl)
    else
      redis.call("PERSIST", key)
    end
  end
end

if fence ~= "" then
  local fkey = KEYS[n + 1]
  if fenceWrongType then
    redis.call("DEL", fkey)
  end
  redis.call("HSET", fkey, "token", fence)
end

return {0}
