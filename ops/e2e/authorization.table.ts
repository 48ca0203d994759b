/**
 * Who may call what: every operation and federated field of the public API,
 * with the outcome per caller. docs/AUTHORIZATION.md shows this same table
 * (a test fails when the two differ); authorization.e2e.test.ts walks it
 * through the gateway.
 */
import { randomUUID } from "node:crypto";
import { testCard, type Account } from "@commerce/testing/e2e";

/** The callers of the table. `own`/`other`: a CUSTOMER acting on their own / someone else's data. */
export const COLUMNS = ["anonymous", "own", "other", "staff", "admin"] as const;
export type Column = (typeof COLUMNS)[number];

/** `data`: a non-null answer and no error; `null`: null and no error; else the exact `extensions.code`. */
export type Outcome = "data" | "null" | "FORBIDDEN" | "UNAUTHENTICATED" | "BAD_USER_INPUT";

/** What a row's variables are built from. */
export interface Target {
  column: Column;
  /** The caller (null when anonymous). */
  caller: Account | null;
  /** Whose data the call is about: the customer themself for `anonymous`/`own`, another customer for the rest. */
  owner: Account;
  fx: Fixtures;
}

/** Created once for the whole table (see the test's beforeAll). */
export interface Fixtures {
  admin: Account;
  /** A CONFIRMED order (paid, notified) of each customer. */
  orderOf(owner: Account): string;
  productId: string;
  deletedProductId: string;
  warehouseId: string;
  /** A fresh order of `owner`, PENDING (for cancelOrder). */
  pendingOrder(owner: Account): Promise<string>;
  /** A fresh order of `owner` moved to CONFIRMED / SHIPPED (for shipOrder / completeOrder). */
  confirmedOrder(owner: Account): Promise<string>;
  shippedOrder(owner: Account): Promise<string>;
  /** A fresh return of one unit of a shipped order of `owner`, REQUESTED / APPROVED. */
  requestedReturn(owner: Account): Promise<string>;
  approvedReturn(owner: Account): Promise<string>;
  /** A fresh refresh token (they rotate, so each call needs its own). */
  refreshToken(): Promise<string>;
  /** The payment of {@link orderOf}. */
  paymentOf(owner: Account): string;
}

export const SUBGRAPHS = ["user", "product", "order", "payment", "notification"] as const;
export type Subgraph = (typeof SUBGRAPHS)[number];

export interface Row {
  /** Unique; the first column of the table in docs/AUTHORIZATION.md. */
  name: string;
  query: string;
  variables?: (target: Target) => Record<string, unknown> | Promise<Record<string, unknown>>;
  /** The value the outcome is about, e.g. `data.order.user.wallet`. */
  pick: (data: Record<string, any>) => unknown;
  expect: Record<Column, Outcome>;
  /** Extra checks on an allowed answer (e.g. a customer's list holds only their own orders). */
  verify?: (value: any, target: Target) => void;
  /** Served by the gateway over graphql-ws. */
  subscription?: boolean;
  /**
   * The one subgraph that serves the whole query: the test also sends it there straight, signed as
   * the caller the way the gateway signs, and expects the same outcome.
   */
  direct?: Subgraph;
  /** Sent only straight to `direct` (`_entities`, which the gateway does not expose). */
  directOnly?: boolean;
}

const everyone: Record<Column, Outcome> = { anonymous: "data", own: "data", other: "data", staff: "data", admin: "data" };
const signedIn: Record<Column, Outcome> = { anonymous: "UNAUTHENTICATED", own: "data", other: "data", staff: "data", admin: "data" };
const ownerStaffAdmin: Record<Column, Outcome> = { anonymous: "UNAUTHENTICATED", own: "data", other: "FORBIDDEN", staff: "data", admin: "data" };
const ownerAdmin: Record<Column, Outcome> = { anonymous: "UNAUTHENTICATED", own: "data", other: "FORBIDDEN", staff: "FORBIDDEN", admin: "data" };
const ownerOnly: Record<Column, Outcome> = { anonymous: "UNAUTHENTICATED", own: "data", other: "FORBIDDEN", staff: "FORBIDDEN", admin: "FORBIDDEN" };
const staffAdmin: Record<Column, Outcome> = { anonymous: "UNAUTHENTICATED", own: "FORBIDDEN", other: "FORBIDDEN", staff: "data", admin: "data" };
const adminOnly: Record<Column, Outcome> = { anonymous: "UNAUTHENTICATED", own: "FORBIDDEN", other: "FORBIDDEN", staff: "FORBIDDEN", admin: "data" };
const meOnly: Record<Column, Outcome> = { anonymous: "null", own: "data", other: "data", staff: "data", admin: "data" };

