import type { RequestHandler } from "express";

/** Which browser origins may call the gateway (HTTP and WebSocket). */
export interface OriginPolicy {
  /**
   * True for no Origin (not a browser, or a same-origin GET) and for an origin in `CORS_ORIGINS`,
   * nothing else: an origin matching the request's own `Host` proves nothing (a DNS-rebinding page
   * sends its own name in both).
   */
  isAllowed(origin: string | undefined): boolean;
}

export function originPolicy(allowlist: readonly string[]): OriginPolicy {
  const allowed = new Set(allowlist);
  return { isAllowed: (origin) => !origin || allowed.has(origin) };
}

const ALLOWED_HEADERS = "content-type, authorization, apollo-require-preflight, x-apollo-operation-name, x-request-id";

/**
 * CORS for `/graphql`: allowed origins get the CORS headers (and may read
 * `Retry-After`); a request from any other browser origin is refused with
 * 403 before it is parsed, preflight or not. Browsers send Origin on every
 * cross-origin request, so this refuses them even where CSRF prevention
 * would not apply (e.g. a preflighted request from a listed-then-removed
 * origin); non-browser clients do not send Origin and are unaffected.
 */
export function corsMiddleware(policy: OriginPolicy): RequestHandler {
  return (req, res, next) => {
    const origin = req.headers.origin;
    if (origin && !policy.isAllowed(origin)) {
      res.status(403).json({ errors: [{ message: `Origin ${origin} is not allowed to call this API.`, extensions: { code: "FORBIDDEN" } }] });
      return;
    }
    if (origin) {
      res.setHeader("access-control-allow-origin", origin);
      res.setHeader("vary", "Origin");
      res.setHeader("access-control-allow-headers", ALLOWED_HEADERS);
      res.setHeader("access-control-allow-methods", "GET, POST, OPTIONS");
      // What a browser client may read: when to retry, and the ids that find this request in our logs and traces.
      res.setHeader("access-control-expose-headers", "retry-after, x-request-id, x-trace-id");
      res.setHeader("access-control-max-age", "600");
    }
    if (req.method === "OPTIONS") return void res.sendStatus(204);
    next();
  };
}
