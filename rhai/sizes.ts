import { fail, type Pos } from './errors';
import type { Runtime } from './runtime';
import { byteLength, type Value } from './values';

/** Recursive data sizes as Rhai counts them: [array elements, map properties, string bytes]. */
function sizesOf(v: Value, acc: [number, number, number]): void {
  if (typeof v === 'string') {
    acc[2] += v.length > 0 ? byteLength(v) : 0;
    return;
  }
  if (Array.isArray(v)) {
    for (const e of v) {
      acc[0]++;
      if (typeof e === 'object' || typeof e === 'string') sizesOf(e, acc);
    }
  } else if (v instanceof Map) {
    for (const e of v.values()) {
      acc[1]++;
      if (typeof e === 'object' || typeof e === 'string') sizesOf(e, acc);
    }
  }
}

/** Throw ErrorDataTooLarge if a container (recursively) exceeds the run's limits. */
export function checkDataSize(rt: Runtime, v: Value, pos?: Pos): void {
  if (rt.maxArray === Infinity && rt.maxMap === Infinity && rt.maxString === Infinity) return;
  if (typeof v !== 'object' && typeof v !== 'string') return;
  const acc: [number, number, number] = [0, 0, 0];
  sizesOf(v, acc);
  if (acc[0] > rt.maxArray) throw fail('ErrorDataTooLarge', 'Size of array/BLOB too large', pos);
  if (acc[1] > rt.maxMap) throw fail('ErrorDataTooLarge', 'Size of object map too large', pos);
  if (acc[2] > rt.maxString) throw fail('ErrorDataTooLarge', 'Length of string too large', pos);
}

/** Cheap check after growing an array by primitive elements. */
export function checkArrayLen(rt: Runtime, a: Value[], pos?: Pos): void {
  if (a.length > rt.maxArray) throw fail('ErrorDataTooLarge', 'Size of array/BLOB too large', pos);
}
