// What supporters may send, at random: random Unicode, right-to-left overrides, zero-width
// joiners, NUL, 100 KB, template and HTML syntax, malformed Telegram updates and Slack
// payloads. Nothing crashes, no reply leaks internals, the same update three times at once
// is processed once.
import { pino } from 'pino';
import { ChatSession } from '../bots/console.ts';
import { Engine } from '../engine/engine.ts';
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

test('2,000 random messages through the pipeline: no crash, no internals in any reply', async () => {
  const telegram = new FakeTelegram();
  const slack = new FakeSlack();
  await telegram.start();
  await slack.start();
  const engine = await Engine.start(
    testConfig({
      port: 0,
      telegram: { token: telegram.token, apiRoot: telegram.url, rateLimit: 1000, webhookSecret: 'fuzz-secret' },
      publicUrl: 'https://bot.example.org',
      publicUrlSet: true,
      slack: { botToken: 'xoxb-x', signingSecret: 'fuzz-slack', apiUrl: slack.apiUrl, organizers: ['U1'] },
    }),
    { log: pino({ level: 'silent' }), watch: false },
  );
  try {
    const random = seeded(42);
    const replies: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const session = new ChatSession(engine.services, `fuzz${i % 50}`, ['en', 'fr', 'ar', 'ru', 'xx'][i % 5]);
      for (const message of await session.say(randomText(random))) replies.push(message.text);
    }
    expect(replies.length).toBeGreaterThan(1000);
    for (const reply of replies) expect(reply).not.toMatch(/Error|at \/|node_modules|undefined|\[object Object\]|SELECT|insert into/i);

    // Malformed Telegram updates and Slack payloads get a clean 4xx, never a 500.
    const post = (path: string, body: string, headers: Record<string, string>) => fetch(`${engine.url}${path}`, { method: 'POST', body, headers });
    for (const body of ['', 'null', '[]', '{"update_id": "x"}', '{"update_id": 1, "message": {"chat": {}}}', '{'.repeat(1000), 'x'.repeat(2_000_000)]) {
      const response = await post('/telegram/webhook', body, { 'x-telegram-bot-api-secret-token': 'fuzz-secret', 'content-type': 'application/json' });
      expect([200, 400, 413]).toContain(response.status);
    }
    for (const body of ['', 'payload=%7B', 'payload=null', 'command=%2Falert&text=%00', '{"type":"event_callback"}']) {
      const response = await post('/slack/events', body, { ...slackHeaders('fuzz-slack', body), 'content-type': body.startsWith('{') ? 'application/json' : 'application/x-www-form-urlencoded' });
      expect(response.status).toBeLessThan(500);
    }
    expect((await fetch(`${engine.url}/healthz`)).status).toBe(200);
  } finally {
    await engine.stop();
    await telegram.stop();
    await slack.stop();
  }
}, 240_000);

test('the same Telegram update delivered three times at once is processed once', async () => {
  const telegram = new FakeTelegram();
  await telegram.start();
  const engine = await Engine.start(testConfig({ port: 0, telegram: { token: telegram.token, apiRoot: telegram.url, rateLimit: 30, webhookSecret: 's3cret' }, publicUrl: 'https://bot.example.org', publicUrlSet: true }), {
    log: pino({ level: 'silent' }),
    watch: false,
  });
  try {
    const update = JSON.stringify({ update_id: 77, message: { message_id: 1, date: Math.floor(Date.now() / 1000), chat: { id: 4242, type: 'private' }, from: { id: 4242, is_bot: false, first_name: 'T', language_code: 'en' }, text: 'join' } });
    const responses = await Promise.all(
      [1, 2, 3].map(() => fetch(`${engine.url}/telegram/webhook`, { method: 'POST', body: update, headers: { 'x-telegram-bot-api-secret-token': 's3cret', 'content-type': 'application/json' } })),
    );
    expect(responses.map((response) => response.status)).toEqual([200, 200, 200]);
    for (let i = 0; i < 100 && telegram.sentTo(4242).length < 1; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(telegram.sentTo(4242).map((message) => message.text)).toEqual(['Welcome! What is your name?']);
  } finally {
    await engine.stop();
    await telegram.stop();
  }
});
