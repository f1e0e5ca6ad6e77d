// Telegram, with telegraf. Long polling by default; webhook mode when a webhook secret and
// a public URL are set. Updates become InboundMessages (deduplicated by update_id, one
// chat's updates handed over in order); replies go out as plain text — nothing in them is
// read as markup — with choices as inline keyboard buttons. Telegram's answers are turned
// into normalized send results; pacing and retries are the delivery worker's.
import { timingSafeEqual } from 'node:crypto';
import { Telegraf, TelegramError } from 'telegraf';
import type { Update } from 'telegraf/types';
import type { Logger } from '../engine/log.ts';
import type { Translator } from '../engine/i18n.ts';
import type { Channel, ChannelContext, InboundHandler, InboundMessage, OutboundMessage, SendResult } from './channel.ts';
import { permanent, retryAfter, sent, storeWithRetry } from './channel.ts';

export const TELEGRAM = 'telegram';
export const WEBHOOK_PATH = '/telegram/webhook';
/** Telegram refuses callback data longer than 64 bytes. */
const MAX_CALLBACK_BYTES = 64;
/** The commands offered in Telegram's menu; each is also the word it sends. */
const COMMANDS = ['start', 'join', 'rsvp', 'survey', 'language', 'stop'];

export interface TelegramOptions {
  token: string;
  apiRoot: string;
  rateLimit: number;
  /** With `publicUrl`: webhook mode. */
  webhookSecret?: string;
  publicUrl?: string;
  log: Logger;
  i18n: Translator;
}

export class TelegramChannel implements Channel {
  readonly name = TELEGRAM;
  readonly capabilities;
  readonly bot: Telegraf;
  private onInbound?: InboundHandler;
  private readonly chains = new Map<string, Promise<void>>();
  private stopping = false;
  private polling = false;

  constructor(private readonly options: TelegramOptions) {
    this.bot = new Telegraf(options.token, { telegram: { apiRoot: options.apiRoot, webhookReply: false }, handlerTimeout: Infinity });
    this.capabilities = {
      buttons: true,
      maxTextLength: 4096,
      ratePerSecond: options.rateLimit,
      // About one message a second per chat, twenty a minute per group (negative chat ids).
      addressIntervalMs: (address: string) => (address.startsWith('-') ? 3000 : 1000),
    };
    this.bot.use((ctx) => this.handle(ctx.update));
    this.bot.catch((error) => this.options.log.error({ error: (error as Error).message }, 'telegram update failed'));
  }

  get webhookMode(): boolean {
    return !!(this.options.webhookSecret && this.options.publicUrl);
  }

  async start(onInbound: InboundHandler, context?: ChannelContext) {
    this.onInbound = onInbound;
    const me = await this.bot.telegram.getMe();
    this.bot.botInfo = me;
    await this.registerCommands();
    if (this.webhookMode) {
      if (!context) throw new Error('telegram webhook mode needs the engine HTTP server');
      context.route('POST', WEBHOOK_PATH, (request, response, body) => this.webhook(request.headers['x-telegram-bot-api-secret-token'], body, response));
      await this.bot.telegram.setWebhook(`${this.options.publicUrl}${WEBHOOK_PATH}`, { secret_token: this.options.webhookSecret, allowed_updates: ['message', 'callback_query'] });
      this.options.log.info({ bot: me.username, url: `${this.options.publicUrl}${WEBHOOK_PATH}` }, 'telegram: webhook set');
    } else {
      await this.bot.telegram.deleteWebhook();
      this.polling = true;
      // launch() resolves only when polling stops: do not wait for it.
      this.bot.launch({ allowedUpdates: ['message', 'callback_query'] }).catch((error) => {
        if (!this.stopping) this.options.log.error({ error: (error as Error).message }, 'telegram polling stopped');
      });
      this.options.log.info({ bot: me.username }, 'telegram: long polling');
    }
  }

  async stop() {
    this.stopping = true;
    if (this.polling) this.bot.stop('engine stopping');
    await Promise.allSettled(this.chains.values());
  }

  async send(address: string, message: OutboundMessage): Promise<SendResult> {
    try {
      const reply = await this.bot.telegram.sendMessage(address, message.text || '…', {
        link_preview_options: { is_disabled: true },
        ...(message.choices?.length ? { reply_markup: { inline_keyboard: keyboard(message.choices) } } : {}),
      });
      return sent(`${address}:${reply.message_id}`);
    } catch (error) {
      return sendFailure(error);
    }
  }

  /** POST /telegram/webhook: 401 without the secret; 200 once the update is stored; 503 when it could not be. */
  private async webhook(secret: string | string[] | undefined, body: Buffer, response: import('node:http').ServerResponse) {
    if (typeof secret !== 'string' || !sameSecret(secret, this.options.webhookSecret!)) {
      response.writeHead(401).end();
      return;
    }
    let update: Update;
    try {
      update = JSON.parse(body.toString('utf8')) as Update;
      if (typeof update?.update_id !== 'number') throw new Error('no update_id');
    } catch {
      response.writeHead(400).end();
      return;
    }
    try {
      await this.handle(update);
      response.writeHead(200).end();
    } catch (error) {
      // Telegram sends the update again later: nothing is lost.
      this.options.log.error({ error: (error as Error).message, update: update.update_id }, 'telegram update not stored; Telegram will retry');
      response.writeHead(503).end();
    }
  }

  /** One update, from polling or the webhook: resolves once it is stored. */
  private async handle(update: Update): Promise<void> {
    if ('callback_query' in update && update.callback_query) {
      // Stop the button's spinner at once, whatever happens next.
      await this.bot.telegram.answerCbQuery(update.callback_query.id).catch((error) => this.options.log.warn({ error: (error as Error).message }, 'answerCallbackQuery failed'));
    }
    await this.receive(update);
  }

