/**
 * Lua scripts of the session store. Each runs atomically in Redis, so the checks and the writes of one
 * step can never interleave with another replica's. KEYS[1] is the session hash, KEYS[2] its history list.
 * Times come from Redis's own clock (TIME), so replicas with skewed clocks agree on lease expiry.
 */

const NOW_MS = `local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * ARGV: ttlSeconds, policy ('enqueue' | 'reject' | 'interrupt' | 'steer': reserved like enqueue, see ABSORB_TURN), missingAfterMs, claimLeaseMs (0: no claim), claimMaxHistoryBytes. Returns {turn, agentId,
 * running, userId ('' for none)} or false when the session does not exist. `running` is the turn the session is busy with: the
 * first reserved and not done, passing turns that later turns may pass too (abandoned by the gateway, or
 * unseen and older than missingAfterMs: see BEGIN_TURN), so such a turn cannot make `reject` refuse forever;
 * 0 when idle. With 'reject' and a busy session nothing is reserved and turn is 0. With
 * 'interrupt' every earlier unfinished turn is marked cancelled (field `c:<turn>`): BEGIN_TURN reports it,
 * so a running turn learns it at its next lease renewal and a queued one when it begins.
 * Records when each turn was reserved (field `r:<turn>`), so a turn that was reserved but never published
 * can later be told from one that is merely waiting.
 * The claim (ARGV[4] leaseMs > 0): when the new turn is the session's next (every earlier turn done) and no
 * replica holds the lease, the lease is taken here on behalf of the turn itself (owner `pre:<turn>`), and the
 * reply carries what BEGIN_TURN would have read (agent version, history), unless the history is longer than
 * ARGV[5] bytes. The replica that first receives the turn runs it as that owner without a BEGIN_TURN, which
 * saves a round trip per turn. Appended to the reply: claimedUntil (ms, Redis clock; 0 for no claim),
 * agentVersion, history...
 */
export const RESERVE_TURN = `
${NOW_MS}
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local agentId = redis.call('HGET', KEYS[1], 'agentId')
local done = tonumber(redis.call('HGET', KEYS[1], 'done') or '0')
local reserved = tonumber(redis.call('HGET', KEYS[1], 'reserved') or '0')
local running = 0
for p = done + 1, reserved do
  local abandoned = redis.call('HEXISTS', KEYS[1], 'a:' .. p) == 1
  local lost = redis.call('HEXISTS', KEYS[1], 's:' .. p) == 0
    and now - tonumber(redis.call('HGET', KEYS[1], 'r:' .. p) or '0') > tonumber(ARGV[3])
  if not (abandoned or lost) then running = p; break end
end
local userId = redis.call('HGET', KEYS[1], 'userId') or ''
if ARGV[2] == 'reject' and running > 0 then return {0, agentId, running, userId} end
local turn = redis.call('HINCRBY', KEYS[1], 'reserved', 1)
redis.call('HSET', KEYS[1], 'r:' .. turn, now)
if ARGV[2] == 'interrupt' then
  for p = done + 1, turn - 1 do redis.call('HSET', KEYS[1], 'c:' .. p, 1) end
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[1])
local result = {turn, agentId, running, userId, 0}
local leaseMs = tonumber(ARGV[4] or '0')
local owner = redis.call('HGET', KEYS[1], 'owner')
local leased = owner and owner ~= '' and tonumber(redis.call('HGET', KEYS[1], 'leaseUntil') or '0') > now
if leaseMs > 0 and turn == done + 1 and not leased then
  local history = redis.call('LRANGE', KEYS[2], 0, -1)
  local bytes = 0
  for _, m in ipairs(history) do bytes = bytes + #m end
  if bytes <= tonumber(ARGV[5]) then
    -- A claimed turn is first marked seen at its first lease renewal, so its runner dying before then
    -- leaves it unseen: counting it as reserved when the claim lapses keeps later turns from passing it
    -- before JetStream redelivers it (ack wait = lease).
    redis.call('HSET', KEYS[1], 'owner', 'pre:' .. turn, 'leaseUntil', now + leaseMs, 'r:' .. turn, now + leaseMs)
    result[5] = now + leaseMs
    table.insert(result, redis.call('HGET', KEYS[1], 'version') or '')
    for _, m in ipairs(history) do table.insert(result, m) end
  end
