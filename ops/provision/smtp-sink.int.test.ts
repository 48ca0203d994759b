import nodemailer from "nodemailer";
import { smtpSink } from "@commerce/testing";
import { SmtpSink, startSmtpSink } from "./smtp-sink";

const transport = (port = Number(process.env.TEST_SMTP_PORT)) =>
  nodemailer.createTransport({ host: "127.0.0.1", port, secure: false, ignoreTLS: true });

const unique = (name: string) => `${name}-${Math.random().toString(16).slice(2, 10)}@example.com`;

describe("SMTP sink: the shared test sink with real nodemailer", () => {
  it("receives a multipart message and returns decoded subject, text and html", async () => {
    const to = unique("alice");
    const subject = "Your order #42 is confirmed — merci, Zoë ✓";
    const text = `Hello Zoë,\nTotal: 12,50 € (long line ${"x".repeat(120)})\n= sign and ünïcödé`;
    const html = `<p>Hello <b>Zoë</b>, total <i>12,50 €</i></p><p>${"y".repeat(100)}</p>`;
    const info = await transport().sendMail({ from: '"Shop" <shop@example.com>', to, subject, text, html });
    expect(info.accepted).toEqual([to]);

    const [message] = await smtpSink.messages(to);
    expect(message).toMatchObject({ from: "shop@example.com", to: [to], subject, text, html });
    expect(message.id).toEqual(expect.any(String));
    expect(new Date(message.receivedAt).getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(message.raw).toContain("multipart/alternative");
  });

  it("decodes base64 parts too", async () => {
    const to = unique("bob");
    await transport().sendMail({
      from: "shop@example.com",
      to,
      subject: "b64",
      text: "Grüße aus Köln",
      html: "<h1>日本語のメール</h1>",
      textEncoding: "base64",
    });
    const message = await smtpSink.waitFor(to);
    expect(message.text).toBe("Grüße aus Köln");
    expect(message.html).toBe("<h1>日本語のメール</h1>");
  });

  it("filters by recipient", async () => {
    const a = unique("a");
    const b = unique("b");
    await transport().sendMail({ from: "shop@example.com", to: a, subject: "for a", text: "a" });
    await transport().sendMail({ from: "shop@example.com", to: b, subject: "for b", text: "b" });
    expect((await smtpSink.messages(a)).map((m) => m.subject)).toEqual(["for a"]);
    expect((await smtpSink.messages(b)).map((m) => m.subject)).toEqual(["for b"]);
  });

  it("fail(n, {to}) makes the next n sends to that address fail with 451, then accepts again", async () => {
    const to = unique("carol");
    await smtpSink.fail(2, { to });
    for (let i = 0; i < 2; i++) {
      await expect(transport().sendMail({ from: "shop@example.com", to, subject: `try ${i}`, text: "x" })).rejects.toMatchObject({
        responseCode: 451,
      });
    }
    await transport().sendMail({ from: "shop@example.com", to, subject: "third", text: "x" });
    expect((await smtpSink.messages(to)).map((m) => m.subject)).toEqual(["third"]);
  });
});

describe("SMTP sink: failure modes on a private instance", () => {
  let sink: SmtpSink;
  const post = (body: unknown) =>
    fetch(`${sink.apiUrl}/fail`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

  beforeAll(async () => {
    sink = await startSmtpSink();
  });
  afterAll(async () => {
    await sink.stop();
  });

  it("POST /fail {count} rejects the next N messages (any recipient) with 451", async () => {
    await post({ count: 1 });
    await expect(transport(sink.smtpPort).sendMail({ from: "a@example.com", to: "x@example.com", subject: "s", text: "t" })).rejects.toMatchObject({
      responseCode: 451,
    });
    await transport(sink.smtpPort).sendMail({ from: "a@example.com", to: "x@example.com", subject: "ok", text: "t" });
    expect(sink.messages.map((m) => m.subject)).toEqual(["ok"]);
  });

  it("mode down refuses connections until mode up", async () => {
    await post({ mode: "down" });
    await expect(transport(sink.smtpPort).sendMail({ from: "a@example.com", to: "y@example.com", subject: "no", text: "t" })).rejects.toThrow();
    await post({ mode: "up" });
    await transport(sink.smtpPort).sendMail({ from: "a@example.com", to: "y@example.com", subject: "yes", text: "t" });
    const res = await fetch(`${sink.apiUrl}/messages?to=y@example.com`);
    expect(((await res.json()) as { subject: string }[]).map((m: { subject: string }) => m.subject)).toEqual(["yes"]);
  });

  it("DELETE /messages forgets everything", async () => {
    const res = await fetch(`${sink.apiUrl}/messages`, { method: "DELETE" });
    expect(res.status).toBe(200);
    expect(await (await fetch(`${sink.apiUrl}/messages`)).json()).toEqual([]);
  });
});
