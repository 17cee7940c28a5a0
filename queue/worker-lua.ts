import { lua } from './lua';
export type { LuaScript } from './lua';

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

/** The task fields `planTask` reads; `status` must stay first. */
export const CLAIMED_FIELDS = [
  'status',
  'contextId',
  'script',
  'callerId',
  'input',
  'replyToQueue',
  'createdAt',
] as const;

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
 * Lua helpers of the circle store (SPEC §4; layout in the README). Per circle: `vals` (hash
 * key → JSON), `vers` (hash key → the commit seq that last wrote it), `index` (zset of every
 * key, score 0, for sorted prefix listing), `meta` (hash: `seq` last commit, `kseq` commit
 * that last created or deleted a key, `bytes` in use, `indexed` once the index covers
 * `vals`). A key's version token is its `vers` entry, `0` when absent, `L` for a value
 * written before versions existed; `seq` only grows, so a token never comes back to mean
 * another value. Data from the old one-hash layout is indexed (and counted) on first use.
 */
const STORE_HELPERS = `
local function token(vals, vers, key)
  local v = redis.call('HGET', vers, key)
  if v then return v end
  if redis.call('HEXISTS', vals, key) == 1 then return 'L' end
  return '0'
end
local function ensureIndexed(vals, index, meta)
  if redis.call('HEXISTS', meta, 'indexed') == 1 then return end
  local bytes, cursor = 0, '0'
  repeat
    local page = redis.call('HSCAN', vals, cursor, 'COUNT', 1000)
    cursor = page[1]
    local kv = page[2]
    for i = 1, #kv, 2 do
      redis.call('ZADD', index, 0, kv[i])
      bytes = bytes + #kv[i] + #kv[i + 1]
    end
  until cursor == '0'
  redis.call('HINCRBY', meta, 'bytes', bytes)
  redis.call('HSET', meta, 'indexed', '1')
end
`;

/** Reads keys of one circle's store with their version tokens, atomically. */
export const READ_KEYS = lua(`
-- KEYS[1] = vals, KEYS[2] = vers; ARGV = store keys
-- returns {value or false, token, value or false, token, ...}
${STORE_HELPERS}
local out = {}
for i, key in ipairs(ARGV) do
  out[2 * i - 1] = redis.call('HGET', KEYS[1], key) or false
  out[2 * i] = token(KEYS[1], KEYS[2], key)
end
return out
`);

/** Lists keys of one circle by prefix, sorted by bytes, with the key-set version. */
export const LIST_KEYS = lua(`
-- KEYS[1] = vals, KEYS[2] = index, KEYS[3] = meta
-- ARGV[1] = prefix, ARGV[2] = most keys to return
-- returns {kseq token, key, key, ...}
${STORE_HELPERS}
ensureIndexed(KEYS[1], KEYS[2], KEYS[3])
local prefix = ARGV[1]
local low, high = '-', '+'
if prefix ~= '' then
  -- 0xFF never occurs in UTF-8, so it sorts after every key that starts with the prefix
  low, high = '[' .. prefix, '(' .. prefix .. '\\255'
end
local keys = redis.call('ZRANGE', KEYS[2], low, high, 'BYLEX', 'LIMIT', 0, tonumber(ARGV[2]))
local out = { redis.call('HGET', KEYS[3], 'kseq') or '0' }
for _, key in ipairs(keys) do out[#out + 1] = key end
return out
`);

/**
 * Writes the results of a batch of tasks, each only while this worker still holds it (a
 * worker wrongly presumed dead must not complete a task that another worker re-runs) and
 * only if every store version the script read is still current (optimistic concurrency:
 * the commit is then equivalent to running the script right here, one at a time). Per task,
 * in order: the checks, the store writes with a new commit seq, the hash, then (for the whole
 * batch) the replies (one LPUSH per reply queue, in task order) and removal from the
 * processing lists. The call is atomic, and if a command fails midway the ids stay held, so
 * the tasks are re-run, never lost. Ids are searched from the old end of the processing
 * list, where finishing tasks sit.
 */
