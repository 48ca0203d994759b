import { ValidateBy, type ValidationOptions } from "class-validator";

/**
 * `@Length` measured on the trimmed value, which is what gets stored: "   " is an empty name, not a
 * 3-character one.
 */
export function TrimmedLength(min: number, max: number, options: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: "trimmedLength",
      constraints: [min, max],
      validator: { validate: (value: unknown) => typeof value === "string" && value.trim().length >= min && value.trim().length <= max },
    },
    options,
  );
}