end
return result
`;

/**
 * ARGV: turn. Marks a reserved turn whose publish failed, so the turns after it need not wait for it, and
 * gives back the lease RESERVE_TURN claimed for it.
 */
export const ABANDON_TURN = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'a:' .. ARGV[1], 1)
if redis.call('HGET', KEYS[1], 'owner') == 'pre:' .. ARGV[1] then redis.call('HSET', KEYS[1], 'owner', '', 'leaseUntil', 0) end
return 1
`;

/**
 * ARGV: turn, owner, leaseMs, skipMissing (0|1), missingAfterMs.
 * Returns {'ok', agentId, agentVersion ('' before a turn ran), cancelled (0|1), absorbedInto, steerCount, steer..., history...} | {'done'} |
 * {'wait'} | {'busy'} | {'gone'}; cancelled when a later message interrupted the turn (RESERVE_TURN with
 * 'interrupt'); absorbedInto the turn whose run took this turn's message in (ABSORB_TURN; 0 when none);
 * steers the messages of later turns this turn's run took in, in order, so a replica that runs the turn
 * again (after a crash) gives the model all of them from the start.
 * Every call marks the turn as seen (field `s:<turn>`). A turn may pass the earlier turns it waits for only
 * while nobody holds the lease, and only if each of them was abandoned by the gateway (its publish failed),
 * or, with skipMissing, was reserved more than missingAfterMs ago and never seen by any replica (its
 * gateway died between reserving and publishing). A turn that is merely waiting has been seen, so it is
 * never skipped.
 */
export const BEGIN_TURN = `
${NOW_MS}
if redis.call('EXISTS', KEYS[1]) == 0 then return {'gone'} end
local turn = tonumber(ARGV[1])
local done = tonumber(redis.call('HGET', KEYS[1], 'done') or '0')
if turn <= done then return {'done'} end
redis.call('HSET', KEYS[1], 's:' .. turn, 1)
local owner = redis.call('HGET', KEYS[1], 'owner')
local leaseUntil = tonumber(redis.call('HGET', KEYS[1], 'leaseUntil') or '0')
local leased = owner and owner ~= '' and leaseUntil > now
if leased and owner ~= ARGV[2] then return {'busy'} end
if turn > done + 1 then
  if leased then return {'wait'} end
  for p = done + 1, turn - 1 do
    local abandoned = redis.call('HEXISTS', KEYS[1], 'a:' .. p) == 1
    local reservedAt = tonumber(redis.call('HGET', KEYS[1], 'r:' .. p) or '0')
    local lost = ARGV[4] == '1' and redis.call('HEXISTS', KEYS[1], 's:' .. p) == 0
      and now - reservedAt > tonumber(ARGV[5])
    if not (abandoned or lost) then return {'wait'} end
  end
  for p = done + 1, turn - 1 do redis.call('HDEL', KEYS[1], 'a:' .. p, 'r:' .. p, 's:' .. p, 'c:' .. p, 'x:' .. p, 'b:' .. p, 'm:' .. p) end
  redis.call('HSET', KEYS[1], 'done', turn - 1)
end
redis.call('HSET', KEYS[1], 'owner', ARGV[2], 'leaseUntil', now + tonumber(ARGV[3]))
local result = {'ok', redis.call('HGET', KEYS[1], 'agentId'), redis.call('HGET', KEYS[1], 'version') or '', redis.call('HEXISTS', KEYS[1], 'c:' .. turn),
  redis.call('HGET', KEYS[1], 'b:' .. turn) or '0'}
local steeredTo = tonumber(redis.call('HGET', KEYS[1], 'x:' .. turn) or turn)
table.insert(result, steeredTo - turn)
for p = turn + 1, steeredTo do table.insert(result, redis.call('HGET', KEYS[1], 'm:' .. p) or '') end
for _, m in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do table.insert(result, m) end
return result
`;

