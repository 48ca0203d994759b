import { decodeQuotedPrintable, decodeWords, parseAddresses, parseMail } from "./mime";

describe("mime", () => {
  it("decodes RFC 2047 words (Q and B, adjacent words joined)", () => {
    expect(decodeWords("=?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus?= =?UTF-8?B?S8O2bG4=?=")).toBe("Grüße ausKöln");
    expect(decodeWords("plain")).toBe("plain");
  });

  it("decodes quoted-printable with soft line breaks", () => {
    expect(decodeQuotedPrintable("caf=C3=A9 =3D ok=\r\n!").toString("utf8")).toBe("café = ok!");
  });

  it("parses address lists", () => {
    expect(parseAddresses('"Doe, John" <john@example.com>, jane@example.com')).toEqual(["john@example.com", "jane@example.com"]);
  });

  it("reads a nested multipart message", () => {
    const raw = [
      "From: Shop <shop@example.com>",
      "To: a@example.com",
      "Subject: =?UTF-8?Q?Hi_=E2=9C=93?=",
      'Content-Type: multipart/mixed; boundary="outer"',
      "",
      "--outer",
      "Content-Type: multipart/alternative;",
      ' boundary="inner"',
      "",
      "--inner",
      "Content-Type: text/plain; charset=utf-8",
      "Content-Transfer-Encoding: quoted-printable",
      "",
      "caf=C3=A9",
      "--inner",
      "Content-Type: text/html; charset=utf-8",
      "Content-Transfer-Encoding: base64",
      "",
      Buffer.from("<b>café</b>").toString("base64"),
      "--inner--",
      "--outer",
      'Content-Type: application/pdf; name="invoice.pdf"',
      'Content-Disposition: attachment; filename="invoice.pdf"',
      "Content-Transfer-Encoding: base64",
      "",
      Buffer.from("%PDF-1.4").toString("base64"),
      "--outer--",
      "",
    ].join("\r\n");
    const mail = parseMail(raw);
    expect(mail.subject).toBe("Hi ✓");
    expect(mail.from).toBe("shop@example.com");
    expect(mail.to).toEqual(["a@example.com"]);
    expect(mail.text).toBe("café");
    expect(mail.html).toBe("<b>café</b>");
    expect(mail.attachments).toEqual([{ contentType: "application/pdf", filename: "invoice.pdf", size: 8 }]);
  });

  it("reads a single-part 8bit message", () => {
    const mail = parseMail("Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nZoë\r\n");
    expect(mail.text).toBe("Zoë\n");
    expect(mail.html).toBeNull();
  });
});
