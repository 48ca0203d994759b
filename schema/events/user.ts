import { z } from "zod";
import { Id } from "./common";

const Role = z.enum(["CUSTOMER", "STAFF", "ADMIN"]);

/** Contracts of the `user` stream, by type and version. */
export const userContracts = {
  "user.registered": {
    1: z.object({ userId: Id, email: z.string().min(1), name: z.string(), role: Role }),
  },
  "user.role_changed": {
    1: z.object({ userId: Id, email: z.string().min(1), name: z.string(), role: Role, previousRole: Role }),
  },
} as const;
