import { createHash, createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import type { JwtKey } from "./config";

export const ROLES = ["CUSTOMER", "STAFF", "ADMIN"] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling, as verified by the gateway. `SERVICE` is another of our processes. */
export type Identity =
  | {
      kind: "user";
      userId: string;
      role: Role;
      email?: string;
      /** The sign-in (refresh-token family) the access token came from. */ sessionId?: string;
    }
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

/**
 * An authentic signed request that reached its subgraph after its signature expired: it waited in
 * queues longer than {@link SIGNATURE_TTL_MS}, which only an overloaded service makes it do. Refused
 * like any expired credential (never executed), but answered as retryable (overload.ts).
 */
export class OverloadedError extends TokenError {
  override name = "OverloadedError";
  constructor(readonly waitedMs: number) {
    super(`signed ${waitedMs} ms before it was read: the service is overloaded`);
  }
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
// Gateway → subgraph identity: headers signed with INTERNAL_SECRET, bound to the target, method and
// body, single use, SIGNATURE_TTL_MS; a subgraph refuses any other (docs/AUTHORIZATION.md, "Signed identity").
// ---------------------------------------------------------------------------

export const IDENTITY_HEADER = "x-commerce-identity";
export const TIMESTAMP_HEADER = "x-commerce-timestamp";
export const NONCE_HEADER = "x-commerce-nonce";
export const SIGNATURE_HEADER = "x-commerce-signature";
export const REQUEST_ID_HEADER = "x-request-id";

/** How long a signed request stays valid after it was signed (and how far a signer's clock may run ahead). */
export const SIGNATURE_TTL_MS = 10_000;

/** What a signature binds a request to, besides the identity and request id. */
export interface SignedTarget {
  /** The subgraph the request is for (`product`…); another subgraph refuses it. */
  audience: string;
  /** Default POST. */
  method?: string;
  /** The exact body bytes sent (none for a GET). */
  body?: string | Buffer;
}

export const bodyHash = (body: string | Buffer | undefined) =>
  createHash("sha256")
    .update(body ?? "")
    .digest("base64url");

const signingInput = (fields: {
  audience: string;
  method: string;
  timestamp: string;
  nonce: string;
  requestId: string;
  identity: string;
  bodyHash: string;
}) =>
  ["v2", fields.audience, fields.method.toUpperCase(), fields.timestamp, fields.nonce, fields.requestId, fields.identity, fields.bodyHash].join("\n");

/** The identity header of a caller (empty for an anonymous one). */
export const encodeIdentity = (identity: Identity | null) => (identity ? b64url(JSON.stringify(identity)) : "");

/**
 * Signs a request whose identity and request id headers are already set (`encodedIdentity`,
 * `requestId`): the timestamp, nonce and signature headers to add. For a signer that sees the body
 * only when it is sent (the gateway's fetcher).
 */
export function signatureHeaders(
  secret: string,
  target: SignedTarget & { encodedIdentity: string; requestId: string },
  now = Date.now(),
): Record<string, string> {
  const timestamp = String(now);
  // 122 random bits from Node's cached entropy: cheaper than randomBytes on every request.
  const nonce = randomUUID();
  const input = signingInput({
    audience: target.audience,
    method: target.method ?? "POST",
    timestamp,
    nonce,
    requestId: target.requestId,
    identity: target.encodedIdentity,
    bodyHash: bodyHash(target.body),
  });
  return { [TIMESTAMP_HEADER]: timestamp, [NONCE_HEADER]: nonce, [SIGNATURE_HEADER]: b64url(hmac(secret, input)) };
}

/**
 * A fetch `init` whose identity and request id headers are set, with its signature for `audience`
 * added over its method and body: for fetchers that see the body only when it is sent.
 */
export function signRequestInit<I extends { method?: string; headers: Record<string, string>; body?: string }>(
  secret: string,
  audience: string,
  init: I,
): I {
  const signature = signatureHeaders(secret, {
    audience,
    method: init.method ?? "POST",
    body: init.body,
    encodedIdentity: init.headers[IDENTITY_HEADER] ?? "",
    requestId: init.headers[REQUEST_ID_HEADER] ?? "",
  });
  return { ...init, headers: { ...init.headers, ...signature } };
}

/** Every header a subgraph needs to accept `target` from the gateway (or another service) on behalf of `identity`. */
export function signIdentityHeaders(
  identity: Identity | null,
  secret: string,
  target: SignedTarget,
  requestId: string = randomUUID(),
  now = Date.now(),
): Record<string, string> {
  const encodedIdentity = encodeIdentity(identity);
  return {
    [IDENTITY_HEADER]: encodedIdentity,
    [REQUEST_ID_HEADER]: requestId,
    ...signatureHeaders(secret, { ...target, encodedIdentity, requestId }, now),
  };
}

export type HeaderBag = Record<string, string | string[] | undefined>;

const header = (headers: HeaderBag, name: string) => {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
};

export interface VerifiedRequest {
  identity: Identity | null;
  requestId: string;
  /** Single use: the verifier must refuse a second request with it until `expiresAt`. */
  nonce: string;
  /** Epoch ms after which the signature is refused. */
  expiresAt: number;
}

/**
 * Checks a signed request addressed to `audience` with `method` and a body hashing to `bodyHash`
 * ({@link bodyHash}). Returns the verified identity (null for an anonymous caller) and the nonce to
 * remember, or throws {@link TokenError}.
 */
export function verifyIdentityHeaders(
  headers: HeaderBag,
  secret: string,
  target: { audience: string; method: string; bodyHash: string },
  now = Date.now(),
): VerifiedRequest {
  const encoded = header(headers, IDENTITY_HEADER) ?? "";
  const timestamp = header(headers, TIMESTAMP_HEADER);
  const nonce = header(headers, NONCE_HEADER);
  const signature = header(headers, SIGNATURE_HEADER);
  const requestId = header(headers, REQUEST_ID_HEADER) ?? "";
  if (!timestamp || !nonce || !signature) throw new TokenError("missing gateway credentials");
  if (!/^\d{1,15}$/.test(timestamp)) throw new TokenError("stale gateway credentials");
  const expected = hmac(
    secret,
    signingInput({ audience: target.audience, method: target.method, timestamp, nonce, requestId, identity: encoded, bodyHash: target.bodyHash }),
  );
  const given = Buffer.from(signature, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new TokenError("bad gateway signature");
  const signedAt = Number(timestamp);
  if (signedAt - now > SIGNATURE_TTL_MS) throw new TokenError("stale gateway credentials");
  if (now - signedAt > SIGNATURE_TTL_MS) throw new OverloadedError(now - signedAt);
  const verified = { requestId, nonce, expiresAt: signedAt + SIGNATURE_TTL_MS };
  if (!encoded) return { identity: null, ...verified };
  try {
    return { identity: JSON.parse(Buffer.from(encoded, "base64url").toString("utf8")) as Identity, ...verified };
  } catch {
    throw new TokenError("malformed identity");
  }
}
