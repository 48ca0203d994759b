import { randomUUID } from "node:crypto";
import express, { type ErrorRequestHandler, type RequestHandler } from "express";
import type { Logger } from "@commerce/kit";

/**
 * The JSON body parser with the configured size cap. A request that is not
 * JSON gets an empty body, so Apollo's CSRF prevention and request checks
 * answer it (with a GraphQL error) instead of express reporting a missing body.
 */
export function jsonBody(maxBytes: number): RequestHandler[] {
  return [
    express.json({ limit: maxBytes }),
    (req, _res, next) => {
      req.body ??= {};
      if (deeperThan(req.body, MAX_JSON_DEPTH))
        return next(Object.assign(new Error("request body nests too deep"), { status: 400, type: "entity.too.deep" }));
      next();
    },
  ];
}

/** How deep a body's arrays and objects may nest: far beyond any input type, short of what recursive code (hashing, NUL checks) can walk. */
export const MAX_JSON_DEPTH = 64;

/** Whether a parsed JSON value nests deeper than `limit`, walked without recursion. */
export function deeperThan(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== "object") continue;
    if (depth >= limit) return true;
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return false;
}

/**
 * Turns body-parser failures (too large, malformed JSON, unsupported
 * charset) into GraphQL-shaped JSON errors with the right status, instead of
 * express's HTML error page; anything else is logged and masked with an
 * `errorId`, like the error formatter does.
 */
export function jsonErrors(maxBytes: number, logger: Logger, onTooLarge: () => void): ErrorRequestHandler {
  return (error: { status?: number; type?: string; expose?: boolean }, _req, res, next) => {
    if (res.headersSent) return next(error);
    const send = (status: number, message: string, extensions: Record<string, unknown>) =>
      void res.status(status).json({ errors: [{ message, extensions }] });
    if (error.status === 413 || error.type === "entity.too.large") {
      onTooLarge();
      return send(413, `The request body is larger than ${maxBytes} bytes.`, { code: "PAYLOAD_TOO_LARGE" });
    }
    if (error.type === "entity.parse.failed") return send(400, "The request body is not valid JSON.", { code: "BAD_REQUEST" });
    if (error.type === "entity.too.deep")
      return send(400, `The request body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels.`, { code: "BAD_REQUEST" });
    if (error.status && error.status >= 400 && error.status < 500 && error.expose) {
      return send(error.status, "The request body could not be read (send UTF-8 JSON).", { code: "BAD_REQUEST" });
    }
    const errorId = randomUUID();
    logger.error({ err: error, errorId }, "unhandled error in the HTTP pipeline");
    send(500, `Internal server error (reference ${errorId}).`, { code: "INTERNAL_SERVER_ERROR", errorId });
  };
}
