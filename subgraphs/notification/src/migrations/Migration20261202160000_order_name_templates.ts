import { Migration } from "@mikro-orm/migrations";

/**
 * The default templates as they were before `{{orderName}}` existed: [key, channel, subject, body].
 * A row still holding one of them, unedited, is moved to the new default (the same text with
 * `{{orderName}}` where it said `{{orderId}}`, which for an order without a name reads the same).
 * A template an ADMIN edited is left as they wrote it.
 */
const OLD_DEFAULTS: [string, string, string | null, string][] = [
  [
    "order_confirmed",
    "EMAIL",
    "Order {{orderId}} confirmed",
    "<p>Hi {{name}},</p><p>We received your payment of {{total}}; order {{orderId}} is confirmed.</p>",
  ],
  ["order_confirmed", "IN_APP", null, "Order {{orderId}} is confirmed ({{total}})."],
  ["order_confirmed", "SMS", null, "Order {{orderId}} confirmed: {{total}}."],
  [
    "payment_failed",
    "EMAIL",
    "Payment for order {{orderId}} failed",
    "<p>Hi {{name}},</p><p>We could not take {{amount}} for order {{orderId}}: {{reason}}.</p>",
  ],
  ["payment_failed", "IN_APP", null, "Payment of {{amount}} for order {{orderId}} failed: {{reason}}."],
  ["payment_failed", "SMS", null, "Payment for order {{orderId}} failed: {{reason}}."],
  [
    "out_of_stock",
    "EMAIL",
    "Order {{orderId}} could not be fulfilled",
    "<p>Hi {{name}},</p><p>Sorry, order {{orderId}} is out of stock: {{reason}}. You have not been charged.</p>",
  ],
  ["out_of_stock", "IN_APP", null, "Order {{orderId}} is out of stock: {{reason}}."],
  ["out_of_stock", "SMS", null, "Order {{orderId}} is out of stock: {{reason}}. You have not been charged."],
  [
    "order_cancelled",
    "EMAIL",
    "Order {{orderId}} cancelled",
    "<p>Hi {{name}},</p><p>Order {{orderId}} was cancelled: {{reason}}.</p><p>{{refund}}</p>",
  ],
  ["order_cancelled", "IN_APP", null, "Order {{orderId}} was cancelled: {{reason}}. {{refund}}"],
  ["order_cancelled", "SMS", null, "Order {{orderId}} cancelled. {{refund}}"],
  [
    "payment_refunded",
    "EMAIL",
    "Refund for order {{orderId}}",
    "<p>Hi {{name}},</p><p>We refunded {{amount}} for order {{orderId}} to your wallet.</p>",
  ],
  ["payment_refunded", "IN_APP", null, "Refunded {{amount}} for order {{orderId}}."],
  ["payment_refunded", "SMS", null, "Refunded {{amount}} for order {{orderId}}."],
  ["order_shipped", "EMAIL", "Order {{orderId}} shipped", "<p>Hi {{name}},</p><p>Order {{orderId}} is on its way.</p>"],
  ["order_shipped", "IN_APP", null, "Order {{orderId}} has shipped."],
  ["order_shipped", "SMS", null, "Order {{orderId}} has shipped."],
  [
    "order_completed",
    "EMAIL",
    "Order {{orderId}} completed",
    "<p>Hi {{name}},</p><p>Order {{orderId}} is complete. Thank you for shopping with us!</p>",
  ],
  ["order_completed", "IN_APP", null, "Order {{orderId}} is complete."],
  ["order_completed", "SMS", null, "Order {{orderId}} is complete."],
];

/** A SQL string literal (migrations take plain SQL). */
const literal = (value: string | null): string => (value === null ? "null" : `'${value.replace(/'/g, "''")}'`);

export class Migration20261202160000_order_name_templates extends Migration {
  override async up(): Promise<void> {
    for (const [key, channel, subject, body] of OLD_DEFAULTS) {
      this.addSql(
        `update templates set subject = replace(subject, '{{orderId}}', '{{orderName}}'), body = replace(body, '{{orderId}}', '{{orderName}}'), updated_at = now()
         where key = ${literal(key)} and channel = ${literal(channel)} and subject is not distinct from ${literal(subject)} and body = ${literal(body)};`,
      );
    }
  }

  /** Back to the old defaults, for rolling back to code that knows no `{{orderName}}` (it would render it empty). */
  override async down(): Promise<void> {
    for (const [key, channel, subject, body] of OLD_DEFAULTS) {
      const renamed = (text: string | null) => (text === null ? null : text.replaceAll("{{orderId}}", "{{orderName}}"));
      this.addSql(
        `update templates set subject = ${literal(subject)}, body = ${literal(body)}, updated_at = now()
         where key = ${literal(key)} and channel = ${literal(channel)} and subject is not distinct from ${literal(renamed(subject))} and body = ${literal(renamed(body)!)};`,
      );
    }
  }
}
