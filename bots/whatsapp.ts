// WhatsApp, with whatsapp-web.js (WhatsApp Web driven in the system's Chromium). The
// client comes from a factory, so the adapter can be tested with a stand-in. Choices go
// out as numbered text; phone numbers become E.164 identities (`whatsapp:+33612345678`).
// Pacing is deliberately slow, with jitter: automated accounts get banned.
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import qrcode from 'qrcode-terminal';
import type { Logger } from '../engine/log.ts';
import type { Channel, InboundHandler, OutboundMessage, SendResult } from './channel.ts';
import { retryAfter, sent, storeWithRetry } from './channel.ts';

export const WHATSAPP = 'whatsapp';

/** What Tocsin uses of whatsapp-web.js's Client. */
export interface WhatsAppClient {
  on(event: 'qr', listener: (qr: string) => void): unknown;
  on(event: 'ready', listener: () => void): unknown;
  on(event: 'authenticated', listener: () => void): unknown;
  on(event: 'auth_failure', listener: (message: string) => void): unknown;
  on(event: 'disconnected', listener: (reason: string) => void): unknown;
  on(event: 'message', listener: (message: WhatsAppMessage) => void): unknown;
  initialize(): Promise<void>;
  sendMessage(chatId: string, content: string): Promise<{ id: { _serialized: string } }>;
  destroy(): Promise<void>;
}

export interface WhatsAppMessage {
  id: { _serialized: string };
  from: string;
  body: string;
  fromMe: boolean;
  timestamp: number;
  type?: string;
  _data?: { notifyName?: string };
}

export type WhatsAppState = 'connecting' | 'qr' | 'ready' | 'disconnected' | 'logged_out';

export interface WhatsAppOptions {
  createClient: () => WhatsAppClient | Promise<WhatsAppClient>;
  log: Logger;
  /** Seconds between two messages (before jitter). */
  secondsPerMessage: number;
  reconnect?: { baseMs: number; maxMs: number };
  /** Print the QR code in the terminal (on by default). */
  printQr?: boolean;
}

export class WhatsAppChannel implements Channel {
  readonly name = WHATSAPP;
  readonly capabilities;
  state: WhatsAppState = 'connecting';
  /** The QR code to scan while `state` is `qr`. */
  qr?: string;
  private client?: WhatsAppClient;
  private onInbound?: InboundHandler;
  private reconnects = 0;
  private reconnectTimer?: NodeJS.Timeout;
  private stopping = false;
  private readonly chains = new Map<string, Promise<void>>();

  constructor(private readonly options: WhatsAppOptions) {
    this.capabilities = { buttons: false, maxTextLength: 4000, ratePerSecond: 1 / options.secondsPerMessage, jitter: 0.5 };
  }

  async start(onInbound: InboundHandler) {
    this.onInbound = onInbound;
    await this.connect();
  }

  async stop() {
    this.stopping = true;
    clearTimeout(this.reconnectTimer);
    await Promise.allSettled(this.chains.values());
    await this.client?.destroy().catch(() => {});
  }

  status() {
    return this.state;
  }

  async send(address: string, message: OutboundMessage): Promise<SendResult> {
    if (this.state !== 'ready' || !this.client) return retryAfter(`WhatsApp is ${this.state.replace('_', ' ')}`, 30);
    try {
      const reply = await this.client.sendMessage(chatId(address), message.text);
      return sent(reply.id._serialized);
    } catch (error) {
      return retryAfter(`WhatsApp send failed: ${(error as Error).message}`);
    }
  }

  private async connect() {
    const { log } = this.options;
    this.state = 'connecting';
    let client: WhatsAppClient;
    try {
      client = await this.options.createClient();
    } catch (error) {
      this.state = 'disconnected';
      return this.scheduleReconnect(`could not be created: ${(error as Error).message}`);
    }
    this.client = client;
    client.on('qr', (qr) => {
      this.state = 'qr';
      this.qr = qr;
      log.warn('WhatsApp: scan this QR code with the phone (WhatsApp > Linked devices), or fetch it from GET /api/whatsapp/qr');
      if (this.options.printQr !== false) qrcode.generate(qr, { small: true }, (art) => process.stderr.write(`${art}\n`));
    });
    client.on('authenticated', () => log.info('WhatsApp: authenticated'));
    client.on('auth_failure', (reason) => log.error({ reason }, 'WhatsApp: authentication failed; link the phone again'));
    client.on('ready', () => {
      this.state = 'ready';
      this.qr = undefined;
      this.reconnects = 0;
      log.info('WhatsApp: ready');
    });
    client.on('disconnected', (reason) => {
      if (client !== this.client) return;
      if (reason === 'LOGOUT') {
        this.state = 'logged_out';
        log.error('WhatsApp: the phone logged this device out. Restart the engine and scan the new QR code to link it again.');
        return;
      }
      this.state = 'disconnected';
      this.scheduleReconnect(`disconnected: ${reason}`);
    });
    client.on('message', (message) => void this.receive(message));
    try {
      await client.initialize();
    } catch (error) {
      this.state = 'disconnected';
      this.scheduleReconnect(`could not start: ${(error as Error).message}`);
    }
  }

  private scheduleReconnect(why: string) {
    if (this.stopping) return;
    const { baseMs, maxMs } = this.options.reconnect ?? { baseMs: 5000, maxMs: 5 * 60_000 };
    const delay = Math.min(maxMs, baseMs * 2 ** this.reconnects++);
    this.options.log.warn({ retryInMs: delay }, `WhatsApp ${why}; reconnecting`);
    const old = this.client;
    this.reconnectTimer = setTimeout(() => {
      void old?.destroy().catch(() => {});
      void this.connect();
    }, delay);
  }

  /** Hands a message over, after the ones before it from the same number. */
  private receive(message: WhatsAppMessage): Promise<void> {
    const address = addressOf(message.from);
    if (message.fromMe || !address) return Promise.resolve();
    const previous = this.chains.get(address) ?? Promise.resolve();
    const next = previous
      .catch(() => {})
      .then(() =>
        // WhatsApp does not send a message twice: keep trying until it is stored.
        storeWithRetry(
          this.onInbound!,
          {
            channel: WHATSAPP,
            address,
            channelMessageId: message.id._serialized,
            text: message.body ?? '',
            displayName: message._data?.notifyName,
            receivedAt: new Date(message.timestamp * 1000),
          },
          { stopping: () => this.stopping, onError: (error, retryInMs) => this.options.log.error({ error: error.message, retryInMs }, 'WhatsApp message not stored yet; retrying') },
        ),
      )
      .catch((error) => this.options.log.error({ error: (error as Error).message }, 'WhatsApp message not stored'));
    this.chains.set(address, next);
    void next.finally(() => {
      if (this.chains.get(address) === next) this.chains.delete(address);
    });
    return next;
  }
}

/** `33612345678@c.us` → `+33612345678`; groups, broadcasts and unparsable senders → undefined. */
export function addressOf(from: string): string | undefined {
  const match = /^(\d{6,15})@c\.us$/.exec(from);
  if (!match) return undefined;
  const number = parsePhoneNumberFromString(`+${match[1]}`);
  return number?.number ?? `+${match[1]}`;
}

/** `+33612345678` → `33612345678@c.us`. */
export function chatId(address: string): string {
  return `${address.replace(/\D/g, '')}@c.us`;
}
