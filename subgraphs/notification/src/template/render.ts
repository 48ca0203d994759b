const PLACEHOLDER = /\{\{\s*([A-Za-z_][\w.]*)\s*\}\}/g;

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char]);
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
    const value = path.split(".").reduce<unknown>((node, key) => (node && typeof node === "object" ? (node as Record<string, unknown>)[key] : undefined), data);
    const text = value === undefined || value === null ? "" : String(value);
    return html ? escapeHtml(text) : text;
  });
  // An optional part left empty (the refund sentence of a cancellation before any payment) leaves
  // no empty paragraph or stray spaces behind.
  return html ? rendered.replace(/<p>\s*<\/p>/g, "") : rendered.replace(/[ \t]{2,}/g, " ").trim();
}
