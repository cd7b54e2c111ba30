/**
 * The Lua run inside Redis by RedisCounts (redis-counts.ts): the same exact rolling windows as
 * RollingWindowCounters, kept in one hash per object.
 *
 * Layout of an object's hash, per window (prefix `h` for the hour, `d` for the day):
 *   <p><step>  the amount filed under that step (an amount counted at second s goes to step ceil(s / stepSeconds))
 *   <p>t       the total of the step fields not yet expired
 *   <p>o       a lower bound of the oldest step field (expiry reads from there)
 *   <p>n       the newest step field
 * A step leaves the window once floor(now / stepSeconds) - windowSteps has reached it. Expiry happens whenever a
 * script writes the hash; reads compute the same figures without writing. The key carries a TTL that ends when
 * its newest step has left the longest window, so an object that stops sending leaves nothing behind.
 */

/** Lua shared by both scripts: windows, the clock, and reading/expiring one window of one hash. */
const COMMON = `
local function num(value, what)
  local n = tonumber(value)
  if n == nil or n ~= math.floor(n) then return redis.error_reply('ERR outgoing-limits: ' .. what .. ' is not a whole number: ' .. tostring(value)) end
  return n
end

local W = {}
for i, p in ipairs({'h', 'd'}) do
  local seconds = tonumber(ARGV[2 * i])
  local step = tonumber(ARGV[2 * i + 1])
  if seconds == nil or step == nil or step < 1 or seconds % step ~= 0 then
    return redis.error_reply('ERR outgoing-limits: bad window ' .. tostring(ARGV[2 * i]) .. '/' .. tostring(ARGV[2 * i + 1]))
  end
  W[i] = { p = p, seconds = seconds, step = step, steps = seconds / step }
end

local now
if ARGV[1] == '' then
  now = tonumber(redis.call('TIME')[1])
else
  now = tonumber(ARGV[1])
  if now == nil or now ~= math.floor(now) then return redis.error_reply('ERR outgoing-limits: bad time ' .. tostring(ARGV[1])) end
end

-- Hashes with at most this many fields are read whole (HGETALL) rather than walked step by step: an idle mailbox
-- would otherwise look at every empty second since its last message.
local SMALL = 64
local CHUNK = 1000

-- The (step, amount) pairs of window w from step 'from' to step 'to', in step order.
local function pairsIn(key, w, from, to)
  local found = {}
  if to < from then return found end
  if to - from + 1 > SMALL and redis.call('HLEN', key) <= SMALL then
    local all = redis.call('HGETALL', key)
    for i = 1, #all, 2 do
      local field = all[i]
      if string.sub(field, 1, 1) == w.p then
        local step = tonumber(string.sub(field, 2))
        if step ~= nil and step >= from and step <= to then found[#found + 1] = { step, tonumber(all[i + 1]) } end
      end
    end
    table.sort(found, function(a, b) return a[1] < b[1] end)
    return found
  end
  local s = from
  while s <= to do
    local last = math.min(to, s + CHUNK - 1)
    local fields = {}
    for step = s, last do fields[#fields + 1] = w.p .. step end
    local values = redis.call('HMGET', key, unpack(fields))
    for i = 1, #fields do
      if values[i] then found[#found + 1] = { s + i - 1, tonumber(values[i]) } end
    end
    s = last + 1
  end
  return found
end

-- Window w of one hash at 'now', from its state fields t, o, n: { used, oldest, newest, expired pairs }.
-- Nothing is written.
local function look(key, w, t, o, n)
  local oldest = tonumber(o)
  if oldest == nil then return { used = 0 } end
  local total = tonumber(t) or 0
  local newest = tonumber(n) or oldest
  local oldestKept = math.floor(now / w.step) - w.steps
  if oldest > oldestKept then return { used = total, oldest = oldest, newest = newest, expired = {} } end
  local expired = pairsIn(key, w, oldest, math.min(newest, oldestKept))
  for _, pair in ipairs(expired) do total = total - pair[2] end
  if newest <= oldestKept then return { used = 0, expired = expired, gone = true } end
  return { used = total, oldest = oldestKept + 1, newest = newest, expired = expired, walked = true }
end

-- Every window of one hash, its state read in one HMGET; 'deadline' is when the key's newest step leaves the
-- longest window (0: no step), what its TTL was last set to.
local function lookAll(key)
  local fields = {}
  for _, w in ipairs(W) do
    fields[#fields + 1] = w.p .. 't'
    fields[#fields + 1] = w.p .. 'o'
    fields[#fields + 1] = w.p .. 'n'
  end
  local state = redis.call('HMGET', key, unpack(fields))
  local views = { deadline = 0 }
  for i, w in ipairs(W) do
    views[i] = look(key, w, state[3 * i - 2], state[3 * i - 1], state[3 * i])
    local newest = tonumber(state[3 * i]) or tonumber(state[3 * i - 1])
    if newest ~= nil then views.deadline = math.max(views.deadline, (newest + w.steps) * w.step) end
  end
  return views
end

-- Seconds from now until at least 'amount' of window w has left it; -1 if the window does not hold that much.
local function secondsUntilFreed(key, w, view, amount)
  if view.oldest == nil then return -1 end
  local freed = 0
  for _, pair in ipairs(pairsIn(key, w, view.oldest, view.newest)) do
    freed = freed + pair[2]
    if freed >= amount then return (pair[1] + w.steps) * w.step - now end
  end
  return -1
end
`;

