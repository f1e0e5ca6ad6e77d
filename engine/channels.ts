// The channels the configuration turns on (besides the console and webhooks, always on).
// Each adapter is imported only when its channel is on: their libraries (telegraf, Bolt,
// the mail stack, WhatsApp's) cost memory a small server should not pay for nothing.
import { join } from 'node:path';
import type { WhatsAppClient } from '../bots/whatsapp.ts';
import { PostgresSessionStore } from '../bots/whatsapp-store.ts';
import { recordBounce } from './pipeline/bounces.ts';
import type { Config } from './config.ts';
import type { Database } from './store/database.ts';
import type { ChannelFactory } from './services.ts';
import type { Channel } from './types.ts';

export const channelsFromConfig: ChannelFactory = async ({ config, log, i18n, db, services }) => {
  const channels: Channel[] = [];
  if (config.telegram) {
    const { TelegramChannel } = await import('../bots/telegram.ts');
    channels.push(
      new TelegramChannel({
        token: config.telegram.token,
        apiRoot: config.telegram.apiRoot,
        rateLimit: config.telegram.rateLimit,
        webhookSecret: config.telegram.webhookSecret,
        publicUrl: config.publicUrlSet ? config.publicUrl : undefined,
        log: log.child({ channel: 'telegram' }),
        i18n,
      }),
    );
  }
  if (config.whatsapp) {
    const { WhatsAppChannel } = await import('../bots/whatsapp.ts');
    channels.push(
      new WhatsAppChannel({ createClient: () => createWhatsAppClient(config, db), log: log.child({ channel: 'whatsapp' }), secondsPerMessage: config.whatsapp.secondsPerMessage }),
    );
  }
  if (config.email) {
    const { EmailChannel } = await import('../bots/email/channel.ts');
    const email = config.email;
    channels.push(
      new EmailChannel({
        smtpUrl: email.smtpUrl,
        from: email.from,
        replyTo: email.replyTo,
        ratePerSecond: email.ratePerSecond,
        publicUrl: config.publicUrl,
        unsubscribeSecret: email.unsubscribeSecret,
        organization: email.organization,
        dkim: email.dkim,
        inbound: email.inboundPort !== undefined ? { port: email.inboundPort, host: config.host } : undefined,
        i18n,
        log: log.child({ channel: 'email' }),
        onBounce: async (bounce) => {
          const outcome = await recordBounce(db, bounce);
          log.info({ channel: 'email', status: bounce.status, outcome }, 'bounce received');
        },
      }),
    );
  }
  if (config.slack) {
    const { SlackChannel } = await import('../bots/slack/channel.ts');
    const { botToken, signingSecret, apiUrl, appToken, organizers, organizersChannel, notifyChannel } = config.slack;
    channels.push(new SlackChannel({ botToken, signingSecret, apiUrl, appToken, organizers, organizersChannel, notifyChannel, log: log.child({ channel: 'slack' }), services }));
  }
  return channels;
};

/** The real whatsapp-web.js client: the system's Chromium, the session kept in PostgreSQL. */
async function createWhatsAppClient(config: Config, db: Database): Promise<WhatsAppClient> {
  // Loaded only when WhatsApp is on: it brings puppeteer along.
  const { default: wweb } = await import('whatsapp-web.js');
  const dataPath = join(config.dataDir, 'whatsapp');
  const client = new wweb.Client({
    authStrategy: new wweb.RemoteAuth({ store: new PostgresSessionStore(db, dataPath), dataPath, backupSyncIntervalMs: 5 * 60_000 }),
    puppeteer: {
      executablePath: config.whatsapp!.chromiumPath,
      headless: true,
      // A server has no display, often no sandbox and a small /dev/shm, and no reason to phone home.
      args: ['--no-sandbox', '--disable-setuid-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    },
  });
  return client as unknown as WhatsAppClient;
}
