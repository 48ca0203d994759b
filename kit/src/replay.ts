import type { RedisClient } from "@commerce/streams";
import type { Logger } from "pino";

/** Past this, Redis is taken for down and nonces are remembered in this process only. */
const REDIS_TIMEOUT_MS = 250;

/**
 * Remembers the nonces of signed internal requests until their signature expires, so a captured
 * request cannot be sent again. Shared by every replica through Redis: one `SET NX PX` per request.
 * While Redis does not answer, nonces are remembered in this process only (a replay to another
 * replica of the same subgraph would then pass) and a warning is logged, rather than refusing every
 * request for as long as Redis is away.
 */
export class ReplayGuard {
  private readonly local = new Map<string, number>();

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly logger: Logger,
    private readonly onFallback: () => void = () => undefined,
  ) {}

  /** True the first time `nonce` is seen before `expiresAt` (epoch ms), false for a replay. */
  async firstUse(nonce: string, expiresAt: number, now = Date.now()): Promise<boolean> {
    const ttlMs = Math.max(1, expiresAt - now);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), REDIS_TIMEOUT_MS);
    });
    try {
      const answer = await Promise.race([this.redis.set(`${this.prefix}:auth:nonce:${nonce}`, "1", "PX", ttlMs, "NX"), timeout]);
      if (answer !== "timeout") return answer === "OK";
      this.logger.warn("nonce check timed out; remembering nonces in this process only");
    } catch (error) {
      this.logger.warn({ err: error }, "nonce check failed; remembering nonces in this process only");
    } finally {
      clearTimeout(timer);
    }
    this.onFallback();
    return this.rememberLocally(nonce, expiresAt, now);
  }

  private rememberLocally(nonce: string, expiresAt: number, now: number): boolean {
    if (this.local.size > 100_000) for (const [key, until] of this.local) if (until <= now) this.local.delete(key);
    const until = this.local.get(nonce);
    if (until !== undefined && until > now) return false;
    this.local.set(nonce, expiresAt);
    return true;
  }
}
