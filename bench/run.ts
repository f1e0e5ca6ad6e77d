// `npm run bench`: measurements, never pass/fail. Runs against the local PostgreSQL
// (BENCH_DATABASE_URL, default the `test` database on 127.0.0.1) and the embedded
// database, prints a table and writes bench/results.json.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { DatabaseConfig } from '../engine/config.ts';
import { measureMaterialize, type BroadcastResult } from './broadcast.ts';
import { measureImport } from './import.ts';
import { measureInbound, type InboundResult } from './inbound.ts';

const url = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const contacts = Number(process.env.BENCH_CONTACTS ?? 1000);

/** One measurement on PostgreSQL then on the embedded database; a failure on one is reported and the other still runs. */
async function onEach<T>(name: string, runs: [DatabaseConfig, number][], measure: (database: DatabaseConfig, size: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (const [database, size] of runs) {
    try {
      results.push(await measure(database, size));
    } catch (error) {
      process.stderr.write(`${name} on ${database.kind}: ${(error as Error).message}\n`);
    }
  }
  console.table(results);
  return results;
}

const localPostgres: DatabaseConfig = { kind: 'postgres', url };
const embedded: DatabaseConfig = { kind: 'memory' };
const inbound: InboundResult[] = await onEach('inbound', [[localPostgres, contacts], [embedded, contacts]], measureInbound);
const broadcasts: BroadcastResult[] = await onEach('broadcast', [[localPostgres, 100_000], [embedded, 20_000]], measureMaterialize);
const imports = await onEach('import', [[localPostgres, 100_000], [embedded, 20_000]], measureImport);
const postgres = inbound.find((result) => result.backend === 'postgres');
const pglite = inbound.find((result) => result.backend === 'pglite');
const results = {
  machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
  inbound: {
    contacts,
    engine_msgs_per_s: postgres?.msgs_per_s ?? null,
    p50_ms: postgres?.p50_ms ?? null,
    p99_ms: postgres?.p99_ms ?? null,
    pglite_msgs_per_s: pglite?.msgs_per_s ?? null,
  },
  import: imports,
  broadcast: {
    recipients: broadcasts.find((result) => result.backend === 'postgres')?.recipients ?? null,
    materialize_s: broadcasts.find((result) => result.backend === 'postgres')?.materialize_s ?? null,
    pglite: broadcasts.find((result) => result.backend === 'pglite') ?? null,
  },
};
writeFileSync(resolve(import.meta.dirname, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
