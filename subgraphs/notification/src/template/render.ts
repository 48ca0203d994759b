const PLACEHOLDER = /\{\{\s*([A-Za-z_][\w.]*)\s*\}\}/g;

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char]);
}

/** A placeholder that stands alone, not inside a longer run of braces (the `{{name}}` of `{{{name}}}`). */
const STANDALONE_PLACEHOLDER = new RegExp(`(?<!\\{)${PLACEHOLDER.source}(?!\\})`, "g");

/**
 * Whether a template has a `{{` or `}}` that is not exactly a placeholder's: a typo (`Hi {{name`,
 * `{{{name}}}`) that would reach customers as is. Single braces (CSS in an e-mail) are text.
 */
export function hasStrayBraces(template: string): boolean {
  const leftover = template.replace(STANDALONE_PLACEHOLDER, " ");
  return leftover.includes("{{") || leftover.includes("}}");
}

/** The placeholder names a template uses, e.g. `["name", "orderId"]`. */
export function placeholders(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((match) => match[1]);
}

/**
 * Replaces `{{path}}` placeholders (dotted paths into `data`) with their values;
 * a missing value renders as nothing. With `html`, values are escaped — the
 * template itself is trusted (ADMIN-written) HTML, the data is not.
 */
export function render(template: string, data: Record<string, unknown>, { html = false } = {}): string {
  const rendered = template.replace(PLACEHOLDER, (_match, path: string) => {
    const value = path
      .split(".")
      .reduce<unknown>((node, key) => (node && typeof node === "object" ? (node as Record<string, unknown>)[key] : undefined), data);
    const text = value === undefined || value === null ? "" : String(value);
    return html ? escapeHtml(text) : text;
  });
  // An optional part left empty (the refund sentence of a cancellation before any payment) leaves
  // no empty paragraph or stray spaces behind.
  return html ? rendered.replace(/<p>\s*<\/p>/g, "") : rendered.replace(/[ \t]{2,}/g, " ").trim();
}
