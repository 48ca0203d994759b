import { producers } from "@commerce/schema";
import { dlqIndexKey, dlqKey, replayKey, streamKey } from "./keys";
import { slotOf } from "./redis-client";

describe("stream keys and their cluster slots", () => {
  it("gives every producer's stream a slot of its own, whatever the prefix", () => {
    const slots = producers.map((producer) => slotOf(streamKey("commerce", producer)));
    expect(new Set(slots).size).toBe(producers.length);
    expect(producers.map((producer) => slotOf(streamKey("t_other_1234", producer)))).toEqual(slots);
  });

  it("keeps a group's dead letters, their index and its replay stream in one slot, apart from other groups'", () => {
    const slot = (group: string) => new Set([dlqKey("commerce", group), dlqIndexKey("commerce", group), replayKey("commerce", group)].map(slotOf));
    expect(slot("payment").size).toBe(1);
    expect([...slot("payment")]).not.toEqual([...slot("order")]);
  });

  it("keeps the prefix in the key and refuses one that would override the tags", () => {
    expect(streamKey("commerce", "order")).toBe("commerce:stream:{producer:order}");
    expect(() => streamKey("{commerce}", "order")).toThrow(/braces/);
  });
});
