// Sustained load through the Telegram webhook on one `tocsin start` on PostgreSQL: a fixed
// rate of updates for a minute (open loop: the driver does not wait for the engine to
// catch up). Everything is stored once and answered once, and the engine's memory is
// flat. The goal of 1,000 a second is the bench's business (docs/performance.md): this
// test holds a rate this 2-core machine sustains; LOAD_RATE and LOAD_SECONDS try others.
//
// The engine runs with its old generation capped (--max-old-space-size, as under a
// container's memory limit). Without a cap V8 defers full collections for minutes and
// the RSS grows by about 1 MB/s of garbage whether or not anything leaks; with it, the
// RSS follows what the engine really keeps.
import pg from 'pg';
import { startEngine } from '../helpers/cli.ts';
import { createSchema, dropSchema, schemaUrl } from '../helpers/database.ts';
import { FakeTelegram } from '../helpers/fake-telegram.ts';
import { describeOnPostgres, type EngineProcess, rssMb, stopEngine, TelegramWebhooks, telegramEngineEnv } from '../helpers/faults.ts';
import { waitFor } from '../helpers/wait.ts';

const RATE = Number(process.env.LOAD_RATE ?? 200);
const SECONDS = Number(process.env.LOAD_SECONDS ?? 60);
const CONTACTS = 5000;
const TICK_MS = 100;
/** "Flat": the mean RSS of the last 10 s of load at most this many MB above the mean from 10 s to 20 s. */
const FLAT_MB = 25;
const OLD_SPACE_MB = 192;
const FALLBACK = 'Hello! Write JOIN to join us, RSVP to see our upcoming events, or SURVEY to answer our survey.';

const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;

describeOnPostgres('load through webhooks', (url) => {
  test(`${RATE} messages a second for ${SECONDS} s: all stored and answered once, memory flat`, async () => {
    const schema = await createSchema(url);
    const telegram = new FakeTelegram();
    await telegram.start();
    // Telegram's own limit is 30 a second; the stand-in takes whatever the load needs.
    const webhooks = new TelegramWebhooks();
    const rss: { at: number; mb: number }[] = [];
    let sampler: NodeJS.Timeout | undefined;
    let engine: EngineProcess | undefined;
    try {
      engine = await startEngine(telegramEngineEnv(telegram, schemaUrl(url, schema), { TELEGRAM_RATE_LIMIT: String(RATE * 2), NODE_OPTIONS: `--max-old-space-size=${OLD_SPACE_MB}` }));
      webhooks.targets.push(engine.url);
      const pid = engine.child.pid!;
      sampler = setInterval(() => rss.push({ at: Date.now(), mb: rssMb(pid) }), 1000);
      const started = Date.now();
      const deliveries: Promise<void>[] = [];
      let sent = 0;
      // Open loop: each tick sends what the rate says should have been sent by now.
      while (Date.now() - started < SECONDS * 1000) {
        const due = Math.floor(((Date.now() - started) / 1000) * RATE);
        for (; sent < due; sent++) deliveries.push(webhooks.deliver(webhooks.message(10_000 + (sent % CONTACTS), 'hello')));
        const next = started + Math.ceil((Date.now() - started + 1) / TICK_MS) * TICK_MS;
        await new Promise((resolve) => setTimeout(resolve, next - Date.now()));
      }
      const loadEnded = Date.now();
      await Promise.all(deliveries);
      const takenMs = Date.now() - loadEnded;
      await waitFor(() => telegram.delivered().length >= sent, 180_000);
      const drainedMs = Date.now() - loadEnded;
      clearInterval(sampler);

      const db = new pg.Client({ connectionString: schemaUrl(url, schema) });
      await db.connect();
      const { rows: [stored] } = await db.query(`select count(*)::int as messages, count(*) filter (where status = 'processed')::int as processed from messages where direction = 'in'`);
      const { rows: outbox } = await db.query(`select status, count(*)::int as count from outbox group by status`);
      await db.end();
      expect(stored).toEqual({ messages: sent, processed: sent });
      expect(outbox).toEqual([{ status: 'sent', count: sent }]);
      expect(telegram.delivered()).toHaveLength(sent);
      expect(telegram.delivered().every((call) => call.params.text === FALLBACK)).toBe(true);

      const window = (from: number, to: number) => rss.filter((sample) => sample.at - started >= from * 1000 && sample.at - started < to * 1000).map((sample) => sample.mb);
      const early = mean(window(10, 20));
      const late = mean(window(SECONDS - 10, SECONDS));
      console.log(
        `load: ${sent} messages at ${RATE}/s for ${SECONDS} s, refused ${JSON.stringify(Object.fromEntries(webhooks.refused))}; ` +
          `all taken ${takenMs} ms and all answered ${drainedMs} ms after the load ended; ` +
          `RSS MB: 10-20 s mean ${early.toFixed(0)}, last 10 s mean ${late.toFixed(0)}, max ${Math.max(...rss.map((sample) => sample.mb)).toFixed(0)}; ` +
          `samples ${rss.map((sample) => sample.mb.toFixed(0)).join(' ')}`,
      );
      expect(late - early).toBeLessThan(FLAT_MB);
    } finally {
      clearInterval(sampler);
      webhooks.close();
      await stopEngine(engine);
      await telegram.stop();
      await dropSchema(url, schema);
    }
  }, SECONDS * 1000 + 300_000);
});
