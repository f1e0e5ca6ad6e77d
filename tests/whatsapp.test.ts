// WhatsApp with a stand-in for whatsapp-web.js's Client (a real WhatsApp login cannot be
// exercised here): QR and states, inbound → reply as numbered text, reconnects, logout,
// pacing, and the RemoteAuth session store against the real database.
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { addressOf, chatId, WhatsAppChannel, type WhatsAppClient, type WhatsAppMessage } from '../bots/whatsapp.ts';
import { PostgresSessionStore } from '../bots/whatsapp-store.ts';
import { Engine } from '../engine/engine.ts';
import { Cipher } from '../engine/store/cipher.ts';
import { backends, openTestDatabase } from './helpers/database.ts';
import { testConfig } from './helpers/services.ts';
import { waitFor } from './helpers/wait.ts';

class FakeWhatsAppClient extends EventEmitter implements WhatsAppClient {
  readonly sent: { chatId: string; content: string; at: number }[] = [];
  destroyed = false;
  private sequence = 0;

  async initialize() {
    queueMicrotask(() => this.emit('qr', 'QR-CODE-1'));
  }

  async sendMessage(chatId: string, content: string) {
    this.sent.push({ chatId, content, at: Date.now() });
    return { id: { _serialized: `true_${chatId}_${++this.sequence}` } };
  }

  async destroy() {
    this.destroyed = true;
  }

  says(from: string, body: string, id = `false_${from}_${Math.random()}`): WhatsAppMessage {
    const message = { id: { _serialized: id }, from, body, fromMe: false, timestamp: Math.floor(Date.now() / 1000), type: 'chat', _data: { notifyName: 'Amina' } };
    this.emit('message', message);
    return message;
  }
}


