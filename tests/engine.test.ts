// `tocsin start` and `tocsin chat` as a newcomer runs them: real processes, real HTTP.
import { mkdtempSync, existsSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backends, createSchema, dropSchema, schemaUrl } from './helpers/database.ts';
import { exited, startEngine, tocsin } from './helpers/cli.ts';

const SLOW = 60_000;

describe('tocsin start on the embedded database', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tocsin-engine-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  test('serves /healthz and /metrics, lets `tocsin chat` through, and stops on SIGTERM', async () => {
    const env = { TOCSIN_DATA_DIR: dataDir };
    const engine = await startEngine(env);
    try {
      const health = await fetch(`${engine.url}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok', database: 'ok' });

      // The engine owns the database files: chat goes through its socket.
      const chat = await tocsin(['chat', '--user', 'amina'], env, 'join\nAmina\n');
      expect(chat.stderr).toBe('');
      expect(chat.code).toBe(0);
      expect(chat.stdout).toBe('Welcome! What is your name?\nWhich language would you like us to write to you in?\n1) العربية  2) English  3) Français  4) Русский\n');

      const metrics = await (await fetch(`${engine.url}/metrics`)).text();
      expect(metrics).toContain('tocsin_inbound_messages_total{channel="console"} 2');
      expect(metrics).toContain('tocsin_outbound_messages_total{channel="console",outcome="sent"} 2');
      expect(metrics).toContain('tocsin_delivery_latency_seconds_bucket');

      // Other commands go through the engine too.
      await tocsin(['chat', '--user', 'pollster'], env, 'survey\n1\n');
      const results = await tocsin(['results', 'survey', '--format', 'csv'], env);
      expect(results.stderr).toBe('');
      expect(results.stdout).toMatch(/^contact_id,question,type,value,answered_at\n\d+,priority,choice,housing,/);
      const unknown = await tocsin(['results', 'survy'], env);
      expect(unknown).toMatchObject({ code: 1, stderr: 'tocsin: no flow "survy" (did you mean "survey"?)\n' });

      // An alert from the shell, through the engine; the console supporter gets it when they come back.
      const alert = await tocsin(['alert', '--to', 'everyone', '--message', 'Hi {{contact.name}}, march at 6!', '--yes', '--detach'], env);
      expect(alert.stderr).toBe('');
      expect(alert.stdout).toMatch(/^Segment "everyone": 0 of \d+ matching contacts will get it\.|Alert #\d+ queued for \d+ contacts\./m);
      const refused = await tocsin(['alert', '--to', 'group = nobody | x', '--message', 'hi'], env);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('tocsin: in the segment,');

      const second = await startEngine(env).catch((error: Error) => error.message);
      expect(second).toContain('an engine already runs on the embedded database');
    } finally {
      engine.child.kill('SIGTERM');
    }
    const started = Date.now();
    expect(await exited(engine.child)).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(engine.output()).toContain('engine stopped');
    expect(existsSync(join(dataDir, 'owner.json'))).toBe(false);

    // With no engine running, chat opens the database itself and the conversation goes on.
    const after = await tocsin(['chat', '--user', 'amina'], env, 'français\n');
    expect(after.stdout).toBe('Quels sujets vous intéressent ? Répondez par un ou plusieurs numéros, par exemple : 1 3\n1) Logement  2) Climat  3) Transports  4) Éducation\n');
  }, SLOW);
});

const postgres = backends.find((backend) => backend.name === 'postgres');

(postgres ? describe : describe.skip)('tocsin on a PostgreSQL server (TEST_DATABASE_URL)', () => {
  test('chat and start work with DATABASE_URL', async () => {
    const backend = postgres!;
    // Its own schema, so the server's public schema stays untouched.
    const schema = await createSchema((backend.config as { url: string }).url);
    const url = schemaUrl((backend.config as { url: string }).url, schema);
    try {
      const user = `pg-${Date.now()}`;
      const chat = await tocsin(['chat', '--user', user, '--lang', 'ru'], { DATABASE_URL: url }, 'вступить\n');
      expect(chat.stdout).toBe('Добро пожаловать! Как вас зовут?\n');
      const engine = await startEngine({ DATABASE_URL: url });
      try {
        expect((await fetch(`${engine.url}/healthz`)).status).toBe(200);
      } finally {
        engine.child.kill('SIGTERM');
      }
      expect(await exited(engine.child)).toBe(0);
      // The language the first run reported is remembered.
      const later = await tocsin(['chat', '--user', user], { DATABASE_URL: url }, 'Иван\n');
      expect(later.stdout).toBe('На каком языке вам писать?\n1) العربية  2) English  3) Français  4) Русский\n');
    } finally {
      await dropSchema((backend.config as { url: string }).url, schema);
    }
  }, SLOW);
});

describe('bad input to the command line: one line, exit 1, no stack trace', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tocsin-bad-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  const expectOneLine = (run: { code: number | null; stderr: string }, text: string) => {
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain(text);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  };

  test('a malformed variable', async () => {
    expectOneLine(await tocsin(['start'], { PORT: 'eighty' }), 'tocsin: PORT="eighty" is not valid: expected a port number from 0 to 65535');
  });

  test('an unreachable database', async () => {
    expectOneLine(await tocsin(['db', 'migrate'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nowhere' }), 'tocsin: cannot reach the database at postgres://postgres@127.0.0.1:1/nowhere');
  });

  test('a port in use', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      expectOneLine(await tocsin(['start'], { PORT: String(port), DATABASE_URL: 'memory://' }), `tocsin: port ${port} on 127.0.0.1 is already in use`);
    } finally {
      blocker.close();
    }
  });

  test('an unknown command', async () => {
    const run = await tocsin(['strat'], { TOCSIN_DATA_DIR: dataDir });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("error: unknown command 'strat'");
    expect(run.stderr).toContain('(Did you mean start?)');
  });

  test('a bad --user', async () => {
    const run = await tocsin(['chat', '--user', 'has space'], { TOCSIN_DATA_DIR: dataDir });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("option '--user <id>' argument 'has space' is invalid");
  });
});
