import { lua } from './lua';

/**
 * Writes a batch of task hashes and queues their ids, in one round trip and atomically, so
 * a dispatcher turn's plays cost one command instead of three each.
 */
export const SUBMIT_TASKS = lua(`
-- KEYS[2i-1] = task hash rhailib:<task_id> of task i, KEYS[2i] = work queue rhailib:<circle_pk>
-- ARGV[1] = hash expiry (s), ARGV[2] = reply queue, ARGV[3] = now (RFC 3339)
-- ARGV[4+5(i-1) .. 8+5(i-1)] = taskId, script, callerId, contextId, input ('' = none) of task i
-- returns the number of tasks queued
local n = #KEYS / 2
for i = 1, n do
  local a = 3 + (i - 1) * 5
  local hash = KEYS[2 * i - 1]
  redis.call('HSET', hash, 'taskId', ARGV[a + 1], 'script', ARGV[a + 2], 'callerId', ARGV[a + 3],
    'contextId', ARGV[a + 4], 'status', 'pending', 'createdAt', ARGV[3], 'updatedAt', ARGV[3],
    'replyToQueue', ARGV[2])
  if ARGV[a + 5] ~= '' then redis.call('HSET', hash, 'input', ARGV[a + 5]) end
  redis.call('EXPIRE', hash, ARGV[1])
  redis.call('LPUSH', KEYS[2 * i], ARGV[a + 1])
end
return n
`);

/**
 * How long a reply queue (and a dispatcher's in-flight list) outlives its last write. A live
 * dispatcher drains its queue at once (an empty list does not exist in Redis); this only
 * bounds what a dispatcher that died leaves behind.
 */
export const REPLY_QUEUE_TTL_S = 600;

/**
 * The reply reader's non-blocking step: drops the replies it has routed (the oldest `ack` of
 * its in-flight list), then moves up to `max` new ones from its reply queue into that list
 * and returns them. A reply is removed from Redis only once routed, so a connection that
 * drops mid-read loses nothing: the next read starts by routing the in-flight list again.
 */
export const ACK_AND_TAKE_REPLIES = lua(`
-- KEYS[1] = reply queue, KEYS[2] = in-flight list
-- ARGV[1] = replies routed since the last call (dropped from the in-flight list's old end),
-- ARGV[2] = most replies to take, ARGV[3] = expiry of the in-flight list (s)
-- returns the replies taken, oldest first
local ack = tonumber(ARGV[1])
if ack > 0 then redis.call('RPOP', KEYS[2], ack) end
local out = {}
for i = 1, tonumber(ARGV[2]) do
  local reply = redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT')
  if not reply then break end
  out[i] = reply
end
if #out > 0 then redis.call('EXPIRE', KEYS[2], ARGV[3]) end
return out
`);

/**
 * Depth and oldest waiting task of several circles' work queues, in one call. Ids are
 * LPUSHed and taken from the right (re-queued ones go back on the right), so the oldest
 * waiting id is the rightmost.
 */
export const QUEUE_STATS = lua(`
-- KEYS[i] = work queue of circle i; ARGV[1] = task hash key prefix
-- returns {depth, createdAt of the oldest waiting task ('' when none or unknown), ...}
local out = {}
for i = 1, #KEYS do
  local depth = redis.call('LLEN', KEYS[i])
  local created = ''
  if depth > 0 then
    local id = redis.call('LINDEX', KEYS[i], -1)
    -- pcall: an id naming a key of another type has no known age
    local at = id and redis.pcall('HGET', ARGV[1] .. id, 'createdAt')
    if type(at) == 'string' then created = at end
  end
  out[2 * i - 1] = depth
  out[2 * i] = created
end
return out
`);

/**
 * Live workers per circle: the registered workers (SPEC §4 registry set) whose liveness key
 * still exists.
 */
export const LIVE_WORKERS = lua(`
-- KEYS[i] = worker registry set of circle i; ARGV[1] = liveness key prefix
-- returns the number of live workers of each circle, in order
local out = {}
for i = 1, #KEYS do
  local live = 0
  for _, id in ipairs(redis.call('SMEMBERS', KEYS[i])) do
    if redis.call('EXISTS', ARGV[1] .. id) == 1 then live = live + 1 end
  end
  out[i] = live
end
return out
`);
