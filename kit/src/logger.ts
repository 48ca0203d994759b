import { AsyncLocalStorage } from "node:async_hooks";
import pino, { type Logger, type DestinationStream } from "pino";

export type { Logger };

export interface LoggerOptions {
  service: string;
  level?: string;
  pretty?: boolean;
  /** Where lines go; tests pass an in-memory stream to assert on log output. */
  destination?: DestinationStream;
}

/**
 * One structured logger per process. Children carry `service`, and per unit of
 * work `requestId`, `correlationId` (the order id in a saga) and `eventId`.
 */
export function createLogger({ service, level = "info", pretty = false, destination }: LoggerOptions): Logger {
  const options = {
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: [
        "password",
        "*.password",
        "currentPassword",
        "*.currentPassword",
        "newPassword",
        "*.newPassword",
        "refreshToken",
        "*.refreshToken",
        "authorization",
        "*.authorization",
      ],
      censor: "[redacted]",
    },
  };
  if (destination) return pino(options, destination);
  if (pretty) {
    return pino({
      ...options,
      transport: { target: "pino-pretty", options: { colorize: true, ignore: "pid,hostname", translateTime: "HH:MM:ss.l" } },
    });
  }
  return pino(options);
}

/** A logger that keeps its lines in memory, for tests that assert on what was logged. */
export function memoryLogger(service = "test"): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const logger = pino({ level: "trace", base: { service } }, { write: (chunk: string) => chunks.push(chunk) });
  return { logger, lines: () => chunks.map((chunk) => JSON.parse(chunk) as Record<string, unknown>) };
}

/** The logger of the unit of work in progress (see {@link withLogger}). */
const scope = new AsyncLocalStorage<{ logger: Logger }>();

/**
 * Runs `work` with `logger` as the unit of work's logger: code that only holds the process logger
 * (Apollo's `formatError`, shared helpers) logs through {@link currentLogger} with the request's ids.
 * {@link setCurrentLogger} swaps in a more specific child once the unit of work knows more.
 */
export function withLogger<T>(logger: Logger, work: () => T): T {
  return scope.run({ logger }, work);
}

/** Replaces the logger of the unit of work in progress (no-op outside {@link withLogger}). */
export function setCurrentLogger(logger: Logger): void {
  const store = scope.getStore();
  if (store) store.logger = logger;
}

/** The unit of work's logger (carrying its requestId / eventId / correlationId), else `fallback`. */
export function currentLogger(fallback: Logger): Logger {
  return scope.getStore()?.logger ?? fallback;
}
