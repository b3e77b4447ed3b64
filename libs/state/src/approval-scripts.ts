/** Lua scripts of the approval store; KEYS[1] is the approval's hash. Times come from Redis's clock. */

const NOW_MS = `local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * ARGV: timeoutMs, ttlSeconds, then field/value pairs of the record. Records a pending approval unless one
 * exists (a redelivered run that paused at the same call again). Returns {'created', expiresAtMs} or
 * {'exists', status, expiresAtMs}.
 */
export const SAVE_PENDING = `
${NOW_MS}
local status = redis.call('HGET', KEYS[1], 'status')
if status then return {'exists', status, redis.call('HGET', KEYS[1], 'expiresAtMs')} end
local expiresAt = now + tonumber(ARGV[1])
redis.call('HSET', KEYS[1], 'status', 'pending', 'createdAtMs', now, 'expiresAtMs', expiresAt)
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return {'created', tostring(expiresAt)}
`;

/**
 * ARGV: status ('approved' | 'rejected'), reason. The first decision wins; a pending approval past its
 * expiry becomes rejected (reason 'expired') instead. Returns {'ok'} | {'missing'} | {'decided', status} |
 * {'expired'}.
 */
export const DECIDE = `
${NOW_MS}
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing'} end
if status ~= 'pending' then return {'decided', status} end
if now >= tonumber(redis.call('HGET', KEYS[1], 'expiresAtMs')) then
  redis.call('HSET', KEYS[1], 'status', 'rejected', 'reason', 'expired', 'expired', '1', 'decidedAtMs', now)
  return {'expired'}
end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'reason', ARGV[2], 'decidedAtMs', now)
return {'ok'}
`;

/** Marks a decided approval's run resumed; returns 1 the first time, 0 after. */
export const MARK_RESUMED = `
if redis.call('HGET', KEYS[1], 'resumed') == '1' then return 0 end
redis.call('HSET', KEYS[1], 'resumed', '1')
return 1
`;

/** KEYS[1]: the expiry index (score: expiresAtMs). ARGV: score, member. */
export const INDEX_EXPIRY = `redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2]) return 1`;

/**
 * KEYS[1]: the expiry index. ARGV: limit. Removes and returns up to `limit` members due by Redis's clock:
 * atomic, so of several sweeping replicas exactly one gets each.
 */
export const CLAIM_EXPIRED = `
${NOW_MS}
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
for _, member in ipairs(due) do redis.call('ZREM', KEYS[1], member) end
return due
`;
