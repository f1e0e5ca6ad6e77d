// A stand-in for the Telegram Bot API: a real HTTP server on 127.0.0.1 that answers the
// methods Tocsin uses, queues updates for getUpdates (with offsets), records every call,
// and can be told to fail the next calls of a method (429, 403, 500...), to answer
// sendMessage slowly, or to be down for a while (an error status, or no answer at all).
import { createServer, type Server, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Call {
  method: string;
  params: Record<string, any>;
  at: number;
  /** The HTTP status it was answered with (unset while unanswered, or never answered). */
  status?: number;
}

interface Failure {
  status: number;
  description: string;
  retry_after?: number;
}

export class FakeTelegram {
  readonly token = '123456:TEST-token';
  readonly calls: Call[] = [];
  private readonly updates: Record<string, any>[] = [];
  private readonly failures = new Map<string, Failure[]>();
  private readonly waiting: (() => void)[] = [];
  private nextUpdateId = 1000;
  private nextMessageId = 1;
  private server?: Server;
  /** While set, every sendMessage fails: with this status, or `hang`s unanswered until `recover()`. */
  private outage?: number | 'hang';
  private readonly held: ServerResponse[] = [];
  /** sendMessage answers after this many milliseconds (messages in flight). */
  delayMs = 0;
  url = '';

  async start() {
    this.server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => void this.answer(request.url ?? '', body, response));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server!.address() as { port: number }).port}`;
  }

  async stop() {
    for (const wake of this.waiting.splice(0)) wake();
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  /** The next `count` calls of `method` fail with this answer. */
  fail(method: string, failure: Failure, count = 1) {
    const list = this.failures.get(method) ?? [];
    for (let i = 0; i < count; i++) list.push(failure);
    this.failures.set(method, list);
  }

  /** From now on every sendMessage fails: with `status`, or with no answer at all (`hang`). */
  breakDown(mode: number | 'hang') {
    this.outage = mode;
  }

  /** Back to normal; the requests left hanging are cut off unanswered, as a gateway timing out would. */
  recover() {
    this.outage = undefined;
    for (const response of this.held.splice(0)) response.socket?.destroy();
  }

  /** sendMessage calls answered 200 (delivered to the chat), in order. */
  delivered(): Call[] {
    return this.calls.filter((call) => call.method === 'sendMessage' && call.status === 200);
  }

  /** A user writes text (or presses a button) in a private chat. */
  userSays(user: { id: number; first_name?: string; language_code?: string }, text: string, options: { updateId?: number } = {}) {
    return this.push(
      {
        message: {
          message_id: this.nextMessageId++,
          date: Math.floor(Date.now() / 1000),
          chat: { id: user.id, type: 'private', first_name: user.first_name ?? 'User' },
          from: { id: user.id, is_bot: false, first_name: user.first_name ?? 'User', language_code: user.language_code },
          text,
        },
      },
      options.updateId,
    );
  }

  userPresses(user: { id: number; first_name?: string; language_code?: string }, data: string) {
    return this.push({
      callback_query: {
        id: `cb${this.nextUpdateId}`,
        chat_instance: 'x',
        data,
        from: { id: user.id, is_bot: false, first_name: user.first_name ?? 'User', language_code: user.language_code },
        message: { message_id: 1, date: Math.floor(Date.now() / 1000), chat: { id: user.id, type: 'private' }, text: 'question' },
      },
    });
  }

  /** Queues an update for getUpdates; returns it (to post it to a webhook instead). */
  push(update: Record<string, any>, updateId = this.nextUpdateId++): Record<string, any> {
    const full = { update_id: updateId, ...update };
    this.updates.push(full);
    for (const wake of this.waiting.splice(0)) wake();
    return full;
  }

  /** How many calls of `method` were made (accepted or not). */
  called(method: string): number {
    return this.calls.filter((call) => call.method === method).length;
  }

  /** Texts sent to a chat, in order. */
  sentTo(chatId: number): { text: string; buttons?: string[] }[] {
    return this.calls
      .filter((call) => call.method === 'sendMessage' && String(call.params.chat_id) === String(chatId))
      .map((call) => ({ text: call.params.text, ...(call.params.reply_markup ? { buttons: call.params.reply_markup.inline_keyboard.flat().map((button: { text: string }) => button.text) } : {}) }));
  }

  private async answer(url: string, body: string, response: ServerResponse) {
    const match = /^\/bot([^/]+)\/(\w+)/.exec(url);
    const call: Call = { method: match?.[2] ?? '', params: {}, at: Date.now() };
    const reply = (status: number, payload: unknown) => {
      call.status = status;
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(payload));
    };
    if (!match || match[1] !== this.token) return reply(401, { ok: false, error_code: 401, description: 'Unauthorized' });
    const method = call.method;
    const params = (call.params = body ? JSON.parse(body) : {});
    if (method !== 'getUpdates') this.calls.push(call);
    if (method === 'sendMessage' && this.outage === 'hang') return void this.held.push(response);
    if (method === 'sendMessage' && typeof this.outage === 'number') return reply(this.outage, { ok: false, error_code: this.outage, description: 'Internal Server Error' });
    if (method === 'sendMessage' && this.delayMs) await sleep(this.delayMs);
    const failure = this.failures.get(method)?.shift();
    if (failure) {
      return reply(failure.status, {
        ok: false,
        error_code: failure.status,
        description: failure.description,
        ...(failure.retry_after ? { parameters: { retry_after: failure.retry_after } } : {}),
      });
    }
    switch (method) {
      case 'getMe':
        return reply(200, { ok: true, result: { id: 42, is_bot: true, first_name: 'Tocsin', username: 'tocsin_test_bot' } });
      case 'getUpdates': {
        const offset = Number(params.offset ?? 0);
        // Confirmed updates are forgotten, as Telegram does.
        while (this.updates.length && this.updates[0]!.update_id < offset) this.updates.shift();
        if (!this.updates.length && Number(params.timeout ?? 0) > 0) {
          await new Promise<void>((resolve) => {
            this.waiting.push(resolve);
            setTimeout(resolve, 500);
          });
        }
        return reply(200, { ok: true, result: this.updates.filter((update) => update.update_id >= offset).slice(0, Number(params.limit ?? 100)) });
      }
      case 'sendMessage':
        return reply(200, { ok: true, result: { message_id: this.nextMessageId++, date: Math.floor(Date.now() / 1000), chat: { id: params.chat_id, type: 'private' }, text: params.text } });
      default:
        return reply(200, { ok: true, result: true });
    }
  }
}