  /** Hands an update over, after the ones before it from the same chat. */
  private receive(update: Update): Promise<void> {
    let message: InboundMessage | undefined;
    try {
      message = toInbound(update);
    } catch (error) {
      // Retrying a malformed update cannot help: log it and let Telegram forget it.
      this.options.log.warn({ error: (error as Error).message, update: update.update_id }, 'telegram update malformed; ignored');
    }
    if (!message) return Promise.resolve();
    const previous = this.chains.get(message.address) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(() => this.deliverInbound(message));
    this.chains.set(message.address, next);
    void next.finally(() => {
      if (this.chains.get(message.address) === next) this.chains.delete(message.address);
    }).catch(() => {});
    return next;
  }

  /** In polling mode an update is confirmed to Telegram once handled: keep trying to store it. (A webhook answers 503 instead, and Telegram sends it again.) */
  private deliverInbound(message: InboundMessage) {
    if (!this.polling) return this.onInbound!(message);
    return storeWithRetry(this.onInbound!, message, {
      stopping: () => this.stopping,
      onError: (error, retryInMs) => this.options.log.error({ error: error.message, retryInMs }, 'telegram update not stored yet; retrying'),
    });
  }

  /** The bot's menu, in each shipped language (descriptions from common.json `commands`). */
  private async registerCommands() {
    const { i18n } = this.options;
    const commands = (language: string) =>
      COMMANDS.filter((command) => i18n.has(language, `common.commands.${command}`)).map((command) => ({ command, description: i18n.text(`common.commands.${command}`, language).slice(0, 256) }));
    try {
      await this.bot.telegram.setMyCommands(commands(i18n.defaultLanguage));
      for (const language of i18n.languages) {
        if (language !== i18n.defaultLanguage) await this.bot.telegram.setMyCommands(commands(language), { language_code: language });
      }
    } catch (error) {
      this.options.log.warn({ error: (error as Error).message }, 'telegram: could not register the command menu');
    }
  }
}

/** A Telegram update as an InboundMessage, or undefined for updates Tocsin does not use. */
export function toInbound(update: Update): InboundMessage | undefined {
  const base = { channel: TELEGRAM, channelMessageId: `u${update.update_id}` };
  if ('callback_query' in update && update.callback_query) {
    const query = update.callback_query;
    const chat = query.message?.chat?.id ?? query.from?.id;
    if (typeof chat !== 'number') return undefined;
    const data = 'data' in query ? query.data : undefined;
    return {
      ...base,
      address: String(chat),
      choice: data?.startsWith('c:') ? data.slice(2) : undefined,
      text: data?.startsWith('n:') ? data.slice(2) : '',
      languageHint: query.from.language_code,
      displayName: displayName(query.from),
      receivedAt: new Date(),
    };
  }
  if ('message' in update && update.message) {
    const message = update.message;
    // Telegram always sends a chat id; an update without one can never be answered.
    if (typeof message.chat?.id !== 'number') return undefined;
    const text = 'text' in message ? message.text : 'caption' in message ? (message.caption ?? '') : '';
    const command = /^\/([A-Za-z0-9_]+)(?:@\w+)?(?:\s+([\s\S]*))?$/.exec(text.trim());
    const inbound: InboundMessage = {
      ...base,
      address: String(message.chat.id),
      text,
      languageHint: message.from?.language_code,
      displayName: message.from ? displayName(message.from) : undefined,
      receivedAt: Number.isFinite(message.date) ? new Date(message.date * 1000) : new Date(),
    };
    if (command?.[1] === 'start') {
      // t.me/<bot>?start=rsvp arrives as "/start rsvp"; "/start" alone starts joining.
      return { ...inbound, text: '', start: command[2]?.trim() || 'subscribe' };
    }
    if (command) return { ...inbound, text: [command[1], command[2]].filter(Boolean).join(' ') };
    return inbound;
  }
  return undefined;
}

/** Buttons: the choice id as callback data (`c:<id>`), or its number when the id is too long. */
export function keyboard(choices: NonNullable<OutboundMessage['choices']>) {
  const buttons = choices.map((choice, index) => {
    const data = `c:${choice.id}`;
    return { text: choice.label.slice(0, 64) || String(index + 1), callback_data: Buffer.byteLength(data) <= MAX_CALLBACK_BYTES ? data : `n:${index + 1}` };
  });
  // Short labels two to a row, long ones alone.
  const rows: (typeof buttons)[] = [];
  const short = buttons.every((button) => button.text.length <= 16);
  for (let i = 0; i < buttons.length; i += short ? 2 : 1) rows.push(buttons.slice(i, i + (short ? 2 : 1)));
  return rows;
}

/** Telegram's error answers as normalized results. */
export function sendFailure(error: unknown): SendResult {
  if (error instanceof TelegramError) {
    const reason = `${error.code}: ${error.description}`;
    if (error.code === 429) return retryAfter(reason, error.parameters?.retry_after ?? 1, 'channel');
    if (error.code === 403) return permanent(reason, { stopContact: true });
    if (error.code >= 500) return retryAfter(reason);
    if (/chat not found|user is deactivated/i.test(error.description)) return permanent(reason, { stopContact: true });
    return permanent(reason);
  }
  return retryAfter((error as Error).message ?? String(error));
}

function displayName(user: { first_name: string; last_name?: string; username?: string }): string {
  return [user.first_name, user.last_name].filter(Boolean).join(' ') || user.username || '';
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
