/**
 * libsecp256k1 through the `secp256k1` package's prebuilt N-API binding (≈ 17,000
 * recoveries/s per core here, against ≈ 550 for @noble/curves). Loaded from
 * `secp256k1/bindings` on purpose: the package's main entry silently falls back to a slow
 * pure-JS implementation, and we would rather fall back to @noble/curves, our reference.
 * `null` when the binding cannot load on this platform.
 */
type Binding = typeof import('secp256k1');

function load(): Binding | null {
  if (process.env.CIRCLES_NO_NATIVE_SECP256K1 === '1') return null;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional native module, loaded or not at run time
    return require('secp256k1/bindings') as Binding;
  } catch {
    return null;
  }
}

export const nativeSecp256k1: Binding | null = load();
