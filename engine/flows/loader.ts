// Reads flow files (`flows/<id>.yaml`), keeping each node's position so that every
// problem can be reported as `path:line:col: message`.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { isMap, isPair, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import type { Flow, Step } from '../types.ts';
import { parseDuration } from './duration.ts';

export const DEFAULT_EXPIRE_SECONDS = 3 * 86400;
/** Larger flow files are refused before parsing: nobody writes 1 MB of conversation. */
export const MAX_FLOW_FILE_BYTES = 1024 * 1024;

export interface Problem {
  path: string;
  line: number;
  col: number;
  message: string;
}

export const formatProblem = (problem: Problem) => `${problem.path}:${problem.line}:${problem.col}: ${problem.message}`;

export class FlowFileError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

/** A parsed flow file: its data, and where each part of it was written. */
export class FlowFile {
  readonly id: string;
  /** The file's content as plain data. */
  readonly data: Record<string, any>;

  constructor(
    readonly path: string,
    readonly source: string,
    readonly document: Document,
    private readonly lines: LineCounter,
  ) {
    this.id = basename(path).replace(/\.ya?ml$/, '');
    const data = document.toJS();
    this.data = data && typeof data === 'object' && !Array.isArray(data) ? data : {};
  }

  /** A problem at the value found at `keys` (or at its key, with `atKey`), else at the nearest parent. */
  problem(keys: (string | number)[], message: string, options: { atKey?: boolean } = {}): Problem {
    for (let depth = keys.length; depth >= 0; depth--) {
      const position = this.positionOf(keys.slice(0, depth), options.atKey && depth === keys.length);
      if (position) return { path: this.path, ...position, message };
    }
    return { path: this.path, line: 1, col: 1, message };
  }

  private positionOf(keys: (string | number)[], atKey = false): { line: number; col: number } | undefined {
    if (!keys.length) {
      const range = (this.document.contents as { range?: number[] } | null)?.range;
      return range ? this.linePos(range[0]!) : undefined;
    }
    if (atKey) {
      const parent = this.document.getIn(keys.slice(0, -1), true);
      if (isMap(parent)) {
        const pair = parent.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(keys.at(-1)));
        const range = (pair?.key as { range?: number[] } | undefined)?.range;
        if (range) return this.linePos(range[0]!);
      }
    }
    const node = this.document.getIn(keys, true) as { range?: number[] } | undefined;
    return node?.range ? this.linePos(node.range[0]!) : undefined;
  }

  private linePos(offset: number) {
    const { line, col } = this.lines.linePos(offset);
    return { line, col };
  }

  /** The flow the runtime runs. Only meaningful once the file validated. */
  toFlow(): Flow {
    const data = this.data;
    const steps = (data.steps ?? {}) as Record<string, Step>;
    const triggers = (data.triggers ?? {}) as { keywords?: string[]; start?: string };
    return {
      id: this.id,
      version: flowVersion(this.source),
      source: this.source,
      title: typeof data.title === 'string' ? data.title : undefined,
      keywords: Array.isArray(triggers.keywords) ? triggers.keywords.map(String) : [],
      start: typeof triggers.start === 'string' ? triggers.start : undefined,
      expireSeconds: data.expire === undefined ? DEFAULT_EXPIRE_SECONDS : (parseDuration(data.expire) ?? DEFAULT_EXPIRE_SECONDS),
      entry: Object.keys(steps)[0] ?? '',
      steps,
    };
  }
}

/** The content hash conversations are pinned to. */
export function flowVersion(source: string): string {
  return createHash('sha256').update(source).digest('hex').slice(0, 16);
}

/** Parses one file. Problems of the file as a whole (too big, empty, not YAML) come back instead of a file. */
export function parseFlowFile(path: string, source?: string): { file?: FlowFile; problems: Problem[] } {
  const at = (message: string, line = 1, col = 1): Problem => ({ path, line, col, message });
  const size = source === undefined ? statSync(path).size : Buffer.byteLength(source);
  if (size > MAX_FLOW_FILE_BYTES) return { problems: [at(`the file is ${size} bytes; a flow file may be at most ${MAX_FLOW_FILE_BYTES} bytes`)] };
  const text = source ?? readFileSync(path, 'utf8');
  if (!text.trim() || /^(\s*#.*\n?)*\s*$/.test(text)) return { problems: [at('the file is empty: a flow needs at least `steps:`')] };
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (document.errors.length) {
    return {
      problems: document.errors.map((error) => {
        const position = error.linePos?.[0];
        return at(`not valid YAML: ${error.message.split('\n')[0]!.replace(/ at line \d+, column \d+.*$/, '')}`, position?.line, position?.col);
      }),
    };
  }
  const contents = document.toJS();
  if (!contents || typeof contents !== 'object' || Array.isArray(contents)) return { problems: [at('a flow file must be a map with at least `steps:`')] };
  return { file: new FlowFile(path, text, document, lines), problems: [] };
}

/** Every `*.yaml` / `*.yml` in `dir`, parsed. */
export function parseFlowDir(dir: string): { files: FlowFile[]; problems: Problem[] } {
  if (!existsSync(dir)) return { files: [], problems: [{ path: dir, line: 1, col: 1, message: 'the flows folder does not exist (set FLOWS_DIR)' }] };
  const files: FlowFile[] = [];
  const problems: Problem[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (!/\.ya?ml$/.test(name)) continue;
    const parsed = parseFlowFile(join(dir, name));
    if (parsed.file) files.push(parsed.file);
    problems.push(...parsed.problems);
  }
  return { files, problems };
}
