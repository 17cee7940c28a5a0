#!/usr/bin/env node
/**
 * Demo session: connect to a circle, authenticate with a fresh key, play a script.
 *   npm run demo -- ws://127.0.0.1:8443/<circle_pk> ['script']
 */
import { randomBytes } from 'node:crypto';
import { CirclesClient, CirclesRpcError } from './circles-client';

async function main(): Promise<void> {
  const [url, script = '`hello ${CALLER_ID}, this is circle ${CONTEXT_ID}`'] = process.argv.slice(2);
  if (!url) throw new Error('usage: demo <ws://host:port/circle_pk> [script]');
  const client = await CirclesClient.connect(url);
  console.log('whoami        ', await client.call('whoami'));
  const key = randomBytes(32).toString('hex');
  console.log('authenticated ', await client.authenticate(key));
  console.log('play          ', script);
  console.log('output        ', (await client.play(script)).output);
  client.close();
}

main().catch((err: unknown) => {
  const detail = err instanceof CirclesRpcError ? ` (${err.code} ${JSON.stringify(err.data ?? null)})` : '';
  console.error(`demo: ${err instanceof Error ? err.message : String(err)}${detail}`);
  process.exit(1);
});
