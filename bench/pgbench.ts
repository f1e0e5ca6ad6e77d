// What this machine's PostgreSQL does without Tocsin: pgbench's TPC-B-like transaction
// (five statements: three updates, a select, an insert) with as many clients as the engine
// has connections, in a database of its own (`tocsin_pgbench`, created when absent, its
// tables initialized again at each run).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { ensureDatabase } from './databases.ts';

const run = promisify(execFile);
const PGBENCH = process.env.PGBENCH ?? ['/usr/lib/postgresql/15/bin/pgbench'].find((path) => existsSync(path)) ?? 'pgbench';

export interface PgbenchResult {
  clients: number;
  scale: number;
  seconds: number;
  tps: number;
}

export async function measurePgbench(serverUrl: string, clients: number, seconds = 12, scale = 10): Promise<PgbenchResult> {
  const url = await ensureDatabase(serverUrl, 'tocsin_pgbench');
  await run(PGBENCH, ['-i', '-q', '-s', String(scale), url]);
  const { stdout } = await run(PGBENCH, ['-c', String(clients), '-j', '2', '-T', String(seconds), url]);
  const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(stdout);
  if (!tps) throw new Error(`pgbench printed no tps:\n${stdout}`);
  return { clients, scale, seconds, tps: Math.round(Number(tps[1])) };
}
