// Broadcasts: materializing 100,000 recipients into the outbox with one INSERT … SELECT,
// then sending them through the real DeliveryWorker:
//   - to a stand-in channel in the process that takes everything at once (what the
//     worker itself can do: claim, check the recipient, send, record);
//   - through the real Telegram adapter (bots/telegram.ts) over HTTP to the stand-in Bot
//     API, unthrottled, and then enforcing Telegram's 30 messages a second with 429s.
// Quiet hours are off (QUIET_HOURS=0-0): the bench may run at night.
import { setTimeout as sleep } from 'node:timers/promises';
import { TelegramChannel } from '../bots/telegram.ts';
import type { DatabaseConfig } from '../engine/config.ts';
import { silentLogger } from '../engine/log.ts';
import type { Services } from '../engine/services.ts';
import { BotApiStandIn } from './bot-api.ts';
import { CountingChannel, withServices } from './services.ts';
import { round } from './users.ts';

export interface BroadcastResult {
  backend: string;
  recipients: number;
  materialize_s: number;
  /** Sent through the DeliveryWorker to the stand-in channel in the process. */
  delivered: number;
  delivery_s: number;
  delivery_msgs_per_s: number;
}

export interface TelegramBroadcastResult {
  recipients: number;
  /** The adapter's rate (TELEGRAM_RATE_LIMIT) and the one the stand-in enforces (none: null). */
  engine_rate_limit: number;
  stand_in_per_s: number | null;
  seconds: number;
  sent: number;
  msgs_per_s: number;
  http_429: number;
  /** 429s more than a second after the first message. */
  http_429_after_first_s: number;
}

const env = (token: string) => ({ TELEGRAM_BOT_TOKEN: token, QUIET_HOURS: '0-0' });

/** `recipients` contacts on Telegram, consenting; then a broadcast to everyone, started. Returns how long starting it took. */
async function materialize(services: Services, recipients: number): Promise<{ queued: number; seconds: number }> {
  const { db } = services;
  await db.query(`insert into contacts (name, language) select 'Supporter ' || n, (array['en','fr','ar','ru'])[1 + n % 4] from generate_series(1, $1::int) as n`, [recipients]);
  await db.query(`insert into identities (contact_id, channel, address) select id, 'telegram', (1000000 + id)::text from contacts`);
  await db.query(`insert into consents (contact_id, channel, status, source) select id, 'telegram', 'granted', 'bench' from contacts`);
  await db.query(`analyze`);
  const id = await services.broadcasts.create('bench', 'everyone', { template: 'alert.sample_message' });
  const started = performance.now();
  const queued = await services.broadcasts.start(id);
  return { queued, seconds: (performance.now() - started) / 1000 };
}

/** Materializes, then lets the worker send to the in-process stand-in for at most `deliverSeconds`. */
export async function measureMaterialize(database: DatabaseConfig, recipients: number, deliverSeconds = 12): Promise<BroadcastResult> {
  const channel = new CountingChannel('telegram');
  return withServices(database, { env: env('1:bench'), channels: [channel] }, async (services) => {
    const { queued, seconds } = await materialize(services, recipients);
    const started = performance.now();
    services.delivery.start(['telegram']);
    while (channel.sent < queued && performance.now() - started < deliverSeconds * 1000) await sleep(20);
    const delivered = channel.sent;
    const elapsed = (performance.now() - started) / 1000;
    return {
      backend: services.db.kind === 'postgres' ? 'postgres' : 'pglite',
      recipients: queued,
      materialize_s: Math.round(seconds * 100) / 100,
      delivered,
      delivery_s: round(elapsed),
      delivery_msgs_per_s: Math.round(delivered / elapsed),
    };
  });
}

/** A broadcast to `recipients` through the Telegram adapter, for `seconds`, to a stand-in Bot API enforcing `standInPerSecond` (or nothing). */
export async function measureTelegramBroadcast(database: DatabaseConfig, options: { recipients: number; seconds: number; engineRateLimit: number; standInPerSecond?: number }): Promise<TelegramBroadcastResult> {
  const api = new BotApiStandIn(options.standInPerSecond ? { perSecond: options.standInPerSecond } : undefined);
  await api.start();
  try {
    const channels = ({ i18n }: Pick<Services, 'i18n'>) => [new TelegramChannel({ token: api.token, apiRoot: api.url, rateLimit: options.engineRateLimit, log: silentLogger(), i18n })];
    return await withServices(database, { env: env(api.token), channels }, async (services) => {
      const { queued } = await materialize(services, options.recipients);
      services.delivery.start(['telegram']);
      while (api.firstSendAt === undefined) await sleep(5);
      const first = api.firstSendAt;
      const end = first + options.seconds * 1000;
      while (Date.now() < end && api.accepted < queued) await sleep(20);
      const seconds = (Math.min(Date.now(), end) - first) / 1000;
      const sent = api.acceptedAt.filter((at) => at < end).length;
      return {
        recipients: queued,
        engine_rate_limit: options.engineRateLimit,
        stand_in_per_s: options.standInPerSecond ?? null,
        seconds: round(seconds),
        sent,
        msgs_per_s: round(sent / seconds),
        http_429: api.rejectedAt.length,
        http_429_after_first_s: api.rejectedAt.filter((at) => at > first + 1000).length,
      };
    });
  } finally {
    await api.stop();
  }
}
