// `tocsin results FLOW [--format csv]`: survey answers and counts.
import { Command, Option } from 'commander';
import { withStore } from '../connect.ts';

export function resultsCommand() {
  return new Command('results')
    .description('survey answers: counts per option, or every answer as CSV')
    .argument('<flow>', 'the flow whose answers to show (e.g. survey)')
    .addOption(new Option('--format <format>', 'text or csv').choices(['text', 'csv']).default('text'))
    .action(async (flow: string, { format }: { format: 'text' | 'csv' }) => {
      const output = await withStore('results', ({ call }) => call<{ text: string }>('/results', { flow, format }));
      process.stdout.write(output.text);
    });
}
