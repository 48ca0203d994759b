import { Directive, Field, ID, ObjectType } from "type-graphql";

/** A stub of an entity owned by another subgraph: only its key, `id`. */
export interface EntityReference {
  id: string;
}

/**
 * Declares another subgraph's entity as this subgraph sees it: the `@key`
 * (`id`) and nothing else, so this subgraph can return it (the gateway fetches
 * the rest from the owner) or hang its own fields on it with a field resolver.
 * `resolvable: false` when this subgraph adds no fields to it.
 */
export function entityReference(typeName: string, { resolvable = true }: { resolvable?: boolean } = {}) {
  @Directive(resolvable ? '@key(fields: "id")' : '@key(fields: "id", resolvable: false)')
  @ObjectType(typeName)
  class Reference implements EntityReference {
    @Field(() => ID)
    id: string;

    static of(id: string): Reference {
      return Object.assign(new Reference(), { id });
    }
  }
  return Reference;
}
