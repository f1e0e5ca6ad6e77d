// What supporters may send, at random: random Unicode, right-to-left overrides, zero-width
// joiners, NUL, 100 KB, template and HTML syntax, malformed Telegram updates and Slack
// payloads. Nothing crashes, no reply leaks internals, nothing is rendered as markup.
// 2,000 messages on the embedded database, 10,000 on PostgreSQL (where fifty supporters
// write at once). The same update three times at once: tests/faults/same-update-three-times.test.ts.
import { pino } from 'pino';
import { ChatSession } from '../bots/console.ts';
import { Engine } from '../engine/engine.ts';
import { backends, engineDatabase } from './helpers/database.ts';
import { FakeSlack, slackHeaders } from './helpers/fake-slack.ts';
import { FakeTelegram } from './helpers/fake-telegram.ts';
import { testConfig } from './helpers/services.ts';

const PIECES = ['{{constructor.constructor}}', '<script>alert(1)</script>', '\u202E', '\u200D', '\u0000', '👩🏽‍🚀', 'stop', 'join', '1', 'نعم', 'да', '{{#each}}', '${process}', '\uD800', ' ', '\n', 'العربية', 'é', '"', "'", '\\'];

/** A random message, from a fixed seed so a failure can be replayed. */
function randomText(random: () => number): string {
  if (random() < 0.01) return 'x'.repeat(100_000);
  const parts: string[] = [];
  const count = 1 + Math.floor(random() * 6);
  for (let i = 0; i < count; i++) {
    parts.push(random() < 0.5 ? PIECES[Math.floor(random() * PIECES.length)]! : String.fromCodePoint(Math.floor(random() * 0x2ffff)));
  }
  return parts.join(random() < 0.5 ? ' ' : '');
}

function seeded(seed: number) {
  let state = seed;
  return () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}

const SUPPORTERS = 50;

describe.each(backends)('fuzzing on $name', (backend) => {
  const count = backend.name === 'postgres' ? 10_000 : 2_000;

  test(`${count.toLocaleString('en')} random messages through the pipeline: no crash, no internals in any reply`, async () => {
    const telegram = new FakeTelegram();
    const slack = new FakeSlack();
    await telegram.start();
    await slack.start();
    const database = await engineDatabase(backend);
    let engine: Engine | undefined;
    try {
      engine = await Engine.start(
        testConfig({
          database: database.config,
          port: 0,
          telegram: { token: telegram.token, apiRoot: telegram.url, rateLimit: 1000, webhookSecret: 'fuzz-secret' },
          publicUrl: 'https://bot.example.org',
          publicUrlSet: true,
          slack: { botToken: 'xoxb-x', signingSecret: 'fuzz-slack', apiUrl: slack.apiUrl, organizers: ['U1'] },
        }),
        { log: pino({ level: 'silent' }), watch: false },
      );
      const { services, url } = engine;
      // Message i is written by supporter i % 50, each supporter's in order; the supporters write at once.
      const random = seeded(42);
      const texts = Array.from({ length: count }, () => randomText(random));
      const replies: string[] = [];
      await Promise.all(
        Array.from({ length: SUPPORTERS }, async (_, supporter) => {
          const session = new ChatSession(services, `fuzz${supporter}`, ['en', 'fr', 'ar', 'ru', 'xx'][supporter % 5]);
          for (let i = supporter; i < count; i += SUPPORTERS) for (const message of await session.say(texts[i]!)) replies.push(message.text);
        }),
      );
      expect(replies.length).toBeGreaterThan(count / 2);
      for (const reply of replies) expect(reply).not.toMatch(/Error|at \/|node_modules|undefined|\[object Object\]|SELECT|insert into/i);
      // What they typed is data: nothing of theirs comes back rendered or escaped as HTML.
      for (const reply of replies) expect(reply).not.toMatch(/&(lt|gt|amp|quot|#x27|#x60|#x3D);/);
      const [{ stored }] = await services.db.query<{ stored: number }>(`select count(*)::int as stored from messages where direction = 'in' and channel = 'console'`);
      expect(stored).toBe(count);

      // Malformed Telegram updates and Slack payloads get a clean 4xx, never a 500.
      const post = (path: string, body: string, headers: Record<string, string>) => fetch(`${url}${path}`, { method: 'POST', body, headers });
      for (const body of ['', 'null', '[]', '{"update_id": "x"}', '{"update_id": 1, "message": {"chat": {}}}', '{'.repeat(1000), 'x'.repeat(2_000_000)]) {
        const response = await post('/telegram/webhook', body, { 'x-telegram-bot-api-secret-token': 'fuzz-secret', 'content-type': 'application/json' });
        expect([200, 400, 413]).toContain(response.status);
      }
      for (const body of ['', 'payload=%7B', 'payload=null', 'command=%2Falert&text=%00', '{"type":"event_callback"}']) {
        const response = await post('/slack/events', body, { ...slackHeaders('fuzz-slack', body), 'content-type': body.startsWith('{') ? 'application/json' : 'application/x-www-form-urlencoded' });
        expect(response.status).toBeLessThan(500);
      }
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    } finally {
      await engine?.stop();
      await telegram.stop();
      await slack.stop();
      await database.drop();
    }
  }, 300_000);
});
