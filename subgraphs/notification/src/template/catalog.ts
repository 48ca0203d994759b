import type { Channel } from "../notification/notification.entity";

/** Every template key this service renders, with the placeholders its data provides. */
export const TEMPLATE_VARIABLES = {
  welcome: ["name", "email"],
  // orderName: what the customer called the order, or its id when they gave it no name.
  order_confirmed: ["name", "orderId", "orderName", "total"],
  payment_failed: ["name", "orderId", "orderName", "amount", "reason"],
  out_of_stock: ["name", "orderId", "orderName", "reason"],
  order_cancelled: ["name", "orderId", "orderName", "reason", "refund"],
  payment_refunded: ["name", "orderId", "orderName", "amount"],
  order_shipped: ["name", "orderId", "orderName"],
  order_completed: ["name", "orderId", "orderName"],
  low_stock: ["name", "sku", "productName", "available", "threshold"],
  // A return's steps; units: how many items go back ("3 items").
  return_requested: ["name", "orderId", "orderName", "units", "reason"],
  return_approved: ["name", "orderId", "orderName"],
  return_rejected: ["name", "orderId", "orderName", "reason"],
  return_received: ["name", "orderId", "orderName", "units"],
  return_refunded: ["name", "orderId", "orderName", "amount"],
} as const;

export type TemplateKey = keyof typeof TEMPLATE_VARIABLES;
export const TEMPLATE_KEYS = Object.keys(TEMPLATE_VARIABLES) as TemplateKey[];
export const isTemplateKey = (key: string): key is TemplateKey => Object.prototype.hasOwnProperty.call(TEMPLATE_VARIABLES, key);

/** The values a template is rendered with; amounts are already formatted (`$12.34`). */
export type TemplateData<K extends TemplateKey = TemplateKey> = { [V in (typeof TEMPLATE_VARIABLES)[K][number]]: string | number };

export interface DefaultTemplate {
  key: TemplateKey;
  channel: Channel;
  subject: string | null;
  body: string;
}

// E-mail bodies are HTML (values are escaped when rendered); in-app and SMS bodies are plain text.
const email = (key: TemplateKey, subject: string, body: string): DefaultTemplate => ({ key, channel: "EMAIL", subject, body });
const inApp = (key: TemplateKey, body: string): DefaultTemplate => ({ key, channel: "IN_APP", subject: null, body });
const sms = (key: TemplateKey, body: string): DefaultTemplate => ({ key, channel: "SMS", subject: null, body });

/**
 * Seeded on start when missing; an ADMIN's edits are kept. Every key has a template on every channel:
 * preferences switch channels, not kinds, so a user who turns SMS on (STAFF included, for low stock)
 * gets every kind of notification by SMS too.
 */
