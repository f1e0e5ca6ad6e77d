// The peer: the same conversation written with telegraf alone (bench/peer/, a baseline),
// driven by the same users, through the same stand-in Bot API, as `tocsin start` in
// bench/scale.ts.
import { resolve } from 'node:path';
import { BotApiStandIn } from './bot-api.ts';
import { freshDatabase } from './databases.ts';
import { startScript } from './processes.ts';
import { checkAnswers, converse, subscribers } from './users.ts';

export interface PeerResult {
  name: string;
  contacts: number;
  msgs_per_s: number;
  p50_ms: number;
  p99_ms: number;
  rss_mb: number;
  violations: number;
}

export async function measurePeer(serverUrl: string, contacts: number): Promise<PeerResult> {
  const url = await freshDatabase(serverUrl, 'tocsin_bench_peer');
  const api = new BotApiStandIn();
  await api.start();
  const bot = await startScript('peer', resolve(import.meta.dirname, 'peer/subscribe-bot.ts'), { PEER_DATABASE_URL: url, TELEGRAM_BOT_TOKEN: api.token, TELEGRAM_API_ROOT: api.url });
  try {
    const users = subscribers(contacts, 1_000_000);
    const run = await converse(api, [{ url: `${bot.url}/webhook` }], users, 'closed');
    const problems = checkAnswers(api, users, ['Welcome! What is your name?', 'Which language', 'Thank you']);
    return { name: 'telegraf 4.16.3 + WizardScene + @telegraf/session 2.0.0-beta.7 (PostgreSQL)', contacts, msgs_per_s: run.msgs_per_s, p50_ms: run.p50_ms, p99_ms: run.p99_ms, rss_mb: bot.rssMb(), violations: problems.length };
  } finally {
    await bot.stop();
    await api.stop();
  }
}
