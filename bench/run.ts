// `npm run bench`: measurements, never pass/fail — except the several-process run, which
// fails loudly (exit 1) when anyone is answered twice or out of order. Runs against the
// local PostgreSQL (BENCH_DATABASE_URL, default the `test` database on 127.0.0.1, where
// it also creates databases of its own) and the embedded database, prints a table per
// measurement and a summary against the goals, and writes bench/results.json.
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { resolve } from 'node:path';
import type { DatabaseConfig } from '../engine/config.ts';
import { measureMaterialize, measureTelegramBroadcast, type BroadcastResult } from './broadcast.ts';
import { onServer } from './databases.ts';
import { measureImport } from './import.ts';
import { measureInbound, measureLatency, POOL_SIZE, type InboundResult } from './inbound.ts';
import { measureMemory } from './memory.ts';
import { measurePeer } from './peer.ts';
import { measurePgbench } from './pgbench.ts';
import { measureScale, type ScaleResult } from './scale.ts';

const url = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const contacts = Number(process.env.BENCH_CONTACTS ?? 1000);

/** One measurement; a failure is reported and the others still run. Prints its result as a table. */
async function attempt<T>(name: string, measure: () => Promise<T>): Promise<T | undefined> {
  process.stderr.write(`bench: ${name}…\n`);
  try {
    const result = await measure();
    console.log(name);
    console.table(Array.isArray(result) ? result : [result]);
    return result;
  } catch (error) {
    process.stderr.write(`${name}: ${(error as Error).message}\n`);
    return undefined;
  }
}

