import { createHash, randomBytes } from "node:crypto";

/** An opaque bearer token (256 random bits) and the SHA-256 it is stored as. */
export function newSecretToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString("base64url");
  return { token, hash: hashSecretToken(token) };
}

export function hashSecretToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}
