-- One rate-limit decision, atomically: GCRA over one key.
--
-- KEYS[1]  the bucket: the time it is full again (the theoretical arrival
--          time, tat), in microseconds of Redis's clock.
-- ARGV[1]  microseconds per token (1e6 / rate), may be fractional
-- ARGV[2]  burst, tokens in a full bucket
-- ARGV[3]  cost, tokens this request takes
--
-- Returns {allowed (1 or 0), tokens left, microseconds until the request
-- could pass (0 when allowed)}.
--
-- The clock is Redis's TIME, never a gateway's, so gateways whose clocks
-- disagree still share one bucket. Redis before 5 refuses writes after a
-- non-deterministic command unless effects are replicated; 7 ignores it.
if redis.replicate_commands then
	redis.replicate_commands()
end

local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])

local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])

local tau = interval * burst
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then
	tat = now
end
local nxt = tat + cost * interval

-- Tokens are compared with a tolerance for float rounding, as the
-- in-memory limiter does.
local left = (tau - (nxt - now)) / interval
if left >= -1e-9 then
	-- The key expires when the bucket is full again: a full bucket and
	-- a missing key mean the same.
	local ttl = math.ceil((nxt - now) / 1000)
	if ttl < 1 then
		ttl = 1
	end
	redis.call('SET', KEYS[1], string.format('%.17g', nxt), 'PX', ttl)
	return {1, math.floor(left + 1e-9), 0}
end
local have = math.floor((tau - (tat - now)) / interval + 1e-9)
if have < 0 then
	have = 0
end
return {0, have, math.ceil(nxt - now - tau)}
