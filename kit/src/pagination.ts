import { Directive, Field, Int, ObjectType, type ClassType } from "type-graphql";
import { BadUserInputError } from "./errors";

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

@Directive("@shareable")
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
  totalCount: number;
}

/**
 * Declares `<Name>Connection` and `<Name>Edge` object types for a node type.
 * Call once per node type at module level and export the result.
 */
export function connectionType<T extends object>(name: string, nodeType: ClassType<T>) {
  @ObjectType(`${name}Edge`)
  class EdgeType {
    @Field()
    cursor: string;

    @Field(() => nodeType)
    node: T;
  }

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

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.key, cursor.id])).toString("base64url");
}

export function decodeCursor(after: string | null | undefined): Cursor | null {
  if (after === null || after === undefined || after === "") return null;
  try {
    const [key, id] = JSON.parse(Buffer.from(after, "base64url").toString("utf8")) as unknown[];
    if (typeof key === "string" && typeof id === "string") return { key, id };
  } catch {
    // fall through to the error below
  }
  throw new BadUserInputError("after is not a cursor returned by this API; pass pageInfo.endCursor.", "after");
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
export function toConnection<T>(rows: T[], size: number, totalCount: number, cursorOf: (row: T) => Cursor): ConnectionShape<T> {
  const page = rows.slice(0, size);
  const edges = page.map((node) => ({ node, cursor: encodeCursor(cursorOf(node)) }));
  const pageInfo = new PageInfo();
  pageInfo.hasNextPage = rows.length > size;
  pageInfo.endCursor = edges.length ? edges[edges.length - 1].cursor : null;
  return { edges, pageInfo, totalCount };
}

/**
 * The MikroORM condition for "after this cursor" in a `(field DESC, id DESC)`
 * ordering, where `field` is a Date column (the cursor key is its ISO string).
 */
export function afterDateCursor(cursor: Cursor | null, field = "createdAt"): Record<string, unknown> {
  if (!cursor) return {};
  const at = new Date(cursor.key);
  if (Number.isNaN(at.getTime())) throw new BadUserInputError("after is not a valid cursor.", "after");
  return { $or: [{ [field]: { $lt: at } }, { [field]: at, id: { $lt: cursor.id } }] };
}
