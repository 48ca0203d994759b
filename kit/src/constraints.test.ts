import { validate } from "class-validator";
import { NoControlCharacters } from "./constraints";

class Named {
  @NoControlCharacters({ message: "bad name" })
  name?: string | null;
}

const errorsFor = async (name: string | null | undefined) => {
  const named = Object.assign(new Named(), { name });
  return (await validate(named)).map((error) => Object.values(error.constraints ?? {})[0]);
};

describe("NoControlCharacters", () => {
  it.each([
    ["a right-to-left override", "invoice\u202Eexe.pdf"],
    ["a left-to-right override", "a\u202Db"],
    ["an embedding", "a\u202Ab"],
    ["a pop", "a\u202Cb"],
    ["an isolate", "\u2066a\u2069"],
    ["a first-strong isolate", "a\u2068b"],
    ["a mark", "a\u200Eb\u200F"],
    ["the Arabic letter mark", "a\u061Cb"],
    ["a line break", "a\r\nb"],
    ["a tab", "a\tb"],
    ["a C1 control", "a\u0085b"],
    ["a line separator", "a\u2028b"],
  ])("refuses %s", async (_what, name) => {
    expect(await errorsFor(name)).toEqual(["bad name"]);
  });

  it("accepts letters of any script, emoji with joiners, and surrounding spaces it trims", async () => {
    for (const name of ["Zoë 李 👩‍💻", "שלום עולם", "مرحبا", " \r\n Ada \n", null, undefined]) expect(await errorsFor(name)).toEqual([]);
  });
});
