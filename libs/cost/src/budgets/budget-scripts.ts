import { CALENDAR_LUA } from './calendar-lua';

/**
 * Lua scripts of the budget ledger. Every script gets KEYS[1] = the tenant's definitions hash, KEYS[2] = its
 * reservation expiry sorted set, KEYS[3] = the reservation hash, and ARGV[1] = the tenant's key base
 * (`keelson:budget:{tenant}`); counter keys are derived from it and share its hash tag (one Cluster slot).
 *
 * Counter hash `<base>:c:<scope>|<window>:<windowId>`: s (spent micro-USD), r (reserved), st, rt (tokens).
 * Reservation hash: state (held|expired|settled|released), micro, tokens, expiresAt, counters (one line per
 * budget: `<scope>|<window>` TAB counter key TAB resetsAtMs). Held reservations have no TTL: they leave only
 * through settle, release or the expiry sweep, so reserved amounts can never leak.
 */
const PRELUDE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local base = ARGV[1]
${CALENDAR_LUA}
local KEEP_MS = 40 * DAY
local TOMBSTONE_S = 86400

local function counter_key(field, windowId) return base .. ':c:' .. field .. ':' .. windowId end

local function touch(ck, resetsAt)
  if resetsAt > 0 then redis.call('PEXPIREAT', ck, resetsAt + KEEP_MS) end
end

local function counters(ck)
  local v = redis.call('HMGET', ck, 's', 'r', 'st', 'rt')
  return tonumber(v[1]) or 0, tonumber(v[2]) or 0, tonumber(v[3]) or 0, tonumber(v[4]) or 0
end

-- Each budget line of a reservation: field, counter key, resetsAt.
local function lines(rk)
  local out = {}
  for line in string.gmatch(redis.call('HGET', rk, 'counters') or '', '[^\\n]+') do
    local field, ck, resetsAt = string.match(line, '^([^\\t]*)\\t([^\\t]*)\\t(%d+)$')
    out[#out + 1] = { field, ck, tonumber(resetsAt) }
  end
  return out
end

-- Adds to the counters of every budget of a reservation.
local function add(rk, field_micro, dm, field_tokens, dt)
  for _, l in ipairs(lines(rk)) do
    if dm ~= 0 then redis.call('HINCRBY', l[2], field_micro, dm) end
    if dt ~= 0 then redis.call('HINCRBY', l[2], field_tokens, dt) end
    touch(l[2], l[3])
  end
end

-- Releases what a held reservation holds and leaves a tombstone with the given state.
local function unhold(rk, id, state)
  add(rk, 'r', -tonumber(redis.call('HGET', rk, 'micro')), 'rt', -tonumber(redis.call('HGET', rk, 'tokens')))
  redis.call('HSET', rk, 'state', state)
  redis.call('EXPIRE', rk, TOMBSTONE_S)
  redis.call('ZREM', KEYS[2], id)
end

-- Reservations of crashed callers: released once past their expiry (a bounded batch per call).
local function sweep()
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 100)) do
    local rk = base .. ':r:' .. id
    if redis.call('HGET', rk, 'state') == 'held' then unhold(rk, id, 'expired') else redis.call('ZREM', KEYS[2], id) end
  end
end

-- A budget's state as returned to the caller.
local function describe(field, ck, resetsAt, def)
  local s, r, st, rt = counters(ck)
  return { field, def.limitMicroUsd, def.tokenLimit or -1, s, r, st, rt, resetsAt }
end

-- The first budget of a reservation's lines that cannot take dm more micro-USD and dt more tokens, or nil.
local function short_of(budget_lines, dm, dt)
  for _, l in ipairs(budget_lines) do
    local raw = redis.call('HGET', KEYS[1], l[1])
    if raw then
      local def = cjson.decode(raw)
      local s, r, st, rt = counters(l[2])
      if dm > 0 and s + r + dm > def.limitMicroUsd then return 'cost', describe(l[1], l[2], l[3], def) end
      if dt > 0 and def.tokenLimit and st + rt + dt > def.tokenLimit then return 'tokens', describe(l[1], l[2], l[3], def) end
    end
  end
  return nil
