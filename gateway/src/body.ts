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
      next();
    },
  ];
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
    if (error.status && error.status >= 400 && error.status < 500 && error.expose) {
      return send(error.status, "The request body could not be read (send UTF-8 JSON).", { code: "BAD_REQUEST" });
    }
    const errorId = randomUUID();
    logger.error({ err: error, errorId }, "unhandled error in the HTTP pipeline");
    send(500, `Internal server error (reference ${errorId}).`, { code: "INTERNAL_SERVER_ERROR", errorId });
  };
}
