import { UniqueConstraintViolationException, ref } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import { BadUserInputError, ConflictError, Money, type Runtime, type UserIdentity, isStaff, isUuid } from "@commerce/kit";
import { CatalogUnavailableError, loadCatalog } from "../catalog/catalog";
import type { CatalogEntry } from "../catalog/catalog";
import { Order } from "./order.entity";
import { OrderItem } from "./order-item.entity";
import type { PlaceOrderRequest } from "./order.inputs";
import { insertPlacement } from "./order.transitions";

const MAX_INT = 2 ** 31 - 1;

/**
 * Prices every line from the catalog (never from the client) and checks each product can be sold.
 * `active: false` is the catalog's only unsellable state, and it means deleted: `product(id)` hides a
 * deleted product from customers, so to them it is refused exactly as an unknown id is, without its
 * SKU or name. STAFF and ADMIN, who see deleted products, are told which one it is.
 */
async function priceLines(runtime: Runtime<unknown>, em: EntityManager, user: UserIdentity, request: PlaceOrderRequest) {
  // Ids that cannot be catalog ids are unknown products; asking anyone about them would only fail later.
  const ids = request.items.map((item) => item.productId).filter((id) => isUuid(id));
  let catalog: Map<string, CatalogEntry>;
  try {
    catalog = await loadCatalog(runtime, em, ids);
  } catch (error) {
    if (!(error instanceof CatalogUnavailableError)) throw error;
    const index = request.items.findIndex((item) => error.missingIds.includes(item.productId));
    throw new BadUserInputError(
      "Some products are not known to the order service yet and the catalog could not be reached to check them; retry in a moment.",
      `input.items.${index}.productId`,
    );
  }
  const lines = request.items.map((item, index) => {
    const product = catalog.get(item.productId);
    const field = `input.items.${index}.productId`;
    if (!product || (!product.active && !isStaff(user))) throw new BadUserInputError(`Product ${item.productId} does not exist.`, field);
    if (!product.active) throw new BadUserInputError(`Product ${product.sku} (${product.name}) is no longer sold.`, field);
    return { ...item, unitPrice: product.price };
  });
  // Wallets pay in one currency: a line priced in another would be accepted only to fail its payment.
  const currency = runtime.config.walletCurrency;
  const unpayable = lines.findIndex((line) => line.unitPrice.currency !== currency);
  if (unpayable >= 0) {
    const { productId, unitPrice } = lines[unpayable];
    throw new BadUserInputError(
      `Product ${productId} is priced in ${unitPrice.currency}, and orders are paid in ${currency} only: it cannot be bought.`,
      `input.items.${unpayable}.productId`,
    );
  }
  const amount = lines.reduce((sum, line) => sum + line.unitPrice.amount * line.quantity, 0);
  if (amount > MAX_INT) throw new BadUserInputError("The order total is too large: split it into several orders.", "input.items");
  return { lines, total: Money.of(amount, currency) };
}

/**
 * The order placed earlier with this user's key, provided it was placed for the same request (the
 * same lines, in any order, and the same name); a key reused for another request is a CONFLICT.
 */
async function findByKey(em: EntityManager, userId: string, request: PlaceOrderRequest & { idempotencyKey: string }): Promise<Order | null> {
  const fork = em.fork();
  const order = await fork.findOne(Order, { userId, idempotencyKey: request.idempotencyKey });
  if (!order) return null;
  const items = await fork.find(OrderItem, { order: order.id }, { orderBy: { line: "asc" } });
  const lines = (list: { productId: string; quantity: number }[]) =>
    list
      .map((item) => `${item.productId.toLowerCase()}x${item.quantity}`)
      .sort()
      .join(",");
  if (lines(items) !== lines(request.items) || order.name !== request.name) {
    throw new ConflictError(
      "This idempotencyKey was already used for a different order: send a new key for a new checkout, or repeat the first request exactly.",
      { field: "input.idempotencyKey" },
    );
  }
  return order;
}

/**
 * Places an order PENDING: the order, its items, its first history entry and
 * `order.placed` commit together, in one statement. A repeated idempotency key from the same
 * user and request returns the first order, including when two requests race (the unique
 * index on (user_id, idempotency_key) decides, the loser returns the winner's order); the same
 * key with a different cart or name is a CONFLICT naming `input.idempotencyKey`.
 */
export async function placeOrder(runtime: Runtime<unknown>, em: EntityManager, user: UserIdentity, request: PlaceOrderRequest): Promise<Order> {
  if (request.idempotencyKey) {
    const existing = await findByKey(em, user.userId, { ...request, idempotencyKey: request.idempotencyKey });
    if (existing) return existing;
  }
  const { lines, total } = await priceLines(runtime, em, user, request);
  try {
    const order = new Order({ userId: user.userId, name: request.name, total, idempotencyKey: request.idempotencyKey });
    const items = lines.map((line, index) => new OrderItem(ref(order), index, line.productId, line.quantity, line.unitPrice));
    await insertPlacement(em, order, items, { actor: `user:${user.userId}` });
    return order;
  } catch (error) {
    if (request.idempotencyKey && isUniqueViolation(error)) {
      const existing = await findByKey(em, user.userId, { ...request, idempotencyKey: request.idempotencyKey });
      if (existing) return existing;
    }
    throw error;
  }
}

function isUniqueViolation(error: unknown): boolean {
  return error instanceof UniqueConstraintViolationException || (error as { code?: string }).code === "23505";
}
