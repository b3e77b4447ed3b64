/** Lua scripts of the task store; KEYS[1] is the task's hash. Times come from Redis's clock. */

const NOW_MS = `local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * ARGV: agentId, nowIso, ttlSeconds. Records a task as queued unless a record exists (a fast worker may
 * already have claimed it). Returns the current status.
 */
export const RECORD_QUEUED = `
local status = redis.call('HGET', KEYS[1], 'status')
if status then return status end
redis.call('HSET', KEYS[1], 'agentId', ARGV[1], 'status', 'queued', 'attempts', 0, 'createdAt', ARGV[2], 'updatedAt', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 'queued'
`;

/**
 * ARGV: agentId, nowIso, ttlSeconds, owner, leaseMs.
 * Returns {'ok', attempts} | {'done', status} | {'busy'}: a finished task is never run again, and a task
 * another live worker holds is not run twice at once.
 */
export const CLAIM = `
${NOW_MS}
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'succeeded' or status == 'failed' then return {'done', status} end
local owner = redis.call('HGET', KEYS[1], 'owner')
local leaseUntil = tonumber(redis.call('HGET', KEYS[1], 'leaseUntil') or '0')
if status == 'running' and owner and owner ~= ARGV[4] and leaseUntil > now then return {'busy'} end
if not status then redis.call('HSET', KEYS[1], 'agentId', ARGV[1], 'createdAt', ARGV[2]) end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSET', KEYS[1], 'status', 'running', 'updatedAt', ARGV[2], 'owner', ARGV[4], 'leaseUntil', now + tonumber(ARGV[5]))
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {'ok', attempts}
`;

/** ARGV: status, nowIso, ttlSeconds, resultJson, errorJson. */
export const FINISH = `
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'updatedAt', ARGV[2], 'owner', '', 'leaseUntil', 0)
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'result', ARGV[4]) end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'error', ARGV[5]) end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 'ok'
`;
