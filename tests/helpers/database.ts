// The databases the tests run on: the embedded one always, and the PostgreSQL server
// named by TEST_DATABASE_URL when set. Each test file gets its own PostgreSQL schema,
// so files can run in parallel against one server.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { DatabaseConfig } from '../../engine/config.ts';
import { openDatabase, type Database } from '../../engine/store/database.ts';

export interface Backend {
  name: 'pglite' | 'postgres';
  config: DatabaseConfig;
}

export const backends: Backend[] = [
  { name: 'pglite', config: { kind: 'memory' } },
  ...(process.env.TEST_DATABASE_URL ? [{ name: 'postgres' as const, config: { kind: 'postgres' as const, url: process.env.TEST_DATABASE_URL } }] : []),
];

export interface TestDatabase {
  db: Database;
  /** The schema to reopen this database in (PostgreSQL only). */
  schema?: string;
  drop(): Promise<void>;
}

/** A fresh, migrated database on `backend`. */
export async function openTestDatabase(backend: Backend, options: { poolSize?: number } = {}): Promise<TestDatabase> {
  if (backend.config.kind !== 'postgres') {
    const db = await openDatabase(backend.config);
    await db.migrate();
    return { db, drop: () => db.close() };
  }
  const schema = await createSchema(backend.config.url);
  const db = await openDatabase(backend.config, { schema, poolSize: options.poolSize });
  await db.migrate();
  return {
    db,
    schema,
    drop: async () => {
      await db.close();
      await dropSchema((backend.config as { url: string }).url, schema);
    },
  };
}

/** A database for an engine on `backend` (in a schema of its own on PostgreSQL); `drop` removes that schema. */
export async function engineDatabase(backend: Backend): Promise<{ config: DatabaseConfig; drop(): Promise<void> }> {
  if (backend.config.kind !== 'postgres') return { config: backend.config, drop: async () => {} };
  const { url } = backend.config;
  const schema = await createSchema(url);
  return { config: { kind: 'postgres', url: schemaUrl(url, schema) }, drop: () => dropSchema(url, schema) };
}

/** A new, empty schema on the PostgreSQL server at `url`. */
export async function createSchema(url: string): Promise<string> {
  const schema = `test_${randomBytes(6).toString('hex')}`;
  await adminQuery(url, `create schema ${schema}`);
  return schema;
}

/** `url` with `schema` as its search path: a DATABASE_URL for an engine process working in that schema. */
export function schemaUrl(url: string, schema: string): string {
  const withSchema = new URL(url);
  withSchema.searchParams.set('options', `-c search_path=${schema}`);
  return withSchema.toString();
}

export async function dropSchema(url: string, schema: string) {
  await adminQuery(url, `drop schema if exists ${schema} cascade`);
}

async function adminQuery(url: string, sql: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
