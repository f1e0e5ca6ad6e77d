// `tocsin results FLOW [--format csv]`: survey answers and counts.
import { Command, Option } from 'commander';
import { TocsinError } from '../../errors.ts';
import { didYouMean } from '../../flows/suggest.ts';
import type { Services } from '../../services.ts';
import { formatResults, resultsCsv, surveyResults } from '../../results.ts';
import { runWithStore } from '../connect.ts';

export function resultsCommand() {
  return new Command('results')
    .description('survey answers: counts per option, or every answer as CSV')
    .argument('<flow>', 'the flow whose answers to show (e.g. survey)')
    .addOption(new Option('--format <format>', 'text or csv').choices(['text', 'csv']).default('text'))
    .action(async (flow: string, { format }: { format: 'text' | 'csv' }) => {
      const output = await runWithStore<{ text: string }>('results', { local: (services) => renderResults(services, flow, format), remote: { path: '/results', body: { flow, format } } });
      process.stdout.write(output.text);
    });
}

export async function renderResults(services: Pick<Services, 'db' | 'flows' | 'i18n'>, flow: string, format: 'text' | 'csv'): Promise<{ text: string }> {
  const known = services.flows.all().map((candidate) => candidate.id);
  const [{ answered }] = await services.db.query<{ answered: number }>(`select count(*)::int as answered from survey_answers where flow = $1`, [flow]);
  if (!known.includes(flow) && !answered) throw new TocsinError(`no flow "${flow}"${didYouMean(flow, known) || ` (flows: ${known.join(', ')})`}`);
  if (format === 'csv') return { text: await resultsCsv(services.db, flow) };
  return { text: formatResults(flow, await surveyResults(services.db, services.flows, services.i18n, flow)) };
}