/** One measurement on PostgreSQL then on the embedded database. */
async function onEach<T>(name: string, runs: [DatabaseConfig, number][], measure: (database: DatabaseConfig, size: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (const [database, size] of runs) {
    const result = await attempt(`${name} (${database.kind})`, () => measure(database, size));
    if (result !== undefined) results.push(result);
  }
  return results;
}

const localPostgres: DatabaseConfig = { kind: 'postgres', url };
const embedded: DatabaseConfig = { kind: 'memory' };
const started = performance.now();
const loadAtStart = loadavg()[0]!;

const inbound: InboundResult[] = await onEach('inbound, closed loop', [[localPostgres, contacts], [embedded, contacts]], measureInbound);
const postgres = inbound.find((result) => result.backend === 'postgres');
const pglite = inbound.find((result) => result.backend === 'pglite');
const pgbench = await attempt(`pgbench, ${POOL_SIZE} clients`, () => measurePgbench(url, POOL_SIZE));
const latency = postgres ? await attempt('inbound, open loop at half the peak', () => measureLatency(localPostgres, Math.round(postgres.msgs_per_s / 2))) : undefined;

const broadcasts: BroadcastResult[] = await onEach('broadcast: materialize, then deliver to a channel in the process', [[localPostgres, 100_000], [embedded, 20_000]], measureMaterialize);
const broadcast = broadcasts.find((result) => result.backend === 'postgres');
const overHttp = await attempt('broadcast through the Telegram adapter, unthrottled', () => measureTelegramBroadcast(localPostgres, { recipients: 20_000, seconds: 10, engineRateLimit: 100_000 }));
const throttled = await attempt('broadcast through the Telegram adapter, Bot API at 30/s', () =>
  measureTelegramBroadcast(localPostgres, { recipients: 3000, seconds: 20, engineRateLimit: 30, standInPerSecond: 30 }),
);
const imports = await onEach('import', [[localPostgres, 100_000], [embedded, 20_000]], measureImport);
const memory = await attempt('memory: tocsin start on 1,000,000 contacts', () => measureMemory(url));
const peer = await attempt('peer: telegraf + WizardScene + PostgreSQL sessions', () => measurePeer(url, contacts));
const scale: ScaleResult[] = [];
for (const processes of [1, 2, 3]) {
  const result = await attempt(`scale: ${processes} engine process(es)`, () => measureScale(url, processes, contacts));
  if (result) scale.push(result);
}

const postgresVersion = await onServer(url, async (client) => (await client.query<{ version: string }>(`select current_setting('server_version') as version`)).rows[0]!.version).catch(() => null);
const ratio = postgres && pgbench ? Math.round((postgres.msgs_per_s / pgbench.tps) * 100) / 100 : null;
const results = {
  machine: { cpus: cpus().length, memory_gb: Math.round(totalmem() / 2 ** 30), node: process.version, postgres: postgresVersion, load_average: { start: loadAtStart, end: loadavg()[0] } },
  inbound: {
    contacts,
    engine_msgs_per_s: postgres?.msgs_per_s ?? null,
    pg_baseline_tps: pgbench?.tps ?? null,
    pgbench_clients: POOL_SIZE,
    ratio,
    // At half the peak, messages arriving at a fixed rate.
    p50_ms: latency?.p50_ms ?? null,
    p99_ms: latency?.p99_ms ?? null,
    latency_target_msgs_per_s: latency?.target_msgs_per_s ?? null,
    latency_achieved_msgs_per_s: latency?.achieved_msgs_per_s ?? null,
    // At the peak, 1,000 contacts waiting on the bot at once: mostly queueing.
    peak_p50_ms: postgres?.p50_ms ?? null,
    peak_p99_ms: postgres?.p99_ms ?? null,
    pglite_msgs_per_s: pglite?.msgs_per_s ?? null,
  },
  import: imports,
  broadcast: {
    recipients: broadcast?.recipients ?? null,
    materialize_s: broadcast?.materialize_s ?? null,
    unthrottled_msgs_per_s: broadcast?.delivery_msgs_per_s ?? null,
    unthrottled_channel: 'the real DeliveryWorker sending to a stand-in channel in the process',
    unthrottled_http_msgs_per_s: overHttp?.msgs_per_s ?? null,
    throttled_target_per_s: 30,
    throttled_achieved_per_s: throttled?.msgs_per_s ?? null,
    http_429: throttled?.http_429 ?? null,
    http_429_after_first_s: throttled?.http_429_after_first_s ?? null,
    pglite: broadcasts.find((result) => result.backend === 'pglite') ?? null,
  },
  memory: memory ?? { contacts: 1_000_000, rss_mb: null },
  peer: {
    name: peer?.name ?? null,
    msgs_per_s: peer?.msgs_per_s ?? null,
    p50_ms: peer?.p50_ms ?? null,
    p99_ms: peer?.p99_ms ?? null,
    rss_mb: peer?.rss_mb ?? null,
    // The engine through the same stand-in Bot API and load: one `tocsin start`.
    engine_msgs_per_s: scale.find((result) => result.processes === 1)?.msgs_per_s ?? null,
  },
  scale: {
    processes: scale.map((result) => result.processes),
    msgs_per_s: scale.map((result) => result.msgs_per_s),
    violations: scale.reduce((sum, result) => sum + result.violations, 0),
    runs: scale,
  },
  minutes: Math.round((performance.now() - started) / 600) / 100,
};
writeFileSync(resolve(import.meta.dirname, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);

const yesNo = (met: boolean | null) => (met === null ? '?' : met ? 'met' : 'NOT met');
const show = (value: number | null | undefined, unit = '') => (value === null || value === undefined ? 'n/a' : `${value.toLocaleString('en')}${unit}`);
console.log('\nSummary (bench/results.json has everything)');
console.table([
  { measure: 'inbound, engine on PostgreSQL (closed loop)', value: show(results.inbound.engine_msgs_per_s, ' msgs/s'), goal: '', result: '' },
  { measure: `pgbench TPC-B, ${POOL_SIZE} clients`, value: show(results.inbound.pg_baseline_tps, ' tps'), goal: '', result: '' },
  { measure: 'engine / pgbench', value: show(ratio), goal: '≥ 0.5', result: yesNo(ratio === null ? null : ratio >= 0.5) },
  { measure: `latency at ${show(latency?.target_msgs_per_s)} msgs/s, p50 / p99`, value: `${show(latency?.p50_ms)} / ${show(latency?.p99_ms, ' ms')}`, goal: 'p99 < 50 ms', result: yesNo(latency ? latency.p99_ms < 50 : null) },
  { measure: 'inbound, embedded PGlite', value: show(results.inbound.pglite_msgs_per_s, ' msgs/s'), goal: '', result: '' },
  { measure: 'broadcast: materialize 100,000', value: show(results.broadcast.materialize_s, ' s'), goal: '', result: '' },
  { measure: 'broadcast: deliver, unthrottled (in process)', value: show(results.broadcast.unthrottled_msgs_per_s, ' msgs/s'), goal: '≥ 2,000/s', result: yesNo(broadcast ? broadcast.delivery_msgs_per_s >= 2000 : null) },
  { measure: 'broadcast: deliver, Telegram adapter over HTTP', value: show(results.broadcast.unthrottled_http_msgs_per_s, ' msgs/s'), goal: '', result: '' },
  {
    measure: 'broadcast: Bot API at 30/s, achieved / 429s (late)',
    value: `${show(throttled?.msgs_per_s, '/s')} / ${show(throttled?.http_429)} (${show(throttled?.http_429_after_first_s)})`,
    goal: '≥ 28.5/s, no 429 after 1 s',
    result: yesNo(throttled ? throttled.msgs_per_s >= 28.5 && throttled.http_429_after_first_s === 0 : null),
  },
  { measure: 'memory: RSS on 1,000,000 contacts, after traffic', value: show(memory?.rss_mb, ' MB'), goal: '< 200 MB', result: yesNo(memory ? memory.rss_mb < 200 : null) },
  { measure: 'peer (telegraf) vs engine, same Bot API stand-in', value: `${show(peer?.msgs_per_s)} vs ${show(results.peer.engine_msgs_per_s, ' msgs/s')}`, goal: '', result: '' },
  ...scale.map((result) => ({ measure: `${result.processes} engine process(es), same stand-in`, value: show(result.msgs_per_s, ' msgs/s'), goal: 'no double, in order', result: result.violations ? `${result.violations} VIOLATIONS` : 'ok' })),
]);

const wrong = scale.filter((result) => result.violations);
if (wrong.length) {
  process.stderr.write(`\nBENCH FAILED: answered twice or out of order with several engine processes:\n${wrong.flatMap((result) => result.problems).join('\n')}\n`);
  process.exitCode = 1;
} else if (scale.length < 3) {
  process.stderr.write(`\nBENCH FAILED: ${3 - scale.length} of the several-process runs did not complete (see above): answers not checked\n`);
  process.exitCode = 1;
}