export const DEFAULT_TEMPLATES: DefaultTemplate[] = [
  email("welcome", "Welcome, {{name}}", "<p>Hi {{name}},</p><p>Welcome aboard! You can sign in as {{email}}.</p>"),
  inApp("welcome", "Welcome, {{name}}!"),
  sms("welcome", "Welcome, {{name}}!"),
  email(
    "order_confirmed",
    "Order {{orderName}} confirmed",
    "<p>Hi {{name}},</p><p>We received your payment of {{total}}; order {{orderName}} is confirmed.</p>",
  ),
  inApp("order_confirmed", "Order {{orderName}} is confirmed ({{total}})."),
  sms("order_confirmed", "Order {{orderName}} confirmed: {{total}}."),
  email(
    "payment_failed",
    "Payment for order {{orderName}} failed",
    "<p>Hi {{name}},</p><p>We could not take {{amount}} for order {{orderName}}: {{reason}}.</p>",
  ),
  inApp("payment_failed", "Payment of {{amount}} for order {{orderName}} failed: {{reason}}."),
  sms("payment_failed", "Payment for order {{orderName}} failed: {{reason}}."),
  email(
    "out_of_stock",
    "Order {{orderName}} could not be fulfilled",
    "<p>Hi {{name}},</p><p>Sorry, order {{orderName}} is out of stock: {{reason}}. You have not been charged.</p>",
  ),
  inApp("out_of_stock", "Order {{orderName}} is out of stock: {{reason}}."),
  sms("out_of_stock", "Order {{orderName}} is out of stock: {{reason}}. You have not been charged."),
  email(
    "order_cancelled",
    "Order {{orderName}} cancelled",
    "<p>Hi {{name}},</p><p>Order {{orderName}} was cancelled: {{reason}}.</p><p>{{refund}}</p>",
  ),
  inApp("order_cancelled", "Order {{orderName}} was cancelled: {{reason}}. {{refund}}"),
  sms("order_cancelled", "Order {{orderName}} cancelled. {{refund}}"),
  email(
    "payment_refunded",
    "Refund for order {{orderName}}",
    "<p>Hi {{name}},</p><p>We refunded {{amount}} for order {{orderName}} to your wallet.</p>",
  ),
  inApp("payment_refunded", "Refunded {{amount}} for order {{orderName}}."),
  sms("payment_refunded", "Refunded {{amount}} for order {{orderName}}."),
  email("order_shipped", "Order {{orderName}} shipped", "<p>Hi {{name}},</p><p>Order {{orderName}} is on its way.</p>"),
  inApp("order_shipped", "Order {{orderName}} has shipped."),
  sms("order_shipped", "Order {{orderName}} has shipped."),
  email(
    "order_completed",
    "Order {{orderName}} completed",
    "<p>Hi {{name}},</p><p>Order {{orderName}} is complete. Thank you for shopping with us!</p>",
  ),
  inApp("order_completed", "Order {{orderName}} is complete."),
  sms("order_completed", "Order {{orderName}} is complete."),
  email("low_stock", "Low stock: {{sku}}", "<p>Hi {{name}},</p><p>{{productName}} ({{sku}}) is down to {{available}} (threshold {{threshold}}).</p>"),
  inApp("low_stock", "Low stock: {{productName}} ({{sku}}) has {{available}} left (threshold {{threshold}})."),
  sms("low_stock", "Low stock: {{sku}} has {{available}} left (threshold {{threshold}})."),
  email(
    "return_requested",
    "Return of order {{orderName}} requested",
    "<p>Hi {{name}},</p><p>We received your request to return {{units}} from order {{orderName}} ({{reason}}). We will tell you once it is reviewed.</p>",
  ),
  inApp("return_requested", "Return requested for order {{orderName}}: {{units}}."),
  sms("return_requested", "Return requested for order {{orderName}}: {{units}}."),
  email(
    "return_approved",
    "Return of order {{orderName}} approved",
    "<p>Hi {{name}},</p><p>Your return from order {{orderName}} is approved: please send the goods back.</p>",
  ),
  inApp("return_approved", "Your return from order {{orderName}} is approved: please send the goods back."),
  sms("return_approved", "Return from order {{orderName}} approved: please send the goods back."),
  email(
    "return_rejected",
    "Return of order {{orderName}} declined",
    "<p>Hi {{name}},</p><p>We could not accept your return from order {{orderName}}: {{reason}}.</p>",
  ),
  inApp("return_rejected", "Your return from order {{orderName}} was declined: {{reason}}."),
  sms("return_rejected", "Return from order {{orderName}} declined: {{reason}}."),
  email(
    "return_received",
    "Return of order {{orderName}} received",
    "<p>Hi {{name}},</p><p>We received {{units}} from order {{orderName}}; your refund is on its way.</p>",
  ),
  inApp("return_received", "We received {{units}} from order {{orderName}}; your refund is on its way."),
  sms("return_received", "Return from order {{orderName}} received; refund on its way."),
  email(
    "return_refunded",
    "Refund for your return of order {{orderName}}",
    "<p>Hi {{name}},</p><p>We refunded {{amount}} to your wallet for your return from order {{orderName}}.</p>",
  ),
  inApp("return_refunded", "Refunded {{amount}} for your return from order {{orderName}}."),
  sms("return_refunded", "Refunded {{amount}} for your return from order {{orderName}}."),
];
