// Decorator metadata must exist before any decorated class below is evaluated (money.ts, pagination.ts…).
import "reflect-metadata";
export * from "./audit";
export * from "./auth";
export * from "./config";
export * from "./context";
export * from "./errors";
export * from "./logger";
export * from "./metrics";
export * from "./money";
export * from "./orm";
export * from "./pagination";
export * from "./roles";
export * from "./schema";
export * from "./server";
export * from "./stream-metrics";
export * from "./tracing";
export * from "./internal-client";
export * from "./federation";
