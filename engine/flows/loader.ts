// Reads flow files (`flows/<id>.yaml`) into Flow objects. Problems are reported as
// `path:line:col: message`, all of them at once.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { Flow, Step } from '../types.ts';
import { parseDuration } from './duration.ts';

export const DEFAULT_EXPIRE_SECONDS = 3 * 86400;
/** Larger flow files are refused before parsing: nobody writes 1 MB of conversation. */
export const MAX_FLOW_FILE_BYTES = 1024 * 1024;

export class FlowFileError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

export function loadFlowFile(path: string, source = readFileSync(path)): Flow {
  const at = (line = 1, col = 1) => `${path}:${line}:${col}`;
  if (source.length > MAX_FLOW_FILE_BYTES) throw new FlowFileError([`${at()}: the file is ${source.length} bytes; a flow file may be at most ${MAX_FLOW_FILE_BYTES}`]);
  const text = source.toString('utf8');
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (document.errors.length) {
    throw new FlowFileError(document.errors.map((error) => {
      const position = error.linePos?.[0];
      return `${at(position?.line, position?.col)}: ${error.message.split('\n')[0]}`;
    }));
  }
  const data = document.toJS() as Record<string, unknown> | null;
  const positionOf = (...keys: (string | number)[]) => {
    const node = document.getIn(keys, true) as { range?: [number, number, number] } | undefined;
    const position = node?.range ? lines.linePos(node.range[0]) : undefined;
    return at(position?.line, position?.col);
  };
  const problems: string[] = [];
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw new FlowFileError([`${at()}: a flow file must be a map with at least \`steps:\``]);
  const steps = data.steps;
  if (!steps || typeof steps !== 'object' || Array.isArray(steps) || !Object.keys(steps).length) {
    throw new FlowFileError([`${at()}: \`steps:\` must be a map of step names to steps, with at least one step`]);
  }
  for (const [name, step] of Object.entries(steps)) {
    if (!step || typeof step !== 'object' || Array.isArray(step)) problems.push(`${positionOf('steps', name)}: step "${name}" must be a map (say, ask, do, next...)`);
  }
  const triggers = (data.triggers ?? {}) as { keywords?: unknown; start?: unknown };
  const keywords = triggers.keywords === undefined ? [] : triggers.keywords;
  if (!Array.isArray(keywords) || keywords.some((word) => typeof word !== 'string')) problems.push(`${positionOf('triggers', 'keywords')}: triggers.keywords must be a list of words`);
  const expireSeconds = data.expire === undefined ? DEFAULT_EXPIRE_SECONDS : parseDuration(data.expire);
  if (expireSeconds === undefined) problems.push(`${positionOf('expire')}: expire must be a duration such as 30m, 12h or 3d`);
  if (problems.length) throw new FlowFileError(problems);

  return {
    id: basename(path).replace(/\.ya?ml$/, ''),
    version: createHash('sha256').update(source).digest('hex').slice(0, 16),
    title: typeof data.title === 'string' ? data.title : undefined,
    keywords: keywords as string[],
    start: typeof triggers.start === 'string' ? triggers.start : undefined,
    expireSeconds: expireSeconds!,
    entry: Object.keys(steps)[0]!,
    steps: steps as Record<string, Step>,
  };
}

/** Every flow in `dir`; throws one FlowFileError listing the problems of all files. */
export function loadFlows(dir: string): Flow[] {
  if (!existsSync(dir)) throw new FlowFileError([`${dir}: the flows folder does not exist (set FLOWS_DIR)`]);
  const flows: Flow[] = [];
  const problems: string[] = [];
  for (const file of readdirSync(dir).sort()) {
    if (!/\.ya?ml$/.test(file)) continue;
    try {
      flows.push(loadFlowFile(join(dir, file)));
    } catch (error) {
      if (error instanceof FlowFileError) problems.push(...error.problems);
      else throw error;
    }
  }
  if (problems.length) throw new FlowFileError(problems);
  return flows;
}
