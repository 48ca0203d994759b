/**
 * Failures that say "the database is not there right now", not "this event cannot be applied": the
 * server restarting or refusing connections, a connection cut mid-transaction. Retrying them is
 * always right and they say nothing about the event, so they must not push it towards the dead
 * letters (a Postgres restart of a few seconds would otherwise dead-letter every event in flight).
 */

/** SQLSTATE classes/codes of an unavailable server (08: connection exception; 57P01-03: shutdown / starting up; 53300: too many connections). */
const TRANSIENT_SQLSTATE = /^(08...|57P01|57P02|57P03|53300)$/;
const TRANSIENT_ERRNO = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"]);
/** What node-postgres and knex say (without a code) when a connection dies under them. */
const TRANSIENT_MESSAGE =
  /Connection terminated|Connection ended unexpectedly|not queryable|timeout exceeded when trying to connect|Timeout acquiring a connection|Transaction query already complete|the database system is (starting up|shutting down|not yet accepting connections|in recovery mode)/i;

/** `error` and what it wraps: MikroORM wraps the driver's error as `previous`; standard errors use `cause`. */
function* causes(error: unknown): Generator<{ code?: unknown; message?: unknown }> {
  const seen = new Set<unknown>();
  for (let current = error; current && typeof current === "object" && !seen.has(current);) {
    seen.add(current);
    yield current as { code?: unknown; message?: unknown };
    current = (current as { previous?: unknown }).previous ?? (current as { cause?: unknown }).cause;
  }
}

/** True when `error` (or what it wraps) is the database being unreachable rather than the handler failing. */
export function isTransientInfrastructureError(error: unknown): boolean {
  for (const { code, message } of causes(error)) {
    if (typeof code === "string" && (TRANSIENT_SQLSTATE.test(code) || TRANSIENT_ERRNO.has(code))) return true;
    if (typeof message === "string" && TRANSIENT_MESSAGE.test(message)) return true;
  }
  return false;
}

/**
 * SQLSTATEs of transactions getting in each other's way rather than of a wrong event: lock not
 * available (`lock_timeout`), deadlock detected, serialization failure.
 */
const CONTENTION_SQLSTATE = new Set(["55P03", "40P01", "40001"]);

/** True when `error` (or what it wraps) is a lock timeout, a deadlock or a serialization failure. */
export function isContentionError(error: unknown): boolean {
  for (const { code } of causes(error)) if (typeof code === "string" && CONTENTION_SQLSTATE.has(code)) return true;
  return false;
}
