/**
 * Baseline server (child process): the `ws` library doing the same JSON-RPC echo as the uWS
 * baseline — the peer most Node users would build. Prints `listening on ws://...`.
 */
import { WebSocketServer } from 'ws';
import { answerJsonRpc } from './echo-result';

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  perMessageDeflate: false,
  maxPayload: 1024 * 1024,
});
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    if (isBinary) return ws.close(1003);
    ws.send(answerJsonRpc(data.toString()));
  });
});
wss.on('listening', () => {
  const addr = wss.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  process.stdout.write(`listening on ws://127.0.0.1:${port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
