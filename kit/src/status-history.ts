/**
 * `history` up to and including the entry of `status`, or all of it when no entry has that status.
 *
 * An order never enters a status twice, so its status marks one entry of its history. A history read
 * apart from the status (a second statement, a later query) may already hold a newer change: cut here,
 * the two agree, as the order subgraph answers `statusHistory` and the gateway shapes each
 * subscription message.
 */
export function upToStatus<T extends { status: string }>(history: readonly T[], status: string | undefined): T[] {
  const index = history.findIndex((entry) => entry.status === status);
  return index < 0 ? [...history] : history.slice(0, index + 1);
}
