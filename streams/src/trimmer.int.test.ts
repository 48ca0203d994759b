import type Redis from "ioredis";
import { streamKey } from "./keys";
import { randomStreamPrefix, redisClient } from "./testing/harness";
import { StreamTrimmer } from "./trimmer";
import type { RawEntry } from "./wire";

let redis: Redis;
beforeAll(() => {
  redis = redisClient();
});
afterAll(() => redis.disconnect());

async function read(key: string, group: string, count: number): Promise<string[]> {
  const reply = (await redis.xreadgroup("GROUP", group, "c1", "COUNT", count, "STREAMS", key, ">")) as [string, RawEntry[]][] | null;
  return (reply?.[0]?.[1] ?? []).map(([id]) => id);
}

describe("StreamTrimmer", () => {
  it("never trims entries a group has pending or has not read", async () => {
    const prefix = randomStreamPrefix("trim");
    const key = streamKey(prefix, "order");
    const ids: string[] = [];
    for (let i = 0; i < 20; i += 1) ids.push((await redis.xadd(key, "*", "n", String(i)))!);
    const trimmer = new StreamTrimmer({ redis, prefix, producers: ["order"] });

    // No group yet: a group created later starts at 0, so nothing may go.
    expect(await trimmer.trim(key)).toBe(0);

    await redis.xgroup("CREATE", key, "fast", "0");
    await redis.xgroup("CREATE", key, "slow", "0");
    const fast = await read(key, "fast", 20);
    await redis.xack(key, "fast", ...fast.filter((_, i) => i !== 4)); // #4 stays pending
    const slow = await read(key, "slow", 8);
    await redis.xack(key, "slow", ...slow); // slow has not read #8..#19

    await trimmer.trimAll();
    expect(((await redis.xrange(key, "-", "+")) as RawEntry[]).map(([id]) => id)).toEqual(ids.slice(4));
    // The pending entry is still claimable with its fields.
    const [claimed] = (await redis.xclaim(key, "fast", "c2", 0, ids[4]!)) as RawEntry[];
    expect(claimed![1]).toEqual(["n", "4"]);

    await redis.xack(key, "fast", ids[4]!);
    await trimmer.trimAll();
    expect(((await redis.xrange(key, "-", "+")) as RawEntry[]).map(([id]) => id)).toEqual(ids.slice(8));

    await redis.xack(key, "slow", ...(await read(key, "slow", 100)));
    await new StreamTrimmer({ redis, prefix, producers: ["order"], keepRecent: 3 }).trimAll();
    expect(await redis.xlen(key)).toBe(3);
    await trimmer.trimAll();
    expect(await redis.xlen(key)).toBe(0);
  });

  it("cuts a live feed that no group reads to its recent entries, and leaves other group-less streams alone", async () => {
    const prefix = randomStreamPrefix("trim");
    const key = streamKey(prefix, "notification");
    const now = Date.now();
    for (const age of [7_200_000, 5_400_000, 60_000, 1_000]) await redis.xadd(key, `${now - age}-0`, "n", String(age));
    expect(await new StreamTrimmer({ redis, prefix, producers: ["notification"] }).trim(key)).toBe(0);
    const feed = new StreamTrimmer({ redis, prefix, producers: ["notification"], maxAgeWithoutGroupMs: 3_600_000 });
    expect(await feed.trim(key)).toBe(2);
    expect(((await redis.xrange(key, "-", "+")) as RawEntry[]).map(([, fields]) => fields?.[1])).toEqual(["60000", "1000"]);
  });
});
