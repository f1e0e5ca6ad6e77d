// A stand-in for the Slack Web API and for response_url targets: a real HTTP server on
// 127.0.0.1 that records every call, and helpers to send signed requests to the engine
// as Slack does.
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';

export interface SlackCall {
  method: string;
  params: Record<string, any>;
  at: number;
}

export class FakeSlack {
  readonly calls: SlackCall[] = [];
  /** Bodies posted to response_url targets, by target id. */
  readonly responses = new Map<string, Record<string, any>[]>();
  members: string[] = [];
  private server?: Server;
  private ts = 1000;
  url = '';

  async start() {
    this.server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => this.answer(request.url ?? '', String(request.headers['content-type'] ?? ''), body, response));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server!.address() as { port: number }).port}`;
  }

  async stop() {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  get apiUrl() {
    return `${this.url}/api/`;
  }

  responseUrl(id: string) {
    return `${this.url}/respond/${id}`;
  }

  called(method: string) {
    return this.calls.filter((call) => call.method === method);
  }

  private answer(url: string, contentType: string, body: string, response: import('node:http').ServerResponse) {
    const params = contentType.includes('json') ? (body ? JSON.parse(body) : {}) : Object.fromEntries(new URLSearchParams(body));
    for (const key of ['blocks', 'view']) if (typeof params[key] === 'string') params[key] = JSON.parse(params[key]);
    const reply = (payload: unknown) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(payload));
    };
    const respond = /^\/respond\/(\w+)/.exec(url);
    if (respond) {
      const list = this.responses.get(respond[1]!) ?? [];
      list.push(params);
      this.responses.set(respond[1]!, list);
      return reply({ ok: true });
    }
    const method = /^\/api\/([\w.]+)/.exec(url)?.[1] ?? 'unknown';
    this.calls.push({ method, params, at: Date.now() });
    switch (method) {
      case 'auth.test':
        return reply({ ok: true, user_id: 'UBOT', bot_id: 'BBOT', team_id: 'T1' });
      case 'chat.postMessage':
        return reply({ ok: true, channel: params.channel, ts: `${++this.ts}.000100` });
      case 'conversations.members':
        return reply({ ok: true, members: this.members });
      default:
        return reply({ ok: true });
    }
  }
}

/** Signs a request body as Slack does (v0 HMAC-SHA256 over `v0:timestamp:body`). */
export function slackHeaders(secret: string, body: string, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
  const signature = `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  return { 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': signature };
}
