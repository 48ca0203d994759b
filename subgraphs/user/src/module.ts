import { auditLogResolver, type SubgraphModule } from "@commerce/kit";
import { PasswordResetToken } from "./auth/password-reset.entity";
import { RefreshToken } from "./auth/refresh-token.entity";
import { signedInPlugin } from "./auth/signed-in";
import { bootstrapAdmin } from "./bootstrap-admin";
import { migrations } from "./migrations";
import { readSettings, type UserSettings } from "./settings";
import { User } from "./user/user.entity";
import { userReference } from "./user/user.reference";
import { UserResolver } from "./user/user.resolver";

/** The user subgraph: accounts, credentials, refresh tokens, roles. */
export const userSubgraph: SubgraphModule<UserSettings> = {
  name: "user",
  entities: [User, RefreshToken, PasswordResetToken],
  migrations,
  resolvers: [UserResolver, auditLogResolver("userAuditLog", "user")],
  referenceResolvers: { User: userReference },
  // register/login/refreshToken report who signed in, so the gateway resolves AuthPayload.user as them.
  plugins: [signedInPlugin],
  settings: readSettings,
  prepare: bootstrapAdmin,
};
