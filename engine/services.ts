// The engine's parts, wired together: database, languages, flows, the inbound pipeline
// and the delivery worker. `tocsin start` adds HTTP and the channels' lifecycles on top;
// `tocsin chat` uses these alone when no engine owns the embedded database.
import { ConsoleChannel } from '../bots/console.ts';
import { WebhookChannel } from '../bots/webhook.ts';
import type { Config } from './config.ts';
import { Broadcasts } from './broadcasts.ts';
import { DeliveryWorker } from './delivery/worker.ts';
import { FlowFileError, formatProblem } from './flows/loader.ts';
import { loadFlowSet } from './flows/validate.ts';
import { saveFlowVersions } from './flows/versions.ts';
import { FlowRegistry } from './flows/registry.ts';
import { Translator } from './i18n.ts';
import type { Logger } from './log.ts';
import { Metrics } from './metrics.ts';
import { InboundPipeline } from './pipeline/inbound.ts';
import { Cipher } from './store/cipher.ts';
import { openDatabase, type Database, type OpenOptions } from './store/database.ts';
import { checkEncryptionKey } from './store/encryption.ts';
import type { Channel } from './types.ts';

export interface Services {
  config: Config;
  log: Logger;
  db: Database;
  i18n: Translator;
  flows: FlowRegistry;
  metrics: Metrics;
  pipeline: InboundPipeline;
  delivery: DeliveryWorker;
  console: ConsoleChannel;
  /** Every channel, the console included. */
  channels: Channel[];
  broadcasts: Broadcasts;
}

/** Builds channels once the languages and the database are ready. */
export type ChannelFactory = (parts: { config: Config; log: Logger; i18n: Translator; db: Database; services: () => Services }) => Channel[] | Promise<Channel[]>;

export interface ServiceOptions {
  log: Logger;
  /** Channels besides the console and webhooks (Telegram, WhatsApp...). */
  channels?: Channel[] | ChannelFactory;
  database?: OpenOptions;
  /** Export process metrics too (the long-running engine does). */
  processMetrics?: boolean;
}

export async function openServices(config: Config, options: ServiceOptions): Promise<Services> {
  const { log } = options;
  // Flows and locales first: a typo there should not cost a database start.
  const i18n = Translator.load(config.localesDir, config.defaultLanguage);
  const flowSet = loadFlowSet(config.flowsDir, i18n, config.localesDir);
  if (flowSet.problems.length) throw new FlowFileError(flowSet.problems.map(formatProblem));
  const flows = new FlowRegistry(flowSet.flows, i18n);
  const db = await openDatabase(config.database, { cipher: configuredCipher(config), ...options.database });
  try {
    const applied = await db.migrate();
    if (applied.length) log.info({ migrations: applied }, 'database migrated');
    await checkEncryptionKey(db);
    await saveFlowVersions(db, flowSet.flows);
  } catch (error) {
    await db.close();
    throw error;
  }
  const console = new ConsoleChannel();
  // The webhook channel carries the flows' `webhook` actions; it needs no configuration.
  let services: Services | undefined;
  const extra = typeof options.channels === 'function' ? await options.channels({ config, log, i18n, db, services: () => services! }) : (options.channels ?? []);
  const channels: Channel[] = [console, new WebhookChannel(), ...extra];
  const metrics = new Metrics({
    defaults: options.processMetrics,
    outboxDepth: () => outboxDepth(db),
    channelStates: () => Object.fromEntries(channels.filter((channel) => channel.status).map((channel) => [channel.name, channel.status!()])),
  });
  const delivery = new DeliveryWorker({ db, channels, log, metrics, settings: config.delivery, quiet: { hours: config.quietHours, defaultTimezone: config.defaultTimezone } });
  const pipeline = new InboundPipeline({ db, flows, i18n, log, metrics, maxInboundText: config.maxInboundText, publicUrl: config.publicUrl, onOutbox: () => delivery.wake() });
  const broadcasts = new Broadcasts({ db, i18n, flows, channels: () => supporterChannels(config), onOutbox: () => delivery.wake() });
  services = { config, log, db, i18n, flows, metrics, pipeline, delivery, console, channels, broadcasts };
  return services;
}

/** Encryption at rest as configured (TOCSIN_ENCRYPTION_KEY, TOCSIN_OLD_ENCRYPTION_KEYS). */
export function configuredCipher(config: Config): Cipher {
  return Cipher.fromSecrets(config.encryption?.key, config.encryption?.oldKeys);
}

/** The channels supporters can be reached on with this configuration (wherever the engine runs). */
export function supporterChannels(config: Config): string[] {
  return ['console', ...(config.telegram ? ['telegram'] : []), ...(config.whatsapp ? ['whatsapp'] : []), ...(config.email ? ['email'] : [])];
}

async function outboxDepth(db: Database): Promise<Record<string, number>> {
  const rows = await db.query<{ channel: string; count: number }>(`select channel, count(*)::int as count from outbox where status in ('pending', 'sending') group by channel`);
  return Object.fromEntries(rows.map((row) => [row.channel, row.count]));
}
