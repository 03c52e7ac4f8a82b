-- Baseline for `make bench`: a snowflake generator as a plain Lua script, the way it is usually
-- done without a module.
--
--   EVALSHA <sha> 1 <state-key> [count]
--
-- Layout 41/10/12 (timestamp / worker / sequence), worker 0, epoch 2024-01-01T00:00:00Z
-- (1704067200000 ms). The state is a hash at KEYS[1] with fields `ts` (ms since the epoch of the
-- last issued id) and `seq` (its sequence number). The time comes from the server (TIME).
-- When a millisecond's 4096 sequence numbers are used up the generator moves on to the next
-- millisecond (it runs ahead of the clock; it never waits). A clock that goes back keeps the last
-- timestamp, so ids always increase.
--
-- Returns the id as a decimal string (exact: Lua numbers are doubles, so the 63-bit value is
-- built from two exact limbs), or an array of `count` strings when count > 1.

if redis.replicate_commands then
  -- Redis < 7 needs this before a write that follows TIME; Redis 7 always replicates effects.
  redis.replicate_commands()
end

local EPOCH = 1704067200000
local SEQ_SPAN = 4096            -- 2^12 sequence numbers per millisecond
local TS_MUL = 4194304           -- 2^(10 + 12): timestamp shift; worker 0 adds nothing
local TS_MAX = 2199023255551     -- 2^41 - 1
local LIMB = 10000000            -- 10^7: low decimal limb

local count = tonumber(ARGV[1] or '1')
if count == nil or count < 1 or count > 10000 or count % 1 ~= 0 then
  return redis.error_reply('ERR count must be between 1 and 10000')
end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - EPOCH

local st = redis.call('HMGET', KEYS[1], 'ts', 'seq')
local ts, seq
if st[1] and tonumber(st[1]) >= now then
  -- Same millisecond (or the clock is behind the last id): continue after the last sequence.
  ts = tonumber(st[1])
  seq = tonumber(st[2]) + 1
else
  ts = now
  seq = 0
end
if seq >= SEQ_SPAN then
  ts = ts + 1
  seq = 0
end

-- id = ts * 2^22 + seq, exactly. ts < 2^41 splits into hi * 10^7 + lo; every partial product
-- stays below 2^53, so the double arithmetic is exact.
local function prefix(ms)
  local hi = math.floor(ms / LIMB)
  local lo = ms - hi * LIMB
  local low = lo * TS_MUL            -- < 4.2e13
  local carry = math.floor(low / LIMB)
  return hi * TS_MUL + carry, low - carry * LIMB
end

local function id_string(high, low)
  -- low < 10^7 + 4096, so a carry into high is possible.
  if low >= LIMB then
    high = high + 1
    low = low - LIMB
  end
  if high > 0 then
    return string.format('%d%07d', high, low)
  end
  return string.format('%d', low)
end

local out = {}
local high, low = prefix(ts)
for i = 1, count do
  if seq >= SEQ_SPAN then
    ts = ts + 1
    seq = 0
    high, low = prefix(ts)
  end
  out[i] = id_string(high, low + seq)
  seq = seq + 1
end
if ts > TS_MAX then
  return redis.error_reply('ERR time bits exhausted')
end

redis.call('HSET', KEYS[1], 'ts', string.format('%d', ts), 'seq', string.format('%d', seq - 1))
if count == 1 then
  return out[1]
end
return out
