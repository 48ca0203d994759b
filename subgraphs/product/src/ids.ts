const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Our ids are UUID columns: a string that is not a UUID cannot name a row, and
 * sending it to Postgres would fail the whole statement (masked as an internal
 * error) instead of answering "not found".
 */
export const isUuid = (value: string): boolean => UUID.test(value);
