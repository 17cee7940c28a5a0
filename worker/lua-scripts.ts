import { lua } from '../queue/lua';
export type { LuaScript } from '../queue/lua';

/**
 * Lua: moves up to `remaining` ids from the work queues (KEYS[2i-1]) into the processing lists
 * (KEYS[2i]), fairly across circles: each round gives every still non-empty queue an equal
 * share of what is left. Calls `visit(i, id)` for each id, oldest first within a circle.
 */
const FAIR_TAKE = `
local circles = #KEYS / 2
local open, live = {}, circles
for i = 1, circles do open[i] = true end
while remaining > 0 and live > 0 do
  local share = math.ceil(remaining / live)
  for i = 1, circles do
    if open[i] and remaining > 0 then
      local want = math.min(share, remaining)
      local ids = redis.call('RPOP', KEYS[2 * i - 1], want)
      if ids then
        redis.call('LPUSH', KEYS[2 * i], unpack(ids))
        for _, id in ipairs(ids) do visit(i, id) end
        remaining = remaining - #ids
      end
      if not ids or #ids < want then
        open[i] = false
        live = live - 1
      end
    end
  end
end
`;

/**
 * Takes the rest of a batch without blocking, fairly across circles: each round gives every
 * still non-empty queue an equal share of what is left. Callers rotate the circle order per
 * call so that no circle is always served first.
 */
export const TAKE_BATCH = lua(`
-- KEYS[2i-1] = work queue of circle i, KEYS[2i] = this worker's processing list for circle i
-- ARGV[1] = most ids to move in all
-- returns {circle index (1-based), id, circle index, id, ...}, oldest first within a circle
local remaining = tonumber(ARGV[1])
local out = {}
local function visit(i, id)
  out[#out + 1] = i
  out[#out + 1] = id
end
${FAIR_TAKE}
return out
`);

/** The task fields `planTask` reads; `status` must stay first. */
export const CLAIMED_FIELDS = ['status', 'contextId', 'script', 'callerId', 'input', 'replyToQueue'] as const;

/**
 * TAKE_BATCH and CLAIM_TASKS in one call: claims the given ids (already moved into the
 * processing lists by a blocking BLMOVE), then takes and claims up to the rest of a batch
 * fairly across circles. One round trip per batch instead of two.
 */
export const TAKE_AND_CLAIM = lua(`
-- KEYS[2i-1] = work queue of circle i, KEYS[2i] = this worker's processing list for circle i
-- ARGV[1] = most ids to move in all (besides the given ones), ARGV[2] = updatedAt,
-- ARGV[3] = task hash key prefix, then (circle index, id) pairs already held
-- returns {circle index, id, {field, value, ...} ({} when the hash is missing), ...}: the given
-- ids first, then the taken ones, oldest first within a circle. Only the fields the worker
-- reads are returned (CLAIMED_FIELDS), as read before marking; hashes with any of them that
-- are not completed or error get status 'processing' and updatedAt
local remaining = tonumber(ARGV[1])
local updatedAt, prefix = ARGV[2], ARGV[3]
local names = {${CLAIMED_FIELDS.map((name) => `'${name}'`).join(', ')}}
local out = {}
local function claim(i, id)
  local key = prefix .. id
  -- pcall: an id naming a key of another type reads as a missing hash (answered as malformed)
  local values = redis.pcall('HMGET', key, unpack(names))
  if values.err then values = {} end
  local fields = {}
  for f = 1, #names do
    if values[f] then
      fields[#fields + 1] = names[f]
      fields[#fields + 1] = values[f]
    end
  end
  out[#out + 1] = i
  out[#out + 1] = id
  out[#out + 1] = fields
  -- values[1] is the status
  if #fields > 0 and values[1] ~= 'completed' and values[1] ~= 'error' then
    redis.call('HSET', key, 'status', 'processing', 'updatedAt', updatedAt)
  end
end
for a = 4, #ARGV, 2 do claim(tonumber(ARGV[a]), ARGV[a + 1]) end
local visit = claim
${FAIR_TAKE}
return out
`);

/**
 * Reads a batch of task hashes and marks the unfinished ones `processing`, in one call
 * (two commands per task would cost more than running a trivial script).
 */
