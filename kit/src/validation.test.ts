import "reflect-metadata";
import { IsOptional, Max, MaxLength, ValidateNested } from "class-validator";
import { ArgsType, Field, InputType, Int } from "type-graphql";
import { BadUserInputError } from "./errors";
import { assertNoNulCharacters, findNulCharacter, validateArgument } from "./validation";

@InputType("ValidationTestFilter")
class Filter {
  @Field({ nullable: true })
  @IsOptional()
  @MaxLength(3)
  search?: string;
}

@ArgsType()
class ListArgs {
  @Field(() => Filter, { nullable: true })
  @IsOptional()
  @ValidateNested()
  filter?: Filter | null;

  @Field(() => Int, { nullable: true })
  @IsOptional()
  @Max(10)
  first?: number | null;
}

const filterOf = (search: string) => Object.assign(new Filter(), { search });

async function failure(run: Promise<void>): Promise<{ field?: string; message: string }> {
  const error = await run.then(
    () => null,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(BadUserInputError);
  return { field: (error as BadUserInputError).field, message: (error as BadUserInputError).message };
}

describe("validateArgument names the field at fault", () => {
  it("prefixes an @Arg input with the argument name", async () => {
    const args = { filter: { search: "long" } };
    const { field, message } = await failure(validateArgument(filterOf("long"), Filter, { args }));
    expect(field).toBe("filter.search");
    expect(message).toMatch(/^filter\.search: /);
  });

  // An @Args() class already carries the argument names: the field is `filter.search`, not `filter.filter.search`.
  it("does not prefix an @Args() class a second time", async () => {
    const args = { filter: { search: "long" }, first: 5 };
    const value = Object.assign(new ListArgs(), { filter: filterOf("long"), first: 5 });
    const { field, message } = await failure(validateArgument(value, ListArgs, { args }));
    expect(field).toBe("filter.search");
    expect(message).toMatch(/^filter\.search: /);
    const tooMany = Object.assign(new ListArgs(), { first: 11 });
    expect((await failure(validateArgument(tooMany, ListArgs, { args: { first: 11 } }))).field).toBe("first");
  });

  it("passes valid values", async () => {
    await expect(
      validateArgument(Object.assign(new ListArgs(), { filter: filterOf("ok") }), ListArgs, { args: { filter: { search: "ok" } } }),
    ).resolves.toBeUndefined();
  });
});

// Postgres refuses U+0000 ("invalid message format"): such a value must be refused as bad input, naming
// its path, before any resolver runs, whatever the argument's type, depth or shape.
describe("a NUL character (U+0000) in any argument", () => {
  const NUL = "\u0000";

  @InputType("ValidationTestItem")
  class Item {
    @Field()
    name!: string;
  }

  @InputType("ValidationTestInput")
  class Input {
    @Field()
    name!: string;

    @Field(() => [Item])
    @ValidateNested({ each: true })
    items!: Item[];
  }

  it("is refused naming a scalar argument", async () => {
    const args = { email: `ada${NUL}@example.com`, password: "secret" };
    const { field, message } = await failure(validateArgument(args.password, String, { args }));
    expect(field).toBe("email");
    expect(message).toMatch(/^email: .*NUL/);
  });

  it("is refused naming a field of an @Arg input, plain or converted to its class", async () => {
    const args = { filter: { search: `a${NUL}b` }, first: 5 };
    expect((await failure(validateArgument(filterOf(`a${NUL}b`), Filter, { args }))).field).toBe("filter.search");
    const converted = { filter: filterOf(`a${NUL}b`), first: 5 };
    expect((await failure(validateArgument(converted.filter, Filter, { args: converted }))).field).toBe("filter.search");
  });

  it("is refused naming a field of an @Args() class", async () => {
    const args = { filter: { search: NUL }, first: 5 };
    const value = Object.assign(new ListArgs(), { filter: filterOf(NUL), first: 5 });
    expect((await failure(validateArgument(value, ListArgs, { args }))).field).toBe("filter.search");
  });

  it("is refused naming an item of a nested list", async () => {
    const items = [{ name: "ok" }, { name: `x${NUL}` }];
    const args = { input: { name: "ok", items } };
    const value = Object.assign(new Input(), { name: "ok", items: items.map((item) => Object.assign(new Item(), item)) });
    const { field, message } = await failure(validateArgument(value, Input, { args }));
    expect(field).toBe("input.items.1.name");
    expect(message).toMatch(/^input\.items\.1\.name: /);
  });

  it("is refused inside a list argument and inside JSON values and keys", async () => {
    expect((await failure(validateArgument(null, String, { args: { ids: ["a", `b${NUL}`] } }))).field).toBe("ids.1");
    const json = { details: { nested: [{ deep: `v${NUL}` }] } };
    expect((await failure(validateArgument(json.details, Object, { args: json }))).field).toBe("details.nested.0.deep");
    const badKey = { details: { nested: { [`k${NUL}`]: "v" } } };
    expect((await failure(validateArgument(badKey.details, Object, { args: badKey }))).field).toBe("details.nested");
  });

  it("wins over class-validator rules of another argument, whichever argument is validated first", async () => {
    const args = { filter: { search: "long" }, after: `c${NUL}` };
    expect((await failure(validateArgument(filterOf("long"), Filter, { args }))).field).toBe("after");
  });

  it("leaves other control characters, non-strings and clean values alone", async () => {
    const args = { filter: { search: "a\u0001b\tc\u00e9\u{1F600}" }, first: 5, at: new Date(), flag: true, none: null };
    await expect(validateArgument(filterOf("a\u0001b"), Filter, { args })).resolves.toBeUndefined();
    expect(findNulCharacter(args)).toBeNull();
    expect(() => assertNoNulCharacters({})).not.toThrow();
  });

  it("survives cyclic values", () => {
    const cyclic: Record<string, unknown> = { name: "ok" };
    cyclic.self = cyclic;
    expect(findNulCharacter({ input: cyclic })).toBeNull();
  });
});
