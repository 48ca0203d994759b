import { Arg, Ctx, Mutation, Query, Resolver } from "type-graphql";
import { BadUserInputError, audit, requireRole, type Context, type Runtime } from "@commerce/kit";
import { ChannelEnum, type Channel } from "../notification/notification.entity";
import { TEMPLATE_KEYS, TEMPLATE_VARIABLES, isTemplateKey } from "./catalog";
import { hasStrayBraces, placeholders } from "./render";
import { Template } from "./template.entity";

const MAX_SUBJECT = 200;
const MAX_BODY = 20_000;

/** Checks an ADMIN's template: known key, sizes, and only placeholders the key's data provides. */
function validate(key: string, channel: Channel, subject: string | null, body: string): void {
  if (!isTemplateKey(key)) throw new BadUserInputError(`Unknown template key "${key}"; use one of ${TEMPLATE_KEYS.join(", ")}.`, "key");
  if (channel === "EMAIL" && !subject?.trim()) throw new BadUserInputError("An e-mail template needs a subject.", "subject");
  if (subject !== null && subject.length > MAX_SUBJECT) throw new BadUserInputError(`subject must be at most ${MAX_SUBJECT} characters.`, "subject");
  if (!body.trim() || body.length > MAX_BODY) throw new BadUserInputError(`body must be 1 to ${MAX_BODY} characters.`, "body");
  const known: readonly string[] = TEMPLATE_VARIABLES[key];
  for (const [field, text] of [
    ["subject", subject ?? ""],
    ["body", body],
  ] as const) {
    if (hasStrayBraces(text)) {
      throw new BadUserInputError(`${field} has an unclosed or malformed placeholder or a stray "{{"/"}}"; write placeholders as {{name}}.`, field);
    }
    const unknown = placeholders(text).filter((name) => !known.includes(name));
    if (unknown.length) {
      throw new BadUserInputError(`{{${unknown[0]}}} is not available in ${key}; use ${known.map((v) => `{{${v}}}`).join(", ")}.`, field);
    }
  }
}

@Resolver(() => Template)
export class TemplateResolver {
  constructor(private readonly runtime: Runtime) {}

  @Query(() => [Template], { description: "Every notification template (ADMIN)." })
  notificationTemplates(@Ctx() ctx: Context): Promise<Template[]> {
    requireRole(ctx, "ADMIN");
    return ctx.em.find(Template, {}, { orderBy: { key: "asc", channel: "asc" } });
  }

  @Mutation(() => Template, { description: "Creates or replaces the template of a key on a channel (ADMIN)." })
  async upsertNotificationTemplate(
    @Arg("key", () => String) key: string,
    @Arg("channel", () => ChannelEnum) channel: Channel,
    @Arg("subject", () => String, { nullable: true }) subject: string | null | undefined,
    @Arg("body", () => String) body: string,
    @Ctx() ctx: Context,
  ): Promise<Template> {
    requireRole(ctx, "ADMIN");
    validate(key, channel, subject ?? null, body);
    return this.runtime.commit(ctx.em, async (tx) => {
      const [before] = await tx.execute<{ subject: string | null; body: string }[]>(
        `select subject, body from templates where key = ? and channel = ? for update`,
        [key, channel],
      );
      // One statement, so two ADMINs saving the same template at once cannot collide.
      await tx.execute(
        `insert into templates (key, channel, subject, body, updated_at) values (?, ?, ?, ?, now())
         on conflict (key, channel) do update set subject = excluded.subject, body = excluded.body, updated_at = now()`,
        [key, channel, subject ?? null, body],
      );
      audit(tx, ctx, {
        action: "template.upserted",
        targetType: "NotificationTemplate",
        targetId: `${key}:${channel}`,
        details: { key, channel, before: before ?? null, after: { subject: subject ?? null, body } },
      });
      return tx.findOneOrFail(Template, { key, channel }, { refresh: true });
    });
  }
}