/**
 * ARGV: running turn, steer turn, owner, content. The `steer` policy: the run of the running turn takes the
 * message of a later turn in, between two of its steps. Allowed only while this owner holds the running
 * turn's lease, for the turn right after the last one it took in (so messages stay in order and no queued
 * turn is passed), and when neither turn was interrupted. Records `x:<running>` (the last turn taken in),
 * `b:<steer>` (taken in by which turn) and `m:<steer>` (the message, for a re-run). Returns 'ok' | 'no' | 'gone'.
 */
export const ABSORB_TURN = `
${NOW_MS}
if redis.call('EXISTS', KEYS[1]) == 0 then return 'gone' end
local running = tonumber(ARGV[1])
local steer = tonumber(ARGV[2])
local done = tonumber(redis.call('HGET', KEYS[1], 'done') or '0')
local reserved = tonumber(redis.call('HGET', KEYS[1], 'reserved') or '0')
if done + 1 ~= running or steer > reserved then return 'no' end
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[3] or tonumber(redis.call('HGET', KEYS[1], 'leaseUntil') or '0') <= now then return 'no' end
if redis.call('HEXISTS', KEYS[1], 'c:' .. running) == 1 or redis.call('HEXISTS', KEYS[1], 'c:' .. steer) == 1 then return 'no' end
if steer ~= tonumber(redis.call('HGET', KEYS[1], 'x:' .. running) or running) + 1 then return 'no' end
redis.call('HSET', KEYS[1], 'x:' .. running, steer, 'b:' .. steer, running, 'm:' .. steer, ARGV[4])
return 'ok'
`;

/**
 * ARGV: turn, owner, ttlSeconds, maxMessages, agentVersion ('' keeps the one recorded), message...  Appends the
 * turn's messages (none for a failed turn), records the agent version it ran (the next turns keep it under a
 * rollout), marks the turn done and releases the lease, only if this owner still holds it: a replica that
 * stalled past its lease cannot overwrite the work of the one that took over. Returns 'ok' | 'conflict' | 'gone'.
 * A failed turn gives back the later turns its run took in (ABSORB_TURN): their messages were not kept, so
 * each runs as a turn of its own.
 */
export const COMMIT_TURN = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'gone' end
local turn = tonumber(ARGV[1])
local done = tonumber(redis.call('HGET', KEYS[1], 'done') or '0')
if done + 1 ~= turn or redis.call('HGET', KEYS[1], 'owner') ~= ARGV[2] then return 'conflict' end
for i = 6, #ARGV do redis.call('RPUSH', KEYS[2], ARGV[i]) end
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[4]), -1)
redis.call('HSET', KEYS[1], 'done', ARGV[1], 'owner', '', 'leaseUntil', 0)
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'version', ARGV[5]) end
for p = turn + 1, tonumber(redis.call('HGET', KEYS[1], 'x:' .. turn) or turn) do
  redis.call('HDEL', KEYS[1], 'm:' .. p)
  if #ARGV < 6 then redis.call('HDEL', KEYS[1], 'b:' .. p) end
end
redis.call('HDEL', KEYS[1], 'r:' .. ARGV[1], 's:' .. ARGV[1], 'a:' .. ARGV[1], 'c:' .. ARGV[1], 'x:' .. ARGV[1], 'b:' .. ARGV[1], 'm:' .. ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return 'ok'
`;

/** ARGV: agentId, createdAtIso, ttlSeconds, userId ('' for none). */
export const CREATE_SESSION = `
redis.call('HSET', KEYS[1], 'agentId', ARGV[1], 'createdAt', ARGV[2], 'reserved', 0, 'done', 0)
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'userId', ARGV[4]) end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 'ok'
`;

/** Returns false, or {agentId, createdAt, done, ttlMs, userId ('' for none), history...}. */
export const READ_SESSION = `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local result = {redis.call('HGET', KEYS[1], 'agentId'), redis.call('HGET', KEYS[1], 'createdAt'),
  redis.call('HGET', KEYS[1], 'done') or '0', redis.call('PTTL', KEYS[1]), redis.call('HGET', KEYS[1], 'userId') or ''}
for _, m in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do table.insert(result, m) end
return result
`;
