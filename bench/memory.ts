// The engine's memory with a large database: `tocsin start` (Telegram in webhook mode, to
// the stand-in Bot API) on a database of its own filled by SQL with 1,000,000 contacts,
// each with a Telegram identity, 100,000 of them in the middle of the subscribe
// conversation. RSS after start, then during and after traffic: 500 of those
// conversations continued, and 500 new supporters joining.
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../engine/config.ts';
import { silentLogger } from '../engine/log.ts';
import { openServices } from '../engine/services.ts';
import { migrations } from '../migrations/index.ts';
import { BotApiStandIn } from './bot-api.ts';
import { databaseUrl, freshDatabase, onServer } from './databases.ts';
import { startEngine } from './processes.ts';
import { telegramEngineEnv } from './scale.ts';
import { checkAnswers, converse, expectedAnswers, round, subscribeText, subscribers, type User } from './users.ts';

export interface MemoryResult {
  contacts: number;
  active_conversations: number;
  /** Filling the template database (null: the one a previous run filled was reused), then copying it. */
  fill_s: number | null;
  copy_s: number;
  rss_start_mb: number;
  rss_peak_mb: number;
  /** After the traffic. */
  rss_mb: number;
  traffic_messages: number;
  traffic_msgs_per_s: number;
  violations: number;
  problems: string[];
}

/** Chat ids of the filled contacts: FIRST_CHAT + contact id. */
const FIRST_CHAT = 5_000_000;
const TEMPLATE = 'tocsin_bench_memory_filled';

export async function measureMemory(serverUrl: string, contacts = 1_000_000, active = 100_000): Promise<MemoryResult> {
  const { url, fill_s, copy_s } = await filledDatabase(serverUrl, contacts, active);
  const api = new BotApiStandIn();
  await api.start();
  const engine = await startEngine('memory engine', telegramEngineEnv(api, url, 'bench-webhook-secret'));
  try {
    await sleep(3000);
    const rss_start_mb = engine.rssMb();
    let rss_peak_mb = rss_start_mb;
    const sampler = setInterval(() => (rss_peak_mb = Math.max(rss_peak_mb, engine.rssMb())), 250);
    const webhooks = [{ url: `${engine.url}/telegram/webhook`, headers: { 'x-telegram-bot-api-secret-token': 'bench-webhook-secret' } }];
    // Contacts 1..500 are at ask_name: a name, a language, topics.
    const continuing: User[] = Array.from({ length: 500 }, (_, i) => ({ chat: FIRST_CHAT + i + 1, script: [`Person ${i}`, 'English', '1 3'] }));
    const joining = subscribers(500, 9_000_000);
    const first = await converse(api, webhooks, continuing, 'closed');
    const second = await converse(api, webhooks, joining, 'closed');
    clearInterval(sampler);
    await sleep(1000);
    const problems = [...checkAnswers(api, continuing, ['ask_language', 'ask_topics', 'ask_consent'].map(subscribeText)), ...checkAnswers(api, joining, expectedAnswers)];
    return {
      contacts,
      active_conversations: active,
      fill_s,
      copy_s,
      rss_start_mb,
      rss_peak_mb,
      rss_mb: engine.rssMb(),
      traffic_messages: first.messages + second.messages,
      traffic_msgs_per_s: Math.round((first.messages + second.messages) / (first.seconds + second.seconds)),
      violations: problems.length,
      problems: problems.slice(0, 5),
    };
  } finally {
    await engine.stop();
    await api.stop();
    // The template stays for the next run; its copy goes.
    await onServer(serverUrl, (client) => client.query(`drop database if exists tocsin_bench_memory with (force)`));
  }
}

/**
 * A copy of a database filled once by SQL and kept as a template (`tocsin_bench_memory_filled`,
 * marked with the counts and the migrations it has: it is filled again when they change).
 */
async function filledDatabase(serverUrl: string, contacts: number, active: number) {
  const key = `${contacts} contacts ${active} active ${migrations.map((migration) => migration.name).join(' ')}`;
  const existing = await onServer(serverUrl, async (client) => (await client.query(`select shobj_description(oid, 'pg_database') as key from pg_database where datname = $1`, [TEMPLATE])).rows[0]);
  let fill_s: number | null = null;
  if (existing?.key !== key) {
    fill_s = await fill(await freshDatabase(serverUrl, TEMPLATE), contacts, active);
    await onServer(serverUrl, (client) => client.query(`comment on database ${TEMPLATE} is '${key}'`));
  }
  const started = performance.now();
  await onServer(serverUrl, async (client) => {
    await client.query(`drop database if exists tocsin_bench_memory with (force)`);
    await client.query(`create database tocsin_bench_memory template ${TEMPLATE} strategy file_copy`);
  });
  return { url: databaseUrl(serverUrl, 'tocsin_bench_memory'), fill_s, copy_s: round((performance.now() - started) / 1000) };
}

/** Migrates the database and fills it with SQL (foreign keys are not checked row by row: the rows are right by construction); returns how long the filling took, in seconds. */
async function fill(url: string, contacts: number, active: number): Promise<number> {
  const services = await openServices(loadConfig({ DATABASE_URL: url }), { log: silentLogger() });
  try {
    const started = performance.now();
    await services.db.transaction(async (tx) => {
      await tx.query(`set local session_replication_role = replica`);
      await tx.query(`insert into contacts (language) select null from generate_series(1, $1::int)`, [contacts]);
      await tx.query(`insert into identities (contact_id, channel, address, display_name) select id, 'telegram', ($1::bigint + id)::text, 'Supporter ' || id from contacts`, [FIRST_CHAT]);
      await tx.query(
        `insert into conversations (contact_id, flow, flow_version, step, status, expires_at)
         select id, 'subscribe', $1, 'ask_name', 'active', now() + interval '3 days' from contacts order by id limit $2`,
        [services.flows.get('subscribe')!.version, active],
      );
    });
    await services.db.query(`analyze`);
    return round((performance.now() - started) / 1000);
  } finally {
    await services.db.close();
  }
}
