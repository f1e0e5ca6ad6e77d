// The Slack app (Bolt): the organizers' console, and the channel that posts the flows'
// `notify` notes (outbox rows on channel `slack`; the address is a Slack channel, or empty
// for SLACK_NOTIFY_CHANNEL). Requests arrive on the engine's HTTP server; Socket Mode when
// SLACK_APP_TOKEN is set.
import bolt from '@slack/bolt';
import type { Logger } from '../../engine/log.ts';
import type { Services } from '../../engine/services.ts';
import type { Channel, ChannelContext, OutboundMessage, SendResult } from '../channel.ts';
import { permanent, retryAfter, sent } from '../channel.ts';
import { OrganizerConsole } from './console.ts';
import { EngineReceiver } from './receiver.ts';

export const SLACK = 'slack';

export interface SlackOptions {
  botToken: string;
  signingSecret: string;
  apiUrl: string;
  appToken?: string;
  organizers: string[];
  organizersChannel?: string;
  notifyChannel?: string;
  log: Logger;
  services: () => Services;
  progressEveryMs?: number;
}

export class SlackChannel implements Channel {
  readonly name = SLACK;
  readonly capabilities = { buttons: true, maxTextLength: 3000, ratePerSecond: 1 };
  readonly app: InstanceType<typeof bolt.App>;
  private readonly receiver?: EngineReceiver;
  private readonly console: OrganizerConsole;

  constructor(private readonly options: SlackOptions) {
    // The outbox retries failed sends itself; the client's default (ten retries over thirty
    // minutes) would instead hold engine start or a delivery worker that long.
    const clientOptions = { slackApiUrl: options.apiUrl.endsWith('/') ? options.apiUrl : `${options.apiUrl}/`, retryConfig: { retries: 2, minTimeout: 500, maxTimeout: 2000 }, timeout: 15_000 };
    if (options.appToken) {
      this.app = new bolt.App({ token: options.botToken, appToken: options.appToken, socketMode: true, clientOptions, logLevel: bolt.LogLevel.ERROR });
    } else {
      this.receiver = new EngineReceiver(options.signingSecret, options.log);
      this.app = new bolt.App({ token: options.botToken, receiver: this.receiver, clientOptions, logLevel: bolt.LogLevel.ERROR, deferInitialization: true });
    }
    this.console = new OrganizerConsole(this.app, options.services, { organizers: options.organizers, organizersChannel: options.organizersChannel, log: options.log, progressEveryMs: options.progressEveryMs });
    this.app.error(async (error) => options.log.error({ error: error.message }, 'slack handler failed'));
  }

  async start(_onInbound: unknown, context?: ChannelContext) {
    if (this.receiver) {
      if (!context) throw new Error('the Slack app needs the engine HTTP server');
      this.receiver.mount(context);
      await this.app.init().catch((error: Error) => {
        throw new Error(`Slack: could not check the bot token at ${this.options.apiUrl} (${error.message}); check SLACK_BOT_TOKEN and SLACK_API_URL`);
      });
    }
    await this.app.start();
    await this.console.resume();
    this.options.log.info(this.receiver ? 'slack: organizer commands on POST /slack/events' : 'slack: socket mode');
  }

  async stop() {
    this.console.stop();
    await this.app.stop().catch(() => {});
  }

  /** Posts an organizers' note (from a flow's `notify`). */
  async send(address: string, message: OutboundMessage): Promise<SendResult> {
    const channel = address || this.options.notifyChannel;
    if (!channel) return permanent('no Slack channel for notes: set SLACK_NOTIFY_CHANNEL or give notify a channel');
    try {
      const posted = await this.app.client.chat.postMessage({ channel, text: message.text });
      return sent(posted.ts);
    } catch (error) {
      const data = (error as { data?: { error?: string }; code?: string; retryAfter?: number }) ?? {};
      if (data.code === 'slack_webapi_rate_limited_error') return retryAfter('Slack rate limit', data.retryAfter, 'channel');
      if (data.data?.error && ['channel_not_found', 'not_in_channel', 'is_archived', 'invalid_auth'].includes(data.data.error)) return permanent(`Slack: ${data.data.error}`);
      return retryAfter(`Slack: ${(error as Error).message}`);
    }
  }
}
