// The delivery worker against the real store: SKIP LOCKED with two workers, order per
// contact, retries with backoff, retry-after, permanent failures and blocked recipients.
import { DeliveryWorker } from '../engine/delivery/worker.ts';
import { silentLogger } from '../engine/log.ts';
import { Metrics } from '../engine/metrics.ts';
import { openDatabase, type Database } from '../engine/store/database.ts';
import { backends } from './helpers/database.ts';
import { FakeChannel } from './helpers/fake-channel.ts';
import { openTestServices, testConfig, type TestServices } from './helpers/services.ts';
import { waitFor } from './helpers/wait.ts';

const settings = { ...testConfig().delivery };


/** Queues `count` messages for each address on the fake channel, numbered in order. */
async function enqueue(db: Database, channel: string, addresses: string[], count: number) {
  for (const address of addresses) {
    const [{ id }] = await db.query<{ id: number }>(`insert into contacts (name) values ($1) returning id`, [address]);
    await db.query(`insert into identities (contact_id, channel, address) values ($1, $2, $3)`, [id, channel, address]);
    await db.query(
      `insert into outbox (contact_id, channel, address, kind, body)
       select $1, $2, $3, 'reply', jsonb_build_object('text', $3 || ' #' || n) from generate_series(1, $4::int) as n`,
      [id, channel, address, count],
    );
  }
}

const statusCounts = async (db: Database, channel: string) =>
  Object.fromEntries((await db.query<{ status: string; count: number }>(`select status, count(*)::int as count from outbox where channel = $1 group by status`, [channel])).map((row) => [row.status, row.count]));

