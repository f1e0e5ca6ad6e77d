// Conversations as data: every tests/conversations/*.yaml is typed into the console
// channel against the real store, and each bot reply must match, in order.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ChatSession } from '../bots/console.ts';
import { backends } from './helpers/database.ts';
import { openTestServices, ROOT, type TestServices } from './helpers/services.ts';

interface Fixture {
  lang?: string;
  conversation: { send: string; replies: string[] }[];
}

const dir = join(ROOT, 'tests/conversations');
const fixtures = readdirSync(dir)
  .filter((file) => file.endsWith('.yaml'))
  .map((file) => ({ file, fixture: parse(readFileSync(join(dir, file), 'utf8')) as Fixture }));

describe.each(backends)('conversations on $name', (backend) => {
  let services: TestServices;
  beforeAll(async () => {
    services = await openTestServices(backend);
  });
  afterAll(() => services?.close());

  test.each(fixtures)('$file', async ({ file, fixture }) => {
    const session = new ChatSession(services, file.replace(/\.yaml$/, ''), fixture.lang);
    for (const [index, turn] of fixture.conversation.entries()) {
      const replies = (await session.say(String(turn.send))).map((message) => message.text);
      expect({ turn: index + 1, send: turn.send, replies }).toEqual({ turn: index + 1, send: turn.send, replies: turn.replies ?? [] });
    }
  });
});
