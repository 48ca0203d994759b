const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids here are uuids in uuid columns: anything else cannot exist, and must not reach SQL as a cast error. */
export const isUuid = (id: string): boolean => UUID.test(id);
