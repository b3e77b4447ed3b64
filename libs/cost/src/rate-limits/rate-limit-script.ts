/**
 * GCRA (generic cell rate algorithm) over several limits at once. Each limit is one key holding its
 * theoretical arrival time (TAT, epoch ms, fractional): a limit of N per minute emits one unit every
 * 60000/N ms and tolerates a burst of a whole minute's worth. A request is allowed when, for EVERY limit,
 * charging its cost would not push the TAT more than one period past now; then all are charged, else none.
 *
 * KEYS: one per limit. ARGV: periodMs, then per limit: perPeriod, cost, mode ('check' | 'charge').
 * `check` charges on success and refuses on failure; `charge` (tokens counted after the fact) always charges,
 * so a limit can go into debt, and later checks wait until it is paid off.
 * Returns {allowedFlag, retryAfterMs, index of the binding limit (1-based), its remaining}.
 */
export const RATE_LIMIT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local period = tonumber(ARGV[1])
local n = #KEYS
local tats, intervals = {}, {}
local retry, binding, least = 0, 0, math.huge
for i = 1, n do
  local limit, cost, mode = tonumber(ARGV[2 + (i - 1) * 3]), tonumber(ARGV[3 + (i - 1) * 3]), ARGV[4 + (i - 1) * 3]
  local interval = period / limit
  local tat = math.max(tonumber(redis.call('GET', KEYS[i]) or 0), now)
  local new_tat = tat + cost * interval
  intervals[i] = interval
  tats[i] = new_tat
  if mode == 'check' then
    local allow_at = new_tat - period
    if allow_at > now and allow_at - now > retry then retry, binding = allow_at - now, i end
  end
end
if retry > 0 then return { 0, math.ceil(retry), binding, 0 } end
for i = 1, n do
  local ttl = math.ceil(tats[i] - now)
  if ttl > 0 then redis.call('SET', KEYS[i], string.format('%.3f', tats[i]), 'PX', ttl) end
  local remaining = math.max(0, math.floor((period - (tats[i] - now)) / intervals[i]))
  if remaining < least then least, binding = remaining, i end
end
return { 1, 0, binding, least }
`;
