/**
 * A small MIME reader for the SMTP sink: headers (unfolded, RFC 2047 words decoded), and the first
 * text/plain and text/html parts of a (possibly nested multipart) message, with quoted-printable /
 * base64 transfer encodings and the declared charset decoded. Enough for what nodemailer sends.
 */

export interface ParsedMail {
  headers: Record<string, string>;
  subject: string;
  from: string;
  to: string[];
  text: string | null;
  html: string | null;
  attachments: { contentType: string; filename: string | null; size: number }[];
}

interface Part {
  headers: Record<string, string>;
  /** body as a binary (latin1) string: one char per byte */
  body: string;
}

function splitHeadersBody(raw: string): Part {
  const match = /\r?\n\r?\n/.exec(raw);
  const head = match ? raw.slice(0, match.index) : raw;
  const body = match ? raw.slice(match.index + match[0].length) : "";
  const headers: Record<string, string> = {};
  const unfolded = head.replace(/\r?\n[ \t]+/g, " ");
  for (const line of unfolded.split(/\r?\n/)) {
    const i = line.indexOf(":");
    if (i <= 0) continue;
    const name = line.slice(0, i).trim().toLowerCase();
    const value = line.slice(i + 1).trim();
    headers[name] = headers[name] !== undefined ? `${headers[name]}, ${value}` : value;
  }
  return { headers, body };
}

/** `text/plain; charset="utf-8"` → { value: 'text/plain', params: { charset: 'utf-8' } } */
export function parseHeaderValue(value: string | undefined): { value: string; params: Record<string, string> } {
  if (!value) return { value: "", params: {} };
  const [first, ...rest] = value.split(";");
  const params: Record<string, string> = {};
  for (const p of rest) {
    const i = p.indexOf("=");
    if (i < 0) continue;
    const key = p.slice(0, i).trim().toLowerCase().replace(/\*$/, "");
    let v = p.slice(i + 1).trim();
    if (v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    params[key] = v;
  }
  return { value: first.trim().toLowerCase(), params };
}

function bytesOf(binary: string): Buffer {
  return Buffer.from(binary, "latin1");
}

function decodeCharset(buf: Buffer, charset = "utf-8"): string {
  const cs = charset.toLowerCase();
  try {
    if (cs === "utf-8" || cs === "utf8" || cs === "us-ascii" || cs === "ascii") return buf.toString("utf8");
    return new TextDecoder(cs).decode(buf);
  } catch {
    return buf.toString("utf8");
  }
}

export function decodeQuotedPrintable(binary: string): Buffer {
  const soft = binary.replace(/=\r?\n/g, "");
  const bytes: number[] = [];
  for (let i = 0; i < soft.length; i++) {
    const c = soft[i];
    if (c === "=" && /^[0-9A-Fa-f]{2}$/.test(soft.slice(i + 1, i + 3))) {
      bytes.push(parseInt(soft.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(soft.charCodeAt(i) & 0xff);
  }
  return Buffer.from(bytes);
}

function decodeTransfer(body: string, encoding: string | undefined): Buffer {
  switch ((encoding ?? "").trim().toLowerCase()) {
    case "base64":
      return Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ""), "base64");
    case "quoted-printable":
      return decodeQuotedPrintable(body);
    default:
      return bytesOf(body);
  }
}

/** RFC 2047 encoded words: =?utf-8?Q?...?= / =?utf-8?B?...?= (adjacent words join without the space between). */
export function decodeWords(value: string): string {
  return value
    .replace(/(=\?[^?]+\?[bBqQ]\?[^?]*\?=)\s+(?==\?[^?]+\?[bBqQ]\?[^?]*\?=)/g, "$1")
    .replace(/=\?([^?]+)\?([bBqQ])\?([^?]*)\?=/g, (_m, charset: string, enc: string, text: string) => {
      const buf = enc.toUpperCase() === "B" ? Buffer.from(text, "base64") : decodeQuotedPrintable(text.replace(/_/g, " "));
      return decodeCharset(buf, charset.replace(/\*.*$/, ""));
    });
}

/** Addresses out of a header like `"Shop" <shop@example.com>, bob@example.com`. */
export function parseAddresses(value: string | undefined): string[] {
  if (!value) return [];
  const out: string[] = [];
  for (const piece of decodeWords(value).split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/)) {
    const angle = /<([^>]+)>/.exec(piece);
    const addr = (angle ? angle[1] : piece).trim().replace(/^"|"$/g, "");
    if (addr.includes("@")) out.push(addr);
  }
  return out;
}

function walk(part: Part, found: ParsedMail): void {
  const type = parseHeaderValue(part.headers["content-type"] ?? "text/plain");
  const disposition = parseHeaderValue(part.headers["content-disposition"]);
  if (type.value.startsWith("multipart/")) {
    const boundary = type.params.boundary;
    if (!boundary) return;
    const delimiter = `--${boundary}`;
    const pieces = part.body.split(delimiter);
    // pieces[0] is the preamble; a piece starting with "--" is the end marker (epilogue follows)
    for (const piece of pieces.slice(1)) {
      if (piece.startsWith("--")) break;
      const content = piece.replace(/^[ \t]*\r?\n/, "").replace(/\r?\n$/, "");
      walk(splitHeadersBody(content), found);
    }
    return;
  }
  if (type.value === "message/rfc822") {
    walk(splitHeadersBody(part.body), found);
    return;
  }
  const data = decodeTransfer(part.body, part.headers["content-transfer-encoding"]);
  const isAttachment = disposition.value === "attachment";
  if (!isAttachment && type.value === "text/plain" && found.text === null) {
    found.text = decodeCharset(data, type.params.charset);
  } else if (!isAttachment && type.value === "text/html" && found.html === null) {
    found.html = decodeCharset(data, type.params.charset);
  } else {
    found.attachments.push({
      contentType: type.value,
      filename: disposition.params.filename ?? type.params.name ?? null,
      size: data.length,
    });
  }
}

/** Parse a raw RFC 5322 message given as bytes. */
export function parseMail(raw: Buffer | string): ParsedMail {
  const binary = typeof raw === "string" ? Buffer.from(raw, "utf8").toString("latin1") : raw.toString("latin1");
  const top = splitHeadersBody(binary);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(top.headers)) headers[k] = decodeWords(decodeCharset(bytesOf(v)));
  const found: ParsedMail = {
    headers,
    subject: headers.subject ?? "",
    from: parseAddresses(headers.from)[0] ?? "",
    to: [...parseAddresses(headers.to), ...parseAddresses(headers.cc)],
    text: null,
    html: null,
    attachments: [],
  };
  walk(top, found);
  if (found.text !== null) found.text = found.text.replace(/\r\n/g, "\n");
  if (found.html !== null) found.html = found.html.replace(/\r\n/g, "\n");
  return found;
}
