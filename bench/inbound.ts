// Inbound throughput through the whole pipeline: dedupe, contact lock, flow step, state
// and outbox in one transaction, delivery to a stand-in channel in the process.
//   peak:    each contact types the subscribe conversation (join, a name, a language) as
//            fast as the bot answers (a closed loop); all of them at once.
//   latency: open loop: messages arrive at a fixed rate whatever the bot does, spread
//            over the contacts; from a message's arrival to its answer being sent.
import { setTimeout as sleep } from 'node:timers/promises';
import type { DatabaseConfig } from '../engine/config.ts';
import type { Services } from '../engine/services.ts';
import { answerLatencies, CountingChannel, withServices } from './services.ts';
import { quantile, round, script } from './users.ts';

/** The engine's connections for these runs, and pgbench's clients. */
export const POOL_SIZE = 20;

export interface InboundResult {
  backend: string;
  contacts: number;
  messages: number;
  seconds: number;
  msgs_per_s: number;
  p50_ms: number;
  p99_ms: number;
}

export interface LatencyResult {
  backend: string;
  target_msgs_per_s: number;
  achieved_msgs_per_s: number;
  messages: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
}

/** The message `index`-th to arrive in the open loop: rounds of `contacts` conversations, a step of each at a time. */
function openLoopMessage(index: number, contacts: number) {
  const round = Math.floor(index / (3 * contacts));
  const within = index % (3 * contacts);
  const contact = round * contacts + (within % contacts);
  return { address: `c${contact}`, text: script(contact)[Math.floor(within / contacts)]! };
}

function say(services: Services, address: string, text: string, id: string) {
  return services.pipeline.accept({ channel: 'bench', address, channelMessageId: id, text, receivedAt: new Date() }).then((accepted) => services.pipeline.process(accepted.contactId));
}

const backendOf = (services: Services) => (services.db.kind === 'postgres' ? 'postgres' : 'pglite');

export async function measureInbound(database: DatabaseConfig, contacts: number): Promise<InboundResult> {
  const channel = new CountingChannel();
  return withServices(database, { channels: [channel], poolSize: POOL_SIZE }, async (services) => {
    services.delivery.start(['bench']);
    let sequence = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: contacts }, async (_, index) => {
        for (const text of script(index)) await say(services, `c${index}`, text, `m${++sequence}`);
      }),
    );
    const messages = contacts * script(0).length;
    await channel.waitFor(messages);
    const seconds = (performance.now() - started) / 1000;
    await services.delivery.stop(); // the last sends recorded
    const latencies = await answerLatencies(services);
    return { backend: backendOf(services), contacts, messages, seconds: round(seconds), msgs_per_s: Math.round(messages / seconds), p50_ms: round(quantile(latencies, 0.5)), p99_ms: round(quantile(latencies, 0.99)) };
  });
}

/** `rate` messages a second for `seconds` (the first 2 s warm up and are not counted). */
export async function measureLatency(database: DatabaseConfig, rate: number, seconds = 15, contacts = 1000): Promise<LatencyResult> {
  const channel = new CountingChannel();
  return withServices(database, { channels: [channel], poolSize: POOL_SIZE }, async (services) => {
    services.delivery.start(['bench']);
    const total = Math.round(rate * seconds);
    const started = performance.now();
    const warmedUp = new Date(Date.now() + 2000);
    const under: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const wait = started + (i / rate) * 1000 - performance.now();
      if (wait >= 1) await sleep(wait);
      const { address, text } = openLoopMessage(i, contacts);
      under.push(say(services, address, text, `m${i}`));
    }
    const injected = (performance.now() - started) / 1000;
    await Promise.all(under);
    await channel.waitFor(total);
    await services.delivery.stop(); // the last sends recorded
    const latencies = await answerLatencies(services, warmedUp);
    return {
      backend: backendOf(services),
      target_msgs_per_s: rate,
      achieved_msgs_per_s: Math.round(total / injected),
      messages: latencies.length,
      p50_ms: round(quantile(latencies, 0.5)),
      p99_ms: round(quantile(latencies, 0.99)),
      max_ms: round(latencies.at(-1) ?? 0),
    };
  });
}