describe.each(backends)('delivery on $name', (backend) => {
  let services: TestServices;
  const workers: DeliveryWorker[] = [];
  const worker = (db: Database, channel: FakeChannel, overrides: Partial<typeof settings> = {}) => {
    const created = new DeliveryWorker({ db, channels: [channel], log: silentLogger(), metrics: new Metrics(), settings: { ...settings, ...overrides } });
    workers.push(created);
    return created;
  };

  beforeAll(async () => {
    services = await openTestServices(backend);
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((created) => created.stop()));
  });
  afterAll(() => services?.close());

  test('two workers share the outbox: nothing sent twice, each contact in order', async () => {
    const channel = new FakeChannel('shared');
    channel.delayMs = 2;
    const addresses = Array.from({ length: 40 }, (_, i) => `s${i}`);
    await enqueue(services.db, 'shared', addresses, 5);
    // On PostgreSQL the second worker has its own connection pool, like another process.
    const secondDb = backend.config.kind === 'postgres' ? await openDatabase(backend.config, { schema: services.schema }) : services.db;
    try {
      worker(services.db, channel, { batchSize: 7 }).start();
      worker(secondDb, channel, { batchSize: 7 }).start();
      await waitFor(async () => (await statusCounts(services.db, 'shared')).sent === 200);
      expect(channel.sent).toHaveLength(200);
      for (const address of addresses) {
        expect(channel.sent.filter((sent) => sent.address === address).map((sent) => sent.message.text)).toEqual([1, 2, 3, 4, 5].map((n) => `${address} #${n}`));
      }
      const claimedBy = await services.db.query(`select count(distinct claimed_by)::int as workers from outbox where channel = 'shared'`);
      expect(claimedBy).toEqual([{ workers: 2 }]);
      const [{ count }] = await services.db.query<{ count: number }>(`select count(*)::int as count from messages where channel = 'shared' and direction = 'out'`);
      expect(count).toBe(200);
    } finally {
      await Promise.all(workers.splice(0).map((created) => created.stop()));
      if (secondDb !== services.db) await secondDb.close();
    }
  });

  test('transient failures are retried with backoff, then sent; order is kept meanwhile', async () => {
    const channel = new FakeChannel('flaky');
    channel.script.push({ status: 'retry', reason: '502 Bad Gateway' }, new Error('socket hang up'));
    await enqueue(services.db, 'flaky', ['f1'], 2);
    worker(services.db, channel).start();
    await waitFor(async () => (await statusCounts(services.db, 'flaky')).sent === 2);
    expect(channel.attempts).toBe(4);
    expect(channel.sent.map((sent) => sent.message.text)).toEqual(['f1 #1', 'f1 #2']);
    const rows = await services.db.query(`select attempts, last_error from outbox where channel = 'flaky' order by id`);
    expect(rows).toEqual([{ attempts: 3, last_error: null }, { attempts: 1, last_error: null }]);
  });

  test("a channel's retry-after is honoured", async () => {
    const channel = new FakeChannel('limited');
    channel.script.push({ status: 'retry', reason: '429 Too Many Requests', afterSeconds: 0.4, scope: 'channel' });
    await enqueue(services.db, 'limited', ['l1'], 1);
    const started = Date.now();
    worker(services.db, channel).start();
    await waitFor(async () => (await statusCounts(services.db, 'limited')).sent === 1);
    expect(channel.sent[0]!.at - started).toBeGreaterThanOrEqual(400);
  });

  test('gives up after the last attempt and records why', async () => {
    const channel = new FakeChannel('down');
    for (let i = 0; i < 3; i++) channel.script.push({ status: 'retry', reason: 'timeout' });
    await enqueue(services.db, 'down', ['d1'], 1);
    worker(services.db, channel, { maxAttempts: 3 }).start();
    await waitFor(async () => (await statusCounts(services.db, 'down')).failed === 1);
    const [row] = await services.db.query(`select attempts, last_error from outbox where channel = 'down'`);
    expect(row).toEqual({ attempts: 3, last_error: 'gave up after 3 attempts: timeout' });
  });

  test('a recipient who blocked the bot becomes stopped; their other messages are cancelled', async () => {
    const channel = new FakeChannel('blocking');
    channel.script.push({ status: 'permanent', reason: '403 Forbidden: bot was blocked by the user', stopContact: true });
    await enqueue(services.db, 'blocking', ['b1'], 3);
    worker(services.db, channel).start();
    await waitFor(async () => (await statusCounts(services.db, 'blocking')).failed === 1);
    expect(await statusCounts(services.db, 'blocking')).toEqual({ failed: 1, cancelled: 2 });
    const [identity] = await services.db.query(`select stopped_at is not null as stopped from identities where channel = 'blocking'`);
    expect(identity).toEqual({ stopped: true });
    const consents = await services.db.query(`select status, source from consents where channel = 'blocking'`);
    expect(consents).toEqual([{ status: 'withdrawn', source: 'blocked' }]);
  });

  test('rows left "sending" by a process that died are sent again', async () => {
    const channel = new FakeChannel('orphaned');
    await enqueue(services.db, 'orphaned', ['o1'], 1);
    await services.db.query(`update outbox set status = 'sending', claimed_by = 'dead', claimed_at = now() - interval '1 hour' where channel = 'orphaned'`);
    worker(services.db, channel).start();
    await waitFor(async () => (await statusCounts(services.db, 'orphaned')).sent === 1);
    expect(channel.sent).toHaveLength(1);
  });

  test('replies go before bulk messages', async () => {
    const channel = new FakeChannel('priority');
    await enqueue(services.db, 'priority', ['bulk1', 'bulk2', 'bulk3'], 1);
    await services.db.query(`update outbox set kind = 'bulk', priority = 1 where channel = 'priority'`);
    await enqueue(services.db, 'priority', ['reply1'], 1);
    worker(services.db, channel, { batchSize: 1 }).start();
    await waitFor(async () => (await statusCounts(services.db, 'priority')).sent === 4);
    expect(channel.sent[0]!.address).toBe('reply1');
  });

  test('stop() lets the sends under way finish and records them', async () => {
    const channel = new FakeChannel('slow');
    channel.delayMs = 300;
    await enqueue(services.db, 'slow', ['slow1'], 1);
    const slow = worker(services.db, channel);
    slow.start();
    await waitFor(async () => channel.attempts === 1);
    await slow.stop();
    expect(await statusCounts(services.db, 'slow')).toEqual({ sent: 1 });
  });
});