end
`;

/**
 * ARGV: base, ttlMs, micro, tokens, reservationId, then the scope fields. Checks every defined budget of every
 * scope (scope order, then day, month, total) and reserves on all of them, or on none. A reservation id seen
 * before is not reserved twice. Returns {'ok', expiresAtMs} | {'exists', state} |
 * {'refused', dimension, field, limit, tokenLimit, s, r, st, rt, resetsAt}.
 */
export const RESERVE = `${PRELUDE}
sweep()
local ttl, micro, tokens, id = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local state = redis.call('HGET', KEYS[3], 'state')
if state then return { 'exists', state } end
local budget_lines, text = {}, {}
for i = 6, #ARGV do
  for _, w in ipairs({ 'day', 'month', 'total' }) do
    local field = ARGV[i] .. '|' .. w
    if redis.call('HEXISTS', KEYS[1], field) == 1 then
      local windowId, resetsAt = window_of(w, now)
      local ck = counter_key(field, windowId)
      budget_lines[#budget_lines + 1] = { field, ck, resetsAt }
      text[#text + 1] = field .. '\\t' .. ck .. '\\t' .. string.format('%d', resetsAt)
    end
  end
end
local dimension, budget = short_of(budget_lines, micro, tokens)
if dimension then return { 'refused', dimension, unpack(budget) } end
local expiresAt = now + ttl
redis.call('HSET', KEYS[3], 'state', 'held', 'micro', micro, 'tokens', tokens, 'expiresAt', expiresAt, 'counters', table.concat(text, '\\n'))
add(KEYS[3], 'r', micro, 'rt', tokens)
redis.call('ZADD', KEYS[2], expiresAt, id)
return { 'ok', expiresAt }
`;

/**
 * ARGV: base, actualMicro, actualTokens, reservationId. Moves a held reservation to spent at the actual amount
 * (more than reserved is recorded as it is). An expired reservation's spend is still recorded; a settled or
 * released one is left alone. Returns {'settled'} | {'settled_late'} | {'already', state} | {'unknown'}.
 */
export const SETTLE = `${PRELUDE}
sweep()
local micro, tokens, id = tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local state = redis.call('HGET', KEYS[3], 'state')
if not state then return { 'unknown' } end
if state == 'held' then
  unhold(KEYS[3], id, 'settled')
elseif state ~= 'expired' then
  return { 'already', state }
end
add(KEYS[3], 's', micro, 'st', tokens)
redis.call('HSET', KEYS[3], 'state', 'settled', 'settledMicro', micro)
redis.call('EXPIRE', KEYS[3], TOMBSTONE_S)
return { state == 'held' and 'settled' or 'settled_late' }
`;

/** ARGV: base, reservationId. Gives a held reservation back. Returns {'released'} | {'already', state} | {'unknown'}. */
export const RELEASE = `${PRELUDE}
sweep()
local state = redis.call('HGET', KEYS[3], 'state')
if not state then return { 'unknown' } end
if state ~= 'held' then return { 'already', state } end
unhold(KEYS[3], ARGV[2], 'released')
return { 'released' }
`;

/**
 * ARGV: base, runningMicro, runningTokens, extendTtlMs, reservationId. Grows a held reservation to the running
 * cost if every budget has room (and pushes its expiry out by extendTtlMs when > 0), else reports the first
 * budget crossed. Returns {'ok', heldMicro} | {'crossed', dimension, ...budget} | {'not_held', state}.
 */
export const CHECK_MID_STREAM = `${PRELUDE}
sweep()
local running, runningTokens, extend, id = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local state = redis.call('HGET', KEYS[3], 'state')
if state ~= 'held' then return { 'not_held', state or 'unknown' } end
local held, heldTokens = tonumber(redis.call('HGET', KEYS[3], 'micro')), tonumber(redis.call('HGET', KEYS[3], 'tokens'))
local dm, dt = math.max(0, running - held), math.max(0, runningTokens - heldTokens)
if dm > 0 or dt > 0 then
  local dimension, budget = short_of(lines(KEYS[3]), dm, dt)
  if dimension then return { 'crossed', dimension, unpack(budget) } end
  add(KEYS[3], 'r', dm, 'rt', dt)
  redis.call('HSET', KEYS[3], 'micro', held + dm, 'tokens', heldTokens + dt)
end
if extend > 0 then
  redis.call('HSET', KEYS[3], 'expiresAt', now + extend)
  redis.call('ZADD', KEYS[2], now + extend, id)
end
return { 'ok', held + dm }
`;

/**
 * ARGV: base, then scope fields (none: every budget of the tenant). Sweeps expired reservations, then returns
 * each defined budget's current window as a flat list of {field, limit, tokenLimit, s, r, st, rt, resetsAt}.
 */
export const STATUS = `${PRELUDE}
sweep()
local wanted = nil
if #ARGV > 1 then
  wanted = {}
  for i = 2, #ARGV do wanted[ARGV[i]] = true end
end
local out = {}
local defs = redis.call('HGETALL', KEYS[1])
for i = 1, #defs, 2 do
  local field = defs[i]
  local scope, w = string.match(field, '^(.*)|(%a+)$')
  if scope and (not wanted or wanted[scope]) then
    local windowId, resetsAt = window_of(w, now)
    for _, v in ipairs(describe(field, counter_key(field, windowId), resetsAt, cjson.decode(defs[i + 1]))) do out[#out + 1] = v end
  end
end
return out
`;
