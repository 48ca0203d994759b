import type { RequestHandler } from "express";

/** Which browser origins may call the gateway (HTTP and WebSocket). */
export interface OriginPolicy {
  /**
   * True for no Origin (not a browser, or a same-origin GET), an origin in
   * `CORS_ORIGINS`, the gateway's own localhost address (Sandbox served by
   * the gateway itself), or an origin whose host is the request's own `Host`
   * (same-origin behind any hostname).
   */
  isAllowed(origin: string | undefined, host?: string): boolean;
  /** The port the gateway actually listens on, known only after `listen` (PORT=0 in tests). */
  listeningOn(port: number): void;
}

export function originPolicy(allowlist: readonly string[], port: number): OriginPolicy {
  const allowed = new Set(allowlist);
  let actualPort = port;
  return {
    isAllowed(origin, host) {
      if (!origin) return true;
      if (allowed.has(origin)) return true;
      let url: URL;
      try {
        url = new URL(origin);
      } catch {
        return false; // "null" (sandboxed iframes, file://) and garbage
      }
      if (host && url.host === host) return true;
      return ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname) && Number(url.port) === actualPort;
    },
    listeningOn(listening) {
      actualPort = listening;
    },
  };
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
    if (origin && !policy.isAllowed(origin, req.headers.host)) {
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
