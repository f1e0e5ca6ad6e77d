// Inbound throughput through the whole pipeline: dedupe, contact lock, flow step, state
// and outbox in one transaction, delivery to a stand-in channel. Each contact types the
// subscribe conversation (join, a name, yes) as fast as the bot answers.
import type { DatabaseConfig } from '../engine/config.ts';
import { loadConfig } from '../engine/config.ts';
import { silentLogger } from '../engine/log.ts';
import { openServices } from '../engine/services.ts';
import type { Channel, ChannelCapabilities, SendResult } from '../engine/types.ts';
import { createSchema, dropSchema } from '../tests/helpers/database.ts';

class CountingChannel implements Channel {
  readonly name = 'bench';
  readonly capabilities: ChannelCapabilities = { buttons: true, maxTextLength: 4096, ratePerSecond: Infinity };
  sent = 0;
  async start() {}
  async stop() {}
  async send(): Promise<SendResult> {
    this.sent++;
    return { status: 'sent', channelMessageId: `b${this.sent}` };
  }
}

export interface InboundResult {
  backend: string;
  contacts: number;
  messages: number;
  seconds: number;
  msgs_per_s: number;
  p50_ms: number;
  p99_ms: number;
}

export async function measureInbound(database: DatabaseConfig, contacts: number): Promise<InboundResult> {
  const schema = database.kind === 'postgres' ? await createSchema(database.url) : undefined;
  const channel = new CountingChannel();
  const config = { ...loadConfig({ DATABASE_URL: 'memory://' }), database };
  const services = await openServices(config, { log: silentLogger(), channels: [channel], database: { schema, poolSize: 20 } });
  try {
    services.delivery.start(['bench']);
    const script = ['join', 'name', 'yes'];
    let sequence = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: contacts }, async (_, index) => {
        for (const text of script) {
          const accepted = await services.pipeline.accept({
            channel: 'bench',
            address: `c${index}`,
            channelMessageId: `m${++sequence}`,
            text: text === 'name' ? `Person ${index}` : text,
            receivedAt: new Date(),
          });
          await services.pipeline.process(accepted.contactId);
        }
      }),
    );
    const expectedReplies = contacts * 3;
    while (channel.sent < expectedReplies) await new Promise((resolve) => setTimeout(resolve, 5));
    const seconds = (performance.now() - started) / 1000;
    const latencies = await services.db.query<{ ms: number }>(
      `select extract(epoch from (max(o.sent_at) - m.created_at)) * 1000 as ms
       from messages m join outbox o on o.reply_to = m.id where m.direction = 'in' group by m.id order by 1`,
    );
    const at = (quantile: number) => Number(latencies[Math.min(latencies.length - 1, Math.floor(quantile * latencies.length))]?.ms ?? 0);
    const messages = contacts * script.length;
    return {
      backend: services.db.kind === 'postgres' ? 'postgres' : 'pglite',
      contacts,
      messages,
      seconds: round(seconds),
      msgs_per_s: Math.round(messages / seconds),
      p50_ms: round(at(0.5)),
      p99_ms: round(at(0.99)),
    };
  } finally {
    await services.delivery.stop();
    await services.db.close();
    if (database.kind === 'postgres') await dropSchema(database.url, schema!);
  }
}

const round = (value: number) => Math.round(value * 10) / 10;
