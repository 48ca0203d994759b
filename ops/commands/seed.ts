/**
 * Demo data, created through the public API (so it exercises the same paths
 * as a client): an admin (bootstrapped by the user service), a staff user, a
 * customer with a funded wallet, categories, two warehouses and a dozen
 * products with stock. Safe to run again: it skips what already exists.
 */
import { GraphQLClient } from "../provision/graphql-client";

export const DEMO_USERS = {
  admin: { email: "admin@example.com", password: "admin-password-123" },
  staff: { email: "staff@example.com", password: "staff-password-123", name: "Sam Staff" },
  customer: { email: "customer@example.com", password: "customer-password-123", name: "Casey Customer" },
} as const;

const CATALOG: {
  sku: string;
  name: string;
  description: string;
  price: number;
  category: string;
  stock: [number, number];
  attributes?: Record<string, string>;
}[] = [
  {
    sku: "KB-001",
    name: "Mechanical Keyboard",
    description: "Tenkeyless, hot-swappable switches",
    price: 8999,
    category: "Peripherals",
    stock: [40, 25],
    attributes: { switches: "brown", layout: "US" },
  },
  { sku: "MS-002", name: "Wireless Mouse", description: "Ergonomic, 4000 dpi", price: 3999, category: "Peripherals", stock: [60, 30] },
  { sku: "MN-003", name: "27-inch Monitor", description: "QHD IPS panel, 144 Hz", price: 32999, category: "Displays", stock: [12, 8] },
  { sku: "MN-004", name: "Portable Monitor", description: "15.6-inch USB-C display", price: 18999, category: "Displays", stock: [5, 5] },
  { sku: "HD-005", name: "Noise-Cancelling Headphones", description: "Over-ear, 30 h battery", price: 24999, category: "Audio", stock: [20, 10] },
  { sku: "SP-006", name: "Desk Speakers", description: "Bookshelf pair, Bluetooth", price: 12999, category: "Audio", stock: [15, 0] },
  { sku: "CB-007", name: "USB-C Cable", description: "2 m, 100 W braided", price: 1299, category: "Accessories", stock: [200, 150] },
  { sku: "HB-008", name: "USB-C Hub", description: "7-in-1 with HDMI and Ethernet", price: 4999, category: "Accessories", stock: [50, 40] },
  { sku: "WC-009", name: "4K Webcam", description: "Autofocus, dual microphones", price: 9999, category: "Peripherals", stock: [25, 0] },
  { sku: "LP-010", name: "Laptop Stand", description: "Aluminium, adjustable height", price: 3499, category: "Accessories", stock: [35, 35] },
  { sku: "SSD-011", name: "1 TB External SSD", description: "USB 3.2, 1050 MB/s", price: 10999, category: "Storage", stock: [30, 20] },
  { sku: "LMT-012", name: "Limited Edition Mousepad", description: "Only a few left", price: 2499, category: "Accessories", stock: [3, 0] },
];

async function signIn(client: GraphQLClient, email: string, password: string, name?: string) {
  const login = await client.raw<{ login: { accessToken: string; user: { id: string } } }>(
    `mutation($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken user { id } } }`,
    { email, password },
  );
  if (login.data?.login) return login.data.login;
  if (!name) throw new Error(`cannot sign in as ${email}: ${login.errors?.[0]?.message}`);
  const registered = await client.request<{ register: { accessToken: string; user: { id: string } } }>(
    `mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }`,
    { input: { email, password, name } },
  );
  return registered.register;
}

export async function seed(gatewayUrl: string, log: (line: string) => void = console.log): Promise<void> {
  const anonymous = new GraphQLClient(gatewayUrl);
  const admin = anonymous.withToken((await signIn(anonymous, DEMO_USERS.admin.email, DEMO_USERS.admin.password)).accessToken);
  const staff = await signIn(anonymous, DEMO_USERS.staff.email, DEMO_USERS.staff.password, DEMO_USERS.staff.name);
  await admin.request(`mutation($id: ID!) { setUserRole(userId: $id, role: STAFF) { id } }`, { id: staff.user.id });
  const customer = await signIn(anonymous, DEMO_USERS.customer.email, DEMO_USERS.customer.password, DEMO_USERS.customer.name);

  const existing = await admin.request<{ categories: { id: string; name: string }[] }>(`{ categories { id name } }`);
  if (existing.categories.length) {
    log("seed: demo data already present");
    return;
  }
  await admin.request(
    `mutation($id: ID!) { topUpWallet(userId: $id, amount: { amount: 500000, currency: "USD" }, reason: "demo funds") { balance { amount } } }`,
    { id: customer.user.id },
  );

  const { createCategory: root } = await admin.request<{ createCategory: { id: string } }>(`mutation { createCategory(name: "Electronics") { id } }`);
  const categories = new Map<string, string>();
  for (const name of new Set(CATALOG.map((item) => item.category))) {
    const { createCategory } = await admin.request<{ createCategory: { id: string } }>(
      `mutation($name: String!, $parent: ID) { createCategory(name: $name, parentId: $parent) { id } }`,
      { name, parent: root.id },
    );
    categories.set(name, createCategory.id);
  }
  const warehouses = [];
  for (const [code, name] of [
    ["AMS", "Amsterdam"],
    ["NYC", "New York"],
  ]) {
    const { createWarehouse } = await admin.request<{ createWarehouse: { id: string } }>(
      `mutation($code: String!, $name: String!) { createWarehouse(code: $code, name: $name) { id } }`,
      { code, name },
    );
    warehouses.push(createWarehouse.id);
  }
  for (const item of CATALOG) {
    const { createProduct } = await admin.request<{ createProduct: { id: string } }>(
      `mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }`,
      {
        input: {
          sku: item.sku,
          name: item.name,
          description: item.description,
          price: { amount: item.price, currency: "USD" },
          categoryId: categories.get(item.category),
          attributes: Object.entries(item.attributes ?? {}).map(([name, value]) => ({ name, value })),
          lowStockThreshold: 5,
        },
      },
    );
    for (const [index, quantity] of item.stock.entries()) {
      if (!quantity) continue;
      await admin.request(
        `mutation($p: ID!, $w: ID!, $d: Int!) { adjustStock(productId: $p, warehouseId: $w, delta: $d, reason: "initial stock") { onHand } }`,
        { p: createProduct.id, w: warehouses[index], d: quantity },
      );
    }
  }
  log(`seed: ${CATALOG.length} products in ${categories.size} categories, 2 warehouses, 3 users`);
}

if (require.main === module) {
  seed(process.argv[2] ?? "http://127.0.0.1:4000/graphql").catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
