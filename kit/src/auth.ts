import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import type { JwtKey } from "./config";

export const ROLES = ["CUSTOMER", "STAFF", "ADMIN"] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling, as verified by the gateway. `SERVICE` is another of our processes. */
export type Identity =
  | { kind: "user"; userId: string; role: Role; email?: string; /** The sign-in (refresh-token family) the access token came from. */ sessionId?: string }
  | { kind: "service"; service: string };

// ---------------------------------------------------------------------------
// Access tokens: compact HS256 JWTs with a key id, so keys can rotate
// (the first configured key signs, every configured key verifies).
// ---------------------------------------------------------------------------

export interface AccessTokenClaims {
  sub: string;
  role: Role;
  email: string;
  /** The sign-in it belongs to (its refresh-token family): changePassword keeps that one, revokes the others. */
  sid?: string;
  iss: string;
  aud: string;
  iat: number;
  exp: number;
  jti: string;
}

export class TokenError extends Error {
  override name = "TokenError";
}

const b64url = (input: Buffer | string) => Buffer.from(input).toString("base64url");
const hmac = (secret: string, data: string) => createHmac("sha256", secret).update(data).digest();

export function signAccessToken(
  claims: { sub: string; role: Role; email: string; sid?: string },
  options: { keys: JwtKey[]; issuer: string; audience: string; ttlSeconds: number; now?: number },
): { token: string; expiresAt: Date } {
  const [key] = options.keys;
  const iat = Math.floor((options.now ?? Date.now()) / 1000);
  const payload: AccessTokenClaims = {
    ...claims,
    iss: options.issuer,
    aud: options.audience,
    iat,
    exp: iat + options.ttlSeconds,
    jti: randomUUID(),
  };
  const head = b64url(JSON.stringify({ alg: "HS256", typ: "JWT", kid: key.kid }));
  const body = b64url(JSON.stringify(payload));
  const signature = b64url(hmac(key.secret, `${head}.${body}`));
  return { token: `${head}.${body}.${signature}`, expiresAt: new Date(payload.exp * 1000) };
}

/** Verifies signature, key id, algorithm, issuer, audience and expiry; throws {@link TokenError}. */
export function verifyAccessToken(
  token: string,
  options: { keys: JwtKey[]; issuer: string; audience: string; now?: number; clockSkewSeconds?: number },
): AccessTokenClaims {
  const parts = token.split(".");
  if (parts.length !== 3) throw new TokenError("malformed token");
  const [head, body, signature] = parts;
  let header: { alg?: string; kid?: string };
  let claims: AccessTokenClaims;
  try {
    header = JSON.parse(Buffer.from(head, "base64url").toString("utf8"));
    claims = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
  } catch {
    throw new TokenError("malformed token");
  }
  if (header.alg !== "HS256") throw new TokenError("unsupported algorithm");
  const key = options.keys.find((candidate) => candidate.kid === header.kid);
  if (!key) throw new TokenError("unknown key id");
  const expected = hmac(key.secret, `${head}.${body}`);
  const given = Buffer.from(signature, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new TokenError("bad signature");
  const now = Math.floor((options.now ?? Date.now()) / 1000);
  const skew = options.clockSkewSeconds ?? 5;
  if (claims.iss !== options.issuer) throw new TokenError("wrong issuer");
  if (claims.aud !== options.audience) throw new TokenError("wrong audience");
  if (typeof claims.exp !== "number" || claims.exp + skew < now) throw new TokenError("token expired");
  if (typeof claims.sub !== "string" || !ROLES.includes(claims.role)) throw new TokenError("malformed claims");
  return claims;
}

/**
 * The response extension in which the user subgraph reports the access token it has just issued to a
 * caller who proved who they are (`register`, `login`, `refreshToken`). The gateway, and only for the
 * user subgraph's answers, verifies that token like a bearer token and makes its user the caller for
 * the rest of the operation's query plan (so `AuthPayload.user`'s fields that other subgraphs guard
 * resolve as for that user); it removes the extension before the client sees the response.
 */
export const SIGNED_IN_EXTENSION = "commerceSignedIn";

// ---------------------------------------------------------------------------
// Gateway → subgraph identity. The gateway verifies the token once and forwards
// the identity in headers signed with INTERNAL_SECRET; a subgraph refuses any
// request whose signature does not verify, so clients cannot forge identities
// by calling a subgraph directly.
// ---------------------------------------------------------------------------

export const IDENTITY_HEADER = "x-commerce-identity";
export const TIMESTAMP_HEADER = "x-commerce-timestamp";
export const SIGNATURE_HEADER = "x-commerce-signature";
export const REQUEST_ID_HEADER = "x-request-id";
const MAX_AGE_SECONDS = 300;

export function signIdentityHeaders(
  identity: Identity | null,
  secret: string,
  requestId: string = randomUUID(),
  now = Date.now(),
): Record<string, string> {
  const encoded = identity ? b64url(JSON.stringify(identity)) : "";
  const timestamp = String(Math.floor(now / 1000));
  const signature = b64url(hmac(secret, `${timestamp}.${requestId}.${encoded}`));
  return { [IDENTITY_HEADER]: encoded, [TIMESTAMP_HEADER]: timestamp, [SIGNATURE_HEADER]: signature, [REQUEST_ID_HEADER]: requestId };
}

export type HeaderBag = Record<string, string | string[] | undefined>;

const header = (headers: HeaderBag, name: string) => {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/** Returns the verified identity (null for an anonymous caller), or throws {@link TokenError}. */
export function verifyIdentityHeaders(headers: HeaderBag, secret: string, now = Date.now()): { identity: Identity | null; requestId: string } {
  const encoded = header(headers, IDENTITY_HEADER) ?? "";
  const timestamp = header(headers, TIMESTAMP_HEADER);
  const signature = header(headers, SIGNATURE_HEADER);
  const requestId = header(headers, REQUEST_ID_HEADER) ?? "";
  if (!timestamp || !signature) throw new TokenError("missing gateway credentials");
  const age = Math.abs(Math.floor(now / 1000) - Number(timestamp));
  if (!Number.isFinite(age) || age > MAX_AGE_SECONDS) throw new TokenError("stale gateway credentials");
  const expected = hmac(secret, `${timestamp}.${requestId}.${encoded}`);
  const given = Buffer.from(signature, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new TokenError("bad gateway signature");
  if (!encoded) return { identity: null, requestId };
  try {
    return { identity: JSON.parse(Buffer.from(encoded, "base64url").toString("utf8")) as Identity, requestId };
  } catch {
    throw new TokenError("malformed identity");
  }
}
