// kill -9 of `tocsin start` in the middle of a 3,000-recipient alert, then a restart:
// every recipient gets the alert, and the only ones who get it twice are those whose
// message was in flight at the kill — the stand-in Telegram had it, the outbox still
// said `sending`.
import pg from 'pg';
import { startEngine, tocsin } from '../helpers/cli.ts';
import { createSchema, dropSchema, schemaUrl } from '../helpers/database.ts';
import { FakeTelegram } from '../helpers/fake-telegram.ts';
import { describeOnPostgres, type EngineProcess, stopEngine, telegramEngineEnv, textsByChat } from '../helpers/faults.ts';
import { waitFor } from '../helpers/wait.ts';

const RECIPIENTS = 3000;
const FIRST_CHAT = 100_001;

describeOnPostgres('kill -9 of the engine in the middle of a broadcast', (url) => {
  test(`every one of ${RECIPIENTS} recipients gets the alert; duplicates only among the messages in flight`, async () => {
    const schema = await createSchema(url);
    const db = new pg.Client({ connectionString: schemaUrl(url, schema) });
    const telegram = new FakeTelegram();
    await telegram.start();
    // Each send takes a while, so that some are in flight whenever the kill comes.
    telegram.delayMs = 30;
    const env = telegramEngineEnv(telegram, schemaUrl(url, schema), { TELEGRAM_RATE_LIMIT: '300' });
    let engine: EngineProcess | undefined;
    try {
      engine = await startEngine(env);
      await db.connect();
      await db.query(
        `with c as (insert into contacts (name, language) select 'R' || n, 'en' from generate_series(1, $1::int) n returning id, name),
              i as (insert into identities (contact_id, channel, address) select id, 'telegram', ($2::int - 1 + substr(name, 2)::int)::text from c returning contact_id)
         insert into consents (contact_id, channel, status, source) select contact_id, 'telegram', 'granted', 'test' from i`,
        [RECIPIENTS, FIRST_CHAT],
      );
      const alert = await tocsin(['alert', '--to', 'everyone', '--message', 'Vote on Sunday, {{contact.name}}!', '--yes', '--detach'], env);
      expect(alert.stdout).toContain(`queued for ${RECIPIENTS} contacts`);

      // The kill comes in the middle of a batch (the worker claims 50 at a time), while sends are under way.
      await waitFor(() => telegram.calls.length >= 1025, 60_000);
      await stopEngine(engine, 'SIGKILL');
      const killedAt = Date.now();
      // The stand-in answers what reached it before the kill (the message is in the chat, whoever reads the answer).
      await waitFor(() => telegram.calls.every((call) => call.status !== undefined));
      const deliveredAtKill = textsByChat(telegram);
      const { rows: inFlight } = await db.query<{ address: string }>(`select address from outbox where status = 'sending'`);
      const { rows: [{ sent }] } = await db.query<{ sent: number }>(`select count(*)::int as sent from outbox where status = 'sent'`);
      // In flight and already in the chat: these are the ones that go twice.
      const deliveredInFlight = inFlight.filter((row) => deliveredAtKill.has(row.address)).map((row) => row.address);
      expect(deliveredAtKill.size).toBe(sent + deliveredInFlight.length);
      expect(sent).toBeLessThan(RECIPIENTS);

      // A row a dead process left `sending` is sent again 5 minutes after it was claimed
      // (stuckAfterMs): let those 5 minutes pass at once.
      await db.query(`update outbox set claimed_at = claimed_at - interval '5 minutes' where status = 'sending'`);
      engine = await startEngine(env);
      const restarted = Date.now();
      await waitFor(() => textsByChat(telegram).size === RECIPIENTS, 120_000);
      await waitFor(async () => (await db.query(`select 1 from outbox where status <> 'sent'`)).rowCount === 0, 30_000);

      const chats = textsByChat(telegram);
      for (let chat = FIRST_CHAT; chat < FIRST_CHAT + RECIPIENTS; chat++) expect(chats.get(String(chat))?.[0]).toBe(`Vote on Sunday, R${chat - FIRST_CHAT + 1}!`);
      const twice = [...chats].filter(([, texts]) => texts.length > 1).map(([chat]) => chat);
      expect(twice.sort()).toEqual(deliveredInFlight.sort());
      expect(Math.max(...[...chats.values()].map((texts) => texts.length))).toBeLessThanOrEqual(2);
      console.log(
        `kill -9 mid-broadcast: ${RECIPIENTS} recipients; at the kill ${sent} recorded sent, ${inFlight.length} in flight (${deliveredInFlight.length} of them already delivered); ` +
          `after restart all ${RECIPIENTS} delivered in ${((Date.now() - restarted) / 1000).toFixed(1)} s, ${twice.length} twice, ${telegram.delivered().length} sendMessage in all (${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill)`,
      );
    } finally {
      await stopEngine(engine, 'SIGKILL');
      await db.end().catch(() => {});
      await telegram.stop();
      await dropSchema(url, schema);
    }
  }, 180_000);
});
