const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Ids on this platform are UUIDs. A string that is not one cannot name a row: check it before a
 * lookup, so it answers "not found" (or names the bad field) instead of failing the statement with a
 * cast error (masked as an internal error), or, where the column is text, quietly naming nothing.
 */
export const isUuid = (value: string): boolean => UUID.test(value);

/**
 * A UUID in the one form Postgres returns (lower case): the same id written in upper case names the
 * same row, and must match it in maps and comparisons too. Other strings are returned unchanged.
 */
export const canonicalId = (value: string): string => (isUuid(value) ? value.toLowerCase() : value);
