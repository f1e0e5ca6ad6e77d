// A stand-in Telegram Bot API for the benchmarks: real HTTP on 127.0.0.1, so the engine's
// Telegram adapter and telegraf (the peer) talk to it as they would to api.telegram.org.
// It can enforce a sending rate as Telegram does (a token bucket: `perSecond` a second,
// bursts of as many; beyond it sendMessage answers 429 with retry_after), and it tells the
// simulated users when the bot wrote to them. Unlike tests/helpers/fake-telegram.ts it
// keeps no log of calls (a broadcast makes thousands): only each chat's texts, in order.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

interface Waiter {
  count: number;
  resolve: () => void;
}

export class BotApiStandIn {
  readonly token = '424242:bench-stand-in';
  url = '';
  /** sendMessage calls answered 200. */
  accepted = 0;
  /** When the first sendMessage arrived (ms since the epoch). */
  firstSendAt?: number;
  /** When each accepted sendMessage arrived, and each 429 answered. */
  readonly acceptedAt: number[] = [];
  readonly rejectedAt: number[] = [];
  private readonly texts = new Map<string, string[]>();
  private readonly waiters = new Map<string, Waiter[]>();
  private server?: Server;
  private tokens: number;
  private refilledAt = Date.now();
  private nextMessageId = 1;
  private nextUpdateId = 1;

  constructor(private readonly limit?: { perSecond: number }) {
    this.tokens = limit?.perSecond ?? 0;
  }

  async start() {
    this.server = createServer((request, response) => void this.serve(request, response));
    this.server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  async stop() {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  /** What the bot sent to a chat, in the order it arrived. */
  sentTo(chat: number | string): string[] {
    return this.texts.get(String(chat)) ?? [];
  }

  /** Resolves once the bot has sent `count` messages to the chat in all. */
  waitFor(chat: number | string, count: number): Promise<void> {
    const key = String(chat);
    if (this.sentTo(key).length >= count) return Promise.resolve();
    return new Promise((resolve) => {
      const list = this.waiters.get(key) ?? [];
      list.push({ count, resolve });
      this.waiters.set(key, list);
    });
  }

  /** A user writes in a private chat (the update, for a webhook). */
  textUpdate(chat: number, text: string): Record<string, unknown> {
    const from = { id: chat, is_bot: false, first_name: `User ${chat}`, language_code: 'en' };
    return {
      update_id: this.nextUpdateId++,
      message: { message_id: this.nextMessageId++, date: Math.floor(Date.now() / 1000), chat: { id: chat, type: 'private', first_name: from.first_name }, from, text },
    };
  }

  private async serve(request: IncomingMessage, response: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const reply = (status: number, payload: Record<string, unknown>) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(payload));
    };
    const match = /^\/bot([^/]+)\/(\w+)/.exec(request.url ?? '');
    if (!match || match[1] !== this.token) return reply(401, { ok: false, error_code: 401, description: 'Unauthorized' });
    const method = match[2]!;
    const params = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
    if (method === 'getMe') return reply(200, { ok: true, result: { id: 424242, is_bot: true, first_name: 'Bench', username: 'bench_bot' } });
    if (method !== 'sendMessage') return reply(200, { ok: true, result: true });
    const now = Date.now();
    this.firstSendAt ??= now;
    if (!this.take(now)) {
      this.rejectedAt.push(now);
      return reply(429, { ok: false, error_code: 429, description: 'Too Many Requests: retry after 1', parameters: { retry_after: 1 } });
    }
    this.accepted++;
    this.acceptedAt.push(now);
    const chat = String(params.chat_id);
    const texts = this.texts.get(chat) ?? [];
    texts.push(String(params.text));
    this.texts.set(chat, texts);
    const waiting = this.waiters.get(chat);
    if (waiting) {
      const due = waiting.filter((waiter) => texts.length >= waiter.count);
      const left = waiting.filter((waiter) => texts.length < waiter.count);
      if (left.length) this.waiters.set(chat, left);
      else this.waiters.delete(chat);
      for (const waiter of due) waiter.resolve();
    }
    reply(200, { ok: true, result: { message_id: this.nextMessageId++, date: Math.floor(now / 1000), chat: { id: params.chat_id, type: 'private' }, text: params.text } });
  }

  /** The token bucket: whether a message may go now. */
  private take(now: number): boolean {
    if (!this.limit) return true;
    this.tokens = Math.min(this.limit.perSecond, this.tokens + ((now - this.refilledAt) / 1000) * this.limit.perSecond);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
