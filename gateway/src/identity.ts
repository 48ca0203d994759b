import { TokenError, UnauthenticatedError, verifyAccessToken, type BaseConfig, type Identity } from "@commerce/kit";

/**
 * Verifies a bearer token once, at the gateway. No token means an anonymous
 * caller; a token that does not verify is an error (the client should refresh
 * it), never a silent downgrade to anonymous.
 */
export function identityFromAuthorization(authorization: string | undefined | null, config: BaseConfig): Identity | null {
  return authenticate(authorization, config)?.identity ?? null;
}

/** A verified caller and when its token stops verifying. */
export interface Authenticated {
  identity: Identity;
  /** Epoch milliseconds of the token's `exp`: a long-lived connection must not outlive it. */
  expiresAt: number;
}

/** {@link identityFromAuthorization}, with the token's expiry. */
export function authenticate(authorization: string | undefined | null, config: BaseConfig): Authenticated | null {
  if (!authorization) return null;
  const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
  if (!match) throw unauthenticated('Authorization must be "Bearer <accessToken>".');
  try {
    return verifiedAccessToken(match[1], config);
  } catch (error) {
    if (error instanceof TokenError) {
      throw unauthenticated(`The access token is invalid (${error.message}): sign in or refresh it.`);
    }
    throw error;
  }
}

/** The caller an access token names, once it verifies; throws {@link TokenError}. */
export function verifiedAccessToken(token: string, config: Pick<BaseConfig, "jwt">): Authenticated {
  const claims = verifyAccessToken(token, config.jwt);
  const sessionId = typeof claims.sid === "string" ? { sessionId: claims.sid } : {};
  return { identity: { kind: "user", userId: claims.sub, role: claims.role, email: claims.email, ...sessionId }, expiresAt: claims.exp * 1000 };
}

/** HTTP 401 rather than Apollo's default 500 for a failed context: the client, not the server, must act. */
function unauthenticated(message: string): UnauthenticatedError {
  const error = new UnauthenticatedError(message);
  error.extensions.http = { status: 401 };
  return error;
}
