import { dictionary } from "@zxcvbn-ts/language-common";
import { BadUserInputError } from "@commerce/kit";

/** zxcvbn's list of the most used passwords (about 49,000), compared without regard to case. */
const COMMON = new Set((dictionary["passwords-common"] as string[]).map((word) => word.toLowerCase()));

export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 200;

/**
 * Refuses a new password that is too short or too long, equal to the account's e-mail (or the part
 * before the @), or among the commonly used passwords: BAD_USER_INPUT naming `field`.
 */
export function checkNewPassword(password: string, email: string, field: string): void {
  if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
    throw new BadUserInputError(`${field} must be ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters long`, field);
  }
  const lowered = password.trim().toLowerCase();
  const address = email.trim().toLowerCase();
  if (lowered === address || lowered === address.split("@")[0]) {
    throw new BadUserInputError(`${field} must not be your e-mail address: choose something only you know`, field);
  }
  if (COMMON.has(lowered)) {
    throw new BadUserInputError(`${field} is one of the most commonly used passwords: choose a less common one`, field);
  }
}
