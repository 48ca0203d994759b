import { LockMode } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { Job, Logger, Runtime } from "@commerce/kit";
import { DeliveryAttempt } from "../notification/delivery-attempt.entity";
import { Notification, type AttemptOutcome, type RetryPolicy } from "../notification/notification.entity";
import { wakeOnPendingCommit } from "../notification/notify";
import { Recipient } from "../recipient/recipient.entity";
import type { NotificationSettings } from "../settings";
import type { Channels } from "./channel";

/** Exponential backoff with a little jitter, so failed messages do not retry in lockstep. */
export function retryPolicy(settings: NotificationSettings): RetryPolicy {
  return {
    maxAttempts: settings.maxAttempts,
    delayMs: (attempts) => Math.min(settings.retryMaxMs, settings.retryBaseMs * 2 ** (attempts - 1)) * (1 + Math.random() * 0.2),
  };
}

/** Finished sends recorded per transaction, at most. */
const RECORD_BATCH = 100;

/** A send that finished, waiting for its outcome to be recorded. */
interface Finished {
  notification: Notification;
  /** null: it went out */
  error: string | null;
  resolve: (outcome: AttemptOutcome | null) => void;
}

/** A leased PENDING notification and its recipient (null while the user stream has not told us the address). */
interface Due {
  notification: Notification;
  recipient: Recipient | null;
}

/**
 * Sends PENDING notifications: due rows are claimed `FOR UPDATE SKIP LOCKED` under a lease, at most
 * `concurrency` sends at once, woken on commit with a poll as fallback (docs/SERVICES.md, "Notification delivery").
 */
export class DeliveryJob implements Job {
  private running = true;
  private woken = false;
  /** The last round filled every free slot: more may be due, so a finished delivery must start a round. */
  private saturated = false;
  private wakeup: (() => void) | null = null;
  private readonly inFlight = new Set<Promise<AttemptOutcome | null>>();
  private readonly logger: Logger;
  private readonly policy: RetryPolicy;
  private readonly loop: Promise<void>;
  private readonly delivered;
  private readonly finished: Finished[] = [];
  private recording: Promise<void> | null = null;

  constructor(
    private readonly runtime: Runtime<NotificationSettings>,
    private readonly channels: Channels,
  ) {
    this.logger = runtime.logger.child({ component: "delivery" });
    this.policy = retryPolicy(runtime.settings);
    this.delivered = runtime.metrics.counter("notification_deliveries_total", "Delivery attempts by channel and outcome", ["channel", "outcome"]);
    // Forks share the ORM's event manager and transactions copy its subscribers: every handler sees this one.
    runtime.orm.em.getEventManager().registerSubscriber(wakeOnPendingCommit(() => this.running && this.wake()));
    this.loop = this.run();
  }

  /** Look for due notifications now (also called after a commit that created some). */
  wake(): void {
    this.woken = true;
    this.wakeup?.();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
    await Promise.allSettled(this.inFlight);
    await this.recording;
    await Promise.all(Object.values(this.channels).map((channel) => channel.close?.()));
  }

  private async run(): Promise<void> {
    const { concurrency, pollMs } = this.runtime.settings;
    while (this.running) {
      this.woken = false;
      let waitMs = pollMs;
      try {
        const free = concurrency - this.inFlight.size;
        const { due: claimed, nextDueMs } = free > 0 ? await this.claim(free) : { due: [], nextDueMs: undefined };
        this.saturated = claimed.length === free || free <= 0;
        for (const due of claimed) this.track(this.deliver(due));
        if (claimed.length > 0 && claimed.length === free) continue; // more may be due
        if (free > 0) waitMs = untilNext(nextDueMs === undefined ? await this.nextDueMs() : nextDueMs, pollMs);
      } catch (error) {
        this.logger.error({ err: error }, "delivery round failed; retrying after the poll interval");
      }
      if (this.running && !this.woken) await this.sleep(waitMs);
    }
  }

