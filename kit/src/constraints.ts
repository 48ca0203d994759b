import { ValidateBy, type ValidationOptions } from "class-validator";
import { BadUserInputError } from "./errors";

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

/**
 * Control characters (C0, DEL, C1: CR, LF, tab, ESC…), the Unicode line and paragraph separators and
 * the bidirectional controls (U+061C, U+200E-U+200F, U+202A-U+202E, U+2066-U+2069), inside the value
 * as it will be stored (trimmed): a name goes into e-mail headers and subjects, greetings and logs,
 * where a line break forges a header or a line and a bidi override ("\u202Egpj.exe") disguises text.
 */
export const CONTROL_CHARACTER = /[\p{Cc}\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

/** {@link CONTROL_CHARACTER}s other than line breaks and tabs: what a multi-line text (a description) refuses. */
export const CONTROL_CHARACTER_IN_TEXT = /(?![\t\n\r])[\p{Cc}\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

/**
 * Refuses {@link CONTROL_CHARACTER}s inside the trimmed string (with `lineBreaks`, tabs and line breaks pass);
 * null and undefined pass (pair with `@IsOptional` or a required field).
 */
export function NoControlCharacters(options: ValidationOptions, { lineBreaks = false }: { lineBreaks?: boolean } = {}): PropertyDecorator {
  const refused = lineBreaks ? CONTROL_CHARACTER_IN_TEXT : CONTROL_CHARACTER;
  return ValidateBy(
    {
      name: "noControlCharacters",
      validator: {
        validate: (value: unknown) => value === null || value === undefined || (typeof value === "string" && !refused.test(value.trim())),
      },
    },
    options,
  );
}

/** Refuses a text typed as an argument (a reason) holding a {@link CONTROL_CHARACTER}: BAD_USER_INPUT naming `field`. */
export function assertNoControlCharacters(text: string, field: string): void {
  if (CONTROL_CHARACTER.test(text))
    throw new BadUserInputError(`${field.split(".").pop()} must not contain line breaks, tabs, bidirectional or other control characters.`, field);
}