describe('whatsapp in a running engine', () => {
  const clients: FakeWhatsAppClient[] = [];
  let channel: WhatsAppChannel;
  let engine: Engine;
  const adminToken = 'admin-secret';
  beforeAll(async () => {
    channel = new WhatsAppChannel({
      createClient: () => {
        const client = new FakeWhatsAppClient();
        clients.push(client);
        return client;
      },
      log: pino({ level: 'silent' }),
      secondsPerMessage: 0.2,
      reconnect: { baseMs: 50, maxMs: 200 },
      printQr: false,
    });
    engine = await Engine.start(testConfig({ port: 0, adminToken }), { log: pino({ level: 'silent' }), channels: [channel], watch: false });
  });
  afterAll(() => engine?.stop());
  const client = () => clients.at(-1)!;
  const health = async () => (await (await fetch(`${engine.url}/healthz`)).json()) as { channels?: Record<string, string> };

  test('the QR code is served to the admin, and the state shows in /healthz and /metrics', async () => {
    await waitFor(() => channel.state === 'qr');
    expect((await health()).channels).toEqual({ whatsapp: 'qr' });
    expect((await fetch(`${engine.url}/api/whatsapp/qr`)).status).toBe(401);
    expect((await fetch(`${engine.url}/api/whatsapp/qr`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const qr = await fetch(`${engine.url}/api/whatsapp/qr`, { headers: { authorization: `Bearer ${adminToken}` } });
    expect(await qr.json()).toEqual({ state: 'qr', qr: 'QR-CODE-1' });
    client().emit('ready');
    expect((await health()).channels).toEqual({ whatsapp: 'ready' });
    expect(await (await fetch(`${engine.url}/metrics`)).text()).toContain('tocsin_channel_state{channel="whatsapp",state="ready"} 1');
  });

  test('a message gets its reply, choices as numbered text, to the E.164 identity', async () => {
    client().says('33612345678@c.us', 'join');
    await waitFor(() => client().sent.length === 1);
    client().says('33612345678@c.us', 'Amina');
    await waitFor(() => client().sent.length === 2);
    expect(client().sent.map((message) => [message.chatId, message.content])).toEqual([
      ['33612345678@c.us', 'Welcome! What is your name?'],
      ['33612345678@c.us', 'Which language would you like us to write to you in?\n1) العربية  2) English  3) Français  4) Русский'],
    ]);
    const [identity] = await engine.services.db.query(`select address, display_name from identities where channel = 'whatsapp'`);
    expect(identity).toEqual({ address: '+33612345678', display_name: 'Amina' });
  });

  test('messages are paced: one every secondsPerMessage at least, jitter on top', async () => {
    const before = client().sent.length;
    for (const number of ['33600000001', '33600000002', '33600000003']) client().says(`${number}@c.us`, 'hello');
    await waitFor(() => client().sent.length === before + 3);
    const times = client().sent.slice(before).map((message) => message.at);
    // Slots are 200 ms apart (plus jitter); a busy machine may send the first one late,
    // which shortens one gap but not the span of the three.
    expect(times[2]! - times[0]!).toBeGreaterThanOrEqual(250);
  });

  test('groups, status broadcasts and our own messages are ignored', async () => {
    const before = client().sent.length;
    client().says('120363000000000000@g.us', 'join');
    client().says('status@broadcast', 'join');
    client().emit('message', { id: { _serialized: 'mine' }, from: '33612345678@c.us', body: 'join', fromMe: true, timestamp: 0 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(client().sent.length).toBe(before);
  });

  test('a disconnect reconnects with a new client; a logout is reported and not retried', async () => {
    const first = client();
    first.emit('disconnected', 'NAVIGATION');
    expect(channel.state).toBe('disconnected');
    // Meanwhile replies wait in the outbox; nothing is lost.
    await waitFor(() => clients.length === 2);
    expect(first.destroyed).toBe(true);
    client().emit('ready');
    expect(channel.state).toBe('ready');
    client().emit('disconnected', 'LOGOUT');
    expect(channel.state).toBe('logged_out');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(clients).toHaveLength(2);
    expect((await health()).channels).toEqual({ whatsapp: 'logged_out' });
  });
});

describe('whatsapp addresses', () => {
  test('chat ids and E.164 numbers', () => {
    expect(addressOf('33612345678@c.us')).toBe('+33612345678');
    expect(addressOf('79123456789@c.us')).toBe('+79123456789');
    expect(addressOf('120363000000000000@g.us')).toBeUndefined();
    expect(addressOf('status@broadcast')).toBeUndefined();
    expect(chatId('+33 6 12 34 56 78')).toBe('33612345678@c.us');
  });
});

describe.each(backends)('whatsapp session store on $name', (backend) => {
  test('saves the zip RemoteAuth wrote, tells it exists, extracts it, deletes it', async () => {
    const database = await openTestDatabase(backend);
    const dir = mkdtempSync(join(tmpdir(), 'tocsin-wa-'));
    try {
      const store = new PostgresSessionStore(database.db, dir);
      const zip = Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 1, 2, 255, 254]);
      writeFileSync(join(dir, 'RemoteAuth-tocsin.zip'), zip);
      expect(await store.sessionExists({ session: 'RemoteAuth-tocsin' })).toBe(false);
      await store.save({ session: 'RemoteAuth-tocsin' });
      expect(await store.sessionExists({ session: 'RemoteAuth-tocsin' })).toBe(true);
      await store.extract({ session: 'RemoteAuth-tocsin', path: join(dir, 'restored.zip') });
      expect(readFileSync(join(dir, 'restored.zip')).equals(zip)).toBe(true);
      // Saving again replaces it.
      writeFileSync(join(dir, 'RemoteAuth-tocsin.zip'), Buffer.from('second'));
      await store.save({ session: 'RemoteAuth-tocsin' });
      await store.extract({ session: 'RemoteAuth-tocsin', path: join(dir, 'restored.zip') });
      expect(readFileSync(join(dir, 'restored.zip'), 'utf8')).toBe('second');
      await store.delete({ session: 'RemoteAuth-tocsin' });
      expect(await store.sessionExists({ session: 'RemoteAuth-tocsin' })).toBe(false);
    } finally {
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('the install downloads no browser', () => {
  // .puppeteerrc.cjs tells puppeteer (pulled in by whatsapp-web.js) to skip its download.
  const config = readFileSync(join(import.meta.dirname, '../.puppeteerrc.cjs'), 'utf8');
  expect(config).toContain('skipDownload: true');
});

test('the real whatsapp-web.js takes our session store and the system browser settings', async () => {
  const { default: wweb } = await import('whatsapp-web.js');
  const store = new PostgresSessionStore({ query: async () => [], cipher: Cipher.none }, tmpdir());
  const auth = new wweb.RemoteAuth({ store, dataPath: join(tmpdir(), 'tocsin-wa-auth'), backupSyncIntervalMs: 300_000 });
  const client = new wweb.Client({ authStrategy: auth, puppeteer: { executablePath: '/usr/bin/chromium', headless: true } });
  expect(typeof client.initialize).toBe('function');
  expect(typeof client.sendMessage).toBe('function');
}, 30_000);
