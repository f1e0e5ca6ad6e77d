// What the fault and load tests (tests/faults/) share: suites that need a PostgreSQL server
// and say so when skipped, the environment of a `tocsin start` talking to the stand-in
// Telegram in webhook mode, a driver that posts updates to engines as Telegram does
// (again and again until one answers 200), the resident memory of a process, and
// reading a value from /metrics.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { exited, type startEngine } from './cli.ts';
import type { FakeTelegram } from './fake-telegram.ts';

export const POSTGRES_URL = process.env.TEST_DATABASE_URL;

/**
 * A suite run against the PostgreSQL server of TEST_DATABASE_URL; without it (or when
 * `unavailable` gives another reason), one skipped test that says why, and a line on stderr
 * (jest prints nothing of a file whose tests are all skipped).
 */
export function describeOnPostgres(name: string, suite: (url: string) => void, unavailable?: string) {
  const reason = POSTGRES_URL ? unavailable : 'TEST_DATABASE_URL is not set (this needs a PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/test)';
  if (!reason) return describe(name, () => suite(POSTGRES_URL!));
  process.stderr.write(`${name}: skipped, ${reason}\n`);
  describe(name, () => test.skip(`skipped: ${reason}`, () => {}));
}

export const WEBHOOK_SECRET = 'faults-webhook-secret';

/** `tocsin start` on `databaseUrl`, with Telegram in webhook mode against the stand-in. */
export function telegramEngineEnv(telegram: FakeTelegram, databaseUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    TELEGRAM_BOT_TOKEN: telegram.token,
    TELEGRAM_API_ROOT: telegram.url,
    TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET,
    PUBLIC_URL: 'https://bot.example.org',
    TELEGRAM_RATE_LIMIT: '1000',
    // Alerts go out whatever the time of day the test runs at.
    QUIET_HOURS: '0-0',
    ...extra,
  };
}

export type EngineProcess = Awaited<ReturnType<typeof startEngine>>;

/** Stops an engine process a test started, if it did (SIGTERM: gracefully). */
export async function stopEngine(engine: EngineProcess | undefined, signal: NodeJS.Signals = 'SIGTERM') {
  if (!engine) return;
  engine.child.kill(signal);
  await exited(engine.child);
}

/** Posts Telegram updates to one engine or several (a load balancer picking one at random for each attempt). */
export class TelegramWebhooks {
  /** Every answer but 200, by status (0: no answer — refused, reset, timed out). */
  readonly refused = new Map<number, number>();
  posts = 0;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256 });
  private nextUpdateId = 1;
  private nextMessageId = 1;

  /** The engines' base URLs. */
  readonly targets: string[] = [];

  constructor(private readonly options: { retryMs?: number; giveUpAfterMs?: number } = {}) {}

  /** A private-chat message from `chatId`, as a new update. */
  message(chatId: number, text: string) {
    return {
      update_id: this.nextUpdateId++,
      message: {
        message_id: this.nextMessageId++,
        date: Math.floor(Date.now() / 1000),
        chat: { id: chatId, type: 'private', first_name: `User ${chatId}` },
        from: { id: chatId, is_bot: false, first_name: `User ${chatId}`, language_code: 'en' },
        text,
      },
    };
  }

  /** Posts `update` until an engine answers 200, waiting `retryMs` between attempts, as Telegram redelivers. */
  async deliver(update: { update_id: number }): Promise<void> {
    const body = JSON.stringify(update);
    const giveUpAt = Date.now() + (this.options.giveUpAfterMs ?? 120_000);
    for (;;) {
      const target = this.targets[Math.floor(Math.random() * this.targets.length)]!;
      const status = await this.post(target, body);
      if (status === 200) return;
      this.refused.set(status, (this.refused.get(status) ?? 0) + 1);
      if (Date.now() > giveUpAt) throw new Error(`update ${update.update_id} still not taken (last answer ${status || 'none'})`);
      await sleep(this.options.retryMs ?? 500);
    }
  }

  close() {
    this.agent.destroy();
  }

  private post(target: string, body: string): Promise<number> {
    this.posts++;
    return new Promise((resolve) => {
      const call = request(
        `${target}/telegram/webhook`,
        {
          method: 'POST',
          agent: this.agent,
          timeout: 30_000,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-telegram-bot-api-secret-token': WEBHOOK_SECRET },
        },
        (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode ?? 0));
          response.on('error', () => resolve(0));
        },
      );
      call.on('timeout', () => call.destroy());
      call.on('error', () => resolve(0));
      call.end(body);
    });
  }
}

/** Resident memory of a process, in MB (Linux). */
export function rssMb(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
  return kb / 1024;
}

/** The value of one series in Prometheus text (`name{labels}`), 0 when absent. */
export function metric(text: string, series: string): number {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

/** Sent messages (answered 200 by the stand-in) per chat, in order. */
export function textsByChat(telegram: FakeTelegram): Map<string, string[]> {
  const chats = new Map<string, string[]>();
  for (const call of telegram.delivered()) {
    const chat = String(call.params.chat_id);
    const texts = chats.get(chat) ?? [];
    texts.push(call.params.text);
    chats.set(chat, texts);
  }
  return chats;
}
