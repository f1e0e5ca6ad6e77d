// `tocsin chat [--user ID] [--lang CODE]`: talk to the flows from a terminal. One message
// per line in, each bot message out; state is stored like any channel's. When an engine
// owns the embedded database, the conversation goes through it.
import { createInterface } from 'node:readline';
import { Command, InvalidArgumentError } from 'commander';
import { ChatSession } from '../../../bots/console.ts';
import type { OutboundMessage } from '../../../bots/channel.ts';
import { loadConfig } from '../../config.ts';
import { errors } from '../../errors.ts';
import { createLogger } from '../../log.ts';
import { openServices } from '../../services.ts';
import { claimEmbeddedDatabase } from '../../store/owner.ts';
import { callEngine } from '../engine-client.ts';

interface Talk {
  open(): Promise<OutboundMessage[]>;
  say(text: string): Promise<OutboundMessage[]>;
  close(): Promise<void>;
}

export function chatCommand() {
  return new Command('chat')
    .description('talk to the flows from this terminal, as supporter ID')
    .option('--user <id>', 'who you are (the identity console:<id>)', parseUser, 'local')
    .option('--lang <code>', 'your language, as a channel would report it (en, fr, ar, ru...)', parseLanguage)
    .action(async ({ user, lang }: { user: string; lang?: string }) => {
      const talk = await connect(user, lang);
      try {
        print(await talk.open());
        const interactive = process.stdin.isTTY;
        const lines = createInterface({ input: process.stdin, terminal: false });
        if (interactive) process.stdout.write('> ');
        for await (const line of lines) {
          if (line.trim()) print(await talk.say(line));
          if (interactive) process.stdout.write('> ');
        }
      } finally {
        await talk.close();
      }
    });
}

async function connect(user: string, language?: string): Promise<Talk> {
  const config = loadConfig();
  const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, 'stderr');
  let release = () => {};
  if (config.database.kind === 'embedded') {
    const claim = claimEmbeddedDatabase(config.dataDir, 'chat');
    if (!claim.ok) {
      const { socket } = claim.owner;
      if (!socket) throw errors.embeddedDatabaseBusy(config.dataDir, claim.owner);
      return {
        open: async () => (await callEngine<{ replies: OutboundMessage[] }>(socket, '/chat/open', { user, lang: language })).replies,
        say: async (text) => (await callEngine<{ replies: OutboundMessage[] }>(socket, '/chat/say', { user, lang: language, text })).replies,
        close: async () => {},
      };
    }
    release = claim.release;
  }
  try {
    const services = await openServices(config, { log });
    const session = new ChatSession(services, user, language);
    return {
      open: () => session.open(),
      say: (text) => session.say(text),
      close: async () => {
        await services.pipeline.idle();
        await services.db.close();
        release();
      },
    };
  } catch (error) {
    release();
    throw error;
  }
}

function print(messages: OutboundMessage[]) {
  for (const message of messages) process.stdout.write(`${message.text}\n`);
}

function parseUser(value: string) {
  if (!/^[^\s:]{1,64}$/u.test(value)) throw new InvalidArgumentError('a name without spaces or colons, up to 64 characters');
  return value;
}

function parseLanguage(value: string) {
  if (!/^[a-z]{2,3}([-_][A-Za-z0-9]{2,8})?$/.test(value)) throw new InvalidArgumentError('a language code such as en, fr, ar or ru');
  return value;
}