export const CLAIM_TASKS = lua(`
-- KEYS = task hashes
-- ARGV[1] = updatedAt
-- returns per key the hash as read before marking, as {field, value, ...} ({} when missing);
-- hashes that exist and are not completed or error get status 'processing' and updatedAt
local out = {}
for i, key in ipairs(KEYS) do
  local fields = redis.pcall('HGETALL', key)
  if fields.err then fields = {} end
  out[i] = fields
  if #fields > 0 then
    local status = nil
    for f = 1, #fields, 2 do
      if fields[f] == 'status' then
        status = fields[f + 1]
        break
      end
    end
    if status ~= 'completed' and status ~= 'error' then
      redis.call('HSET', key, 'status', 'processing', 'updatedAt', ARGV[1])
    end
  end
end
return out
`);

/**
 * Writes the results of a batch of tasks, each only while this worker still holds it: a
 * worker wrongly presumed dead must not complete a task that another worker re-runs.
 * In order: every written task's hash and store writes, then the replies (one LPUSH per
 * reply queue, in task order), then removal from the processing lists. The call is atomic,
 * and if a command fails midway the ids stay held, so the tasks are re-run, never lost.
 * Ids are searched from the old end of the processing list, where finishing tasks sit.
 */
export const COMPLETE_TASKS = lua(`
-- KEYS, per task in order: task hash, this worker's processing list, the circle's store hash,
--   then the reply queue if the task has one
-- ARGV[1] = updatedAt, ARGV[2] = hash expiry (s); then per task: task id, status,
--   result field ('output' or 'error'), result text, reply JSON ('' = no reply queue),
--   n store sets, n store deletes, the sets as field/value pairs, the deleted fields
-- returns per task 1 when written, 0 when the id was no longer in the processing list
local k, a, out = 1, 3, {}
local queues, replies, removals, removed = {}, {}, {}, {}
while a <= #ARGV do
  local id, status, field, text, reply = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
  local sets, dels = tonumber(ARGV[a + 5]), tonumber(ARGV[a + 6])
  local hash, held, store = KEYS[k], KEYS[k + 1], KEYS[k + 2]
  k = k + 3
  local replyQueue = nil
  if reply ~= '' then
    replyQueue = KEYS[k]
    k = k + 1
  end
  a = a + 7
  -- (an id twice in one call is written once: its first removal is still pending below)
  if not removed[held .. ' ' .. id] and redis.call('LPOS', held, id, 'RANK', -1) then
    removed[held .. ' ' .. id] = true
    -- pcall: one task whose keys hold another type must not stall the whole batch for ever
    redis.pcall('HSET', hash, 'taskId', id, 'status', status, field, text, 'updatedAt', ARGV[1])
    redis.pcall('EXPIRE', hash, ARGV[2])
    for i = a, a + 2 * sets - 1, 2 do redis.pcall('HSET', store, ARGV[i], ARGV[i + 1]) end
    for i = a + 2 * sets, a + 2 * sets + dels - 1 do redis.pcall('HDEL', store, ARGV[i]) end
    if replyQueue then
      local list = replies[replyQueue]
      if not list then
        list = {}
        replies[replyQueue] = list
        queues[#queues + 1] = replyQueue
      end
      list[#list + 1] = reply
    end
    removals[#removals + 1] = held
    removals[#removals + 1] = id
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
  a = a + 2 * sets + dels
end
for _, queue in ipairs(queues) do redis.pcall('LPUSH', queue, unpack(replies[queue])) end
for r = 1, #removals, 2 do redis.call('LREM', removals[r], -1, removals[r + 1]) end
return out
`);

/**
 * Moves a whole processing list back to the end of its work queue that workers take from
 * next, oldest id outermost, so reclaimed tasks run before newer ones.
 */
export const REQUEUE_LIST = lua(`
-- KEYS[1] = processing list, KEYS[2] = work queue,
-- KEYS[3] = the list owner's liveness key (optional; when given and present, nothing moves)
-- returns the number of ids moved
if KEYS[3] and redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
local moved = 0
while redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT') do moved = moved + 1 end
return moved
`);

/** Moves chosen ids of a processing list back to the end of its work queue taken next. */
export const REQUEUE_IDS = lua(`
-- KEYS[1] = processing list, KEYS[2] = work queue
-- ARGV = ids, newest first (so the oldest ends up outermost)
-- returns the number of ids moved (ids no longer in the list are skipped)
local moved = 0
for i = 1, #ARGV do
  if redis.call('LREM', KEYS[1], 1, ARGV[i]) == 1 then
    redis.call('RPUSH', KEYS[2], ARGV[i])
    moved = moved + 1
  end
end
return moved
`);
