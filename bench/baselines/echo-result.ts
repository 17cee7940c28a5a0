/** The result both JSON-RPC echo baselines answer: the size and shape of our `whoami`. */
export const RESULT = {
  authenticated: false,
  pubkey: null,
  circle: '02' + 'ab'.repeat(32),
};
