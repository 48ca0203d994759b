import "reflect-metadata";
import { graphql, type GraphQLSchema } from "graphql";
import { Arg, Directive, Field, FieldResolver, ID, ObjectType, Query, Resolver, Root } from "type-graphql";
import { entityReference } from "./federation";
import { buildFederatedSchema } from "./schema";

const NUL = "\u0000";

/** What reached "the database": any NUL here would be Postgres refusing the statement. */
const looked: string[] = [];
const lookUp = (id: string) => {
  looked.push(id);
  if (id.includes(NUL)) throw new Error("invalid message format");
  return { id, name: `thing ${id}` };
};

@Directive('@key(fields: "id")')
@ObjectType("SchemaTestThing")
class Thing {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;
}

/** Another subgraph's entity with a field of ours: `_entities` hands its representation straight to the field resolver. */
const Stub = entityReference("SchemaTestStub");

@Resolver(() => Thing)
class ThingResolver {
  @Query(() => Thing, { nullable: true })
  thing(@Arg("id", () => ID) id: string): Thing {
    return lookUp(id);
  }
}

@Resolver(() => Stub)
class StubResolver {
  @FieldResolver(() => String)
  label(@Root() stub: InstanceType<typeof Stub>): string {
    return lookUp(stub.id).name;
  }
}

let schema: GraphQLSchema;
beforeAll(async () => {
  schema = await buildFederatedSchema(
    { resolvers: [ThingResolver, StubResolver], orphanedTypes: [Stub] },
    { SchemaTestThing: { __resolveReference: (reference) => lookUp(reference.id) } },
  );
});
beforeEach(() => void (looked.length = 0));

const run = (source: string, variableValues: Record<string, unknown> = {}) => graphql({ schema, source, variableValues, contextValue: {} });

describe("buildFederatedSchema and a NUL character (U+0000)", () => {
  it("refuses it in an argument with BAD_USER_INPUT naming the argument, before the resolver", async () => {
    const result = await run(`query($id: ID!) { thing(id: $id) { id } }`, { id: `a${NUL}` });
    expect(result.errors?.[0].extensions).toMatchObject({ field: "id" });
    expect(result.errors?.[0].originalError?.constructor.name).toBe("BadUserInputError");
    expect(looked).toEqual([]);
  });

  it("resolves a representation holding one to null, keeping the others, with or without __resolveReference", async () => {
    const result = await run(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on SchemaTestThing { id } ... on SchemaTestStub { id label } } }`,
      {
        r: [
          { __typename: "SchemaTestThing", id: `t1${NUL}` },
          { __typename: "SchemaTestThing", id: "t2" },
          { __typename: "SchemaTestStub", id: NUL },
          { __typename: "SchemaTestStub", id: "s1", extra: { nested: [`x${NUL}`] } },
          { __typename: "SchemaTestStub", id: "s2" },
        ],
      },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data?._entities).toEqual([null, { id: "t2" }, null, null, { id: "s2", label: "thing s2" }]);
    expect(looked.sort()).toEqual(["s2", "t2"]);
  });

  it("leaves clean representations alone", async () => {
    const result = await run(`query($r: [_Any!]!) { _entities(representations: $r) { ... on SchemaTestThing { id name } } }`, {
      r: [{ __typename: "SchemaTestThing", id: "t3" }],
    });
    expect(result).toEqual({ data: { _entities: [{ id: "t3", name: "thing t3" }] } });
  });
});
