import type { ApolloServerPlugin } from "@apollo/server";
import { SIGNED_IN_EXTENSION, type Context } from "@commerce/kit";
import type { Session } from "./sessions";

/** The access token of the last successful sign-in of each request in progress. */
const signedIn = new WeakMap<Context, string>();

/**
 * The caller has just proved who they are (registered, signed in, refreshed): they are
 * `session.user`, with the role the database holds now, for the rest of this request here and,
 * through the gateway (see {@link signedInPlugin}), for the rest of the operation everywhere. Call
 * only once the session is committed. Several sign-ins in one request: the last one wins.
 */
export function signIn(ctx: Context, session: Session): Session {
  const { user } = session;
  ctx.identity = { kind: "user", userId: user.id, role: user.role, email: user.email };
  signedIn.set(ctx, session.accessToken);
  return session;
}

/**
 * Reports the last sign-in of the request to the gateway in the response's extensions
 * ({@link SIGNED_IN_EXTENSION}): the access token just issued, which the gateway verifies like a
 * bearer token, whether or not the client selected `accessToken`. The gateway strips it.
 */
export const signedInPlugin: ApolloServerPlugin<Context> = {
  async requestDidStart() {
    return {
      async willSendResponse({ contextValue, response }) {
        const accessToken = signedIn.get(contextValue);
        if (!accessToken || response.body.kind !== "single") return;
        const result = response.body.singleResult;
        result.extensions = { ...result.extensions, [SIGNED_IN_EXTENSION]: { accessToken } };
      },
    };
  },
};
