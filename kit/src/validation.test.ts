import "reflect-metadata";
import { IsOptional, Max, MaxLength, ValidateNested } from "class-validator";
import { ArgsType, Field, InputType, Int } from "type-graphql";
import { BadUserInputError } from "./errors";
import { validateArgument } from "./validation";

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
  const error = await run.then(() => null, (thrown: unknown) => thrown);
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

  // Regression: an @Args() class already carries the argument names, which came out doubled (`filter.filter.search`).
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
    await expect(validateArgument(Object.assign(new ListArgs(), { filter: filterOf("ok") }), ListArgs, { args: { filter: { search: "ok" } } })).resolves.toBeUndefined();
  });
});
