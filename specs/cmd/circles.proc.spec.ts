import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { secp256k1 } from '@noble/curves/secp256k1';
import { addLine, isOpen } from '../../cmd/circles-input';
import { buildOnce, killAll, launch, type Run } from '../support/cli';
import { freePort } from '../support/redis-server';

const CIRCLE = '034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa';
const KEY = '4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318';
const PUBKEY = Buffer.from(secp256k1.getPublicKey(KEY, true)).toString('hex');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'circles-cli-'));
const file = (name: string, text: string): string => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
};

interface Done {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built `circles` command to its end (bounded), feeding `stdin`. */
function circles(args: string[], opts: { stdin?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Done> {
  const script = path.join(buildOnce(), 'cmd', 'circles.js');
  const child = spawn(process.execPath, [script, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, CIRCLES_KEY: '', CIRCLES_HISTORY: path.join(dir, 'history'), ...opts.env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdin.end(opts.stdin ?? '');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`circles ${args.join(' ')} did not end in 20 s: ${stderr}`));
    }, 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const lines = (text: string): string[] => text.split('\n').filter(Boolean);

describe('circles (command-line client) against a real launcher', () => {
  let launcher: Run;
  let url: string;
  beforeAll(async () => {
    buildOnce();
    const data = fs.mkdtempSync(path.join(dir, 'data-'));
    launcher = launch('circles-launcher', [
      '--port',
      '0',
      '--log-level',
      'warn',
      '--data-dir',
      data,
      '-k',
      CIRCLE,
    ]);
    const [, base] = await launcher.waitFor(/listening on (ws:\/\/[^ \n]+)/, 20_000);
    url = `${base!.replace(/\/$/, '')}/${CIRCLE}`;
  }, 30_000);
  afterAll(() => killAll());

  it('plays a file: the output on stdout, what it printed on stderr, exit 0', async () => {
    const r = await circles(['play', url, file('ok.rhai', 'print("hello");\nprint("world");\n40 + 2')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('42\n');
    // a throw-away key, said so; then the script's lines, in order
    expect(r.stderr).toMatch(
      /^circles: no --key or CIRCLES_KEY: logged in with a throw-away key \(0[23][0-9a-f]{64}\)\n/,
    );
    expect(lines(r.stderr).slice(1)).toEqual(['hello', 'world']);
  });

  it('plays from stdin with the key given by --key or CIRCLES_KEY', async () => {
    const byFlag = await circles(['play', url, '-', '--key', KEY], { stdin: 'CALLER_ID' });
    expect(byFlag).toMatchObject({ code: 0, stdout: `${PUBKEY}\n`, stderr: '' });
    const byEnv = await circles(['play', url, '-'], { stdin: 'CALLER_ID', env: { CIRCLES_KEY: `0x${KEY}` } });
    expect(byEnv).toMatchObject({ code: 0, stdout: `${PUBKEY}\n`, stderr: '' });
  });

  it('reports a script error with its kind and position, exit 1', async () => {
    const r = await circles(['play', url, file('bad.rhai', 'let x = 1;\nlet y = ;\n'), '--key', KEY]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/^error: .+ \(ErrorParsing at line 2, column \d+\)\n$/);
  });

  it('a script that printed before failing shows those lines first', async () => {
    const r = await circles(['play', url, '-', '--key', KEY], { stdin: 'print("before");\nno_such_fn()' });
    expect(r.code).toBe(1);
    expect(lines(r.stderr)[0]).toBe('before');
    expect(lines(r.stderr)[1]).toMatch(/^error: .+ \(ErrorFunctionNotFound at line 2, column 1\)$/);
  });

  it('a bad URL, a closed port, a bad key or a missing file: exit 2 with one line', async () => {
    const script = file('one.rhai', '1');
    const badUrl = await circles(['play', 'http://nowhere', script]);
    expect(badUrl.code).toBe(2);
    expect(lines(badUrl.stderr)).toEqual(['circles: not a ws:// or wss:// URL: http://nowhere']);

    const closed = await circles([
      'play',
      `ws://127.0.0.1:${await freePort()}/${CIRCLE}`,
      script,
      '--key',
      KEY,
    ]);
    expect(closed.code).toBe(2);
    expect(lines(closed.stderr)).toHaveLength(1);
    expect(closed.stderr).toMatch(/^circles: connection to ws:\/\/127\.0\.0\.1:\d+\/[0-9a-f]+ failed/);

    const badKey = await circles(['play', url, script, '--key', 'xyz']);
    expect(badKey.code).toBe(2);
    expect(lines(badKey.stderr)).toEqual([expect.stringMatching(/^circles: --key: a private key is 64 hex/)]);

    const missing = await circles(['play', url, path.join(dir, 'absent.rhai')]);
    expect(missing.code).toBe(2);
    expect(lines(missing.stderr)).toEqual([
      expect.stringMatching(/^circles: cannot read .*absent\.rhai: ENOENT$/),
    ]);

    const usage = await circles(['play', url]);
    expect(usage.code).toBe(2);
    expect(lines(usage.stderr)).toEqual([expect.stringMatching(/^circles: missing required argument/)]);
  });

  it('repl: plays each complete input, continues open brackets and trailing backslashes, ends on .exit', async () => {
    const input = [
      '40 + 2',
      'if true {',
      '  "yes"',
      '} else { "no" }',
      '1 + \\',
      '2',
      'no_such_fn()',
      '[1, 2,',
      '3].len()',
      '.exit',
      '"not reached"',
    ].join('\n');
    const r = await circles(['repl', url, '--key', KEY], { stdin: `${input}\n` });
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual(['42', 'yes', '3', '3']);
    expect(lines(r.stderr)).toEqual([
      expect.stringMatching(/^error: .+ \(ErrorFunctionNotFound at line 1, column 1\)$/),
    ]);
  });

  it('repl: a connection failure exits 2 with one line', async () => {
    const r = await circles(['repl', `ws://127.0.0.1:${await freePort()}/${CIRCLE}`, '--key', KEY]);
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toHaveLength(1);
  });
});

describe('repl input: when a script is complete', () => {
  it.each([
    ['40 + 2', false],
    ['if x {', true],
    ['foo(1,', true],
    ['[1, 2', true],
    ['let s = "{ not a brace";', false],
    ["let c = '(';", false],
    ['// a comment with {', false],
    ['/* block { /* nested */ still', true],
    ['/* block { /* nested */ done */ 1', false],
    ['`template ${ x + {', true],
    ['`open template', true],
    ['`done ${ [1].len() } template`', false],
    ['1 + 2)', false],
    ['"unterminated', false],
  ])('%s → open: %s', (text, open) => {
    expect(isOpen(text)).toBe(open);
  });

  it('joins lines, drops a trailing backslash, and completes once balanced', () => {
    const first = addLine('', 'let a = [');
    expect(first).toEqual({ complete: false, buffer: 'let a = [\n' });
    const second = addLine(first.complete ? '' : first.buffer, '1, 2 \\');
    expect(second).toEqual({ complete: false, buffer: 'let a = [\n1, 2 \n' });
    const third = addLine(second.complete ? '' : second.buffer, '];');
    expect(third).toEqual({ complete: true, script: 'let a = [\n1, 2 \n];' });
  });
});
