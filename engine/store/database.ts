// The database: PostgreSQL, either a server (DATABASE_URL=postgres://...) or embedded
// (PGlite, persisted in TOCSIN_DATA_DIR or in memory). Both reach MikroORM as a Kysely
// dialect, so the entities, the migrations and every query take one code path.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { MikroORM } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { CompiledQuery, Kysely, PostgresDialect, type Dialect } from 'kysely';
import pg from 'pg';
import type { DatabaseConfig } from '../config.ts';
import { redactUrl } from '../config.ts';
import { errors } from '../errors.ts';
import { migrations } from '../../migrations/index.ts';
import { entities } from './entities.ts';
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
  readonly orm: MikroORM;
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
  const { dialect, where } = await createDialect(config, options);
  const orm = new MikroORM({
    entities,
    dbName: config.kind === 'postgres' ? new URL(config.url).pathname.slice(1) || 'postgres' : 'postgres',
    driverOptions: dialect as any,
    ensureDatabase: false,
    discovery: { warnWhenNoEntities: false },
    extensions: [Migrator],
    migrations: {
      migrationsList: migrations,
      snapshot: false,
      silent: true,
      tableName: 'tocsin_migrations',
    },
    debug: false,
    logger: () => {},
  });
  try {
    await orm.connect();
    // Tables live in the connection's current schema (search_path): tell MikroORM, whose
    // migrator would otherwise look for its table in `public`.
    const { rows } = await orm.em.getKysely().executeQuery<{ schema: string }>(CompiledQuery.raw('select current_schema() as schema'));
    if (rows[0]?.schema) orm.config.set('schema', rows[0].schema);
  } catch (error) {
    await orm.close().catch(() => {});
    throw errors.databaseUnreachable(where, error);
  }
  return new OrmDatabase(config.kind, where, orm, options.cipher ?? Cipher.none);
}

async function createDialect(config: DatabaseConfig, options: OpenOptions): Promise<{ dialect: Dialect; where: string }> {
  if (config.kind === 'postgres') {
    const pool = new pg.Pool({
      connectionString: config.url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: 5000,
      options: options.schema ? `-c search_path=${options.schema}` : undefined,
      types: { getTypeParser: ((oid: number, format?: any) => (oid === INT8 ? parseInt8 : pg.types.getTypeParser(oid, format))) as any },
    });
    // A client losing its server (a restart) must not crash the process: an idle one, or
    // one checked out between two statements (its queries fail; the pool drops it on release).
    pool.on('error', () => {});
    pool.on('connect', (client) => client.on('error', () => {}));
    return { dialect: new PostgresDialect({ pool }), where: redactUrl(config.url) };
  }
  const dataDir = config.kind === 'embedded' ? join(config.dataDir, 'pgdata') : undefined;
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  // Loaded only for the embedded database: a PostgreSQL server does not need its 18 MB.
  const { PGlite } = await import('@electric-sql/pglite');
  const db = new PGlite({ dataDir, parsers: { [INT8]: parseInt8 } });
  await db.waitReady;
  return { dialect: new PGliteDialect(db), where: dataDir ? `embedded database in ${dataDir}` : 'embedded database in memory' };
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

class OrmDatabase extends KyselySql implements Database {
  constructor(
    readonly kind: DatabaseConfig['kind'],
    readonly where: string,
    readonly orm: MikroORM,
    cipher: Cipher,
  ) {
    super(orm.em.getKysely(), cipher);
  }

  transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T> {
    return this.kysely.transaction().execute((trx) => work(new KyselySql(trx, this.cipher)));
  }

  async migrate(): Promise<string[]> {
    try {
      const applied = await this.orm.migrator.up();
      return applied.map((migration) => migration.name);
    } catch (error) {
      throw errors.migrationFailed(error);
    }
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
    await this.orm.close(true);
  }
}
