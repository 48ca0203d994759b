import { Migrator } from "@mikro-orm/migrations";
import { MikroORM } from "@mikro-orm/postgresql";
import { streamsEntities } from "./entities";
import { streamsMigrations } from "./migrations";

/**
 * An ORM over the streams tables alone (outbox, processed events…) of the database at `url`, for tests and
 * benches that run the backbone without a service; `getMigrator().up()` creates the tables.
 */
export function openStreamsOrm(url: string, poolMax = 8): Promise<MikroORM> {
  return MikroORM.init({
    clientUrl: url,
    entities: streamsEntities,
    extensions: [Migrator],
    migrations: { migrationsList: streamsMigrations, silent: true },
    pool: { min: 0, max: poolMax },
    debug: false,
  });
}
