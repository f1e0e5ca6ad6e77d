// Two `tocsin start` processes on one PostgreSQL database, behind a load balancer: each
// webhook delivery goes to one of them at random, and some updates are delivered twice
// (to either). Every contact goes through the join conversation; each message is
// answered once, and each contact's answers come in order.
import pg from 'pg';
import { startEngine } from '../helpers/cli.ts';
import { createSchema, dropSchema, schemaUrl } from '../helpers/database.ts';
import { FakeTelegram } from '../helpers/fake-telegram.ts';
import { describeOnPostgres, type EngineProcess, stopEngine, TelegramWebhooks, telegramEngineEnv, textsByChat } from '../helpers/faults.ts';
import { waitFor } from '../helpers/wait.ts';

const CONTACTS = 150;
const REDELIVERED = 0.2;

/** What contact `n` writes, and what the bot answers. */
function conversation(n: number): [string, string][] {
  const name = `Person ${n}`;
  return [
    ['join', 'Welcome! What is your name?'],
    [name, 'Which language would you like us to write to you in?'],
    ['English', 'Which topics interest you? Answer with one or more numbers, for example: 1 3'],
    ['1 3', `Thank you, ${name}. May we send you news and alerts here?`],
    ['yes', `You're in, ${name}! Write STOP at any time to stop receiving messages.`],
  ];
}

describeOnPostgres('two engine processes behind a load balancer', (url) => {
  test(`${CONTACTS} contacts join through webhooks spread over both: no double replies, each contact's answers in order`, async () => {
    const schema = await createSchema(url);
    const telegram = new FakeTelegram();
    await telegram.start();
    const env = telegramEngineEnv(telegram, schemaUrl(url, schema));
    const webhooks = new TelegramWebhooks();
    const engines: EngineProcess[] = [];
    try {
      // One after the other: the first applies the migrations.
      for (let i = 0; i < 2; i++) engines.push(await startEngine(env));
      webhooks.targets.push(...engines.map((engine) => engine.url));
      const started = Date.now();
      let redelivered = 0;
      await Promise.all(
        Array.from({ length: CONTACTS }, async (_, n) => {
          for (const [text] of conversation(n)) {
            const update = webhooks.message(3000 + n, text);
            await webhooks.deliver(update);
            // Telegram delivering it again, maybe to the other process.
            if (Math.random() < REDELIVERED) {
              redelivered++;
              await webhooks.deliver(update);
            }
          }
        }),
      );
      const messages = CONTACTS * conversation(0).length;
      await waitFor(() => telegram.delivered().length >= messages, 120_000);
      // Anything sent twice would arrive now.
      await new Promise((resolve) => setTimeout(resolve, 1000));

      const chats = textsByChat(telegram);
      expect(chats.size).toBe(CONTACTS);
      for (let n = 0; n < CONTACTS; n++) expect(chats.get(String(3000 + n))).toEqual(conversation(n).map(([, reply]) => reply));
      expect(telegram.delivered()).toHaveLength(messages);

      const db = new pg.Client({ connectionString: schemaUrl(url, schema) });
      await db.connect();
      const { rows: workers } = await db.query<{ worker: string; sent: number }>(`select claimed_by as worker, count(*)::int as sent from outbox where status = 'sent' group by 1 order by 1`);
      const { rows: [inbound] } = await db.query(`select count(*)::int as count from messages where direction = 'in'`);
      await db.end();
      expect(inbound.count).toBe(messages);
      expect(workers.reduce((sum, row) => sum + row.sent, 0)).toBe(messages);
      console.log(
        `two engines: ${messages} messages from ${CONTACTS} contacts (${redelivered} delivered twice) in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
          `replies sent by worker: ${workers.map((row) => row.sent).join(' + ')}; 0 double replies, 0 out of order`,
      );
    } finally {
      webhooks.close();
      await Promise.all(engines.map((engine) => stopEngine(engine)));
      await telegram.stop();
      await dropSchema(url, schema);
    }
  }, 180_000);
});
