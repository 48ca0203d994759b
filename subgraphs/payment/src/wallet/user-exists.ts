import { internalGraphQL, type Runtime } from "@commerce/kit";

const USER_QUERY = `query PaymentUserExists($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { id } } }`;

/**
 * Whether the user subgraph knows `userId`. Payment learns of users from
 * `user.registered`, which may not have arrived yet for a user who registered
 * a moment ago: asked only when no wallet is open, before opening one for
 * someone other than the signed-in owner.
 *
 * @throws InternalCallError when the user subgraph cannot answer (nothing is opened then).
 */
export async function userExists(runtime: Runtime<unknown>, userId: string, requestId?: string): Promise<boolean> {
  const data = await internalGraphQL<{ _entities: ({ id: string } | null)[] }>({
    service: "user",
    url: runtime.config.subgraphUrls.user,
    secret: runtime.config.internalSecret,
    as: { kind: "service", service: "payment" },
    query: USER_QUERY,
    variables: { reps: [{ __typename: "User", id: userId }] },
    requestId,
  });
  return data._entities[0]?.id === userId;
}
