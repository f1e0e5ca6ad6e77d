// The database: PostgreSQL, either a server (DATABASE_URL=postgres://...) or embedded
// (PGlite, persisted in TOCSIN_DATA_DIR or in memory). Both are a Kysely dialect: every
// query takes one code path, and MikroORM (entities, migrations) runs on the same dialect
// when a migration is pending.
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { MikroORM } from '@mikro-orm/postgresql';
import { CompiledQuery, Kysely, PostgresDialect, type Dialect } from 'kysely';
import pg from 'pg';
import type { DatabaseConfig } from '../config.ts';
import { redactUrl } from '../config.ts';
import { errors } from '../errors.ts';
import { Cipher } from './cipher.ts';
import { PGliteDialect } from './pglite-dialect.ts';

/** Anything that runs SQL: the database itself, or one open transaction. */
export interface Sql {
  /** Runs one statement with `$1`-style parameters and returns its rows. */
  query<Row = Record<string, any>>(text: string, params?: readonly unknown[]): Promise<Row[]>;
  /** Seals and opens personal data (the identity when no TOCSIN_ENCRYPTION_KEY is set). */
  readonly cipher: Cipher;
}

export interface Database extends Sql {
  readonly kind: DatabaseConfig['kind'];
  /** Where the data is, for people (no password). */
  readonly where: string;
  /** MikroORM on this database (schema, migrations), loaded on first use. */
  orm(): Promise<MikroORM>;
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T>;
  /** Applies pending migrations; returns the names applied. */
  migrate(): Promise<string[]>;
  /** Throws when the database does not answer within `timeoutMs`. */
  ping(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

// Integers stay numbers (ids are far below 2^53), whichever database answers.
const INT8 = 20;
const parseInt8 = (value: string) => Number(value);

export interface OpenOptions {
  /** PostgreSQL only: run in this schema (tests use one schema per test file). */
  schema?: string;
  poolSize?: number;
  /** Encryption at rest (default: none). */
  cipher?: Cipher;
}

export async function openDatabase(config: DatabaseConfig, options: OpenOptions = {}): Promise<Database> {
  const { dialect, where, ormDialect } = await createDialect(config, options);
  const kysely = new Kysely<any>({ dialect });
  let schema: string;
  try {
    // Tables live in the connection's current schema (search_path); MikroORM's migrator
    // is told so, as it would otherwise look for its table in `public`.
    const { rows } = await kysely.executeQuery<{ schema: string }>(CompiledQuery.raw('select current_schema() as schema'));
    schema = rows[0]!.schema;
  } catch (error) {
    await kysely.destroy().catch(() => {});
    throw errors.databaseUnreachable(where, error);
  }
  const dbName = config.kind === 'postgres' ? new URL(config.url).pathname.slice(1) || 'postgres' : 'postgres';
  return new KyselyDatabase(config.kind, where, kysely, options.cipher ?? Cipher.none, () => createOrm(ormDialect(), dbName, schema));
}

/**
 * MikroORM on its own connection to the same database: the schema (entities) and the
 * migrations. Loaded only when needed — a migration pending, a schema check — because it
 * is the largest part of the engine's memory and no message goes through it.
 */
async function createOrm(dialect: Dialect, dbName: string, schema: string): Promise<MikroORM> {
  // One after the other: they share modules, and jest's ESM loader fails concurrent imports of one module.
  const { MikroORM } = await import('@mikro-orm/postgresql');
  const { Migrator } = await import('@mikro-orm/migrations');
  const { migrations } = await import('../../migrations/index.ts');
  const { entities } = await import('./entities.ts');
  const orm = new MikroORM({
    entities,
    dbName,
    schema,
    driverOptions: dialect as any,
    ensureDatabase: false,
    discovery: { warnWhenNoEntities: false },
    extensions: [Migrator],
    migrations: { migrationsList: migrations, snapshot: false, silent: true, tableName: MIGRATIONS_TABLE },
    debug: false,
    logger: () => {},
  });
  await orm.connect();
  orm.config.set('schema', schema);
  return orm;
}

const MIGRATIONS_TABLE = 'tocsin_migrations';

/** Every migration's name: the files in migrations/ (migrations/index.ts lists the same, a test checks). */
export function migrationNames(): string[] {
  return readdirSync(new URL('../../migrations/', import.meta.url))
    .filter((file) => /^Migration.*\.ts$/.test(file))
    .map((file) => file.replace(/\.ts$/, ''))
    .sort();
}

async function createDialect(config: DatabaseConfig, options: OpenOptions): Promise<{ dialect: Dialect; where: string; ormDialect: () => Dialect }> {
  if (config.kind === 'postgres') {
    const pool = (max: number) => {
      const pool = new pg.Pool({
        connectionString: config.url,
        max,
        connectionTimeoutMillis: 5000,
        options: options.schema ? `-c search_path=${options.schema}` : undefined,
        types: { getTypeParser: ((oid: number, format?: any) => (oid === INT8 ? parseInt8 : pg.types.getTypeParser(oid, format))) as any },
      });
      // A client losing its server (a restart) must not crash the process: an idle one, or
      // one checked out between two statements (its queries fail; the pool drops it on release).
      pool.on('error', () => {});
      pool.on('connect', (client) => client.on('error', () => {}));
      return pool;
    };
    return { dialect: new PostgresDialect({ pool: pool(options.poolSize ?? 10) }), where: redactUrl(config.url), ormDialect: () => new PostgresDialect({ pool: pool(2) }) };
  }
  const dataDir = config.kind === 'embedded' ? join(config.dataDir, 'pgdata') : undefined;
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  // Loaded only for the embedded database: a PostgreSQL server does not need its 18 MB.
  const { PGlite } = await import('@electric-sql/pglite');
  const db = new PGlite({ dataDir, parsers: { [INT8]: parseInt8 } });
  await db.waitReady;
  return {
    dialect: new PGliteDialect(db),
    where: dataDir ? `embedded database in ${dataDir}` : 'embedded database in memory',
    // The ORM runs before anything else uses the database (migrations at start), and its
    // end must not close the one PGlite the engine keeps using.
    ormDialect: () => new PGliteDialect(db, { closeOnDestroy: false }),
  };
}

class KyselySql implements Sql {
  constructor(
    protected readonly kysely: Kysely<any>,
    readonly cipher: Cipher,
  ) {}

  async query<Row>(text: string, params: readonly unknown[] = []): Promise<Row[]> {
    const result = await this.kysely.executeQuery<Row>(CompiledQuery.raw(text, [...params]));
    return result.rows as Row[];
  }
}

class KyselyDatabase extends KyselySql implements Database {
  private opened?: Promise<MikroORM>;

  constructor(
    readonly kind: DatabaseConfig['kind'],
    readonly where: string,
    kysely: Kysely<any>,
    cipher: Cipher,
    private readonly openOrm: () => Promise<MikroORM>,
  ) {
    super(kysely, cipher);
  }

  orm(): Promise<MikroORM> {
    return (this.opened ??= this.openOrm());
  }

  transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T> {
    return this.kysely.transaction().execute((trx) => work(new KyselySql(trx, this.cipher)));
  }

  async migrate(): Promise<string[]> {
    // Nearly every start finds nothing to do: say so without loading MikroORM.
    const done = await this.query<{ name: string }>(`select name from ${MIGRATIONS_TABLE}`).catch(() => undefined);
    if (done && migrationNames().every((name) => done.some((row) => row.name === name))) return [];
    try {
      const applied = await (await this.orm()).migrator.up();
      return applied.map((migration) => migration.name);
    } catch (error) {
      throw errors.migrationFailed(error);
    } finally {
      await this.closeOrm();
    }
  }

  private async closeOrm() {
    const opened = this.opened;
    this.opened = undefined;
    if (opened) await (await opened.catch(() => undefined))?.close(true);
  }

  async ping(timeoutMs = 2000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.query('select 1'), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await this.closeOrm();
    await this.kysely.destroy();
  }
}
