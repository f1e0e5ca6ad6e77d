// The channels the configuration turns on (besides the console and webhooks, always on).
import { TelegramChannel } from '../bots/telegram.ts';
import type { ChannelFactory } from './services.ts';

export const channelsFromConfig: ChannelFactory = ({ config, log, i18n }) => {
  const channels = [];
  if (config.telegram) {
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
  return channels;
};
