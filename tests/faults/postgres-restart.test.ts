// PostgreSQL restarted under load. The engine runs on a cluster of the test's own (the
// shared server keeps serving the other test files); supporters keep writing through the
// Telegram webhook while the cluster is stopped and started again. Meanwhile webhooks
// answer 503, so Telegram (here the driver) delivers those updates again; the engine
// reconnects by itself; in the end every message is stored once and answered once.
import pg from 'pg';
import { startEngine } from '../helpers/cli.ts';
import { FakeTelegram } from '../helpers/fake-telegram.ts';
import { describeOnPostgres, type EngineProcess, stopEngine, TelegramWebhooks, telegramEngineEnv, textsByChat } from '../helpers/faults.ts';
import { PrivatePostgres, privatePostgresMissing } from '../helpers/private-postgres.ts';
import { waitFor } from '../helpers/wait.ts';

const CONTACTS = 150;
/** Each contact writes one message every this many ms (Telegram takes one a second per chat): 100 a second in all. */
const EVERY_MS = 1500;
const LOAD_MS = 25_000;
const STOP_AT_MS = 8_000;
const DOWN_MS = 5_000;
const FALLBACK = 'Hello! Write JOIN to join us, RSVP to see our upcoming events, or SURVEY to answer our survey.';

describeOnPostgres(
  'PostgreSQL restarted under load',
  () => {
    let cluster: PrivatePostgres | undefined;
    afterAll(() => cluster?.destroy());

    test('webhooks answer 503 while it is down, the engine reconnects, nothing is lost', async () => {
      cluster = await PrivatePostgres.create();
      const telegram = new FakeTelegram();
      await telegram.start();
      const webhooks = new TelegramWebhooks({ retryMs: 250 });
      const sent = new Map<number, number>();
      const health: number[] = [];
      let engine: EngineProcess | undefined;
      try {
        engine = await startEngine(telegramEngineEnv(telegram, cluster.url));
        const engineUrl = engine.url;
        webhooks.targets.push(engineUrl);
        const started = Date.now();
        const load = Promise.all(
          Array.from({ length: CONTACTS }, async (_, index) => {
            const chat = 700 + index;
            await new Promise((resolve) => setTimeout(resolve, (index * EVERY_MS) / CONTACTS));
            while (Date.now() - started < LOAD_MS) {
              const next = Date.now() + EVERY_MS;
              await webhooks.deliver(webhooks.message(chat, 'hello'));
              sent.set(chat, (sent.get(chat) ?? 0) + 1);
              await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now())));
            }
          }),
        );
        await new Promise((resolve) => setTimeout(resolve, STOP_AT_MS));
        await cluster.stop('fast');
        const stopped = Date.now();
        health.push((await fetch(`${engineUrl}/healthz`)).status);
        await new Promise((resolve) => setTimeout(resolve, DOWN_MS));
        health.push((await fetch(`${engineUrl}/healthz`)).status);
        await cluster.start();
        const restarted = Date.now();
        await waitFor(async () => (await fetch(`${engineUrl}/healthz`)).status === 200, 30_000);
        const reconnectedMs = Date.now() - restarted;
        await load;
        const total = [...sent.values()].reduce((sum, count) => sum + count, 0);

        // Messages whose processing the stop interrupted are picked up by the sweep (after 30 s).
        await waitFor(() => textsByChat(telegram).size === CONTACTS && [...textsByChat(telegram)].every(([chat, texts]) => texts.length >= sent.get(Number(chat))!), 120_000);
        const db = new pg.Client({ connectionString: cluster.url });
        await db.connect();
        const { rows: [stored] } = await db.query(
          `select count(*)::int as messages, count(distinct channel_message_id)::int as distinct, count(*) filter (where status = 'processed')::int as processed from messages where direction = 'in'`,
        );
        const { rows: outbox } = await db.query(`select status, count(*)::int as count from outbox group by status`);
        await db.end();
        expect(stored).toEqual({ messages: total, distinct: total, processed: total });
        expect(outbox).toEqual([{ status: 'sent', count: total }]);
        const chats = textsByChat(telegram);
        for (const [chat, count] of sent) expect(chats.get(String(chat))).toEqual(Array(count).fill(FALLBACK));
        expect(health).toEqual([503, 503]);
        expect(webhooks.refused.get(503)).toBeGreaterThan(0);
        console.log(
          `PostgreSQL stopped ${((stopped - started) / 1000).toFixed(1)} s into the load for ${((restarted - stopped) / 1000).toFixed(1)} s: ` +
            `${total} messages from ${CONTACTS} contacts in ${(LOAD_MS / 1000).toFixed(0)} s, webhook answers refused: ${JSON.stringify(Object.fromEntries(webhooks.refused))} (redelivered), ` +
            `healthz 200 again ${reconnectedMs} ms after the restart; all stored once, all answered once, ${((Date.now() - started) / 1000).toFixed(1)} s in all`,
        );
      } finally {
        webhooks.close();
        await stopEngine(engine);
        await telegram.stop();
      }
    }, 240_000);
  },
  privatePostgresMissing(),
);
