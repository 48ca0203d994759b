import type { EntityManager, MikroORM } from "@mikro-orm/postgresql";
import type { Logger } from "pino";

/** Options of {@link OutboxRetention}. */
export interface OutboxRetentionOptions {
  orm: MikroORM;
  logger: Logger;
  /** How long outbox rows and their publication records are kept; bounds the catch-up after a lost slot. Default 24 h. */
  retentionMs?: number;
  /** How long `processed_event` rows are kept: must exceed the longest redelivery window. Default 7 days. */
  processedRetentionMs?: number;
  /** How often it runs. Default 60 s. */
  intervalMs?: number;
}

/**
 * Deletes outbox rows, publication records and processed marks past their retention, in bounded
 * batches (each statement stays short; what is left goes at the next interval). Every replica may run
 * one: the deletes are idempotent.
 */
export class OutboxRetention {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(private readonly options: OutboxRetentionOptions) {}

  start(): void {
    if (this.timer) return;
    const every = this.options.intervalMs ?? 60_000;
    this.timer = setInterval(() => void this.runOnce(), every);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One pass; failures are logged and retried at the next interval. */
  runOnce(): Promise<void> {
    this.running ??= this.purge().finally(() => (this.running = null));
    return this.running;
  }

  private async purge(): Promise<void> {
    const retention = this.options.retentionMs ?? 24 * 3600_000;
    const processed = this.options.processedRetentionMs ?? 7 * 24 * 3600_000;
    const em = this.options.orm.em.fork() as EntityManager;
    try {
      await em.execute(
        `delete from outbox where id in (select id from outbox
           where created_at < now() - ? * interval '1 millisecond' limit 10000)`,
        [retention],
      );
      await em.execute(
        `delete from outbox_publication where id in (select id from outbox_publication
           where published_at < now() - ? * interval '1 millisecond' limit 1000)`,
        [retention],
      );
      await em.execute(
        `delete from processed_event where ctid in (select ctid from processed_event
           where processed_at < now() - ? * interval '1 millisecond' limit 10000)`,
        [processed],
      );
    } catch (error) {
      this.options.logger.warn({ err: error }, "outbox retention failed; retried at the next interval");
    }
  }
}