/**
 * Check-and-count of one message's chain, a count regardless of budget, a refund, or the addition of a count
 * made at an earlier second (a node's counts of a time it could not reach Redis).
 * KEYS: the chain's hashes, innermost first (all in one subscription's hash slot).
 * ARGV: now ('' = Redis's clock), hour seconds, hour step, day seconds, day step, mode ('check' | 'anyway' |
 * 'refund' | 'add'), weight, second (refund and add only), then per key its hourly and daily limit (-1: unlimited).
 * Reply: { 1, now, per key and window: used afterwards } when counted (refund and add too); { 0, now, per key
 * and window: used, seconds until used + weight - limit has freed (-1: never, -2: not asked) } when refused.
 *
 * Or, mode 'batch': check-and-count of several messages in order, as if each were its own call.
 * ARGV after the windows: 'batch', the number of messages, then per message: its number of keys, its weight,
 * and per key its hourly and daily limit. KEYS: the messages' chains one after the other.
 * Reply: one reply as above per message. Every message is checked (its numbers, and that its keys are counts'
 * hashes or absent) before any is counted: a batch answered with an error has counted nothing.
 */
export const COUNT_SCRIPT = `${COMMON}
-- Writes what look() found expired, and leaves the view as the hash now is; the new state fields go to 'pending'
-- (one HSET per key, after every window).
local function expireWindow(key, w, view, pending)
  if view.expired == nil then return end
  local fields = {}
  for _, pair in ipairs(view.expired) do fields[#fields + 1] = w.p .. pair[1] end
  if view.gone then
    fields[#fields + 1] = w.p .. 't'
    fields[#fields + 1] = w.p .. 'o'
    fields[#fields + 1] = w.p .. 'n'
  end
  for i = 1, #fields, CHUNK do redis.call('HDEL', key, unpack(fields, i, math.min(#fields, i + CHUNK - 1))) end
  if view.gone then
    view.gone = nil
    view.used = 0
  elseif view.walked then
    pending[#pending + 1] = w.p .. 't'
    pending[#pending + 1] = view.used
    pending[#pending + 1] = w.p .. 'o'
    pending[#pending + 1] = view.oldest
  end
  view.expired = nil
  view.walked = nil
end

-- Files 'amount' at 'second' in window w (a step already out of the window is left out: it would never count);
-- the new state fields go to 'pending'.
local function add(key, w, view, second, amount, pending)
  local step = math.ceil(second / w.step)
  if step <= math.floor(now / w.step) - w.steps then return end
  redis.call('HINCRBY', key, w.p .. step, amount)
  view.used = view.used + amount
  pending[#pending + 1] = w.p .. 't'
  pending[#pending + 1] = view.used
  if view.oldest == nil or step < view.oldest then
    view.oldest = step
    pending[#pending + 1] = w.p .. 'o'
    pending[#pending + 1] = step
  end
  if view.newest == nil or step > view.newest then
    view.newest = step
    pending[#pending + 1] = w.p .. 'n'
    pending[#pending + 1] = step
  end
end

-- Keeps the key until its newest step has left every window (a hash left empty is gone already).
local function keepUntilExpired(key, viewsOfKey, countedNow)
  local deadline = 0
  for i, w in ipairs(W) do
    local newest = viewsOfKey[i].newest
    if newest ~= nil then deadline = math.max(deadline, (newest + w.steps) * w.step) end
  end
  if deadline == 0 then return end
  local last = deadline - now + 1
  -- A count sets the TTL only when that moment moved (a busy key's daily step changes once a minute, not with
  -- every message); a refund compares with the TTL the key has.
  if countedNow then
    if deadline ~= viewsOfKey.deadline then redis.call('EXPIRE', key, last) end
  elseif redis.call('TTL', key) < last then
    redis.call('EXPIRE', key, last)
  end
end

-- One message of 'keys' (its chain), in 'mode', of 'weight', at 'second' (refund and add), with 'limits' (check:
-- per key its hourly and daily limit): the reply described above.
local function countOne(keys, mode, weight, second, limits)
  local views = {}
  for k, key in ipairs(keys) do views[k] = lookAll(key) end
  if mode == 'check' then
    local refused = false
    for k = 1, #keys do
      for i = 1, #W do
        local limit = limits[2 * (k - 1) + i]
        if limit >= 0 and views[k][i].used + weight > limit then refused = true end
      end
    end
    if refused then
      local reply = { 0, now }
      for k, key in ipairs(keys) do
        for i, w in ipairs(W) do
          local used = views[k][i].used
          local limit = limits[2 * (k - 1) + i]
          local freed = -2
          if limit >= 0 and used + weight > limit and weight <= limit then freed = secondsUntilFreed(key, w, views[k][i], used + weight - limit) end
          reply[#reply + 1] = used
          reply[#reply + 1] = freed
        end
      end
      return reply
    end
  end
  for k, key in ipairs(keys) do
    local pending = {}
    for i, w in ipairs(W) do expireWindow(key, w, views[k][i], pending) end
    -- A refund takes back only what the hour still holds (as the in-process counters do): a count that has left
    -- the hour has left the day's sum of it too.
    if mode ~= 'refund' or views[k][1].used >= weight then
      local amount = weight
      if mode == 'refund' then amount = -weight end
      for i, w in ipairs(W) do add(key, w, views[k][i], second, amount, pending) end
    end
    if #pending > 0 then redis.call('HSET', key, unpack(pending)) end
    keepUntilExpired(key, views[k], mode ~= 'refund')
  end
  local reply = { 1, now }
  for k = 1, #keys do
    for i = 1, #W do reply[#reply + 1] = views[k][i].used end
  end
  return reply
end

-- Reads n whole numbers of ARGV from 'at' (an error reply on the first that is not one).
local function numbers(at, n, what)
  local values = {}
  for j = 1, n do
    local value = num(ARGV[at + j - 1], what)
    if type(value) == 'table' then return nil, value end
    values[j] = value
  end
  return values
end

local mode = ARGV[6]
if mode == 'batch' then
  local count = num(ARGV[7], 'message count')
  if type(count) == 'table' then return count end
  -- Everything is checked before anything is written: a script is not rolled back, so a batch that fails must
  -- have counted nothing (the node may then send its messages again one by one).
  local messages = {}
  local at, keyAt = 8, 1
  for m = 1, count do
    local header, bad = numbers(at, 2, 'message header')
    if bad then return bad end
    local nkeys, weight = header[1], header[2]
    if nkeys < 1 or keyAt + nkeys - 1 > #KEYS then return redis.error_reply('ERR outgoing-limits: message ' .. m .. ' names keys that were not given') end
    if weight < 0 then return redis.error_reply('ERR outgoing-limits: negative weight') end
    local limits, badLimit = numbers(at + 2, 2 * nkeys, 'limit')
    if badLimit then return badLimit end
    local keys = {}
    for k = 1, nkeys do
      keys[k] = KEYS[keyAt + k - 1]
      local kind = redis.call('TYPE', keys[k]).ok
      if kind ~= 'hash' and kind ~= 'none' then
        return redis.error_reply('WRONGTYPE outgoing-limits: message ' .. m .. ': ' .. keys[k] .. ' holds a ' .. kind .. ', not counts; nothing was counted')
      end
    end
    messages[m] = { keys = keys, weight = weight, limits = limits }
    at = at + 2 + 2 * nkeys
    keyAt = keyAt + nkeys
  end
  local replies = {}
  for m, message in ipairs(messages) do replies[m] = countOne(message.keys, 'check', message.weight, now, message.limits) end
  return replies
end
if mode ~= 'check' and mode ~= 'anyway' and mode ~= 'refund' and mode ~= 'add' then
  return redis.error_reply('ERR outgoing-limits: unknown mode ' .. tostring(mode))
end
local weight = num(ARGV[7], 'weight')
if type(weight) == 'table' then return weight end
if weight < 0 then return redis.error_reply('ERR outgoing-limits: negative weight') end
local second = now
if mode == 'refund' or mode == 'add' then
  second = num(ARGV[8], 'second')
  if type(second) == 'table' then return second end
end
local limits = {}
if mode == 'check' then
  local read, bad = numbers(9, 2 * #KEYS, 'limit')
  if bad then return bad end
  limits = read
end
return countOne(KEYS, mode, weight, second, limits)
`;

/**
 * Reads windows without writing (allowed on a replica).
 * KEYS: one object's hash. ARGV: now, the four window figures, then per window the target: seconds until used
 * has dropped to at most the target are reported (-1: never; -2: used is already at or below it, or no target '').
 * Reply: { now, hour used, hour seconds, day used, day seconds }.
 */
export const READ_SCRIPT = `#!lua flags=no-writes
${COMMON}
local reply = { now }
local views = lookAll(KEYS[1])
for i, w in ipairs(W) do
  local view = views[i]
  local freed = -2
  if ARGV[5 + i] ~= '' then
    local target = num(ARGV[5 + i], 'target')
    if type(target) == 'table' then return target end
    if view.used > target then freed = secondsUntilFreed(KEYS[1], w, view, view.used - target) end
  end
  reply[#reply + 1] = view.used
  reply[#reply + 1] = freed
end
return reply
`;
