/**
 * Dead-letter operations:
 *   npm run dlq -- list <service> [count]
 *   npm run dlq -- show <service> <id>
 *   npm run dlq -- replay <service> <id|--all>
 *   npm run dlq -- discard <service> <id>
 * Env: REDIS_CLUSTER_NODES or REDIS_URL (default redis://127.0.0.1:6379), STREAM_PREFIX (default commerce).
 */
import { createRedis, DeadLetters, redisUrlFromEnv } from "@commerce/streams";
import { CONSUMING_SERVICES, PROJECTION_GROUPS } from "../provision/platform";

const GROUPS: readonly string[] = [...CONSUMING_SERVICES, ...PROJECTION_GROUPS];

const USAGE = "usage: npm run dlq -- list <service> [count] | show <service> <id> | replay <service> <id|--all> | discard <service> <id>";

async function main(argv: string[]): Promise<number> {
  const [command, service, arg] = argv;
  if (!command || !service) {
    console.error(USAGE);
    return 2;
  }
  // A mistyped service would otherwise read an empty stream and report "no dead letters": all clear.
  if (!GROUPS.includes(service)) {
    console.error(`${service} consumes no events, so it has no dead letters; the consuming services and groups are ${GROUPS.join(", ")}.`);
    return 2;
  }
  const count = command === "list" && arg !== undefined ? (/^\d+$/.test(arg) ? Number(arg) : NaN) : 50;
  if (!Number.isInteger(count) || count < 1 || count > 10_000) {
    console.error(`count must be a whole number from 1 to 10000, got ${arg}.\n${USAGE}`);
    return 2;
  }
  const redis = createRedis(redisUrlFromEnv(), { maxRetriesPerRequest: 2 });
  const dlq = new DeadLetters({ redis, prefix: process.env.STREAM_PREFIX ?? "commerce" });
  try {
    switch (command) {
      case "list": {
        const letters = await dlq.list(service, { count });
        for (const l of letters) console.log(`${l.id}  ${l.failedAt}  ${l.type}  attempts=${l.attempts}  ${l.error}`);
        if (letters.length === 0) console.log(`no dead letters for ${service}`);
        return 0;
      }
      case "show": {
        const letter = arg ? await dlq.show(service, arg) : null;
        if (!letter) return notFound(service, arg);
        let envelope: unknown = letter.envelope;
        try {
          envelope = JSON.parse(letter.envelope);
        } catch {
          // malformed envelopes are shown raw: that may be why they are here
        }
        console.log(JSON.stringify({ ...letter, envelope }, null, 2));
        return 0;
      }
      case "replay": {
        if (arg === "--all") {
          console.log(`replayed ${await dlq.replayAll(service)} dead letter(s) of ${service}`);
          return 0;
        }
        if (!arg || !(await dlq.replay(service, arg))) return notFound(service, arg);
        console.log(`replayed ${arg} to ${service}`);
        return 0;
      }
      case "discard": {
        if (!arg || !(await dlq.discard(service, arg))) return notFound(service, arg);
        console.log(`discarded ${arg}`);
        return 0;
      }
      default:
        console.error(USAGE);
        return 2;
    }
  } finally {
    redis.disconnect();
  }
}

function notFound(service: string, id: string | undefined): number {
  console.error(id ? `no dead letter ${id} for ${service} (see: npm run dlq -- list ${service})` : USAGE);
  return 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
