import type { Producer } from "@commerce/schema";

/** The stream a producing service publishes to: `<prefix>:stream:<producer>`. */
export function streamKey(prefix: string, producer: Producer | string): string {
  return `${prefix}:stream:${producer}`;
}

/** The dead-letter stream of a consuming service: `<prefix>:dlq:<service>`. */
export function dlqKey(prefix: string, service: string): string {
  return `${prefix}:dlq:${service}`;
}

/**
 * The replay stream of a consuming service: `<prefix>:replay:<service>`. Only that service's group reads it,
 * so replaying a dead letter re-runs the one handler that failed and no other service sees the event twice.
 */
export function replayKey(prefix: string, service: string): string {
  return `${prefix}:replay:${service}`;
}
