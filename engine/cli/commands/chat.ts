// `tocsin chat [--user ID] [--lang CODE]`: talk to the flows from a terminal. One message
// per line in, each bot message out; state is stored like any channel's. When an engine
// owns the embedded database, the conversation goes through it.
import { createInterface } from 'node:readline';
import { Command, InvalidArgumentError } from 'commander';
import type { OutboundMessage } from '../../../bots/channel.ts';
import { withStore } from '../connect.ts';

export function chatCommand() {
  return new Command('chat')
    .description('talk to the flows from this terminal, as supporter ID')
    .option('--user <id>', 'who you are (the identity console:<id>)', parseUser, 'local')
    .option('--lang <code>', 'your language, as a channel would report it (en, fr, ar, ru...)', parseLanguage)
    .action(async ({ user, lang }: { user: string; lang?: string }) => {
      await withStore('chat', async ({ call }) => {
        type Replies = { replies: OutboundMessage[] };
        print((await call<Replies>('/chat/open', { user, lang })).replies);
        const interactive = process.stdin.isTTY;
        const lines = createInterface({ input: process.stdin, terminal: false });
        if (interactive) process.stdout.write('> ');
        for await (const line of lines) {
          if (line.trim()) print((await call<Replies>('/chat/say', { user, lang, text: line })).replies);
          if (interactive) process.stdout.write('> ');
        }
      });
    });
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
