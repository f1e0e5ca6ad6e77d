// Simulated Telegram users: each writes a script of messages to a bot behind one or more
// webhooks, as Telegram would post them, and reads the bot's answers from the stand-in
// Bot API. Two ways to talk:
//   closed: write, wait for the answer, write the next (a person in a conversation);
//   burst:  write the whole script at once (each update posted once the previous one was
//           acknowledged, as Telegram does for one chat), then wait for every answer.
// A user's successive messages go to successive webhooks, so with several engine
// processes one person's conversation is spread over all of them.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { resolve } from 'node:path';
import type { BotApiStandIn } from './bot-api.ts';

/** The subscribe conversation every benchmark uses: join, a name, a language; each message is answered once. */
export const script = (index: number) => ['join', `Person ${index}`, 'English'];
const flowTexts: Record<string, string> = JSON.parse(readFileSync(resolve(import.meta.dirname, '../locales/en/flows.json'), 'utf8')).subscribe;
/** How the subscribe flow's text `key` starts, in English (up to its first variable). */
export const subscribeText = (key: string): string => flowTexts[key]!.split('{{')[0]!;
/** How the engine's answers to the script start. */
export const expectedAnswers: string[] = ['ask_name', 'ask_language', 'ask_topics'].map(subscribeText);

export interface Webhook {
  url: string;
  headers?: Record<string, string>;
}

export interface User {
  chat: number;
  script: string[];
}

/** `count` users with chats from `firstChat` on, each with the subscribe script. */
export const subscribers = (count: number, firstChat: number): User[] => Array.from({ length: count }, (_, i) => ({ chat: firstChat + i, script: script(i) }));

export interface Conversations {
  users: number;
  messages: number;
  seconds: number;
  msgs_per_s: number;
  /** Closed loop: from posting a message to receiving its answer. */
  p50_ms: number;
  p99_ms: number;
}

const agent = new Agent({ keepAlive: true, maxSockets: 100 });

export async function converse(api: BotApiStandIn, webhooks: Webhook[], users: User[], mode: 'closed' | 'burst', timeoutMs = 120_000): Promise<Conversations> {
  const latencies: number[] = [];
  const started = performance.now();
  const deadline = new Promise<never>((_, reject) => {
    const timer = setTimeout(() => reject(new Error(`the bot did not answer every message within ${timeoutMs / 1000} s`)), timeoutMs);
    timer.unref();
  });
  const already = new Map(users.map((user) => [user.chat, api.sentTo(user.chat).length]));
  const talk = async (user: User, index: number) => {
    const before = already.get(user.chat)!;
    for (const [step, text] of user.script.entries()) {
      const posted = performance.now();
      await post(webhooks[(index + step) % webhooks.length]!, api.textUpdate(user.chat, text));
      if (mode === 'closed') {
        await api.waitFor(user.chat, before + step + 1);
        latencies.push(performance.now() - posted);
      }
    }
    if (mode === 'burst') await api.waitFor(user.chat, before + user.script.length);
  };
  await Promise.race([Promise.all(users.map(talk)), deadline]);
  const seconds = (performance.now() - started) / 1000;
  const messages = users.reduce((sum, user) => sum + user.script.length, 0);
  latencies.sort((a, b) => a - b);
  return { users: users.length, messages, seconds: round(seconds), msgs_per_s: Math.round(messages / seconds), p50_ms: round(quantile(latencies, 0.5)), p99_ms: round(quantile(latencies, 0.99)) };
}

/**
 * POSTs an update; resolves on 200 (the bot has it), throws otherwise. A kept-alive
 * connection the server closed as we wrote on it is tried again on a new one, as Telegram
 * does (the update id is the same: a bot that got it after all drops the copy).
 */
export async function post(webhook: Webhook, update: unknown, attempts = 3): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await postOnce(webhook, JSON.stringify(update));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (attempt >= attempts || (code !== 'ECONNRESET' && code !== 'EPIPE')) throw error;
    }
  }
}

function postOnce(webhook: Webhook, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const call = request(webhook.url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...webhook.headers } }, (response) => {
      response.resume();
      response.on('end', () => (response.statusCode === 200 ? resolve() : reject(new Error(`POST ${webhook.url}: ${response.statusCode}`))));
    });
    call.on('error', reject);
    call.end(body);
  });
}

/**
 * What each user received that they should not have: a missing or extra answer (twice the
 * same reply), or answers out of order. `expected[i]` starts the answer to message i.
 */
export function checkAnswers(api: BotApiStandIn, users: User[], expected: string[]): string[] {
  const problems: string[] = [];
  for (const user of users) {
    const got = api.sentTo(user.chat);
    if (got.length !== expected.length) problems.push(`chat ${user.chat}: ${got.length} answers to ${expected.length} messages: ${JSON.stringify(got)}`);
    else if (got.some((text, index) => !text.startsWith(expected[index]!))) problems.push(`chat ${user.chat}: answers out of order: ${JSON.stringify(got)}`);
  }
  return problems;
}

export function quantile(sorted: number[], q: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : 0;
}

export const round = (value: number) => Math.round(value * 10) / 10;
