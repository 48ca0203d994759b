import Redis, { type Cluster } from "ioredis";
import { isCluster, slotOf, type RedisClient } from "./redis-client";

/**
 * A connection of its own for a consumer's blocking reads of `keys`, which share one cluster slot (or
 * one Redis): a blocked read holds its connection, so it must not be one other commands wait behind.
 *
 * On one Redis it is a duplicate of the client. On a cluster it is a plain connection to the master
 * serving the slot: after any failure (the master died, `MOVED` after a fail-over) it is dropped and
 * the next call connects to whichever node serves the slot then (the `MOVED` target, or the client's
 * refreshed slot map). A read during a slot migration (`ASK`) fails the same way and is retried until
 * the migration ends.
 *
 * Commands are not resent after a reconnect: a read whose reply was lost must surface as an error, so
 * the consumer re-reads its pending entries before any new one.
 */
export class StreamReader {
  private connection: Redis | null = null;
  private clientId: number | null = null;
  /** `host:port` of the cluster node the connection goes to. */
  private node: string | null = null;
  private movedTo: string | null = null;

  constructor(
    private readonly redis: RedisClient,
    readonly keys: readonly string[],
    private readonly connectionName: string,
  ) {}

  /** Connects (if not connected) and learns the connection's id, which {@link unblock} needs. */
  async open(): Promise<Redis> {
    if (!this.connection) this.connection = this.connect();
    const connection = this.connection;
    if (this.clientId === null) this.clientId = Number(await this.untilClosed(connection, "CLIENT", ["ID"]));
    return connection;
  }

  /** A command on this reader's connection; rejects when the connection drops before the reply. */
  async call(command: string, ...args: (string | number)[]): Promise<unknown> {
    try {
      const connection = await this.open();
      return await this.untilClosed(connection, command, args);
    } catch (error) {
      if (isCluster(this.redis)) this.reset(error);
      throw error;
    }
  }

  /** Releases a blocked read now (it returns nothing, so nothing is orphaned). */
  async unblock(): Promise<void> {
    const id = this.clientId;
    if (id === null || !this.connection) return;
    const via = isCluster(this.redis)
      ? this.redis.nodes("all").find((node) => `${node.options.host}:${node.options.port}` === this.node)
      : this.redis;
    if (via) await via.client("UNBLOCK", id).catch(() => undefined);
    else this.close();
  }

  close(): void {
    this.connection?.disconnect();
    this.connection = null;
    this.clientId = null;
  }

  private connect(): Redis {
    const options = { autoResendUnfulfilledCommands: false, connectionName: this.connectionName };
    let connection: Redis;
    if (isCluster(this.redis)) {
      const node = this.movedTo ?? nodeServing(this.redis, slotOf(this.keys[0]!));
      this.movedTo = null;
      const [, host, port] = /^(.*):(\d+)$/.exec(node) ?? [];
      if (!host || !port) throw new Error(`no cluster node is known to serve ${this.keys[0]}`);
      this.node = node;
      // No reconnection of its own: a dropped connection is replaced by one to the slot's current master.
      connection = new Redis({ ...this.redis.options.redisOptions, ...options, host, port: Number(port), retryStrategy: () => null });
    } else {
      connection = this.redis.duplicate(options);
    }
    connection.on("error", () => undefined); // read failures are reported by the consumer's read loop
    connection.on("close", () => {
      if (this.connection === connection) this.clientId = null; // a new connection has a new id
    });
    return connection;
  }

  /** Drops the connection after a failure; the next call goes to the node serving the slot then. */
  private reset(error: unknown): void {
    const moved = /MOVED \d+ (\S+)/.exec(String((error as Error)?.message ?? error));
    this.movedTo = moved?.[1] ?? null;
    if (!moved) (this.redis as Cluster).refreshSlotsCache();
    this.close();
  }

  /**
   * Told not to resend unfulfilled commands (so that a lost reply surfaces), ioredis instead drops them
   * on reconnect without ever settling their promise: the read loop would wait forever and the consumer
   * silently stop reading. So a command also fails when its connection closes.
   */
  private untilClosed(connection: Redis, command: string, args: (string | number)[]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const lost = () => reject(new Error(`the stream connection closed before ${command} returned`));
      connection.once("close", lost);
      connection
        .call(command, ...args)
        .then(resolve, reject)
        .finally(() => connection.off("close", lost));
    });
  }
}

/** `host:port` of the master the cluster client's slot map names for `slot`. */
function nodeServing(cluster: Cluster, slot: number): string {
  const node = cluster.slots[slot]?.[0];
  if (!node) throw new Error(`no cluster node is known to serve slot ${slot}`);
  return node;
}
