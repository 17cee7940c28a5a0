import * as uWS from 'uWebSockets.js';

/**
 * The uWebSockets.js binding. Its npm alias quietly falls back to a slow pure-JS imitation
 * when the native binary does not load; only the native module has `SSLApp` and `getParts`,
 * so that is how we tell and warn (the startup log says it loudly).
 */
export const uws = uWS;

export function isNativeUws(): boolean {
  const mod = uWS as unknown as Record<string, unknown>;
  return typeof mod.SSLApp === 'function' && typeof mod.getParts === 'function';
}

export const UWS_FALLBACK_WARNING =
  'uWebSockets.js native binary did NOT load: running on its slow pure-JS fallback. ' +
  'Expect a fraction of the normal throughput and no TLS; use Node 20 on glibc >= 2.31 (x64/arm64).';
