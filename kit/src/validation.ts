import { validate, type ValidationError } from "class-validator";
import { getMetadataStorage } from "type-graphql";
import { BadUserInputError } from "./errors";

interface ResolverDataLike {
  args: Record<string, unknown>;
}

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
 * type-graphql `validateFn`: class-validator rules on input types, failing with
 * BAD_USER_INPUT whose `field` is the full argument path (`input.items.0.quantity`),
 * so a client knows exactly which value to fix.
 */
export async function validateArgument(argValue: unknown, argType: unknown, resolverData: ResolverDataLike): Promise<void> {
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
