import { CHANNELS } from "../notification/notification.entity";
import { DEFAULT_TEMPLATES, TEMPLATE_KEYS, TEMPLATE_VARIABLES } from "./catalog";
import { placeholders } from "./render";

describe("default templates", () => {
  it("cover every key on every channel, once", () => {
    const pairs = DEFAULT_TEMPLATES.map((t) => `${t.key} ${t.channel}`);
    expect(new Set(pairs).size).toBe(pairs.length);
    expect([...pairs].sort()).toEqual(TEMPLATE_KEYS.flatMap((key) => CHANNELS.map((channel) => `${key} ${channel}`)).sort());
  });

  it("use only the placeholders their key provides", () => {
    for (const t of DEFAULT_TEMPLATES) {
      const known: readonly string[] = TEMPLATE_VARIABLES[t.key];
      expect({
        key: t.key,
        channel: t.channel,
        unknown: placeholders(`${t.subject ?? ""} ${t.body}`).filter((name) => !known.includes(name)),
      }).toEqual({ key: t.key, channel: t.channel, unknown: [] });
    }
  });
});
