import { createEvent } from "@commerce/streams";
import type { Runtime } from "@commerce/kit";
import { hashPassword } from "./auth/password";
import { User, normaliseEmail } from "./user/user.entity";
import type { UserSettings } from "./settings";

/** Ensures the configured bootstrap admin exists (idempotent across restarts and replicas). */
export async function bootstrapAdmin(runtime: Runtime<UserSettings>): Promise<void> {
  const admin = runtime.settings.admin;
  if (!admin) return;
  const em = runtime.orm.em.fork();
  const email = normaliseEmail(admin.email);
  const existing = await em.findOne(User, { email });
  if (existing) {
    if (existing.role !== "ADMIN") runtime.logger.warn({ email }, "bootstrap admin exists without the ADMIN role; leaving it as is");
    return;
  }
  const passwordHash = await hashPassword(admin.password);
  try {
    await runtime.commit(em, async (tx, emit) => {
      const user = new User(email, "Administrator", passwordHash, "ADMIN");
      tx.persist(user);
      emit(createEvent("user.registered", { userId: user.id, email: user.email, name: user.name, role: user.role }, { correlationId: user.id }));
    });
    runtime.logger.info({ email }, "created the bootstrap admin");
  } catch (error) {
    // Another replica created it first.
    if ((error as { code?: string }).code !== "23505") throw error;
  }
}
