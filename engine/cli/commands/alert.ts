// `tocsin alert --to SEGMENT (--template KEY | --message TEXT) [--question Q] [--var k=v] [--yes] [--detach]`:
// a broadcast from the shell. Shows who will get it and the message in each language,
// asks for confirmation (unless --yes), then follows the sending with a progress bar.
import { userInfo } from 'node:os';
import { createInterface } from 'node:readline/promises';
import { Command, InvalidArgumentError } from 'commander';
import cliProgress from 'cli-progress';
import { describeAudience, type Preview, type Progress } from '../../broadcasts.ts';
import { TocsinError } from '../../errors.ts';
import { withStore } from '../connect.ts';

interface AlertOptions {
  to: string;
  template?: string;
  message?: string;
  question?: string;
  var: Record<string, string>;
  yes?: boolean;
  detach?: boolean;
  urgent?: boolean;
}

export function alertCommand() {
  return new Command('alert')
    .description('send an alert to a segment (see docs/segments.md), with a preview and a confirmation')
    .requiredOption('--to <segment>', 'who gets it: a segment such as "group = volunteers and language = ar", or everyone')
    .option('--template <key>', 'an i18n key: each supporter reads it in their language')
    .option('--message <text>', 'a text, the same for everyone ({{contact.name}} is filled in)')
    .option('--question <key-or-text>', 'a yes/no question after the message; the answers are recorded')
    .option('--var <name=value>', 'a value for the templates ({{vars.name}}); repeat for more', collectVar, {})
    .option('--urgent', 'send even in quiet hours (QUIET_HOURS, night-time in each contact\'s timezone)')
    .option('--yes', 'send without asking for confirmation')
    .option('--detach', 'queue it and return at once')
    .action(async (options: AlertOptions) => {
      if (!!options.template === !!options.message) throw new TocsinError('give the alert either --template KEY or --message TEXT');
      const message = { template: options.template, text: options.message, question: options.question, vars: options.var, urgent: options.urgent };
      await withStore('alert', async ({ call, throughEngine, config }) => {
        const preview = await call<Preview>('/alert/preview', { segment: options.to, message });
        process.stdout.write(describePreview(preview));
        if (!preview.recipients) return void process.stdout.write('Nobody to send to: nothing was sent.\n');
        if (!options.yes) {
          if (!process.stdin.isTTY) throw new TocsinError('no terminal to confirm in: add --yes to send without a prompt');
          const prompt = createInterface({ input: process.stdin, output: process.stdout });
          const answer = await prompt.question(`Send to ${preview.recipients} contact${preview.recipients === 1 ? '' : 's'}? [y/N] `);
          prompt.close();
          if (!/^y(es)?$/i.test(answer.trim())) return void process.stdout.write('Cancelled: nothing was sent.\n');
        }
        const { id, recipients } = await call<{ id: number; recipients: number }>('/alert/start', { actor: `cli:${userInfo().username}`, segment: options.to, message });
        process.stdout.write(`Alert #${id} queued for ${recipients} contacts.\n`);
        const delivering = throughEngine || config.database.kind === 'postgres';
        if (options.detach || !delivering) {
          if (!delivering) process.stdout.write('No engine runs on this database: they go out when `tocsin start` runs.\n');
          return;
        }
        await follow(id, recipients, (body) => call<Progress>('/alert/progress', body));
      });
    });
}

function collectVar(value: string, previous: Record<string, string>) {
  const match = /^([A-Za-z_][\w]*)=([\s\S]*)$/.exec(value);
  if (!match) throw new InvalidArgumentError('write it as name=value');
  return { ...previous, [match[1]!]: match[2]! };
}

function describePreview(preview: Preview): string {
  const lines = [`Segment "${preview.segment}": ${preview.recipients} of ${preview.matching} matching contacts will get it.`, ...describeAudience(preview).map((line) => `  ${line}`)];
  for (const [language, text] of Object.entries(preview.messages)) lines.push(`Message in ${language}:`, ...text.split('\n').map((line) => `  | ${line}`));
  return `${lines.join('\n')}\n`;
}

/** Shows the sending until nothing is left (a bar on a terminal, a line every few seconds otherwise). */
async function follow(id: number, total: number, progress: (body: unknown) => Promise<Progress>) {
  const bar = process.stdout.isTTY ? new cliProgress.SingleBar({ format: 'sending |{bar}| {value}/{total} sent, {failed} failed', hideCursor: true }, cliProgress.Presets.shades_classic) : undefined;
  bar?.start(total, 0, { failed: 0 });
  let last = '';
  let stalledSince = Date.now();
  let previousDone = -1;
  for (;;) {
    const state = await progress({ id });
    const done = state.sent + state.failed + state.cancelled;
    bar?.update(state.sent, { failed: state.failed });
    const line = `sent ${state.sent}, failed ${state.failed}, cancelled ${state.cancelled}, remaining ${state.remaining}`;
    if (!bar && line !== last) process.stdout.write(`${line}\n`);
    last = line;
    if (state.remaining === 0 || state.status === 'cancelled') break;
    if (done !== previousDone) [previousDone, stalledSince] = [done, Date.now()];
    if (Date.now() - stalledSince > 60_000) {
      bar?.stop();
      process.stdout.write(`Nothing was sent for a minute (a channel down, or recipients on the console who are not chatting). Alert #${id} goes on in the engine.\n`);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, bar ? 250 : 2000));
  }
  bar?.stop();
  process.stdout.write(`Done: ${last}.\n`);
}
