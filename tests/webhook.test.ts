// The `webhook` action end to end: a flow posts JSON to a real HTTP server on 127.0.0.1,
// through the outbox; a 503 is retried, the body arrives once.
import { createServer, type Server } from 'node:http';
import { ChatSession } from '../bots/console.ts';
import { WebhookChannel } from '../bots/webhook.ts';
import { backends } from './helpers/database.ts';
import { openTestServices, type TestServices } from './helpers/services.ts';

const pglite = backends[0]!;

describe('webhook channel', () => {
  let server: Server;
  let url: string;
  const received: unknown[] = [];
  const answers: number[] = [];
  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        const status = answers.shift() ?? 200;
        if (status === 200) received.push(JSON.parse(body));
        response.writeHead(status, status === 429 ? { 'retry-after': '1' } : {}).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  test('normalizes answers: 2xx sent, 5xx/429 retry (with Retry-After), 4xx permanent, network error retry', async () => {
    const channel = new WebhookChannel(2000);
    answers.push(200, 503, 429, 404);
    expect((await channel.send(url, { text: '', data: { a: 1 } })).status).toBe('sent');
    expect(await channel.send(url, { text: '', data: {} })).toMatchObject({ status: 'retry', reason: expect.stringContaining('503') });
    expect(await channel.send(url, { text: '', data: {} })).toMatchObject({ status: 'retry', afterSeconds: 1 });
    expect(await channel.send(url, { text: '', data: {} })).toMatchObject({ status: 'permanent', reason: expect.stringContaining('404') });
    expect(await channel.send('http://127.0.0.1:1/nothing', { text: '', data: {} })).toMatchObject({ status: 'retry' });
    expect(received).toEqual([{ a: 1 }]);
    received.length = 0;
  });

  test('a flow action posts through the outbox and is retried until accepted', async () => {
    let services: TestServices | undefined;
    const { mkdtempSync, writeFileSync, cpSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const { ROOT } = await import('./helpers/services.ts');
    const dir = mkdtempSync(join(tmpdir(), 'tocsin-webhook-'));
    try {
      cpSync(join(ROOT, 'flows'), dir, { recursive: true });
      writeFileSync(
        join(dir, 'petition.yaml'),
        `triggers: { keywords: [sign] }\nsteps:\n  city:\n    say: { en: "Your city?" }\n    ask: { type: text, save: vars.city }\n    next: post\n  post:\n    do:\n      - webhook: { url: "${url}", body: { city: "{{vars.city}}" } }\n    say: { en: Signed. }\n`,
      );
      services = await openTestServices(pglite, { config: { flowsDir: dir } });
      services.delivery.start(['webhook']);
      answers.push(503);
      const session = new ChatSession(services, 'signer');
      expect((await session.say('sign')).map((reply) => reply.text)).toEqual(['Your city?']);
      expect((await session.say('Lyon')).map((reply) => reply.text)).toEqual(['Signed.']);
      const deadline = Date.now() + 10_000;
      while (!received.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(received).toEqual([{ city: 'Lyon' }]);
      const [row] = await services.db.query(`select status, attempts from outbox where channel = 'webhook'`);
      expect(row).toEqual({ status: 'sent', attempts: 2 });
    } finally {
      await services?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
