// Editing flows while the engine runs: a valid change applies to new conversations,
// conversations under way finish on the version they started with, and an invalid
// change is refused with its positions while the last good version keeps running.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { ChatSession } from '../bots/console.ts';
import { Engine } from '../engine/engine.ts';
import { ROOT, testConfig } from './helpers/services.ts';
import { waitFor } from './helpers/wait.ts';


test('flows/ and locales/ edited under a running engine', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tocsin-watch-'));
  cpSync(join(ROOT, 'flows'), join(dir, 'flows'), { recursive: true });
  cpSync(join(ROOT, 'locales'), join(dir, 'locales'), { recursive: true });
  const logs: string[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void logs.push(line) });
  const engine = await Engine.start(testConfig({ port: 0, flowsDir: join(dir, 'flows'), localesDir: join(dir, 'locales') }), { log });
  try {
    const { services } = engine;
    const say = async (user: string, text: string) => (await new ChatSession(services, user).say(text)).map((reply) => reply.text);
    const version = () => services.flows.get('subscribe')!.version;
    const first = version();

    expect(await say('early', 'join')).toEqual(['Welcome! What is your name?']);

    // A valid edit: a new first question, and no language step any more.
    const path = join(dir, 'flows/subscribe.yaml');
    const original = readFileSync(path, 'utf8');
    writeFileSync(
      path,
      original
        .replace('say: subscribe.ask_name', 'say: { en: "Hi! Who are you?" }')
        .replaceAll('next: ask_language', 'next: ask_topics')
        .replace(/  ask_language:\n    say: subscribe.ask_language\n    ask: .*\n    next: ask_topics\n/, ''),
    );
    await waitFor(() => version() !== first).catch((error) => {
      throw new Error(`${error.message}\n${logs.join('')}`);
    });
    expect(await say('late', 'join')).toEqual(['Hi! Who are you?']);
    // The conversation under way stays on its version: it still asks for the language.
    expect((await say('early', 'Amina'))[0]).toBe('Which language would you like us to write to you in?\n1) العربية  2) English  3) Français  4) Русский');

    // A text edited in a locale applies too.
    const en = join(dir, 'locales/en/common.json');
    writeFileSync(en, readFileSync(en, 'utf8').replace('Hello! Write JOIN to join us,', 'Hi there! Write JOIN to join us,'));
    await waitFor(() => services.i18n.text('common.fallback', 'en').startsWith('Hi there!'));
    expect((await say('visitor', 'hello'))[0]).toMatch(/^Hi there! Write JOIN/);

    // An invalid edit is refused with its positions; the last good version keeps running.
    const good = version();
    writeFileSync(path, original.replace('next: ask_consent', 'next: ask_consnt'));
    await waitFor(() => logs.some((line) => line.includes('flow change refused')));
    expect(logs.some((line) => line.includes(`subscribe.yaml:36:11: step \\"ask_topics\\" goes to unknown step \\"ask_consnt\\" (did you mean \\"ask_consent\\"?)`))).toBe(true);
    expect(version()).toBe(good);
    expect(await say('later', 'join')).toEqual(['Hi! Who are you?']);
  } finally {
    await engine.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('after a restart, a conversation under way finishes on its stored version, not the edited file', async () => {
  const { openTestServices } = await import('./helpers/services.ts');
  const { backends } = await import('./helpers/database.ts');
  const dir = mkdtempSync(join(tmpdir(), 'tocsin-versions-'));
  cpSync(join(ROOT, 'flows'), join(dir, 'flows'), { recursive: true });
  const config = { database: { kind: 'embedded' as const, dataDir: join(dir, 'data') }, dataDir: join(dir, 'data'), flowsDir: join(dir, 'flows') };
  try {
    const before = await openTestServices(backends[0]!, { config });
    expect((await new ChatSession(before, 'steady').say('join')).map((reply) => reply.text)).toEqual(['Welcome! What is your name?']);
    await before.close();

    // While the engine is down, the flow loses its language step.
    const path = join(dir, 'flows/subscribe.yaml');
    const edited = readFileSync(path, 'utf8')
      .replaceAll('next: ask_language', 'next: ask_topics')
      .replace(/  ask_language:\n    say: subscribe.ask_language\n    ask: .*\n    next: ask_topics\n/, '');
    writeFileSync(path, edited);

    const after = await openTestServices(backends[0]!, { config });
    try {
      expect((await new ChatSession(after, 'steady').say('Omar'))[0]!.text).toMatch(/^Which language would you like/);
      expect((await new ChatSession(after, 'newcomer').say('join'))[0]!.text).toBe('Welcome! What is your name?');
      expect((await new ChatSession(after, 'newcomer').say('Lina'))[0]!.text).toMatch(/^Which topics interest you/);
    } finally {
      await after.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
