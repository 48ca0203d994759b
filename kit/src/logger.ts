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
    redact: { paths: ["password", "*.password", "refreshToken", "*.refreshToken", "authorization", "*.authorization"], censor: "[redacted]" },
  };
  if (destination) return pino(options, destination);
  if (pretty) {
    return pino({ ...options, transport: { target: "pino-pretty", options: { colorize: true, ignore: "pid,hostname", translateTime: "HH:MM:ss.l" } } });
  }
  return pino(options);
}

/** A logger that keeps its lines in memory, for tests that assert on what was logged. */
export function memoryLogger(service = "test"): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const logger = pino({ level: "trace", base: { service } }, { write: (chunk: string) => chunks.push(chunk) });
  return { logger, lines: () => chunks.map((chunk) => JSON.parse(chunk) as Record<string, unknown>) };
}
