import type { Producer } from "@commerce/schema";

/*
 * Key names and their cluster hash tags (PROTOCOL.md "Keys"). The text between braces decides the slot:
 * each producer's stream has a tag of its own (the streams spread over the masters), and a consuming
 * group's dead letters, their index and its replay stream share one (replay and dead-lettering are
 * atomic over them). The prefix stays outside the tag.
 */

function checked(prefix: string): string {
  if (/[{}]/.test(prefix)) throw new Error(`a stream prefix must not contain braces (they select the cluster slot): "${prefix}"`);
  return prefix;
}

/** The stream a producing service publishes to: `<prefix>:stream:{producer:<producer>}`. */
export function streamKey(prefix: string, producer: Producer | string): string {
  return `${checked(prefix)}:stream:{producer:${producer}}`;
}

/** The dead-letter stream of a consuming group: `<prefix>:dlq:{group:<group>}`. */
export function dlqKey(prefix: string, group: string): string {
  return `${checked(prefix)}:dlq:{group:${group}}`;
}

/**
 * Which source entries a group has dead-lettered (`<stream> <entryId>` → dead-letter id), so a
 * redelivery never writes a second dead letter: `<prefix>:dlq-index:{group:<group>}`.
 */
export function dlqIndexKey(prefix: string, group: string): string {
  return `${checked(prefix)}:dlq-index:{group:${group}}`;
}

/**
 * The replay stream of a consuming group: `<prefix>:replay:{group:<group>}`. Only that group reads it,
 * so replaying a dead letter re-runs the one handler that failed and no other service sees the event twice.
 */
export function replayKey(prefix: string, group: string): string {
  return `${checked(prefix)}:replay:{group:${group}}`;
}