  /**
   * A freed slot starts a round only when one may find work: the last round left due rows behind
   * (saturated), or this attempt rescheduled its row (retry) earlier than the current sleep may end.
   * Otherwise everything due was claimed, and new rows wake the job on commit or are found by the poll;
   * a round per finished delivery cost two statements that found nothing.
   */
  private track(delivery: Promise<AttemptOutcome | null>): void {
    const settled = delivery.then(
      (outcome) => outcome,
      () => null,
    );
    this.inFlight.add(settled);
    void settled.then((outcome) => {
      this.inFlight.delete(settled);
      if (this.saturated || outcome === "retry") this.wake();
    });
  }

  /**
   * Leases up to `limit` due rows with what sending them needs (their recipients), and when the next
   * PENDING row falls due (ms from now, null: none; undefined: nothing was claimed, so not asked), in one
   * statement instead of lookups per notification and another for the next due time. (The statement's
   * snapshot still shows the claimed rows as due: their new lease ends count instead.)
   */
  private async claim(limit: number): Promise<{ due: Due[]; nextDueMs: number | null | undefined }> {
    const em = this.runtime.orm.em.fork() as EntityManager;
    const rows = await em.execute<(Record<string, unknown> & { recipient: Record<string, unknown> | null; next_due_ms: string | null })[]>(
      `with c as (update notifications set next_attempt_at = now() + (? * interval '1 millisecond')
                  where id in (select id from notifications where status = 'PENDING' and next_attempt_at <= now()
                               order by next_attempt_at limit ? for update skip locked)
                  returning *)
       select c.*, (select to_jsonb(r) from recipients r where r.user_id = c.user_id) as recipient,
              extract(epoch from (least((select min(n.next_attempt_at) from notifications n where n.status = 'PENDING' and n.id not in (select id from c)),
                                        (select min(next_attempt_at) from c)) - now())) * 1000 as next_due_ms
       from c`,
      [this.runtime.settings.leaseMs, limit],
    );
    return {
      due: rows.map(({ recipient, next_due_ms: _, ...row }) => ({
        notification: em.map(Notification, row),
        recipient: recipient ? em.map(Recipient, recipient) : null,
      })),
      nextDueMs: rows.length ? (rows[0]!.next_due_ms === null ? null : Number(rows[0]!.next_due_ms)) : undefined,
    };
  }

  /** Ms from now until the next PENDING row falls due, null when there is none. */
  private async nextDueMs(): Promise<number | null> {
    const em = this.runtime.orm.em.fork() as EntityManager;
    const [row] = await em.execute<{ ms: string | null }[]>(
      `select extract(epoch from (min(next_attempt_at) - now())) * 1000 as ms from notifications where status = 'PENDING'`,
    );
    return row?.ms === null || row?.ms === undefined ? null : Number(row.ms);
  }

  /** Sends one claimed notification, then has its outcome recorded. */
  private async deliver({ notification, recipient }: Due): Promise<AttemptOutcome | null> {
    let error: string | null = null;
    try {
      await this.channels[notification.channel].send(notification, recipient);
    } catch (failure) {
      error = (failure as Error).message || String(failure);
    }
    const outcome = await new Promise<AttemptOutcome | null>((resolve) => {
      this.finished.push({ notification, error, resolve });
      this.recording ??= this.recordFinished();
    });
    if (outcome) this.delivered.inc({ channel: notification.channel, outcome });
    if (error)
      this.logger.warn(
        { notificationId: notification.id, channel: notification.channel, attempts: notification.attempts + 1, outcome, error },
        "delivery failed",
      );
    return outcome;
  }

  /**
   * Records finished sends, one transaction at a time: every send that finished while the previous
   * transaction ran shares the next one (as consumers group-commit events), instead of a transaction each.
   */
  private async recordFinished(): Promise<void> {
    while (this.finished.length) {
      const batch = this.finished.splice(0, RECORD_BATCH);
      let outcomes: (AttemptOutcome | null)[];
      try {
        outcomes = await this.record(batch);
      } catch (error) {
        // One bad row must not cost the others their record (they would be sent again): each alone.
        outcomes = batch.length === 1 ? [this.unrecorded(batch, error)] : await this.recordEachAlone(batch);
      }
      batch.forEach((finished, i) => finished.resolve(outcomes[i]!));
    }
    this.recording = null;
  }

