/**
 * Baseline server (child process): the `ws` library doing the same JSON-RPC echo as the uWS
 * baseline — the peer most Node users would build. Prints `listening on ws://...`.
 */
import { WebSocketServer } from 'ws';
import { RESULT } from './echo-result';

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  perMessageDeflate: false,
  maxPayload: 1024 * 1024,
});
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    if (isBinary) return ws.close(1003);
    let req: any;
    try {
      req = JSON.parse(data.toString());
    } catch {
      ws.send('{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}');
      return;
    }
    if (req === null || typeof req !== 'object' || req.jsonrpc !== '2.0' || typeof req.method !== 'string') {
      ws.send(
        JSON.stringify({
          jsonrpc: '2.0',
          id: req?.id ?? null,
          error: { code: -32600, message: 'Invalid Request' },
        }),
      );
      return;
    }
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: req.id, result: RESULT }));
  });
});
wss.on('listening', () => {
  const addr = wss.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  process.stdout.write(`listening on ws://127.0.0.1:${port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
