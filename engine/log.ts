// Structured logs (pino). `tocsin start` logs JSON lines to stdout; the other commands
// log to stderr so that their own output stays clean.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, destination: 'stdout' | 'stderr' = 'stdout'): Logger {
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ fd: destination === 'stdout' ? 1 : 2, sync: true }));
}

/** A logger that writes nothing (tests, embedded use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
