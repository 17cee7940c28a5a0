import path from 'node:path';
import type { ResourceLimits, Worker } from 'node:worker_threads';
import { startThread } from '../threads/start-thread';
import type { ScriptThreadData } from './script-job';

/** Starts one script thread (compiled `script-thread.js` from dist/, else the `.ts` source). */
export function spawnScriptThread(data: ScriptThreadData, resourceLimits: ResourceLimits): Worker {
  return startThread(path.join(__dirname, 'script-thread'), { workerData: data, resourceLimits });
}
