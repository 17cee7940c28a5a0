/**
 * The playground page (SPEC §7): pick a circle, log in with a throw-away key or a browser
 * wallet, edit and run Rhai scripts, see output, logs, errors (marked in the editor) and a
 * history of plays, and browse the circle's store. Everything comes from this server.
 */
import {
  eip1193Signer,
  privateKeySigner,
  randomPrivateKey,
  type AuthResult,
  type PlayResult,
} from '../client';
import { mountCirclePicker } from './circle-picker';
import { Connection } from './connection';
import { byTestId, el } from './dom';
import { createEditor } from './editor';
import { describeError, errorDetails, type ErrorDetails } from './error-details';
import { recordPlay } from './history';
import { parseListing, storeListingScript } from './store-browser';

const KEY_ITEM = 'circles-playground:key';
const DEV_CIRCLE_ITEM = 'circles-playground:dev-circle';

const SAMPLE = `// Ctrl+Enter runs this script in the circle
let visits = store_get("visits");
if visits == () { visits = 0; }
visits += 1;
store_set("visits", visits);
print("visit number " + visits);
"hello, circle"
`;

interface Eip1193Provider {
  request(args: { method: string; params?: unknown[] }): Promise<unknown>;
}

const ui = {
  connection: byTestId('connection'),
  identity: byTestId('identity'),
  identityPubkey: byTestId('identity-pubkey'),
  loginKey: byTestId<HTMLButtonElement>('login-key'),
  loginWallet: byTestId<HTMLButtonElement>('login-wallet'),
  whoami: byTestId<HTMLButtonElement>('whoami'),
  whoamiResult: byTestId('whoami-result'),
  run: byTestId<HTMLButtonElement>('run'),
  output: byTestId('output'),
  error: byTestId('error'),
  logs: byTestId('logs'),
  history: byTestId('history'),
  storeForm: byTestId<HTMLFormElement>('store-browser'),
  storePrefix: byTestId<HTMLInputElement>('store-prefix'),
  storeEntries: byTestId('store-entries'),
};

/** The throw-away key of this browser, made on first use and kept in localStorage. */
function throwAwayKey(): string {
  const kept = localStorage.getItem(KEY_ITEM);
  if (kept && /^[0-9a-f]{64}$/.test(kept)) return kept;
  const key = randomPrivateKey();
  localStorage.setItem(KEY_ITEM, key);
  return key;
}

/** Development mode: a circle of this browser's own, kept like the key. */
async function devCircle(): Promise<string> {
  const kept = localStorage.getItem(DEV_CIRCLE_ITEM);
  if (kept) return kept;
  // any valid public key is a circle in development mode: take a fresh key's
  const circle = await privateKeySigner(randomPrivateKey()).identity();
  localStorage.setItem(DEV_CIRCLE_ITEM, circle);
  return circle;
}

function showIdentity(auth: AuthResult | null): void {
  ui.identity.textContent = auth ? auth.address || auth.pubkey : 'not logged in';
  ui.identityPubkey.textContent = auth ? auth.pubkey : '';
  ui.identity.classList.toggle('anonymous', !auth);
}

function showError(d: ErrorDetails | null): void {
  ui.error.hidden = d === null;
  ui.error.textContent = d ? describeError(d) : '';
}

function showLogs(lines: readonly string[]): void {
  ui.logs.textContent = lines.join('\n');
}

const connection = new Connection({
  state(state, detail) {
    ui.connection.textContent = state;
    ui.connection.dataset.state = state;
    ui.connection.title = detail ?? '';
  },
  identity: showIdentity,
  failed: (message) => showError({ kind: 'CirclesConnectionError', message, logs: [] }),
});

const editor = createEditor(document.getElementById('editor')!, SAMPLE, () => void run());

let running = false;

type Outcome = { ok: true; result: PlayResult } | { ok: false; error: ErrorDetails };

/** Plays `script` and adds it to the history (one entry per play). */
async function play(script: string): Promise<Outcome> {
  const at = new Date();
  try {
    const result = await connection.current.play(script);
    recordPlay(
      ui.history,
      { at, script, ok: true, taskId: result.task_id, summary: result.output },
      editor.setScript,
    );
    return { ok: true, result };
  } catch (err) {
    const error = errorDetails(err);
    recordPlay(
      ui.history,
      { at, script, ok: false, taskId: error.taskId, summary: describeError(error) },
      editor.setScript,
    );
    return { ok: false, error };
  }
}

/** Runs the editor's script: output, logs, or the error with its position marked. */
async function run(): Promise<void> {
  if (running) return;
  running = true;
  ui.run.disabled = true;
  showError(null);
  editor.markError(null);
  ui.output.textContent = '';
  try {
    const outcome = await play(editor.script());
    if (outcome.ok) {
      ui.output.textContent = outcome.result.output;
      showLogs(outcome.result.logs ?? []);
    } else {
      const d = outcome.error;
      showError(d);
      showLogs(d.logs);
      editor.markError(d.line !== undefined ? { line: d.line, column: d.column ?? 1 } : null);
    }
  } finally {
    running = false;
    ui.run.disabled = false;
  }
}

async function listStore(): Promise<void> {
  showError(null);
  const outcome = await play(storeListingScript(ui.storePrefix.value));
  if (!outcome.ok) return showError(outcome.error);
  const output = outcome.result.output;
  const body = el('tbody');
  try {
    for (const [key, value] of parseListing(output)) {
      body.append(el('tr', {}, el('th', { scope: 'row' }, key), el('td', {}, el('code', {}, value))));
    }
    if (body.children.length === 0) body.append(el('tr', {}, el('td', { colspan: '2' }, 'no keys')));
  } catch (err) {
    showError(errorDetails(err));
  }
  ui.storeEntries.replaceChildren(body);
}

/** Runs a click handler, showing what went wrong in the error element. */
function guarded(action: () => Promise<unknown>): () => void {
  return () => {
    showError(null);
    action().catch((err: unknown) => showError(errorDetails(err)));
  };
}

ui.run.addEventListener('click', () => void run());
ui.loginKey.addEventListener(
  'click',
  guarded(() => connection.login(privateKeySigner(throwAwayKey()))),
);
ui.loginWallet.addEventListener(
  'click',
  guarded(async () => {
    const provider = (window as { ethereum?: Eip1193Provider }).ethereum;
    if (!provider) throw new Error('no browser wallet found (window.ethereum is not set)');
    await connection.login(eip1193Signer(provider));
  }),
);
ui.whoami.addEventListener(
  'click',
  guarded(async () => {
    ui.whoamiResult.textContent = JSON.stringify(await connection.current.whoami());
  }),
);
ui.storeForm.addEventListener('submit', (e) => {
  e.preventDefault();
  void listStore();
});

mountCirclePicker(document.getElementById('circle-host')!, devCircle, (circle) => {
  showError(null);
  connection.open(circle);
}).catch((err: unknown) => showError(errorDetails(err)));