const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;
const order = (t: Target) => ({ id: t.fx.orderOf(t.owner) });
/** An order's field, reached through `order(id)`: the owner check of the order comes first. */
const orderField = (name: string, selection: string, expect: Record<Column, Outcome>, pick: (order: any) => unknown, direct?: Subgraph): Row => ({
  name,
  query: `query($id: ID!) { order(id: $id) { id ${selection} } }`,
  variables: order,
  pick: (data) => (data.order === null || data.order === undefined ? null : pick(data.order)),
  expect,
  direct,
});

/**
 * An entity of the owner's data (or one of its fields) asked of `subgraph` through `_entities`, as the
 * gateway asks for it: the same rule must hold as when a root field leads to it.
 */
const entity = (
  subgraph: Subgraph,
  typename: string,
  selection: string,
  id: (t: Target) => string,
  expect: Record<Column, Outcome>,
  field?: string,
): Row => ({
  name: `${subgraph}: _entities ${typename}${field ? `.${field}` : ""}`,
  query: `query($r: [_Any!]!) { _entities(representations: $r) { ... on ${typename} { id ${selection} } } }`,
  variables: (t) => ({ r: [{ __typename: typename, id: id(t) }] }),
  pick: (data) => {
    const found = data._entities?.[0];
    return field ? (found?.[field] ?? null) : (found ?? null);
  },
  expect,
  direct: subgraph,
  directOnly: true,
});
const orderId = (t: Target) => t.fx.orderOf(t.owner);
const userId = (t: Target) => t.owner.id;

