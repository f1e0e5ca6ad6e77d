// Databases of their own for the benchmarks that run processes (they cannot share the
// bench's schema): created on the server of BENCH_DATABASE_URL.
import pg from 'pg';

/** Runs statements on the server at `url`, one connection, then closes it. */
export async function onServer<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** The URL of database `name` on the same server as `url`. */
export function databaseUrl(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

/** An empty database `name` (dropped first when it exists); returns its URL. */
export async function freshDatabase(url: string, name: string): Promise<string> {
  await onServer(url, async (client) => {
    await client.query(`drop database if exists ${name} with (force)`);
    await client.query(`create database ${name}`);
  });
  return databaseUrl(url, name);
}

/** Database `name`, created when absent; returns its URL. */
export async function ensureDatabase(url: string, name: string): Promise<string> {
  await onServer(url, async (client) => {
    const { rows } = await client.query(`select 1 from pg_database where datname = $1`, [name]);
    if (!rows.length) await client.query(`create database ${name}`);
  });
  return databaseUrl(url, name);
}
