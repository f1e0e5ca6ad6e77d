// `npm run bench`: measurements, never pass/fail. Runs against the local PostgreSQL
// (BENCH_DATABASE_URL, default the `test` database on 127.0.0.1) and the embedded
// database, prints a table and writes bench/results.json.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { measureMaterialize, type BroadcastResult } from './broadcast.ts';
import { measureImport } from './import.ts';
import { measureInbound, type InboundResult } from './inbound.ts';

const url = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const contacts = Number(process.env.BENCH_CONTACTS ?? 1000);

const inbound: InboundResult[] = [];
for (const database of [{ kind: 'postgres' as const, url }, { kind: 'memory' as const }]) {
  try {
    inbound.push(await measureInbound(database, contacts));
  } catch (error) {
    process.stderr.write(`inbound on ${database.kind}: ${(error as Error).message}\n`);
  }
}
console.table(inbound);

const broadcasts: BroadcastResult[] = [];
for (const [database, recipients] of [[{ kind: 'postgres' as const, url }, 100_000], [{ kind: 'memory' as const }, 20_000]] as const) {
  try {
    broadcasts.push(await measureMaterialize(database, recipients));
  } catch (error) {
    process.stderr.write(`broadcast on ${database.kind}: ${(error as Error).message}\n`);
  }
}
console.table(broadcasts);

const imports = [];
for (const [database, rows] of [[{ kind: 'postgres' as const, url }, 100_000], [{ kind: 'memory' as const }, 20_000]] as const) {
  try {
    imports.push(await measureImport(database, rows));
  } catch (error) {
    process.stderr.write(`import on ${database.kind}: ${(error as Error).message}\n`);
  }
}
console.table(imports);
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
