import { Directive, Field, Int, ObjectType, type ClassType } from "type-graphql";
import { INHERIT_CACHE_HINT } from "./catalog-cache";
import { BadUserInputError } from "./errors";
import { isUuid } from "./ids";

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

@Directive("@shareable")
@Directive(INHERIT_CACHE_HINT)
@ObjectType()
export class PageInfo {
  @Field()
  hasNextPage: boolean;

  @Field(() => String, { nullable: true })
  endCursor: string | null;
}

export interface Edge<T> {
  cursor: string;
  node: T;
}

export interface ConnectionShape<T> {
  edges: Edge<T>[];
  pageInfo: PageInfo;
  /** A number, or a count that runs only if the client selected `totalCount` ({@link countWhenAsked}). */
  totalCount: number | PromiseLike<number>;
}

/**
 * A count run only when GraphQL resolves `totalCount` (GraphQL awaits any thenable a field holds), at
 * most once: a page whose client did not ask for the total costs one statement instead of two.
 */
export function countWhenAsked(count: () => Promise<number>): PromiseLike<number> {
  let running: Promise<number> | null = null;
  return { then: (onFulfilled, onRejected) => (running ??= count()).then(onFulfilled, onRejected) };
}

/**
 * Declares `<Name>Connection` and `<Name>Edge` object types for a node type.
 * Call once per node type at module level and export the result.
 */
export function connectionType<T extends object>(name: string, nodeType: ClassType<T>) {
  @Directive(INHERIT_CACHE_HINT)
  @ObjectType(`${name}Edge`)
  class EdgeType {
    @Field()
    cursor: string;

    @Field(() => nodeType)
    node: T;
  }

  @Directive(INHERIT_CACHE_HINT)
  @ObjectType(`${name}Connection`)
  class ConnectionType implements ConnectionShape<T> {
    @Field(() => [EdgeType])
    edges: EdgeType[];

    @Field(() => PageInfo)
    pageInfo: PageInfo;

    @Field(() => Int)
    totalCount: number;
  }
  return ConnectionType as ClassType<ConnectionShape<T>>;
}

/** Keyset position: the sort key and the id of the last row a client has seen. */
export interface Cursor {
  key: string;
  id: string;
}

/**
 * What a connection's cursor key holds: `timestamp`, the ISO string of a date
 * column (orders, notifications, audit log: the default), or `text`, a plain
 * column value such as a product name, or `integer`, a whole number such as a price in minor units.
 */
export type CursorKey = "timestamp" | "text" | "integer";

/** Postgres stores timestamps from 4713 BC on, JS dates reach 271821 BC: keep to the years rows can have. */
function isStorableDate(key: string): boolean {
  const at = new Date(key);
  if (Number.isNaN(at.getTime())) return false;
  const year = at.getUTCFullYear();
  return year >= 1 && year <= 9999;
}

function keyFits(value: string, key: CursorKey): boolean {
  switch (key) {
    case "timestamp":
      return isStorableDate(value);
    case "integer":
      return /^-?\d{1,15}$/.test(value);
    case "text":
      // Postgres text cannot hold NUL: a key with one could only fail the statement.
      return !value.includes("\u0000");
    default: {
      const unreachable: never = key;
      throw new Error(`unknown cursor key ${String(unreachable)}`);
    }
  }
}

/**
 * A cursor names the list it was taken from (`orders`, `products`…) as well as its position: a cursor
 * of one list passed to another is refused, instead of being read as a position in an ordering it
 * was never part of (an order's date compared with product names skipped products silently).
 */
export function encodeCursor(cursor: Cursor, list: string): string {
  return Buffer.from(JSON.stringify([list, cursor.key, cursor.id])).toString("base64url");
}

function parseCursor(after: string): (Cursor & { list: string }) | null {
  try {
    const parts = JSON.parse(Buffer.from(after, "base64url").toString("utf8")) as unknown;
    if (!Array.isArray(parts) || parts.length !== 3) return null;
    const [list, key, id] = parts as unknown[];
    return typeof list === "string" && typeof key === "string" && typeof id === "string" ? { list, key, id } : null;
  } catch {
    return null;
  }
}

/**
 * Decodes `after`, a cursor of `list`. Every part is checked before it can reach SQL (ids are UUID
 * columns, `timestamp` keys are compared with timestamptz columns), so a hand-made cursor, or one
 * from another list, is BAD_USER_INPUT on `after`, never a failing statement or a wrong page.
 */
export function decodeCursor(after: string | null | undefined, list: string, key: CursorKey = "timestamp"): Cursor | null {
  if (after === null || after === undefined || after === "") return null;
  const cursor = parseCursor(after);
  if (cursor && cursor.list === list && isUuid(cursor.id) && keyFits(cursor.key, key)) return { key: cursor.key, id: cursor.id };
  throw new BadUserInputError(
    cursor && cursor.list !== list
      ? `after is a cursor of ${cursor.list}, not of ${list}; pass this list's pageInfo.endCursor.`
      : "after is not a cursor returned by this API; pass pageInfo.endCursor.",
    "after",
  );
}

/** Validates `first`: absent means the default; more than {@link MAX_PAGE_SIZE} is an error, not a silent cut. */
export function pageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE_SIZE) {
    throw new BadUserInputError(`first must be between 0 and ${MAX_PAGE_SIZE}, got ${first}.`, "first");
  }
  return first;
}

/**
 * Builds a connection from rows fetched with `limit: size + 1` (the extra row
 * tells whether there is a next page).
 */
export function toConnection<T>(
  rows: T[],
  size: number,
  totalCount: number | PromiseLike<number>,
  list: string,
  cursorOf: (row: T) => Cursor,
): ConnectionShape<T> {
  const page = rows.slice(0, size);
  const edges = page.map((node) => ({ node, cursor: encodeCursor(cursorOf(node), list) }));
  const pageInfo = new PageInfo();
  pageInfo.hasNextPage = rows.length > size;
  pageInfo.endCursor = edges.length ? edges[edges.length - 1].cursor : null;
  return { edges, pageInfo, totalCount };
}

/**
 * The MikroORM condition for "after this cursor" in a `(field DESC, id DESC)`
 * ordering, where `field` is a Date column (the cursor key is its ISO string,
 * from `decodeCursor(after, list)` with the default `timestamp` key).
 */
export function afterDateCursor(cursor: Cursor | null, field = "createdAt"): Record<string, unknown> {
  if (!cursor) return {};
  const at = new Date(cursor.key);
  if (!isStorableDate(cursor.key)) throw new BadUserInputError("after is not a cursor returned by this API; pass pageInfo.endCursor.", "after");
  return { $or: [{ [field]: { $lt: at } }, { [field]: at, id: { $lt: cursor.id } }] };
}
