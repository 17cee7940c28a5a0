import { createHash } from 'node:crypto';
import { ErrorReply, type createClient } from 'redis';

type RedisClient = ReturnType<typeof createClient>;

/** A Lua script sent by SHA, with its source for the first call after a Redis restart. */
export interface LuaScript {
  readonly source: string;
  readonly sha: string;
}

export function lua(source: string): LuaScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/** EVALSHA, falling back to EVAL when Redis has forgotten the script (restart, flush). */
export async function evalLua<T>(
  client: RedisClient,
  script: LuaScript,
  keys: string[],
  args: string[] = [],
): Promise<T> {
  const tail = [String(keys.length), ...keys, ...args];
  try {
    return await client.sendCommand<T>(['EVALSHA', script.sha, ...tail]);
  } catch (err) {
    if (err instanceof ErrorReply && err.message.startsWith('NOSCRIPT')) {
      return client.sendCommand<T>(['EVAL', script.source, ...tail]);
    }
    throw err;
  }
}
