// The engine's services for an in-process measurement: on PostgreSQL in a schema of its
// own (dropped afterwards), or on the embedded database in memory; logs off.
import type { DatabaseConfig } from '../engine/config.ts';
import { loadConfig } from '../engine/config.ts';
import { silentLogger } from '../engine/log.ts';
import { openServices, type ServiceOptions, type Services } from '../engine/services.ts';
import type { Channel, ChannelCapabilities, SendResult } from '../engine/types.ts';
import { createSchema, dropSchema } from '../tests/helpers/database.ts';

export interface BenchServiceOptions {
  /** Settings as environment variables (DATABASE_URL is `database`). */
  env?: Record<string, string>;
  channels?: ServiceOptions['channels'];
  poolSize?: number;
}

export async function withServices<T>(database: DatabaseConfig, options: BenchServiceOptions, work: (services: Services) => Promise<T>): Promise<T> {
  const schema = database.kind === 'postgres' ? await createSchema(database.url) : undefined;
  try {
    const config = { ...loadConfig({ DATABASE_URL: 'memory://', ...options.env }), database };
    const services = await openServices(config, { log: silentLogger(), channels: options.channels, database: { schema, poolSize: options.poolSize } });
    try {
      return await work(services);
    } finally {
      await services.delivery.stop();
      await services.db.close();
    }
  } finally {
    if (schema && database.kind === 'postgres') await dropSchema(database.url, schema);
  }
}

/** A stand-in channel in the process: takes everything at once and counts it. */
export class CountingChannel implements Channel {
  readonly capabilities: ChannelCapabilities = { buttons: true, maxTextLength: 4096, ratePerSecond: Infinity };
  sent = 0;
  constructor(readonly name = 'bench') {}
  async start() {}
  async stop() {}
  async send(): Promise<SendResult> {
    this.sent++;
    return { status: 'sent', channelMessageId: `b${this.sent}` };
  }

  /** Resolves once `count` messages were sent in all. */
  async waitFor(count: number, timeoutMs = 120_000) {
    const deadline = Date.now() + timeoutMs;
    while (this.sent < count) {
      if (Date.now() > deadline) throw new Error(`${this.sent} of ${count} messages sent within ${timeoutMs / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}

/** Per inbound message since `since`: from its arrival to its last answer sent, in ms, sorted. */
export async function answerLatencies(services: Services, since = new Date(0)): Promise<number[]> {
  const rows = await services.db.query<{ ms: number }>(
    `select extract(epoch from (max(o.sent_at) - m.created_at)) * 1000 as ms
     from messages m join outbox o on o.reply_to = m.id where m.direction = 'in' and m.created_at >= $1 group by m.id order by 1`,
    [since],
  );
  return rows.map((row) => Number(row.ms));
}