  /** After a batch failed: each outcome in a transaction of its own, one after the other. */
  private async recordEachAlone(batch: readonly Finished[]): Promise<(AttemptOutcome | null)[]> {
    const outcomes: (AttemptOutcome | null)[] = [];
    for (const finished of batch) {
      try {
        outcomes.push((await this.record([finished]))[0] ?? null);
      } catch (error) {
        outcomes.push(this.unrecorded([finished], error));
      }
    }
    return outcomes;
  }

  /** The lease brings the rows back: nothing is lost, they are only late (and sent again). */
  private unrecorded(batch: readonly Finished[], error: unknown): null {
    this.logger.error(
      { err: error, notificationIds: batch.map((f) => f.notification.id) },
      "could not record a delivery; it will be retried after its lease",
    );
    return null;
  }

  /**
   * The outcomes of one batch, under row locks taken in id order (another replica may have taken a row over
   * after its lease ran out and finished it: that attempt is then "stale" and changes nothing). Sends that
   * went out, most of them, take one statement together.
   */
  private async record(batch: readonly Finished[]): Promise<(AttemptOutcome | null)[]> {
    const sent = await this.recordSent(batch.filter((f) => f.error === null));
    const failed = batch.filter((f) => f.error !== null);
    const failures = failed.length ? await this.recordFailures(failed) : [];
    return batch.map((f) => (f.error === null ? (sent.has(f.notification.id) ? "sent" : "stale") : failures[failed.indexOf(f)]!));
  }

  /**
   * Sends that went out, in one statement (atomic without a transaction): each row still PENDING becomes
   * SENT with its attempt recorded; one another replica finished meanwhile is left alone (stale). Returns
   * the ids marked SENT.
   */
  private async recordSent(sent: readonly Finished[]): Promise<Set<string>> {
    if (!sent.length) return new Set();
    const em = this.runtime.orm.em.fork() as EntityManager;
    const rows = await em.execute<{ id: string }[]>(
      `with s as (update notifications set status = 'SENT', attempts = attempts + 1, sent_at = now(), last_error = null
                  where id in (select id from notifications where id = any(string_to_array(?, ',')::uuid[]) and status = 'PENDING'
                               order by id for update)
                  returning id),
            a as (insert into delivery_attempts (id, notification_id, at, ok, error) select gen_random_uuid(), id, now(), true, null from s)
       select id from s`,
      [[...new Set(sent.map((f) => f.notification.id))].join(",")],
    );
    return new Set(rows.map((row) => row.id));
  }

  /** Failed sends: each row's retry or final failure (its policy), under row locks. */
  private async recordFailures(batch: readonly Finished[]): Promise<(AttemptOutcome | null)[]> {
    const em = this.runtime.orm.em.fork() as EntityManager;
    return em.transactional(async (tx) => {
      const ids = [...new Set(batch.map((f) => f.notification.id))].sort();
      const rows = await tx.find(Notification, { id: { $in: ids } }, { lockMode: LockMode.PESSIMISTIC_WRITE, orderBy: { id: "asc" }, refresh: true });
      const byId = new Map(rows.map((row) => [row.id, row]));
      return batch.map(({ notification, error }) => {
        const fresh = byId.get(notification.id);
        if (!fresh) return null;
        const outcome = fresh.recordAttempt(error, this.policy);
        if (outcome !== "stale") tx.persist(new DeliveryAttempt(fresh.id, error));
        return outcome;
      });
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeup = () => {
        this.wakeup = null;
        done();
      };
    });
  }
}

/** How long to sleep until `nextDueMs` (null: nothing pending), never longer than the poll. */
function untilNext(nextDueMs: number | null, pollMs: number): number {
  return nextDueMs === null ? pollMs : Math.max(0, Math.min(pollMs, Math.ceil(nextDueMs)));
}
