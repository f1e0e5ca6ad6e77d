// Survey results (`tocsin results FLOW`): counts per option, number statistics, and the
// rows themselves as CSV.
import { TocsinError } from './errors.ts';
import type { FlowRegistry } from './flows/registry.ts';
import { didYouMean } from './flows/suggest.ts';
import type { Translator } from './i18n.ts';
import type { Sql } from './store/database.ts';
import type { Text } from './types.ts';

export interface QuestionResult {
  question: string;
  type: string;
  answered: number;
  options?: { id: string; label: string; count: number }[];
  numbers?: { mean: number; min: number; max: number };
}

const CHOICE_TYPES = new Set(['choice', 'multi', 'yes_no', 'language', 'event']);

export async function surveyResults(sql: Sql, flows: FlowRegistry, i18n: Translator, flowId: string): Promise<QuestionResult[]> {
  const rows = await sql.query<{ question: string; type: string; answered: number; mean: number | null; min: number | null; max: number | null }>(
    `select question, max(type) as type, count(*)::int as answered, avg(value_number)::float8 as mean, min(value_number) as min, max(value_number) as max
     from survey_answers where flow = $1 group by question`,
    [flowId],
  );
  const counts = await sql.query<{ question: string; value: string; count: number }>(
    `select question, value, count(*)::int as count from (
       select question, value_text as value from survey_answers where flow = $1 and value_text is not null and value_choices is null
       union all
       select question, jsonb_array_elements_text(value_choices) from survey_answers where flow = $1 and value_choices is not null
     ) answers group by question, value`,
    [flowId],
  );
  const flow = flows.get(flowId);
  const order = flow ? Object.keys(flow.steps) : [];
  const position = (question: string) => (order.includes(question) ? order.indexOf(question) : order.length);
  return rows
    .sort((a, b) => position(a.question) - position(b.question) || a.question.localeCompare(b.question))
    .map((row) => {
      const result: QuestionResult = { question: row.question, type: row.type, answered: row.answered };
      if (row.type === 'number' && row.mean !== null) result.numbers = { mean: Math.round(row.mean * 100) / 100, min: row.min!, max: row.max! };
      if (CHOICE_TYPES.has(row.type)) {
        const choices = declaredChoices(flow?.steps[row.question]?.ask, row.type, i18n);
        const seen = counts.filter((count) => count.question === row.question);
        const options = choices.map(({ id, label }) => ({ id, label, count: seen.find((count) => count.value === id)?.count ?? 0 }));
        for (const count of seen) if (!choices.some((choice) => choice.id === count.value)) options.push({ id: count.value, label: count.value, count: count.count });
        result.options = options;
      }
      return result;
    });
}

function declaredChoices(ask: unknown, type: string, i18n: Translator): { id: string; label: string }[] {
  const language = i18n.defaultLanguage;
  if (type === 'yes_no') return ['yes', 'no'].map((id) => ({ id, label: i18n.text(`common.${id}`, language) }));
  if (type === 'language') return i18n.languages.map((id) => ({ id, label: i18n.text('common.language_name', id) }));
  const choices = (ask as { choices?: Record<string, Text> } | undefined)?.choices ?? {};
  return Object.entries(choices).map(([id, label]) => ({ id, label: i18n.text(label, language) }));
}

/** The results as text for a terminal, with a bar per option. */
export function formatResults(flowId: string, results: QuestionResult[]): string {
  if (!results.length) return `${flowId}: no answers yet\n`;
  const lines: string[] = [];
  for (const result of results) {
    lines.push(`${result.question} (${result.type}): ${result.answered} answer${result.answered === 1 ? '' : 's'}`);
    if (result.numbers) lines.push(`  mean ${result.numbers.mean}, min ${result.numbers.min}, max ${result.numbers.max}`);
    const width = Math.max(0, ...(result.options ?? []).map((option) => option.label.length));
    for (const option of result.options ?? []) {
      const share = result.answered ? option.count / result.answered : 0;
      lines.push(`  ${option.label.padEnd(width)}  ${String(option.count).padStart(5)}  ${`${Math.round(share * 100)}%`.padStart(4)}  ${'█'.repeat(Math.round(share * 20))}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Every answer, one CSV row each: contact, question, type, value, when. */
export async function resultsCsv(sql: Sql, flowId: string): Promise<string> {
  const rows = await sql.query<{ contact_id: number | null; question: string; type: string; value: string; answered_at: Date }>(
    `select contact_id, question, type,
            coalesce(value_text, value_number::text, (select string_agg(choice, ';') from jsonb_array_elements_text(value_choices) as choice), '') as value,
            updated_at as answered_at
     from survey_answers where flow = $1 order by updated_at, id`,
    [flowId],
  );
  const lines = ['contact_id,question,type,value,answered_at'];
  for (const row of rows) lines.push([row.contact_id ?? '', row.question, row.type, sql.cipher.open(row.value), row.answered_at.toISOString()].map(csvField).join(','));
  return `${lines.join('\n')}\n`;
}

/** RFC 4180 quoting; a leading = + - @ is prefixed so spreadsheets do not run it as a formula. */
export function csvField(value: unknown): string {
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text) && !/^-?\d+(\.\d+)?$/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** What `tocsin results FLOW` prints. */
export async function renderResults(services: { db: Sql; flows: FlowRegistry; i18n: Translator }, flow: string, format: 'text' | 'csv'): Promise<{ text: string }> {
  const known = services.flows.all().map((candidate) => candidate.id);
  const [{ answered }] = await services.db.query<{ answered: number }>(`select count(*)::int as answered from survey_answers where flow = $1`, [flow]);
  if (!known.includes(flow) && !answered) throw new TocsinError(`no flow "${flow}"${didYouMean(flow, known) || ` (flows: ${known.join(', ')})`}`);
  if (format === 'csv') return { text: await resultsCsv(services.db, flow) };
  return { text: formatResults(flow, await surveyResults(services.db, services.flows, services.i18n, flow)) };
}
