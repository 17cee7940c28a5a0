import pino, { type Logger } from 'pino';

export type { Logger };
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Structured JSON logs on stderr (written synchronously: nothing logs per message, and a
 * line must not be lost when the process exits), so stdout carries only the lines operators and
 * tests wait for (`listening on ...`, `worker ready`).
 */
export function createLogger(level: LogLevel = 'info', name = 'circles'): Logger {
  return pino({ name, level }, pino.destination({ fd: 2, sync: true }));
}

/** A logger that discards everything (library embedding, specs). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
