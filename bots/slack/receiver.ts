// Bolt's requests arrive on the engine's own HTTP server (POST /slack/events). Every
// request's signature is checked first: missing, wrong, or older than five minutes → 401
// and nothing happens. Slack wants an answer within three seconds: handlers ack at once.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { App, Receiver, ReceiverEvent } from '@slack/bolt';
import type { Logger } from '../../engine/log.ts';
import type { ChannelContext } from '../channel.ts';

export const EVENTS_PATH = '/slack/events';
const MAX_AGE_SECONDS = 5 * 60;
/** Answer Slack before its three seconds run out, even if a handler forgot to. */
const ACK_DEADLINE_MS = 2500;

export class EngineReceiver implements Receiver {
  private app?: App;

  constructor(
    private readonly signingSecret: string,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  init(app: App) {
    this.app = app;
  }

  /** Adds the route; Bolt's start() has nothing more to do. */
  mount(context: ChannelContext) {
    context.route('POST', EVENTS_PATH, (request, response, body) => this.handle(request, response, body));
  }

  async start() {}
  async stop() {}

  private async handle(request: IncomingMessage, response: ServerResponse, raw: Buffer) {
    const timestamp = String(request.headers['x-slack-request-timestamp'] ?? '');
    const signature = String(request.headers['x-slack-signature'] ?? '');
    if (!verifySlackSignature(this.signingSecret, timestamp, signature, raw, this.now())) {
      response.writeHead(401, { 'content-type': 'text/plain' }).end('invalid signature');
      return;
    }
    let body: Record<string, any>;
    try {
      body = parseBody(String(request.headers['content-type'] ?? ''), raw);
    } catch {
      response.writeHead(400).end();
      return;
    }
    if (body.type === 'url_verification') {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ challenge: body.challenge }));
      return;
    }
    let answered = false;
    const answer = (payload?: unknown) => {
      if (answered) return;
      answered = true;
      if (payload === undefined || payload === '') response.writeHead(200).end();
      else response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(typeof payload === 'string' ? { text: payload } : payload));
    };
    const deadline = setTimeout(() => answer(), ACK_DEADLINE_MS);
    const event: ReceiverEvent = {
      body,
      retryNum: request.headers['x-slack-retry-num'] ? Number(request.headers['x-slack-retry-num']) : undefined,
      retryReason: request.headers['x-slack-retry-reason'] as string | undefined,
      ack: async (payload?: unknown) => answer(payload),
    };
    try {
      await this.app!.processEvent(event);
    } catch (error) {
      this.log.error({ error: (error as Error).message }, 'slack request failed');
    } finally {
      clearTimeout(deadline);
      answer();
    }
  }
}

export function verifySlackSignature(secret: string, timestamp: string, signature: string, body: Buffer, now: number): boolean {
  const seconds = Number(timestamp);
  if (!timestamp || !Number.isFinite(seconds) || Math.abs(now / 1000 - seconds) > MAX_AGE_SECONDS) return false;
  const expected = `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:`).update(body).digest('hex')}`;
  const a = Buffer.from(signature);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function parseBody(contentType: string, raw: Buffer): Record<string, any> {
  const text = raw.toString('utf8');
  const form = contentType.includes('application/json') ? undefined : Object.fromEntries(new URLSearchParams(text));
  // Interactivity (buttons, modals) sends its JSON in a `payload` field.
  const body: unknown = !form ? JSON.parse(text) : typeof form.payload === 'string' ? JSON.parse(form.payload) : form;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('not a Slack request body');
  return body as Record<string, any>;
}
