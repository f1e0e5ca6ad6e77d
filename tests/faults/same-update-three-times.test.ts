// The same Telegram update delivered three times at once to the webhook (Telegram
// retrying while the first delivery is still being answered): stored once, answered
// once. On PostgreSQL the three deliveries really run at the same time.
import { pino } from 'pino';
import { Engine } from '../../engine/engine.ts';
import { backends, engineDatabase } from '../helpers/database.ts';
import { FakeTelegram } from '../helpers/fake-telegram.ts';
import { TelegramWebhooks, textsByChat, WEBHOOK_SECRET } from '../helpers/faults.ts';
import { testConfig } from '../helpers/services.ts';
import { waitFor } from '../helpers/wait.ts';

const CHATS = 20;

describe.each(backends)('the same update three times at once, on $name', (backend) => {
  test(`${CHATS} updates, each delivered three times at once: each processed once, one reply`, async () => {
    const telegram = new FakeTelegram();
    await telegram.start();
    const database = await engineDatabase(backend);
    const webhooks = new TelegramWebhooks();
    let engine: Engine | undefined;
    try {
      engine = await Engine.start(
        testConfig({ database: database.config, port: 0, telegram: { token: telegram.token, apiRoot: telegram.url, rateLimit: 100, webhookSecret: WEBHOOK_SECRET }, publicUrl: 'https://bot.example.org', publicUrlSet: true }),
        { log: pino({ level: 'silent' }), watch: false },
      );
      webhooks.targets.push(engine.url);
      await Promise.all(
        Array.from({ length: CHATS }, (_, n) => {
          const update = webhooks.message(4200 + n, 'join');
          return Promise.all([1, 2, 3].map(() => webhooks.deliver(update)));
        }),
      );
      expect(webhooks.refused.size).toBe(0);
      await waitFor(() => textsByChat(telegram).size === CHATS, 60_000);
      // Anything processed twice would be answered now.
      await new Promise((resolve) => setTimeout(resolve, 500));
      for (const texts of textsByChat(telegram).values()) expect(texts).toEqual(['Welcome! What is your name?']);
      const [{ count }] = await engine.services.db.query<{ count: number }>(`select count(*)::int as count from messages where direction = 'in'`);
      expect(count).toBe(CHATS);
    } finally {
      webhooks.close();
      await engine?.stop();
      await telegram.stop();
      await database.drop();
    }
  }, 120_000);
});
