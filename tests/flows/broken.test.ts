// Broken flows, each with the exact problems `tocsin flows validate` must report:
// tests/flows/broken/<name>.yaml (or a folder of flows checked together) and
// <name>.errors next to it. UPDATE_FIXTURES=1 rewrites the .errors files.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { formatProblem, MAX_FLOW_FILE_BYTES, parseFlowDir, parseFlowFile, type Problem } from '../../engine/flows/loader.ts';
import { loadFlowSet, validateFiles } from '../../engine/flows/validate.ts';
import { Translator } from '../../engine/i18n.ts';
import { ROOT } from '../helpers/services.ts';

const BROKEN = join(ROOT, 'tests/flows/broken');
const i18n = Translator.load(join(ROOT, 'locales'), 'en');
const update = process.env.UPDATE_FIXTURES === '1';
const cases = readdirSync(BROKEN).filter((name) => name.endsWith('.yaml') || statSync(join(BROKEN, name)).isDirectory());

function problemsOf(name: string): Problem[] {
  const path = join(BROKEN, name);
  if (statSync(path).isDirectory()) {
    const { files, problems } = parseFlowDir(path);
    return [...problems, ...validateFiles(files, i18n, join(ROOT, 'locales'), { localeFlowNames: false })];
  }
  const { file, problems } = parseFlowFile(path);
  return file ? [...problems, ...validateFiles([file], i18n, undefined, { localeFlowNames: false })] : problems;
}

const lines = (problems: Problem[]) =>
  problems
    .map((problem) => formatProblem({ ...problem, path: relative(ROOT, problem.path) }))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));

test.each(cases)('%s', (name) => {
  const expectedPath = join(BROKEN, `${name.replace(/\.yaml$/, '')}.errors`);
  const actual = lines(problemsOf(name));
  if (update) writeFileSync(expectedPath, `${actual.join('\n')}\n`);
  expect(actual.length).toBeGreaterThan(0);
  expect(actual).toEqual(readFileSync(expectedPath, 'utf8').trim().split('\n'));
});

test('every .errors file has its flow', () => {
  for (const name of readdirSync(BROKEN).filter((file) => file.endsWith('.errors'))) {
    const base = name.replace(/\.errors$/, '');
    expect(existsSync(join(BROKEN, `${base}.yaml`)) || existsSync(join(BROKEN, base))).toBe(true);
  }
});

test('a 5 MB file is refused with its size, before parsing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tocsin-huge-'));
  try {
    const text = `steps:\n  a:\n    say: "${'x'.repeat(5 * 1024 * 1024)}"\n`;
    writeFileSync(join(dir, 'huge.yaml'), text);
    const { problems } = parseFlowFile(join(dir, 'huge.yaml'));
    expect(problems.map(formatProblem)).toEqual([`${join(dir, 'huge.yaml')}:1:1: the file is ${Buffer.byteLength(text)} bytes; a flow file may be at most ${MAX_FLOW_FILE_BYTES} bytes`]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the shipped flows and locales have no problem', () => {
  expect(loadFlowSet(join(ROOT, 'flows'), i18n, join(ROOT, 'locales')).problems.map(formatProblem)).toEqual([]);
});
