import { variableField } from "./errors";

describe("variableField", () => {
  it("names the value graphql-js could not coerce, in dotted form", () => {
    expect(variableField('Variable "$input" got invalid value 1.5 at "input.items[0].quantity"; Int cannot represent non-integer value: 1.5')).toBe(
      "input.items.0.quantity",
    );
    expect(variableField('Variable "$first" got invalid value "x"; Int cannot represent non-integer value: "x"')).toBe("first");
    expect(variableField('Variable "$id" of required type "ID!" was not provided.')).toBe("id");
  });

  it("says nothing about other messages", () => {
    expect(variableField('Cannot query field "nope" on type "Query".')).toBeUndefined();
  });
});
