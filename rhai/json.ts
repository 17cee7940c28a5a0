/** Conversion between engine values and plain JSON values. */
import { I64_MAX, I64_MIN, isInt, normBig, RChar, RFloat, type RMap, type Value } from './values';

/** Raised when a value has no JSON representation. */
export class NotJsonError extends Error {}

function setKey(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__')
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

/** Engine value → JSON value. Throws NotJsonError for function pointers, ranges, NaN, huge ints. */
export function valueToJson(v: Value): unknown {
  switch (typeof v) {
    case 'undefined':
      return null;
    case 'boolean':
    case 'string':
      return v;
    case 'number':
      return v;
    case 'bigint':
      throw new NotJsonError(`integer ${v} cannot be represented exactly in JSON`);
  }
  if (v instanceof RFloat) {
    if (!Number.isFinite(v.v)) throw new NotJsonError(`float ${v.v} cannot be represented in JSON`);
    return v.v;
  }
  if (v instanceof RChar) return v.c;
  if (Array.isArray(v)) return v.map(valueToJson);
  if (v instanceof Map) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of v) setKey(o, k, valueToJson(x));
    return o;
  }
  throw new NotJsonError(
    `a value of type '${v.constructor.name === 'FnPtr' ? 'Fn' : 'range'}' cannot be converted to JSON`,
  );
}

/** JSON value → engine value (integers → int, other numbers → float, objects → maps). */
export function jsonToValue(j: unknown): Value {
  if (j === null || j === undefined) return undefined;
  switch (typeof j) {
    case 'boolean':
    case 'string':
      return j;
    case 'number':
      if (Number.isInteger(j) && j < 9223372036854775808 && j >= -9223372036854775808)
        return j === 0 ? 0 : normBig(BigInt(j));
      return new RFloat(j);
    case 'bigint':
      if (j > I64_MAX || j < I64_MIN) throw new NotJsonError(`integer ${j} is out of i64 range`);
      return normBig(j);
    case 'object': {
      if (Array.isArray(j)) return j.map(jsonToValue);
      const m: RMap = new Map();
      for (const k of Object.keys(j as object)) m.set(k, jsonToValue((j as Record<string, unknown>)[k]));
      return m;
    }
  }
  throw new NotJsonError(`a JS ${typeof j} cannot be converted to a Rhai value`);
}

export { valueToJson as toJson, isInt };
