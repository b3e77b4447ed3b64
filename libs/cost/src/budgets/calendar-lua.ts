/**
 * The budget scripts' UTC calendar in Lua, computed from Redis's clock so every replica agrees on when a
 * window resets; `windows.ts` is the TypeScript twin, and a test runs both on the same instants.
 */
/** UTC calendar arithmetic (Hinnant's days/civil algorithms); exported for the test that compares it with `windowAt`. */
export const CALENDAR_LUA = `
local DAY = 86400000
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = m > 2 and m - 3 or m + 9
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

local function civil_from_days(z)
  z = z + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400
  if m <= 2 then y = y + 1 end
  return y, m, d
end

-- The UTC calendar window of the epoch-ms time at: its id and reset time (0 for total).
local function window_of(w, at)
  if w == 'total' then return 't', 0 end
  local days = math.floor(at / DAY)
  local y, m, d = civil_from_days(days)
  if w == 'day' then return string.format('d%04d%02d%02d', y, m, d), (days + 1) * DAY end
  local ny, nm = y, m + 1
  if nm == 13 then ny, nm = y + 1, 1 end
  return string.format('m%04d%02d', y, m), days_from_civil(ny, nm, 1) * DAY
end

`;
