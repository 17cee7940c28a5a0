import type * as uWS from 'uWebSockets.js';

export type Uws = typeof uWS;

/** Why the native binding is not available, or the binding itself. */
export type UwsLoad = { ok: true; uws: Uws } | { ok: false; reason: string };

let loaded: UwsLoad | undefined;

/**
 * Loads uWebSockets.js's native binary for this platform, Node ABI and C library, and
 * nothing else. The package's own entry quietly falls back to a pure-JS imitation whose
 * upgrades hang, so we never import it: no binary means "not available", and the caller
 * picks the `ws` transport instead.
 */
export function loadNativeUws(): UwsLoad {
  if (loaded) return loaded;
  const file = `uWebSockets.js/binaries/uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(file) as Uws;
    loaded =
      typeof mod.App === 'function' && typeof mod.SSLApp === 'function'
        ? { ok: true, uws: mod }
        : { ok: false, reason: `${file} is not the native binding` };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'MODULE_NOT_FOUND'
        ? `no binary for ${process.platform}-${process.arch} Node ABI ${process.versions.modules}`
        : (err as Error).message.split('\n')[0];
    loaded = { ok: false, reason: `uWebSockets.js native binary unavailable: ${why}` };
  }
  return loaded;
}
