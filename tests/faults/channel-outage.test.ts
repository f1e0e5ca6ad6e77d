// Telegram fails for 20 seconds — every sendMessage answered 500, or left unanswered —
// then recovers. Supporters keep writing meanwhile. Nothing is lost: every message is
// answered once, in order; the retries and the outbox filling up show in /metrics.
// The engine runs as `tocsin start`, with the backoff it ships with.
import pg from 'pg';
import { startEngine } from '../helpers/cli.ts';
import { createSchema, dropSchema, schemaUrl } from '../helpers/database.ts';
import { FakeTelegram } from '../helpers/fake-telegram.ts';
import { describeOnPostgres, type EngineProcess, metric, stopEngine, TelegramWebhooks, telegramEngineEnv, textsByChat } from '../helpers/faults.ts';
import { waitFor } from '../helpers/wait.ts';

const OUTAGE_MS = 20_000;
const CONTACTS = 40;
/** What each contact writes, and what the bot answers. */
const SCRIPT: [string, string][] = [
  ['join', 'Welcome! What is your name?'],
  ['Nadia', 'Which language would you like us to write to you in?'],
  ['English', 'Which topics interest you? Answer with one or more numbers, for example: 1 3'],
];

const RETRIES = 'tocsin_outbound_messages_total{channel="telegram",outcome="retry"}';
const DEPTH = 'tocsin_outbox_depth{channel="telegram"}';

describeOnPostgres('the channel fails for 20 seconds, then recovers', (url) => {
  test.each([
    ['answers 500', 500 as const],
    ['does not answer', 'hang' as const],
  ])('Telegram %s: nothing lost, backoff visible in /metrics', async (_name, mode) => {
    const schema = await createSchema(url);
    const telegram = new FakeTelegram();
    await telegram.start();
    const webhooks = new TelegramWebhooks();
    let engine: EngineProcess | undefined;
    try {
      engine = await startEngine(telegramEngineEnv(telegram, schemaUrl(url, schema)));
      webhooks.targets.push(engine.url);
      const scrape = async () => (await fetch(`${engine!.url}/metrics`)).text();
      telegram.breakDown(mode);
      const started = Date.now();
      // Each contact goes through the script during the outage, one message every few seconds.
      await Promise.all(
        Array.from({ length: CONTACTS }, async (_, index) => {
          for (const [text] of SCRIPT) {
            await new Promise((resolve) => setTimeout(resolve, Math.random() * (OUTAGE_MS / SCRIPT.length)));
            await webhooks.deliver(webhooks.message(500 + index, text));
          }
        }),
      );
      expect(webhooks.refused.size).toBe(0); // storing does not depend on Telegram
      await waitFor(() => Date.now() - started >= OUTAGE_MS - 1000, OUTAGE_MS);
      const during = await scrape();
      expect(metric(during, DEPTH)).toBeGreaterThan(0);
      if (mode === 500) expect(metric(during, RETRIES)).toBeGreaterThan(0);
      expect(metric(during, 'tocsin_outbound_messages_total{channel="telegram",outcome="sent"}')).toBe(0);
      await waitFor(() => Date.now() - started >= OUTAGE_MS, OUTAGE_MS);
      telegram.recover();
      const recovered = Date.now();

      const expected = SCRIPT.map(([, reply]) => reply);
      await waitFor(() => [...textsByChat(telegram).values()].filter((texts) => texts.length >= expected.length).length === CONTACTS, 90_000);
      const drained = Date.now();
      const chats = textsByChat(telegram);
      expect(chats.size).toBe(CONTACTS);
      for (const texts of chats.values()) expect(texts).toEqual(expected);
      const after = await scrape();
      expect(metric(after, RETRIES)).toBeGreaterThan(0);
      expect(metric(after, DEPTH)).toBe(0);
      expect(metric(after, 'tocsin_outbound_messages_total{channel="telegram",outcome="failed"}')).toBe(0);
      const outbox = new pg.Client({ connectionString: schemaUrl(url, schema) });
      await outbox.connect();
      const { rows: [rows] } = await outbox.query(`select count(*) filter (where status = 'sent')::int as sent, count(*)::int as total, max(attempts)::int as attempts from outbox`);
      await outbox.end();
      expect(rows).toMatchObject({ sent: CONTACTS * SCRIPT.length, total: CONTACTS * SCRIPT.length });
      console.log(
        `Telegram ${mode === 500 ? 'answering 500' : 'not answering'} for ${OUTAGE_MS / 1000} s: ${CONTACTS * SCRIPT.length} messages stored during the outage, ` +
          `${metric(after, RETRIES)} retries (at most ${rows.attempts} attempts for one message), outbox depth ${metric(during, DEPTH)} at the end of the outage; all ${CONTACTS * SCRIPT.length} replies sent ` +
          `${((drained - recovered) / 1000).toFixed(1)} s after recovery, ${telegram.called('sendMessage')} sendMessage calls in all`,
      );
    } finally {
      webhooks.close();
      await stopEngine(engine);
      await telegram.stop();
      await dropSchema(url, schema);
    }
  }, 180_000);
});
