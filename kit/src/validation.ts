import { validate, type ValidationError } from "class-validator";
import { getMetadataStorage } from "type-graphql";
import { BadUserInputError } from "./errors";

interface ResolverDataLike {
  args: Record<string, unknown>;
}

/** Postgres refuses U+0000 in text and jsonb values: a statement carrying one fails as a whole. */
const NUL = "\u0000";

/**
 * The path (`input.items.0.name`) of the first string holding a NUL character (U+0000) in an
 * argument value — strings of input objects and lists at any depth, and the values and keys of JSON
 * scalars (a bad key names the object holding it) — or null when there is none. Plain objects and
 * class instances alike.
 */
export function findNulCharacter(value: unknown, path: string[] = [], seen = new Set<object>()): string[] | null {
  if (typeof value === "string") return value.includes(NUL) ? path : null;
  if (value === null || typeof value !== "object" || seen.has(value)) return null;
  seen.add(value);
  const entries: [string, unknown][] = Array.isArray(value) ? value.map((item, index) => [String(index), item]) : Object.entries(value);
  for (const [key, item] of entries) {
    if (key.includes(NUL)) return path;
    const found = findNulCharacter(item, [...path, key], seen);
    if (found) return found;
  }
  return null;
}

/**
 * Refuses arguments holding a NUL character with BAD_USER_INPUT naming the path at fault
 * (`filter.search`, `input.items.0.name`), instead of letting Postgres fail the statement
 * (masked as an internal error). `args` are a field's arguments by their GraphQL names.
 */
export function assertNoNulCharacters(args: Record<string, unknown>): void {
  const path = findNulCharacter(args);
  if (!path) return;
  const field = path.join(".");
  throw new BadUserInputError(`${field || "arguments"}: must not contain the NUL character (U+0000): remove it.`, field || undefined);
}

/** Argument sets already found free of NUL characters: type-graphql validates each argument of a field in turn, with the same `args`. */
const nulFree = new WeakSet<object>();

/** The path of the first failing property, e.g. `items.0.quantity`, and its first message. */
function firstFailure(errors: ValidationError[]): { path: string[]; message: string } | null {
  for (const error of errors) {
    if (error.constraints && Object.keys(error.constraints).length) {
      return { path: [error.property], message: Object.values(error.constraints)[0] };
    }
    const nested = firstFailure(error.children ?? []);
    if (nested) return { path: [error.property, ...nested.path], message: nested.message };
  }
  return null;
}

/** type-graphql hands over the converted argument, not the raw one: find its name by shape. */
function argumentName(argValue: object, args: Record<string, unknown>): string | undefined {
  const objects = Object.entries(args).filter(([, value]) => value !== null && typeof value === "object");
  if (objects.length === 1) return objects[0][0];
  const shape = JSON.stringify(argValue);
  return objects.find(([, value]) => JSON.stringify(value) === shape)?.[0];
}

/** An `@Args()` class holds every argument as a property: its failure paths already start with the argument's name. */
const isArgsClass = (argType: unknown): boolean => getMetadataStorage().argumentTypes.some((type) => type.target === argType);

/**
 * type-graphql `validateFn`, called for every argument of every field (scalars too): no string
 * anywhere in the field's arguments may hold a NUL character, then class-validator rules on input
 * types. Either fails with BAD_USER_INPUT whose `field` is the full argument path
 * (`input.items.0.quantity`), so a client knows exactly which value to fix.
 */
export async function validateArgument(argValue: unknown, argType: unknown, resolverData: ResolverDataLike): Promise<void> {
  // All of the field's arguments, by their GraphQL names, whichever argument this call is for.
  const { args } = resolverData;
  if (args && typeof args === "object" && !nulFree.has(args)) {
    assertNoNulCharacters(args);
    nulFree.add(args);
  }
  if (argValue === null || typeof argValue !== "object") return;
  const argName = isArgsClass(argType) ? undefined : argumentName(argValue, resolverData.args);
  const items = Array.isArray(argValue) ? argValue : [argValue];
  for (const [index, item] of items.entries()) {
    if (item === null || typeof item !== "object") continue;
    const errors = await validate(item as object, { skipMissingProperties: true, forbidUnknownValues: false });
    const failure = firstFailure(errors);
    if (!failure) continue;
    const path = [argName, Array.isArray(argValue) ? String(index) : undefined, ...failure.path].filter((part): part is string => !!part);
    throw new BadUserInputError(`${path.join(".")}: ${failure.message}`, path.join("."));
  }
}
