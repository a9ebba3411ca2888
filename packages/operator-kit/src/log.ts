/**
 * Structured logging: pino JSON, a constant message with the context in fields (`controller`,
 * `namespace`, `name`, `reconcileID`), so logs can be filtered rather than grepped.
 * Objects are never logged whole (they may be Secrets); log keys and reasons.
 */
import { type Logger, pino } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level?: string;
  /** Fields on every line, e.g. `{ app: 'upgrade-manager' }`. */
  base?: Record<string, unknown>;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino({
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    base: options.base ?? {},
    // Secret-bearing fields are redacted wherever they appear in a logged object.
    redact: {
      paths: ['*.token', '*.password', '*.data', '*.stringData', 'authorization'],
      censor: '[redacted]',
    },
  });
}

/** A logger that writes nothing (tests, benchmarks). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
