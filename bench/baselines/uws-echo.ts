/**
 * Baseline server (child process): bare uWebSockets.js. `echo` sends each frame back as is —
 * the ceiling for any gateway here. `jsonrpc` parses each frame, checks the envelope by hand
 * and answers `{jsonrpc, id, result}` with a result shaped like our `whoami` — the ceiling
 * for any JSON-RPC gateway. Prints `listening on ws://...` like our server.
 */
import * as uWS from 'uWebSockets.js';
import { answerJsonRpc } from './echo-result';

const mode = process.argv[2] === 'jsonrpc' ? 'jsonrpc' : 'echo';
const decoder = new TextDecoder();

const app = uWS.App().ws('/*', {
  compression: uWS.DISABLED,
  maxPayloadLength: 1024 * 1024,
  idleTimeout: 120,
  message(ws, msg, isBinary) {
    if (mode === 'echo') {
      ws.send(msg, isBinary);
      return;
    }
    ws.send(answerJsonRpc(decoder.decode(msg)));
  },
});
app.listen('127.0.0.1', 0, (token) => {
  if (!token) {
    process.stderr.write('listen failed\n');
    process.exit(1);
  }
  process.stdout.write(`listening on ws://127.0.0.1:${uWS.us_socket_local_port(token)}\n`);
});
process.on('SIGTERM', () => process.exit(0));
