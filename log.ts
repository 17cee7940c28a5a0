import pino, { type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';

export type { Logger };
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** `auto`: human-readable when stderr is a terminal, JSON lines otherwise. */
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/**
 * Logs on stderr, so stdout carries only the lines operators and tests wait for
 * (`listening on ...`, `worker ready`). Both formats write synchronously: nothing logs per
 * message, and a line must not be lost when the process exits.
 */
export function createLogger(level: LogLevel = 'info', name = 'circles', format: LogFormat = 'auto'): Logger {
  const tty = process.stderr.isTTY === true;
  if (format === 'pretty' || (format === 'auto' && tty)) {
    // Loaded only when asked for: it costs about 150 ms, which every JSON-logging start would pay.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pretty = require('pino-pretty') as typeof PinoPretty;
    return pino(
      { name, level },
      pretty({
        destination: 2,
        sync: true,
        colorize: tty,
        ignore: 'pid,hostname',
        translateTime: 'SYS:HH:MM:ss.l',
      }),
    );
  }
  return pino({ name, level }, pino.destination({ fd: 2, sync: true }));
}

/** A logger that discards everything (library embedding, specs). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
