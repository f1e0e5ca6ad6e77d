// `tocsin start`: the engine. Applies pending migrations, serves HTTP, runs the channels
// and the delivery workers, and stops gracefully on SIGTERM or SIGINT.
import { Command } from 'commander';
import { loadConfig, type Config } from '../../config.ts';
import { Engine } from '../../engine.ts';
import { createLogger, type Logger } from '../../log.ts';

export function startCommand() {
  return new Command('start').description('run the engine: HTTP server, channels, delivery workers').action(async () => {
    const config = loadConfig();
    const log = createLogger(config.logLevel);
    const engine = await Engine.start(config, { log });
    log.info({ url: engine.url, database: engine.services.db.where }, `Tocsin is running on ${engine.url}`);
    describeChannels(config, log);

    const stop = async (signal: string) => {
      log.info({ signal }, 'stopping');
      const deadline = setTimeout(() => {
        log.error(`could not stop within ${config.shutdownTimeoutMs} ms; exiting anyway`);
        process.exit(1);
      }, config.shutdownTimeoutMs);
      deadline.unref();
      await engine.stop();
      process.exit(0);
    };
    process.once('SIGTERM', () => void stop('SIGTERM'));
    process.once('SIGINT', () => void stop('SIGINT'));
  });
}

/** Says which channels are on, and how to turn on the others. */
function describeChannels(config: Config, log: Logger) {
  log.info('channel console: on (talk to the flows with `npx tocsin chat` in another terminal)');
  if (config.telegram) log.info(`channel telegram: on (${config.telegram.webhookSecret && config.publicUrlSet ? 'webhook' : 'long polling'})`);
  else log.info('channel telegram: off (set TELEGRAM_BOT_TOKEN to enable it)');
  if (config.whatsapp) log.info(`channel whatsapp: on (Chromium at ${config.whatsapp.chromiumPath}; one message every ${config.whatsapp.secondsPerMessage} s or more)`);
  else log.info('channel whatsapp: off (set WHATSAPP_ENABLED=1 to enable it; see docs/channels/whatsapp.md)');
  if (config.slack) log.info(`slack (organizers): on (${config.slack.appToken ? 'socket mode' : 'POST /slack/events'})`);
  else log.info('slack (organizers): off (set SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET and SLACK_ORGANIZERS; see docs/channels/slack.md)');
  if (config.email) log.info(`channel email: on (${config.email.inboundPort !== undefined ? `receiving on port ${config.email.inboundPort}` : 'sending only'})`);
  else log.info('channel email: off (set SMTP_URL, EMAIL_FROM and UNSUBSCRIBE_SECRET to enable it; see docs/channels/email.md)');
}