export const TABLE: Row[] = [
  // ── user ─────────────────────────────────────────────────────────────────────────────
  { name: "me", query: `{ me { id email role } }`, pick: (d) => d.me, expect: meOnly, direct: "user" },
  {
    name: "register",
    query: `mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }`,
    variables: () => ({ input: { email: `${unique("authz")}@example.com`, password: "authz-password-123", name: "Authz" } }),
    pick: (d) => d.register,
    expect: everyone,
    direct: "user",
  },
  {
    name: "login",
    query: `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`,
    variables: (t) => ({ e: t.owner.email, p: "e2e-password-123" }),
    pick: (d) => d.login,
    expect: everyone,
    direct: "user",
  },
  {
    name: "refreshToken",
    query: `mutation($r: String!) { refreshToken(refreshToken: $r) { accessToken } }`,
    variables: async (t) => ({ r: await t.fx.refreshToken() }),
    pick: (d) => d.refreshToken,
    expect: everyone,
    direct: "user",
  },
  {
    // `own`: a customer promoting themself to ADMIN.
    name: "setUserRole",
    query: `mutation($id: ID!) { setUserRole(userId: $id, role: ADMIN) { id role } }`,
    variables: async (t) => {
      if (t.column !== "admin") return { id: t.owner.id };
      const { register } = await t.fx.admin.client.request<{ register: { user: { id: string } } }>(
        `mutation($input: RegisterInput!) { register(input: $input) { user { id } } }`,
        { input: { email: `${unique("promoted")}@example.com`, password: "authz-password-123", name: "Promoted" } },
      );
      return { id: register.user.id };
    },
    pick: (d) => d.setUserRole,
    expect: adminOnly,
    direct: "user",
  },
  { name: "userAuditLog", query: `{ userAuditLog(first: 5) { totalCount } }`, pick: (d) => d.userAuditLog, expect: adminOnly, direct: "user" },
  {
    name: "users",
    query: `{ users(first: 5) { totalCount edges { node { id email role } } } }`,
    pick: (d) => d.users,
    expect: staffAdmin,
    direct: "user",
  },
  {
    name: "logout",
    query: `mutation($r: String!) { logout(refreshToken: $r) }`,
    variables: async (t) => ({ r: await t.fx.refreshToken() }),
    pick: (d) => d.logout,
    expect: everyone,
  },
  {
    // Always one's own password; a wrong current one shows the call was allowed without changing anything.
    name: "changePassword",
    query: `mutation { changePassword(currentPassword: "not-the-password", newPassword: "a brand new secret") }`,
    pick: (d) => d.changePassword,
    expect: { anonymous: "UNAUTHENTICATED", own: "BAD_USER_INPUT", other: "BAD_USER_INPUT", staff: "BAD_USER_INPUT", admin: "BAD_USER_INPUT" },
  },
  {
    name: "requestPasswordReset",
    query: `mutation($e: String!) { requestPasswordReset(email: $e) }`,
    variables: (t) => ({ e: t.owner.email }),
    pick: (d) => d.requestPasswordReset,
    expect: everyone,
  },
  {
    // The mailed token is the only credential: who calls does not matter.
    name: "resetPassword",
    query: `mutation { resetPassword(token: "not-a-mailed-token", newPassword: "a brand new secret") { accessToken } }`,
    pick: (d) => d.resetPassword,
    expect: { anonymous: "BAD_USER_INPUT", own: "BAD_USER_INPUT", other: "BAD_USER_INPUT", staff: "BAD_USER_INPUT", admin: "BAD_USER_INPUT" },
  },

  // ── product ──────────────────────────────────────────────────────────────────────────
  {
    name: "product",
    query: `query($id: ID!) { product(id: $id) { id available } }`,
    variables: (t) => ({ id: t.fx.productId }),
    pick: (d) => d.product,
    expect: everyone,
    direct: "product",
  },
  {
    name: "product (deleted)",
    query: `query($id: ID!) { product(id: $id) { id } }`,
    variables: (t) => ({ id: t.fx.deletedProductId }),
    pick: (d) => d.product,
    expect: { anonymous: "null", own: "null", other: "null", staff: "data", admin: "data" },
    direct: "product",
  },
  {
    name: "products",
    query: `{ products(first: 5) { totalCount edges { node { id } } } }`,
    pick: (d) => d.products,
    expect: everyone,
    direct: "product",
  },
  { name: "categories", query: `{ categories { id } }`, pick: (d) => d.categories, expect: everyone, direct: "product" },
  { name: "warehouses", query: `{ warehouses { id } }`, pick: (d) => d.warehouses, expect: staffAdmin, direct: "product" },
  {
    name: "Product.stock",
    query: `query($id: ID!) { product(id: $id) { id stock { onHand reserved warehouse { code } } } }`,
    variables: (t) => ({ id: t.fx.productId }),
    pick: (d) => d.product?.stock ?? null,
    expect: staffAdmin,
    direct: "product",
  },
  {
    name: "createCategory",
    query: `mutation($n: String!) { createCategory(name: $n) { id } }`,
    variables: () => ({ n: unique("cat") }),
    pick: (d) => d.createCategory,
    expect: adminOnly,
    direct: "product",
  },
  {
    name: "createWarehouse",
    query: `mutation($c: String!) { createWarehouse(code: $c, name: "authz") { id } }`,
    variables: () => ({ c: unique("WH").toUpperCase() }),
    pick: (d) => d.createWarehouse,
    expect: adminOnly,
    direct: "product",
  },
  {
    name: "createProduct",
    query: `mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }`,
    variables: () => ({ input: { sku: unique("AUTHZ"), name: "authz", price: { amount: 100, currency: "USD" } } }),
    pick: (d) => d.createProduct,
    expect: adminOnly,
    direct: "product",
  },
  {
    name: "updateProduct",
    query: `mutation($id: ID!) { updateProduct(id: $id, input: { description: "updated by the authorization table" }) { id } }`,
    variables: (t) => ({ id: t.fx.productId }),
    pick: (d) => d.updateProduct,
    expect: adminOnly,
    direct: "product",
  },
  {
    name: "deleteProduct",
    query: `mutation($id: ID!) { deleteProduct(id: $id) }`,
    // Refused calls aim at the shared product; the allowed one deletes one of its own.
    variables: async (t) => {
      if (t.column !== "admin") return { id: t.fx.productId };
      const { createProduct } = await t.fx.admin.client.request<{ createProduct: { id: string } }>(
        `mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }`,
        { input: { sku: unique("DEL"), name: "to delete", price: { amount: 100, currency: "USD" } } },
      );
      return { id: createProduct.id };
    },
    pick: (d) => d.deleteProduct,
    expect: adminOnly,
    direct: "product",
  },
  {
    name: "adjustStock",
    query: `mutation($p: ID!, $w: ID!) { adjustStock(productId: $p, warehouseId: $w, delta: 1, reason: "authz") { onHand } }`,
    variables: (t) => ({ p: t.fx.productId, w: t.fx.warehouseId }),
    pick: (d) => d.adjustStock,
    expect: staffAdmin,
    direct: "product",
  },
  {
    name: "productAuditLog",
    query: `{ productAuditLog(first: 5) { totalCount } }`,
    pick: (d) => d.productAuditLog,
    expect: adminOnly,
    direct: "product",
  },

  // ── order ────────────────────────────────────────────────────────────────────────────
  orderField("order", "status", ownerStaffAdmin, (o) => o, "order"),
  {
    name: "order (unknown id)",
    query: `query($id: ID!) { order(id: $id) { id } }`,
    variables: () => ({ id: randomUUID() }),
    pick: (d) => d.order,
    expect: { anonymous: "UNAUTHENTICATED", own: "null", other: "null", staff: "null", admin: "null" },
    direct: "order",
  },
  {
    name: "orders",
    query: `{ orders(first: 100) { totalCount edges { node { id user { id } } } } }`,
    pick: (d) => d.orders,
    expect: signedIn,
    direct: "order",
    // A customer sees only their own orders; STAFF and ADMIN see other people's too.
    verify: (orders, t) => {
      const owners = new Set(orders.edges.map((edge: any) => edge.node.user.id));
      if (t.column === "own" || t.column === "other") expect([...owners]).toEqual([t.caller!.id]);
      else expect(owners.has(t.owner.id)).toBe(true);
    },
  },
  {
    name: "orders (filter: userId)",
    query: `query($u: ID!) { orders(filter: { userId: $u }, first: 100) { totalCount edges { node { id user { id } } } } }`,
    variables: (t) => ({ u: t.owner.id }),
    pick: (d) => d.orders,
    expect: { anonymous: "UNAUTHENTICATED", own: "data", other: "FORBIDDEN", staff: "data", admin: "data" },
    verify: (orders, t) => {
      const owners = new Set(orders.edges.map((edge: any) => edge.node.user.id));
      expect([...owners]).toEqual([t.owner.id]);
    },
  },
  {
    name: "placeOrder",
    query: `mutation($p: ID!) { placeOrder(input: { items: [{ productId: $p, quantity: 1 }] }) { id status } }`,
    variables: (t) => ({ p: t.fx.productId }),
    pick: (d) => d.placeOrder,
    expect: signedIn,
    direct: "order",
  },
  {
    name: "cancelOrder",
    query: `mutation($id: ID!) { cancelOrder(id: $id, reason: "authorization table") { id status } }`,
    variables: async (t) => ({
      id: t.column === "own" || t.column === "staff" || t.column === "admin" ? await t.fx.pendingOrder(t.owner) : t.fx.orderOf(t.owner),
    }),
    pick: (d) => d.cancelOrder,
    expect: ownerStaffAdmin,
    direct: "order",
  },
  {
    name: "shipOrder",
    query: `mutation($id: ID!) { shipOrder(id: $id) { id status } }`,
    variables: async (t) => ({ id: t.column === "staff" || t.column === "admin" ? await t.fx.confirmedOrder(t.owner) : t.fx.orderOf(t.owner) }),
    pick: (d) => d.shipOrder,
    expect: staffAdmin,
    direct: "order",
  },
  {
    name: "completeOrder",
    query: `mutation($id: ID!) { completeOrder(id: $id) { id status } }`,
    variables: async (t) => ({ id: t.column === "staff" || t.column === "admin" ? await t.fx.shippedOrder(t.owner) : t.fx.orderOf(t.owner) }),
    pick: (d) => d.completeOrder,
    expect: staffAdmin,
    direct: "order",
  },
  {
    name: "requestReturn",
    query: `mutation($id: ID!, $p: ID!) { requestReturn(input: { orderId: $id, lines: [{ productId: $p, quantity: 1 }], reason: "authorization table" }) { id status } }`,
    // Only the customer who placed the order may return it: STAFF and ADMIN act on returns, they do not open them.
    variables: async (t) => ({ id: t.column === "own" ? await t.fx.shippedOrder(t.owner) : t.fx.orderOf(t.owner), p: t.fx.productId }),
    pick: (d) => d.requestReturn,
    expect: ownerOnly,
  },
  {
    name: "approveReturn",
    query: `mutation($id: ID!) { approveReturn(id: $id) { id status } }`,
    variables: async (t) => ({ id: t.column === "staff" || t.column === "admin" ? await t.fx.requestedReturn(t.owner) : randomUUID() }),
    pick: (d) => d.approveReturn,
    expect: staffAdmin,
  },
  {
    name: "rejectReturn",
    query: `mutation($id: ID!) { rejectReturn(id: $id, reason: "authorization table") { id status } }`,
    variables: async (t) => ({ id: t.column === "staff" || t.column === "admin" ? await t.fx.requestedReturn(t.owner) : randomUUID() }),
    pick: (d) => d.rejectReturn,
    expect: staffAdmin,
  },
  {
    name: "receiveReturn",
    query: `mutation($id: ID!, $w: ID!) { receiveReturn(id: $id, warehouseId: $w) { id status } }`,
    variables: async (t) => ({
      id: t.column === "staff" || t.column === "admin" ? await t.fx.approvedReturn(t.owner) : randomUUID(),
      w: t.fx.warehouseId,
    }),
    pick: (d) => d.receiveReturn,
    expect: staffAdmin,
  },
  { name: "returns", query: `{ returns(first: 5) { totalCount edges { node { id order { id } } } } }`, pick: (d) => d.returns, expect: staffAdmin },
  orderField("Order.returns", "returns { id status lines { quantity } statusHistory { status } }", ownerStaffAdmin, (o) => o.returns),
  orderField("Order.items", "items { quantity product { id name } }", ownerStaffAdmin, (o) => o.items),
  orderField("Order.statusHistory", "statusHistory { status at }", ownerStaffAdmin, (o) => o.statusHistory, "order"),
  orderField("Order.user", "user { id email name }", ownerStaffAdmin, (o) => o.user),
  // An operator's view of the saga (event ids, actors): ADMIN only, even for the order's owner.
  orderField(
    "Order.timeline",
    "timeline { at kind description }",
    { anonymous: "UNAUTHENTICATED", own: "FORBIDDEN", other: "FORBIDDEN", staff: "FORBIDDEN", admin: "data" },
    (o) => o.timeline,
    "order",
  ),
  orderField("Order.user.orders", "user { id orders(first: 5) { totalCount } }", ownerStaffAdmin, (o) => o.user?.orders, "order"),
  { name: "User.orders (me)", query: `{ me { id orders(first: 5) { totalCount } } }`, pick: (d) => d.me?.orders ?? null, expect: meOnly },
  { name: "orderAuditLog", query: `{ orderAuditLog(first: 5) { totalCount } }`, pick: (d) => d.orderAuditLog, expect: adminOnly, direct: "order" },
  {
    name: "orderStatusChanged",
    subscription: true,
    query: `subscription($id: ID!) { orderStatusChanged(orderId: $id) { id status user { id } } }`,
    variables: order,
    pick: (d) => d.orderStatusChanged,
    expect: ownerStaffAdmin,
  },

  // ── payment ──────────────────────────────────────────────────────────────────────────
  orderField("Order.payment", "payment { id status amount { amount } invoice { number } }", ownerStaffAdmin, (o) => o.payment),
  // Wallets are private: STAFF may read someone's order, but not the balance behind it.
  orderField("Order.user.wallet", "user { id wallet { balance { amount } } }", ownerAdmin, (o) => o.user?.wallet),
  { name: "User.wallet (me)", query: `{ me { id wallet { balance { amount currency } } } }`, pick: (d) => d.me?.wallet ?? null, expect: meOnly },
  orderField("Order.user.wallet.entries", "user { id wallet { entries(first: 5) { totalCount } } }", ownerAdmin, (o) => o.user?.wallet?.entries),
  {
    name: "User.wallet.entries (me)",
    query: `{ me { id wallet { entries(first: 5) { totalCount } } } }`,
    pick: (d) => d.me?.wallet?.entries ?? null,
    expect: meOnly,
  },
  {
    // A customer tops up with a card, their own wallet only; STAFF and ADMIN credit anyone's with a reason.
    name: "topUpWallet",
    query: `mutation($u: ID!, $card: CardInput, $reason: String) { topUpWallet(userId: $u, amount: { amount: 100, currency: "USD" }, card: $card, reason: $reason) { balance { amount } } }`,
    variables: (t) =>
      t.column === "staff" || t.column === "admin" ? { u: t.owner.id, reason: "authorization table" } : { u: t.owner.id, card: testCard() },
    pick: (d) => d.topUpWallet,
    expect: ownerStaffAdmin,
    direct: "payment",
  },
  {
    name: "paymentAuditLog",
    query: `{ paymentAuditLog(first: 5) { totalCount } }`,
    pick: (d) => d.paymentAuditLog,
    expect: adminOnly,
    direct: "payment",
  },

  // ── notification ─────────────────────────────────────────────────────────────────────
  orderField("Order.notifications", "notifications { channel template status }", ownerStaffAdmin, (o) => o.notifications),
  orderField("Order.user.notifications", "user { id notifications(first: 5) { totalCount } }", ownerStaffAdmin, (o) => o.user?.notifications),
  // Preferences are the user's own business: nobody else reads them, ADMIN included.
  orderField(
    "Order.user.notificationPreferences",
    "user { id notificationPreferences { email inApp sms } }",
    ownerOnly,
    (o) => o.user?.notificationPreferences,
  ),
  {
    name: "User.notifications (me)",
    query: `{ me { id notifications(first: 5) { totalCount } } }`,
    pick: (d) => d.me?.notifications ?? null,
    expect: meOnly,
  },
  {
    name: "User.notificationPreferences (me)",
    query: `{ me { id notificationPreferences { email inApp sms } } }`,
    pick: (d) => d.me?.notificationPreferences ?? null,
    expect: meOnly,
  },
  {
    name: "updateNotificationPreferences",
    query: `mutation { updateNotificationPreferences(sms: false) { email inApp sms } }`,
    pick: (d) => d.updateNotificationPreferences,
    expect: signedIn,
    direct: "notification",
  },
  // Sales analytics, read from the notification service's projection: STAFF and ADMIN.
  {
    name: "salesReport",
    query: `{ salesReport(from: "2026-01-01T00:00:00Z", to: "2026-12-31T00:00:00Z", groupBy: PRODUCT) { key orders revenue { amount } } }`,
    pick: (d) => d.salesReport,
    expect: staffAdmin,
    direct: "notification",
  },
  {
    name: "orderStats",
    query: `{ orderStats(from: "2026-01-01T00:00:00Z", to: "2026-12-31T00:00:00Z") { byStatus { status count } confirmP50Ms } }`,
    pick: (d) => d.orderStats,
    expect: staffAdmin,
    direct: "notification",
  },
  {
    name: "notificationTemplates",
    query: `{ notificationTemplates { key channel } }`,
    pick: (d) => d.notificationTemplates,
    expect: adminOnly,
    direct: "notification",
  },
  {
    name: "upsertNotificationTemplate",
    query: `mutation { upsertNotificationTemplate(key: "order_shipped", channel: SMS, body: "Order {{orderId}} is on its way.") { key } }`,
    pick: (d) => d.upsertNotificationTemplate,
    expect: adminOnly,
    direct: "notification",
  },
  {
    name: "notificationAuditLog",
    query: `{ notificationAuditLog(first: 5) { totalCount } }`,
    pick: (d) => d.notificationAuditLog,
    expect: adminOnly,
    direct: "notification",
  },

  // ── straight to each subgraph, through `_entities` ───────────────────────────────────
  entity("user", "User", "email role name", userId, ownerStaffAdmin),
  entity("product", "Product", "name price { amount }", (t) => t.fx.productId, everyone),
  entity("product", "Product", "stock { onHand }", (t) => t.fx.productId, staffAdmin, "stock"),
  entity("order", "Order", "status total { amount } items { quantity } statusHistory { status } user { id }", orderId, ownerStaffAdmin),
  entity("order", "Order", "timeline { kind }", orderId, adminOnly, "timeline"),
  entity("order", "User", "orders(first: 5) { totalCount }", userId, ownerStaffAdmin, "orders"),
  entity("payment", "Payment", "status amount { amount } invoice { number }", (t) => t.fx.paymentOf(t.owner), ownerStaffAdmin),
  entity("payment", "Order", "payment { id status }", orderId, ownerStaffAdmin, "payment"),
  entity("payment", "User", "wallet { balance { amount } }", userId, ownerAdmin, "wallet"),
  entity("notification", "Order", "notifications { channel template }", orderId, ownerStaffAdmin, "notifications"),
  entity("notification", "User", "notifications(first: 5) { totalCount }", userId, ownerStaffAdmin, "notifications"),
  entity("notification", "User", "notificationPreferences { email }", userId, ownerOnly, "notificationPreferences"),
];
