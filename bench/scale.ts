// Several engine processes (`tocsin start`, Telegram in webhook mode) on one PostgreSQL
// database, webhooks load-balanced between them: a user's successive messages go to
// successive processes. Throughput is the closed-loop conversation of `contacts` users;
// then a burst (each user writes the whole script at once, spread over the processes)
// checks that nobody is answered twice and that everyone's answers come in order.
import { setTimeout as sleep } from 'node:timers/promises';
import { BotApiStandIn } from './bot-api.ts';
import { freshDatabase, onServer } from './databases.ts';
import { startEngine, type Child } from './processes.ts';
import { checkAnswers, converse, expectedAnswers, subscribers } from './users.ts';

export interface ScaleResult {
  processes: number;
  contacts: number;
  msgs_per_s: number;
  p50_ms: number;
  p99_ms: number;
  burst_msgs_per_s: number;
  /** Users checked for double or out-of-order answers, and how many were wrong. */
  checked: number;
  violations: number;
  problems: string[];
}

export async function measureScale(serverUrl: string, processes: number, contacts: number): Promise<ScaleResult> {
  const url = await freshDatabase(serverUrl, 'tocsin_bench_scale');
  const api = new BotApiStandIn();
  await api.start();
  const engines: Child[] = [];
  try {
    const secret = 'bench-webhook-secret';
    // Started one after the other: the first applies the migrations.
    for (let i = 1; i <= processes; i++) engines.push(await startEngine(`engine ${i}`, telegramEngineEnv(api, url, secret)));
    const webhooks = engines.map((engine) => ({ url: `${engine.url}/telegram/webhook`, headers: { 'x-telegram-bot-api-secret-token': secret } }));
    const users = subscribers(contacts, 1_000_000);
    const closed = await converse(api, webhooks, users, 'closed');
    const bursting = subscribers(Math.min(contacts, 500), 2_000_000);
    const burst = await converse(api, webhooks, bursting, 'burst');
    // A second answer would come late: give it time to show up.
    await sleep(2000);
    const problems = checkAnswers(api, [...users, ...bursting], expectedAnswers);
    const [outbox] = await onServer(url, async (client) => (await client.query<{ sent: number }>(`select count(*)::int as sent from outbox where status = 'sent'`)).rows);
    if (outbox!.sent !== api.accepted) problems.push(`the outbox says ${outbox!.sent} sent, the Bot API received ${api.accepted}`);
    return {
      processes,
      contacts,
      msgs_per_s: closed.msgs_per_s,
      p50_ms: closed.p50_ms,
      p99_ms: closed.p99_ms,
      burst_msgs_per_s: burst.msgs_per_s,
      checked: users.length + bursting.length,
      violations: problems.length,
      problems: problems.slice(0, 5),
    };
  } finally {
    await Promise.all(engines.map((engine) => engine.stop()));
    await api.stop();
  }
}

/** An engine on `url` whose Telegram channel takes webhooks and sends to the stand-in, unthrottled. */
export function telegramEngineEnv(api: BotApiStandIn, url: string, secret: string): Record<string, string> {
  return {
    DATABASE_URL: url,
    TELEGRAM_BOT_TOKEN: api.token,
    TELEGRAM_API_ROOT: api.url,
    TELEGRAM_WEBHOOK_SECRET: secret,
    // Webhook mode needs a public URL; the stand-in never calls it (the users post to each process).
    PUBLIC_URL: 'http://127.0.0.1:9',
    TELEGRAM_RATE_LIMIT: '100000',
  };
}
