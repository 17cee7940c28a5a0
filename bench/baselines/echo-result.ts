/** The result both JSON-RPC echo baselines answer: the size and shape of our `whoami`. */
export const RESULT = {
  authenticated: false,
  pubkey: null,
  circle: '02' + 'ab'.repeat(32),
};

/**
 * The JSON-RPC echo both baselines run per frame: parse, check the envelope by hand, answer
 * `{jsonrpc, id, result}` (or -32700 / -32600), so the two servers differ only in transport.
 */
export function answerJsonRpc(text: string): string {
  let req: any;
  try {
    req = JSON.parse(text);
  } catch {
    return '{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}';
  }
  if (req === null || typeof req !== 'object' || req.jsonrpc !== '2.0' || typeof req.method !== 'string') {
    return JSON.stringify({
      jsonrpc: '2.0',
      id: req?.id ?? null,
      error: { code: -32600, message: 'Invalid Request' },
    });
  }
  return JSON.stringify({ jsonrpc: '2.0', id: req.id, result: RESULT });
}