export const COMPLETE_TASKS = lua(`
-- KEYS, per task in order: task hash, this worker's processing list, the circle's store
--   vals, vers, index and meta, then the reply queue if the task has one
-- ARGV[1] = updatedAt, ARGV[2] = hash expiry (s), ARGV[3] = store quota (bytes),
--   ARGV[4] = reply queue expiry (s: a dead dispatcher's queue must not stay for ever); then per
--   task: task id, status, result field ('output' or 'error'), result text, reply JSON
--   ('' = no reply queue), n reads, listed kseq token ('' = did not list), n sets, n deletes,
--   n detail fields, the reads as key/token pairs, the sets as key/JSON pairs, the deleted
--   keys, the detail fields (errorKind, errorLine, errorPosition, logs) as field/value pairs
-- returns per task 1 written, 0 no longer held, 2 conflict (a read went stale), 3 over quota;
--   for 2 and 3 nothing is written and the id stays held
${STORE_HELPERS}
local quota = tonumber(ARGV[3])
local k, a, out = 1, 5, {}
local queues, replies, removals, removed = {}, {}, {}, {}
while a <= #ARGV do
  local id, status, field, text, reply = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
  local nReads, listed, nSets, nDels = tonumber(ARGV[a + 5]), ARGV[a + 6], tonumber(ARGV[a + 7]), tonumber(ARGV[a + 8])
  local nDetail = tonumber(ARGV[a + 9])
  local hash, held = KEYS[k], KEYS[k + 1]
  local vals, vers, index, meta = KEYS[k + 2], KEYS[k + 3], KEYS[k + 4], KEYS[k + 5]
  k = k + 6
  local replyQueue = nil
  if reply ~= '' then
    replyQueue = KEYS[k]
    k = k + 1
  end
  a = a + 10
  local reads, sets, dels = a, a + 2 * nReads, a + 2 * nReads + 2 * nSets
  local detail = dels + nDels
  a = detail + 2 * nDetail
  local result = 1
  -- (an id twice in one call is written once: its first removal is still pending below)
  if removed[held .. ' ' .. id] or not redis.call('LPOS', held, id, 'RANK', -1) then
    result = 0
  else
    for i = reads, sets - 1, 2 do
      if token(vals, vers, ARGV[i]) ~= ARGV[i + 1] then result = 2 end
    end
    if listed ~= '' and (redis.call('HGET', meta, 'kseq') or '0') ~= listed then result = 2 end
  end
  if result == 1 and status == 'completed' and nSets + nDels > 0 then
    ensureIndexed(vals, index, meta)
    local delta = 0
    for i = sets, dels - 1, 2 do
      local key = ARGV[i]
      if redis.call('HEXISTS', vals, key) == 1 then
        delta = delta + #ARGV[i + 1] - redis.call('HSTRLEN', vals, key)
      else
        delta = delta + #key + #ARGV[i + 1]
      end
    end
    for i = dels, detail - 1 do
      if redis.call('HEXISTS', vals, ARGV[i]) == 1 then
        delta = delta - #ARGV[i] - redis.call('HSTRLEN', vals, ARGV[i])
      end
    end
    if delta > 0 and tonumber(redis.call('HGET', meta, 'bytes') or '0') + delta > quota then
      result = 3
    else
      local seq = redis.call('HINCRBY', meta, 'seq', 1)
      local keySetChanged = false
      for i = sets, dels - 1, 2 do
        if redis.call('HSET', vals, ARGV[i], ARGV[i + 1]) == 1 then keySetChanged = true end
        redis.call('HSET', vers, ARGV[i], seq)
        redis.call('ZADD', index, 0, ARGV[i])
      end
      for i = dels, detail - 1 do
        if redis.call('HDEL', vals, ARGV[i]) == 1 then keySetChanged = true end
        redis.call('HDEL', vers, ARGV[i])
        redis.call('ZREM', index, ARGV[i])
      end
      if keySetChanged then redis.call('HSET', meta, 'kseq', seq) end
      redis.call('HINCRBY', meta, 'bytes', delta)
    end
  end
  if result == 1 then
    removed[held .. ' ' .. id] = true
    -- pcall: one task whose keys hold another type must not stall the whole batch for ever.
    -- Only status and result are needed once answered (the script can be large); detail
    -- fields not written now must not survive from anyone else's write.
    redis.pcall('HDEL', hash, 'script', 'input', 'errorKind', 'errorLine', 'errorPosition', 'logs')
    redis.pcall('HSET', hash, 'taskId', id, 'status', status, field, text, 'updatedAt', ARGV[1],
      unpack(ARGV, detail, a - 1))
    redis.pcall('EXPIRE', hash, ARGV[2])
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
  end
  out[#out + 1] = result
end
for _, queue in ipairs(queues) do
  redis.pcall('LPUSH', queue, unpack(replies[queue]))
  redis.pcall('EXPIRE', queue, ARGV[4])
end
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

/**
 * Reclaim through the circle's worker registry: for each registered worker but the caller
 * whose liveness key is gone, moves its processing list back to the work queue (oldest id
 * outermost), and forgets it once its list is empty.
 */
export const REQUEUE_DEAD = lua(`
-- KEYS[1] = the circle's worker set, KEYS[2] = the circle's work queue
-- ARGV[1] = processing list prefix (processing:<pk>:), ARGV[2] = liveness key prefix,
-- ARGV[3] = the caller's worker id
-- returns {worker id, ids moved, ...} for the workers it reclaimed from
local out = {}
for _, owner in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if owner ~= ARGV[3] and redis.call('EXISTS', ARGV[2] .. owner) == 0 then
    local list = ARGV[1] .. owner
    local moved = 0
    while redis.call('LMOVE', list, KEYS[2], 'LEFT', 'RIGHT') do moved = moved + 1 end
    redis.call('SREM', KEYS[1], owner)
    if moved > 0 then
      out[#out + 1] = owner
      out[#out + 1] = moved
    end
  end
end
return out
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
