import { isStaff, requireRole, type Context } from "@commerce/kit";

/** STAFF, ADMIN or one of our services; otherwise UNAUTHENTICATED (anonymous) or FORBIDDEN. */
export function requireStaff(ctx: Pick<Context, "identity">): void {
  if (isStaff(ctx.identity)) return;
  requireRole(ctx, "STAFF", "ADMIN");
}

/** Who made a change, for audit rows. */
export function actorOf(ctx: Pick<Context, "identity">): string {
  const identity = ctx.identity;
  if (!identity) return "anonymous";
  return identity.kind === "user" ? identity.userId : `service:${identity.service}`;
}
