// `tocsin flows validate [DIR]` and `tocsin flows graph FLOW`.
import { resolve } from 'node:path';
import { Command } from 'commander';
import { loadConfig } from '../../config.ts';
import { TocsinError } from '../../errors.ts';
import { flowToMermaid } from '../../flows/graph.ts';
import { formatProblem, parseFlowDir } from '../../flows/loader.ts';
import { coverage, loadFlowSet } from '../../flows/validate.ts';
import { Translator } from '../../i18n.ts';
import { didYouMean } from '../../flows/suggest.ts';

export function flowsCommand() {
  const flows = new Command('flows').description('check and draw flow files');
  flows
    .command('validate [dir]')
    .description('check every flow and locale; prints path:line:col: message per problem, exit 1 if any')
    .action((dir?: string) => {
      const config = loadConfig();
      const flowsDir = dir ? resolve(dir) : config.flowsDir;
      const i18n = Translator.load(config.localesDir, config.defaultLanguage);
      const { flows: valid, problems } = loadFlowSet(flowsDir, i18n, config.localesDir, { localeFlowNames: flowsDir === config.flowsDir });
      for (const problem of problems) process.stderr.write(`${formatProblem(problem)}\n`);
      for (const language of coverage(i18n)) {
        const percent = language.total ? Math.floor((100 * language.have) / language.total) : 100;
        const missing = language.missing.length ? ` — missing: ${language.missing.slice(0, 5).join(', ')}${language.missing.length > 5 ? ', …' : ''}` : '';
        process.stdout.write(`${language.language}: ${percent}% of texts (${language.have}/${language.total})${missing}\n`);
      }
      if (problems.length) {
        process.stderr.write(`${problems.length} problem${problems.length === 1 ? '' : 's'} in ${flowsDir}\n`);
        process.exitCode = 1;
      } else {
        process.stdout.write(`${valid.length} flows OK: ${valid.map((flow) => flow.id).join(', ')}\n`);
      }
    });
  flows
    .command('graph <flow>')
    .description('print a flow as a Mermaid diagram')
    .action((id: string) => {
      const config = loadConfig();
      const { files, problems } = parseFlowDir(config.flowsDir);
      const file = files.find((candidate) => candidate.id === id);
      if (!file) {
        const known = [...files.map((candidate) => candidate.id), ...problems.map((problem) => problem.path)];
        throw new TocsinError(`no flow "${id}" in ${config.flowsDir}${didYouMean(id, known) || ` (flows: ${files.map((candidate) => candidate.id).join(', ')})`}`);
      }
      process.stdout.write(flowToMermaid(file.toFlow()));
    });
  return flows;
}
