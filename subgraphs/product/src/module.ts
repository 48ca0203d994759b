import { auditLogResolver, bumpCatalogVersionOnCommit, type SubgraphModule } from "@commerce/kit";
import { Category } from "./category/category.entity";
import { CategoryResolver } from "./category/category.resolver";
import { commitReservationOnPaymentCaptured } from "./handlers/commit-reservation.on-payment-captured";
import { releaseOrRestockOnOrderCancelled } from "./handlers/release-or-restock.on-order-cancelled";
import { releaseReservationOnPaymentFailed } from "./handlers/release-reservation.on-payment-failed";
import { reserveStockOnOrderPlaced } from "./handlers/reserve-stock.on-order-placed";
import { restockOnReturnReceived } from "./handlers/restock.on-return-received";
import { migrations } from "./migrations";
import { CatalogProduct, CatalogResolver } from "./product/catalog.resolver";
import { ProductFieldsResolver } from "./product/product-fields.resolver";
import { Product } from "./product/product.entity";
import { productReference } from "./product/product.reference";
import { ProductResolver } from "./product/product.resolver";
import { Reservation } from "./reservation/reservation.entity";
import { ReturnRestock } from "./returns/return-restock.entity";
import { LowStockMarker } from "./stock/low-stock-marker.entity";
import { StockAdjustment } from "./stock/stock-adjustment.entity";
import { StockLevel } from "./stock/stock-level.entity";
import { StockResolver } from "./stock/stock.resolver";
import { Warehouse } from "./warehouse/warehouse.entity";
import { WarehouseResolver } from "./warehouse/warehouse.resolver";

/** The product subgraph: catalog, categories, warehouses, stock and order reservations. */
export const productSubgraph: SubgraphModule = {
  name: "product",
  entities: [Category, Product, Warehouse, StockLevel, StockAdjustment, LowStockMarker, Reservation, ReturnRestock],
  migrations,
  resolvers: [
    ProductResolver,
    ProductFieldsResolver,
    CatalogResolver,
    CategoryResolver,
    WarehouseResolver,
    StockResolver,
    auditLogResolver("productAuditLog", "product"),
  ],
  orphanedTypes: [CatalogProduct],
  referenceResolvers: { Product: productReference },
  consumes: {
    streams: ["order", "payment"],
    handlers: {
      "order.placed": reserveStockOnOrderPlaced,
      "payment.captured": commitReservationOnPaymentCaptured,
      "payment.failed": releaseReservationOnPaymentFailed,
      "order.cancelled": releaseOrRestockOnOrderCancelled,
      "return.received": restockOnReturnReceived,
    },
  },
  // Catalog reads are shared by the gateway's catalog cache (kit/src/catalog-cache.ts).
  cacheHints: true,
  // Commits that change products or categories move the catalog version; stock (reservations, adjustments,
  // restocks) does not: `available` carries a 1 s cache hint instead.
  prepare: async (runtime) => {
    runtime.orm.em
      .getEventManager()
      .registerSubscriber(bumpCatalogVersionOnCommit(runtime.redis, runtime.config.streamPrefix, runtime.logger, [Product, Category]));
  },
};
