import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { SMTPServer } from "smtp-server";
import { parseMail } from "./mime";
import { Logger, pickPort, silent } from "./util";

/**
 * A local SMTP server that accepts every message, keeps it in memory (and, given a mailDir, as .eml
 * files) and serves it over a small HTTP JSON API (ops/README.md, "Where things come from").
 */

export interface SinkMessage {
  id: string;
  /** envelope sender (MAIL FROM) */
  from: string;
  /** envelope recipients (RCPT TO) */
  to: string[];
  subject: string;
  text: string | null;
  html: string | null;
  raw: string;
  receivedAt: string;
  headers: Record<string, string>;
  /** addresses of the From header */
  headerFrom: string;
}

export interface SmtpSinkOptions {
  smtpPort?: number;
  apiPort?: number;
  preferredSmtpPort?: number;
  preferredApiPort?: number;
  host?: string;
  /** append each message to <mailDir>/<time>-<id>.eml */
  mailDir?: string;
  /** keep at most this many messages in memory (oldest dropped) */
  maxMessages?: number;
  log?: Logger;
}

export interface SmtpSink {
  smtpPort: number;
  apiPort: number;
  /** smtp://127.0.0.1:<port> */
  smtpUrl: string;
  /** http://127.0.0.1:<port> */
  apiUrl: string;
  messages: SinkMessage[];
  stop(): Promise<void>;
}

class SinkError extends Error {
  constructor(
    message: string,
    public responseCode: number,
  ) {
    super(message);
  }
}

export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const log = options.log ?? silent;
  const host = options.host ?? "127.0.0.1";
  const maxMessages = options.maxMessages ?? 10_000;
  const messages: SinkMessage[] = [];
  let failNext = 0;
  const failFor = new Map<string, number>();
  let mode: "up" | "down" = "up";
  if (options.mailDir) fs.mkdirSync(options.mailDir, { recursive: true });

  const smtp = new SMTPServer({
    disabledCommands: ["STARTTLS", "AUTH"],
    authOptional: true,
    logger: false,
    banner: "commerce smtp sink",
    size: 25 * 1024 * 1024,
    closeTimeout: 1500,
    onConnect(_session, callback) {
      if (mode === "down") return callback(new SinkError("sink is down (test mode)", 421));
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("error", (err) => callback(err));
      stream.on("end", () => {
        if (mode === "down") return callback(new SinkError("sink is down (test mode)", 421));
        const rcpts = session.envelope.rcptTo.map((r) => r.address.toLowerCase());
        const scoped = rcpts.find((a) => (failFor.get(a) ?? 0) > 0);
        if (scoped) {
          const left = failFor.get(scoped)! - 1;
          if (left > 0) failFor.set(scoped, left);
          else failFor.delete(scoped);
          return callback(new SinkError("temporary failure (test mode)", 451));
        }
        if (failNext > 0) {
          failNext--;
          return callback(new SinkError("temporary failure (test mode)", 451));
        }
        const raw = Buffer.concat(chunks);
        const parsed = parseMail(raw);
        const envelopeFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : "";
        const message: SinkMessage = {
          id: crypto.randomUUID(),
          from: envelopeFrom || parsed.from,
          to: session.envelope.rcptTo.map((r) => r.address),
          subject: parsed.subject,
          text: parsed.text,
          html: parsed.html,
          raw: raw.toString("utf8"),
          receivedAt: new Date().toISOString(),
          headers: parsed.headers,
          headerFrom: parsed.from,
        };
        messages.push(message);
        if (messages.length > maxMessages) messages.splice(0, messages.length - maxMessages);
        if (options.mailDir) {
          const file = path.join(options.mailDir, `${Date.now()}-${message.id}.eml`);
          fs.promises.writeFile(file, raw).catch((err) => log(`cannot write ${file}: ${err.message}`));
        }
        log(`mail to ${message.to.join(", ")}: ${message.subject}`);
        callback(null, `queued as ${message.id}`);
      });
    },
  });
  smtp.on("error", (err) => log(`smtp error: ${err.message}`));

  const matches = (m: SinkMessage, to: string) => {
    const want = to.toLowerCase();
    return m.to.some((a) => a.toLowerCase() === want) || (m.headers.to ?? "").toLowerCase().includes(want);
  };

  const api = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://sink");
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      try {
        if (req.method === "GET" && url.pathname === "/health") {
          return send(200, { ok: true, messages: messages.length, failNext, mode });
        }
        if (req.method === "GET" && url.pathname === "/messages") {
          const to = url.searchParams.get("to");
          return send(200, to ? messages.filter((m) => matches(m, to)) : messages);
        }
        const one = /^\/messages\/([^/]+)$/.exec(url.pathname);
        if (req.method === "GET" && one) {
          const found = messages.find((m) => m.id === one[1]);
          return found ? send(200, found) : send(404, { error: "not found" });
        }
        if (req.method === "DELETE" && url.pathname === "/messages") {
          const count = messages.length;
          messages.length = 0;
          return send(200, { deleted: count });
        }
        if (req.method === "POST" && url.pathname === "/fail") {
          const input = body ? JSON.parse(body) : {};
          if (typeof input.count === "number") {
            const n = Math.max(0, Math.floor(input.count));
            if (typeof input.to === "string") failFor.set(input.to.toLowerCase(), n);
            else failNext = n;
          }
          if (input.mode === "down" || input.mode === "up") mode = input.mode;
          if (input.mode === "up" && input.count === undefined) {
            failNext = 0;
            failFor.clear();
          }
          return send(200, { failNext, failFor: Object.fromEntries(failFor), mode });
        }
        send(404, { error: `no route ${req.method} ${url.pathname}` });
      } catch (err) {
        send(400, { error: (err as Error).message });
      }
    });
  });

  const smtpPort = options.smtpPort ?? (await pickPort(options.preferredSmtpPort));
  await new Promise<void>((resolve, reject) => {
    smtp.server.once("error", reject);
    smtp.listen(smtpPort, host, () => {
      smtp.server.off("error", reject);
      resolve();
    });
  });
  const apiPort = options.apiPort ?? (await pickPort(options.preferredApiPort));
  await new Promise<void>((resolve, reject) => {
    api.once("error", reject);
    api.listen(apiPort, host, () => {
      api.off("error", reject);
      resolve();
    });
  });
  log(`SMTP sink on ${host}:${smtpPort}, API on http://${host}:${apiPort}`);

  let stopped = false;
  return {
    smtpPort,
    apiPort,
    smtpUrl: `smtp://${host}:${smtpPort}`,
    apiUrl: `http://${host}:${apiPort}`,
    messages,
    async stop() {
      if (stopped) return;
      stopped = true;
      api.closeAllConnections?.();
      await Promise.all([new Promise<void>((resolve) => smtp.close(() => resolve())), new Promise<void>((resolve) => api.close(() => resolve()))]);
    },
  };
}
