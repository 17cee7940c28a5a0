import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import type { CirclesClient } from '../client';
import { errorLine, errorLogs } from './circles-format';
import { addLine } from './circles-input';

const PROMPT = 'circles> ';
const CONTINUE_PROMPT = '...> ';
const HISTORY_SIZE = 1000;

export interface ReplIo {
  readonly input: NodeJS.ReadableStream & { isTTY?: boolean };
  readonly output: NodeJS.WritableStream;
  readonly errors: NodeJS.WritableStream;
}

/**
 * Reads scripts line by line and plays each once complete (see `addLine`): results on
 * stdout, printed lines and errors on stderr. Prompts and a history file only on a terminal,
 * so piped input gives clean output. Ends on `.exit` or end of input.
 */
export async function runRepl(client: CirclesClient, io: ReplIo): Promise<void> {
  const terminal = io.input.isTTY === true;
  const historyFile = process.env.CIRCLES_HISTORY || path.join(os.homedir(), '.circles_history');
  let history = terminal ? loadHistory(historyFile) : [];
  const rl = readline.createInterface({
    input: io.input,
    output: io.output,
    terminal,
    history,
    historySize: HISTORY_SIZE,
    prompt: PROMPT,
  });
  rl.on('history', (h: string[]) => (history = h));
  const prompt = (text: string): void => {
    if (!terminal) return;
    rl.setPrompt(text);
    rl.prompt();
  };
  let buffer = '';
  prompt(PROMPT);
  for await (const line of rl) {
    if (buffer === '' && line.trim() === '.exit') break;
    if (buffer === '' && line.trim() === '') {
      prompt(PROMPT);
      continue;
    }
    const input = addLine(buffer, line);
    if (!input.complete) {
      buffer = input.buffer;
      prompt(CONTINUE_PROMPT);
      continue;
    }
    buffer = '';
    try {
      const result = await client.play(input.script);
      if (result.output !== '') io.output.write(`${result.output}\n`);
      for (const l of result.logs ?? []) io.errors.write(`${l}\n`);
    } catch (err) {
      for (const l of errorLogs(err)) io.errors.write(`${l}\n`);
      io.errors.write(`${errorLine(err)}\n`);
    }
    prompt(PROMPT);
  }
  rl.close();
  if (terminal) saveHistory(historyFile, history);
}

function loadHistory(file: string): string[] {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).reverse().slice(0, HISTORY_SIZE);
  } catch {
    return [];
  }
}

function saveHistory(file: string, history: readonly string[]): void {
  try {
    fs.writeFileSync(file, `${[...history].reverse().join('\n')}\n`, { mode: 0o600 });
  } catch {
    // a history that cannot be written is not worth failing the session for
  }
}
