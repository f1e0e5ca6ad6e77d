// Checks flow files for campaign designers: the structure against flows/schema.json
// (the same schema editors use), then the meaning — every problem at once, each with its
// position and, where it helps, a hint: `flows/rsvp.yaml:14:7: step "confirm" branches
// to unknown step "welcom" (did you mean "welcome"?)`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import type { Translator } from '../i18n.ts';
import { ENGINE_TEXTS, normalizeWord } from '../i18n.ts';
import type { Flow, Text } from '../types.ts';
import { actions } from './actions/index.ts';
import { compileCondition } from './conditions.ts';
import { parseDuration } from './duration.ts';
import { FlowFile, parseFlowDir, type Problem } from './loader.ts';
import { didYouMean } from './suggest.ts';

const SCHEMA_PATH = new URL('../../flows/schema.json', import.meta.url);
const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8'));
const ajv = new Ajv({ allErrors: true, verbose: true, strict: false });
const checkSchema = ajv.compile(schema);

/** Save targets that exist on a contact but cannot be written by a flow. */
const READ_ONLY_CONTACT_FIELDS = new Set(['id', 'status', 'created_at', 'updated_at', 'last_seen_at', 'fields']);
const CHOICE_TYPES = new Set(['choice', 'multi']);

export interface FlowSet {
  flows: Flow[];
  problems: Problem[];
}

/** Reads and checks every flow in `dir` against the languages in `i18n`. */
export function loadFlowSet(dir: string, i18n: Translator, localesDir?: string, options: ValidateOptions = {}): FlowSet {
  const { files, problems } = parseFlowDir(dir);
  problems.push(...validateFiles(files, i18n, localesDir, options));
  problems.sort((a, b) => a.path.localeCompare(b.path) || a.line - b.line || a.col - b.col);
  return { flows: problems.length ? [] : files.map((file) => file.toFlow()), problems };
}

export interface ValidateOptions {
  /** Report keywords in locales/ for flows that are not in this set (off when checking a copy elsewhere). */
  localeFlowNames?: boolean;
}

export function validateFiles(files: FlowFile[], i18n: Translator, localesDir?: string, options: ValidateOptions = {}): Problem[] {
  const problems: Problem[] = [];
  const flowIds = files.map((file) => file.id);
  for (const file of files) {
    const structural = schemaProblems(file);
    problems.push(...structural);
    problems.push(...meaningProblems(file, i18n, flowIds));
  }
  problems.push(...triggerProblems(files, i18n, localesDir, options.localeFlowNames ?? true));
  if (localesDir) problems.push(...pluralProblems(i18n, localesDir), ...localeProblems(i18n, localesDir));
  return dedupe(problems);
}

// ---- structure ------------------------------------------------------------------------

function schemaProblems(file: FlowFile): Problem[] {
  if (checkSchema(file.data)) return [];
  const problems: Problem[] = [];
  const seen = new Set<string>();
  for (const error of checkSchema.errors ?? []) {
    const keys = error.instancePath.split('/').slice(1).map((key) => key.replaceAll('~1', '/').replaceAll('~0', '~'));
    // A text is "a string or a map": report it once, plainly, not as two anyOf branches.
    const isText = error.schemaPath.includes('/definitions/text/') || (error.keyword === 'anyOf' && (error.parentSchema as { anyOf?: unknown[] })?.anyOf?.some((item) => (item as { $ref?: string }).$ref === '#/definitions/text'));
    const key = `${keys.join('/')}|${isText ? 'text' : error.keyword}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (isText) {
      problems.push(file.problem(keys, `${describePath(keys)} must be a text: an i18n key such as subscribe.ask_name, or a map of language to text`));
      continue;
    }
    const problem = schemaMessage(file, keys, error);
    if (problem) problems.push(problem);
  }
  return problems;
}

function schemaMessage(file: FlowFile, keys: string[], error: ErrorObject): Problem | undefined {
  const where = describePath(keys);
  const params = error.params as Record<string, any>;
  switch (error.keyword) {
    case 'additionalProperties': {
      const name = String(params.additionalProperty);
      const known = Object.keys((error.parentSchema as { properties?: object })?.properties ?? {});
      const inStep = keys.length === 2 && keys[0] === 'steps';
      const kind = inStep ? 'step part' : keys.at(-2) === 'do' ? 'action' : 'key';
      return file.problem([...keys, name], `unknown ${kind} "${name}" in ${where}${didYouMean(name, known) || ` (known: ${known.join(', ')})`}`, { atKey: true });
    }
    case 'required':
      return file.problem(keys, `${where} needs \`${params.missingProperty}\``);
    case 'enum': {
      const value = String(error.data);
      const allowed = params.allowedValues as string[];
      return file.problem(keys, `${where} is "${value}", which is not one of: ${allowed.join(', ')}${didYouMean(value, allowed)}`);
    }
    case 'type':
      return file.problem(keys, `${where} must be ${article(String(params.type))}`);
    case 'pattern':
      if (keys.at(-1) === 'expire') return file.problem(keys, `expire "${error.data}" is not a duration: write it like 90s, 30m, 12h, 3d or 2w`);
      if (keys.includes('webhook') || keys.at(-1) === 'url') return file.problem(keys, `${where} must be an http:// or https:// URL`);
      return file.problem(keys, `${where} "${error.data}" does not match ${params.pattern}`);
    case 'propertyNames':
      return undefined; // reported by the nested `pattern` error with the name itself
    case 'minProperties':
    case 'minItems':
      return file.problem(keys, `${where} must not be empty`);
    case 'maxProperties':
      return file.problem(keys, `${where} must hold one action: write each action as its own list item (- join: x)`);
    case 'anyOf':
      return file.problem(keys, `${where} has the wrong shape (see docs/flows.md)`);
    default:
      return file.problem(keys, `${where} ${error.message ?? 'is not valid'}`);
  }
}

function describePath(keys: string[]): string {
  if (!keys.length) return 'the flow';
  if (keys[0] === 'steps' && keys.length >= 2) {
    const rest = keys.slice(2);
    return rest.length ? `\`${rest.join('.')}\` of step "${keys[1]}"` : `step "${keys[1]}"`;
  }
  return `\`${keys.join('.')}\``;
}

const article = (type: string) => (type === 'array' ? 'a list' : type === 'object' ? 'a map' : /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`);

// ---- meaning --------------------------------------------------------------------------

interface StepShape {
  say?: unknown;
  ask?: { type?: string; save?: unknown; retry?: unknown; choices?: Record<string, unknown>; aliases?: Record<string, unknown> };
  do?: Record<string, unknown>[];
  next?: unknown;
  branch?: Record<string, unknown>;
  when?: { if?: unknown; next?: unknown }[];
}

function meaningProblems(file: FlowFile, i18n: Translator, flowIds: string[]): Problem[] {
  const problems: Problem[] = [];
  const data = file.data;
  const steps = (data.steps && typeof data.steps === 'object' && !Array.isArray(data.steps) ? data.steps : {}) as Record<string, StepShape>;
  const names = Object.keys(steps);
  const at = (keys: (string | number)[], message: string, atKey = false) => problems.push(file.problem(keys, message, { atKey }));

  if (typeof data.expire === 'string' && parseDuration(data.expire) === undefined) at(['expire'], `expire "${data.expire}" is not a duration: write it like 90s, 30m, 12h, 3d or 2w`);

  const goesTo = (from: string, keys: (string | number)[], target: unknown, how: string) => {
    if (typeof target === 'string' && !steps[target]) at(keys, `step "${from}" ${how} unknown step "${target}"${didYouMean(target, names)}`);
  };

  for (const [name, step] of Object.entries(steps)) {
    if (!step || typeof step !== 'object') continue;
    const base = ['steps', name];
    goesTo(name, [...base, 'next'], step.next, 'goes to');
    if (step.branch && typeof step.branch === 'object') {
      for (const [answer, target] of Object.entries(step.branch)) goesTo(name, [...base, 'branch', answer], target, `branches (${answer}) to`);
    }
    if (Array.isArray(step.when)) {
      step.when.forEach((entry, index) => {
        goesTo(name, [...base, 'when', index, 'next'], entry?.next, 'goes (when) to');
        if (typeof entry?.if === 'string') {
          try {
            compileCondition(entry.if);
          } catch (error) {
            at([...base, 'when', index, 'if'], `condition "${entry.if}" is not valid: ${(error as Error).message}`);
          }
        }
      });
    }
    if (step.say !== undefined) problems.push(...textProblems(file, [...base, 'say'], step.say, i18n));
    if (step.ask && typeof step.ask === 'object') problems.push(...askProblems(file, name, step, i18n));
    if (Array.isArray(step.do)) {
      step.do.forEach((item, index) => {
        if (!item || typeof item !== 'object') return;
        for (const [action, argument] of Object.entries(item)) {
          const keys = [...base, 'do', index, action];
          if (!actions.has(action)) continue; // the schema reported it
          if (action === 'goto' && typeof argument === 'string' && !flowIds.includes(argument)) at(keys, `step "${name}" goes to unknown flow "${argument}"${didYouMean(argument, flowIds)}`);
          if (action === 'notify') {
            const text = argument && typeof argument === 'object' && 'text' in argument ? (argument as { text: unknown }).text : argument;
            problems.push(...textProblems(file, keys, text, i18n));
          }
          if (action === 'set' && argument && typeof argument === 'object') {
            for (const target of Object.keys(argument)) {
              const problem = saveTargetProblem(target);
              if (problem) at([...keys, target], problem, true);
            }
          }
          if (action === 'rsvp' && argument && typeof argument === 'object') {
            const answer = String((argument as { answer?: unknown }).answer ?? '');
            if (!answer.includes('{{') && !['yes', 'no', 'maybe'].includes(answer)) at([...keys, 'answer'], `rsvp answer "${answer}" must be yes, no, maybe or a template such as "{{answers.coming}}"`);
          }
        }
      });
    }
  }

  // Unreachable steps: nothing routes to them from the entry point.
  if (names.length) {
    const reached = new Set<string>([names[0]!]);
    const queue = [names[0]!];
    while (queue.length) {
      const step = steps[queue.shift()!];
      if (!step || typeof step !== 'object') continue;
      const targets = [step.next, ...Object.values(step.branch ?? {}), ...(Array.isArray(step.when) ? step.when.map((entry) => entry?.next) : [])];
      for (const target of targets) {
        if (typeof target === 'string' && steps[target] && !reached.has(target)) {
          reached.add(target);
          queue.push(target);
        }
      }
    }
    for (const name of names) if (!reached.has(name)) at(['steps', name], `step "${name}" is never reached: no step goes to it from "${names[0]}"`, true);
  }
  return problems;
}

function askProblems(file: FlowFile, name: string, step: StepShape, i18n: Translator): Problem[] {
  const problems: Problem[] = [];
  const ask = step.ask!;
  const base = ['steps', name, 'ask'];
  const at = (keys: (string | number)[], message: string, atKey = false) => problems.push(file.problem(keys, message, { atKey }));
  const choices = ask.choices && typeof ask.choices === 'object' ? ask.choices : undefined;
  if (CHOICE_TYPES.has(String(ask.type)) && !choices) at(base, `step "${name}" asks a ${ask.type} question without \`choices\``);
  if (choices && !CHOICE_TYPES.has(String(ask.type))) at([...base, 'choices'], `step "${name}": \`choices\` only go with type choice or multi (this is ${ask.type})`, true);
  for (const [id, label] of Object.entries(choices ?? {})) problems.push(...textProblems(file, [...base, 'choices', id], label, i18n));
  if (ask.retry !== undefined) problems.push(...textProblems(file, [...base, 'retry'], ask.retry, i18n));
  for (const id of Object.keys(ask.aliases ?? {})) {
    if (!choices?.[id]) at([...base, 'aliases', id], `alias for "${id}", which is not a choice of step "${name}"${didYouMean(id, Object.keys(choices ?? {}))}`, true);
  }
  if (typeof ask.save === 'string') {
    const problem = saveTargetProblem(ask.save);
    if (problem) at([...base, 'save'], problem);
    if (ask.save === 'contact.groups' && ask.type !== 'multi' && ask.type !== 'choice') at([...base, 'save'], 'save: contact.groups takes the answer of a choice or multi question (the group names are the choice ids)');
    if (ask.save === 'contact.language' && ask.type !== 'language' && ask.type !== 'choice') at([...base, 'save'], 'save: contact.language takes the answer of a `language` question');
  }
  // Every answer needs a way on: a branch for each choice, unless `next` or `when` catches the rest.
  const answerIds = ask.type === 'yes_no' ? ['yes', 'no'] : ask.type === 'choice' ? Object.keys(choices ?? {}) : [];
  if (step.branch && typeof step.branch === 'object') {
    const hasFallback = step.next !== undefined || step.when !== undefined || 'other' in step.branch;
    for (const id of answerIds) {
      if (!(id in step.branch) && !hasFallback) at(['steps', name, 'branch'], `branch of step "${name}" has no way on for the answer "${id}" (add it, or \`other:\`, or a \`next:\`)`);
    }
    for (const key of Object.keys(step.branch)) {
      if (key === 'invalid' || key === 'other') continue;
      if (answerIds.length && !answerIds.includes(key)) at(['steps', name, 'branch', key], `branch of step "${name}" names "${key}", which is not an answer of its question${didYouMean(key, answerIds)}`, true);
    }
  }
  return problems;
}

function saveTargetProblem(target: string): string | undefined {
  const match = /^(contact|vars|answers)\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(target);
  if (!match) {
    const hint = didYouMean(target.split('.')[0] ?? '', ['contact', 'vars', 'answers']);
    return `save target "${target}" does not exist: use contact.<field>, vars.<name> or answers.<name>${hint ? hint.replace(/"([^"]+)"/, `"$1.${target.split('.').slice(1).join('.')}"`) : ''}`;
  }
  if (match[1] === 'contact' && READ_ONLY_CONTACT_FIELDS.has(match[2]!)) return `save target "${target}" cannot be written by a flow`;
  return undefined;
}

/** An i18n key must exist in every language; an inline map needs the default language; both must be valid templates. */
function textProblems(file: FlowFile, keys: (string | number)[], text: unknown, i18n: Translator): Problem[] {
  const problems: Problem[] = [];
  if (typeof text === 'string') {
    const missing = i18n.languages.filter((language) => !i18n.has(language, text));
    if (missing.length === i18n.languages.length) {
      const known = i18n.languages.length ? [...i18n.keys(i18n.defaultLanguage, 'flows'), ...i18n.keys(i18n.defaultLanguage, 'common').map((key) => `common.${key}`)] : [];
      problems.push(file.problem(keys, `text "${text}" is not in any locale${didYouMean(text, known) || ' (add it to locales/<lang>/flows.json)'}`));
    } else if (missing.length) {
      problems.push(file.problem(keys, `text "${text}" is missing in ${missing.map((language) => `locales/${language}`).join(', ')}`));
    }
    for (const language of i18n.languages.filter((language) => !missing.includes(language))) {
      const problem = templateProblem(i18n, i18n.text(text, language));
      if (problem) problems.push(file.problem(keys, `text "${text}" in ${language} is not a valid template: ${problem}`));
    }
  } else if (text && typeof text === 'object') {
    const map = text as Record<string, string>;
    if (!(i18n.defaultLanguage in map)) problems.push(file.problem(keys, `this text has no ${i18n.defaultLanguage} version (DEFAULT_LANGUAGE); contacts in other languages would get nothing`));
    for (const [language, value] of Object.entries(map)) {
      const problem = templateProblem(i18n, String(value));
      if (problem) problems.push(file.problem([...keys, language], `the ${language} text is not a valid template: ${problem}`));
    }
  }
  return problems;
}

function templateProblem(i18n: Translator, source: string): string | undefined {
  try {
    i18n.checkTemplate(source);
    return undefined;
  } catch (error) {
    // Handlebars says where on its first line and what it expected on its last.
    const lines = (error as Error).message.split('\n').filter(Boolean);
    return lines.length > 1 ? `${lines[0]} ${lines.at(-1)!.replace(/^Expecting .*, got/, 'unexpected')}` : lines[0];
  }
}

// ---- across files ---------------------------------------------------------------------

/** A keyword (in any language) or a deep-link start claimed by two flows, or by STOP/START. */
function triggerProblems(files: FlowFile[], i18n: Translator, localesDir: string | undefined, localeFlowNames: boolean): Problem[] {
  const problems: Problem[] = [];
  const localePath = (language: string) => (localesDir ? join(localesDir, language, 'triggers.json') : `locales/${language}/triggers.json`);
  // STOP and START words are handled before any flow: a keyword can never be one.
  const reserved = new Map<string, string[]>();
  for (const language of i18n.languages) {
    const { stop, start } = i18n.triggers(language);
    for (const word of [...stop, ...start]) reserved.set(normalizeWord(word), [...(reserved.get(normalizeWord(word)) ?? []), language]);
  }
  const claimed = new Map<string, string>();
  const claim = (word: string, flow: string, at: (message: string) => Problem) => {
    const key = normalizeWord(word);
    const languages = reserved.get(key);
    if (languages) return problems.push(at(`keyword "${word}" of flow "${flow}" is a STOP/START word (${[...new Set(languages)].join(', ')}), handled before any flow`));
    const owner = claimed.get(key);
    if (owner && owner !== flow) problems.push(at(`keyword "${word}" is claimed by flows "${owner}" and "${flow}"`));
    else if (!owner) claimed.set(key, flow);
  };
  const starts = new Map<string, string>();
  for (const file of files) {
    const triggers = file.data.triggers;
    const keywords: unknown[] = Array.isArray(triggers?.keywords) ? triggers.keywords : [];
    keywords.forEach((word, index) => {
      if (typeof word !== 'string') return;
      if (/\s/.test(word.trim())) problems.push(file.problem(['triggers', 'keywords', index], `keyword "${word}" has a space: a keyword is the first word of a message`));
      else claim(word, file.id, (message) => file.problem(['triggers', 'keywords', index], message));
    });
    if (typeof triggers?.start === 'string') {
      const owner = starts.get(triggers.start);
      if (owner) problems.push(file.problem(['triggers', 'start'], `start "${triggers.start}" is claimed by flows "${owner}" and "${file.id}"`));
      else starts.set(triggers.start, file.id);
    }
  }
  const flowIds = new Set(files.map((file) => file.id));
  for (const language of i18n.languages) {
    const path = localePath(language);
    for (const [flow, words] of Object.entries(i18n.triggers(language).keywords)) {
      if (!flowIds.has(flow)) {
        if (localeFlowNames) problems.push(jsonProblem(path, `"${flow}"`, `keywords for unknown flow "${flow}"${didYouMean(flow, flowIds)}`));
        continue;
      }
      for (const word of words) claim(word, flow, (message) => jsonProblem(path, JSON.stringify(word), message));
    }
  }
  return problems;
}

/** Every locale has the engine's own texts, every text is a valid template, trigger words are single words. */
function localeProblems(i18n: Translator, localesDir: string): Problem[] {
  const problems: Problem[] = [];
  for (const language of i18n.languages) {
    const common = join(localesDir, language, 'common.json');
    for (const key of ENGINE_TEXTS) {
      if (!i18n.has(language, key)) problems.push({ path: common, line: 1, col: 1, message: `"${key.slice('common.'.length)}" is missing: the engine says it to supporters in ${language}` });
    }
    for (const namespace of ['common', 'flows']) {
      const path = join(localesDir, language, `${namespace}.json`);
      const walk = (node: unknown, keys: string[]) => {
        if (typeof node === 'string') {
          const problem = templateProblem(i18n, node);
          if (problem) problems.push(jsonProblem(path, `"${keys.at(-1)}"`, `"${keys.join('.')}" is not a valid template: ${problem}`));
        } else if (node && typeof node === 'object') {
          for (const [key, child] of Object.entries(node)) walk(child, [...keys, key]);
        }
      };
      walk(i18n.bundle(language, namespace), []);
    }
    const triggers = join(localesDir, language, 'triggers.json');
    const { stop, start, keywords } = i18n.triggers(language);
    for (const word of [...stop, ...start, ...Object.values(keywords).flat()]) {
      if (/\s/.test(word.trim())) problems.push(jsonProblem(triggers, JSON.stringify(word), `"${word}" has a space: STOP/START words and keywords are single words (the first word of a message)`));
    }
  }
  return problems;
}

/** Every plural key has the forms its language needs (Russian one/few/many/other...). */
function pluralProblems(i18n: Translator, localesDir: string): Problem[] {
  const problems: Problem[] = [];
  for (const language of i18n.languages) {
    const needed = new Intl.PluralRules(language).resolvedOptions().pluralCategories;
    for (const namespace of ['flows', 'common']) {
      const path = join(localesDir, language, `${namespace}.json`);
      const plurals = pluralKeys(i18n, i18n.defaultLanguage, namespace);
      for (const key of plurals) {
        const missing = needed.filter((form) => !i18n.has(language, `${namespace === 'flows' ? '' : `${namespace}.`}${key}_${form}`));
        if (missing.length) problems.push(jsonProblem(path, `"${key.split('.').at(-1)}_`, `"${key}" needs the plural form${missing.length > 1 ? 's' : ''} ${missing.join(', ')} in ${language}`));
      }
    }
  }
  return problems;
}

function pluralKeys(i18n: Translator, language: string, namespace: string): string[] {
  const keys: string[] = [];
  const walk = (node: unknown, prefix: string) => {
    if (!node || typeof node !== 'object') return;
    for (const [key, child] of Object.entries(node)) {
      const path = prefix ? `${prefix}.${key}` : key;
      if (typeof child === 'object') walk(child, path);
      else if (key.endsWith('_other')) keys.push(path.slice(0, -'_other'.length));
    }
  };
  walk(i18n.bundle(language, namespace), '');
  return keys;
}

/** A problem in a JSON file, placed at the first occurrence of `needle`. */
function jsonProblem(path: string, needle: string, message: string): Problem {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return { path, line: 1, col: 1, message };
  }
  const offset = Math.max(0, text.indexOf(needle));
  const before = text.slice(0, offset).split('\n');
  return { path, line: before.length, col: before.at(-1)!.length + 1, message };
}

function dedupe(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((problem) => {
    const key = `${problem.path}:${problem.line}:${problem.col}:${problem.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Each language's share of the default language's texts, for `tocsin flows validate`. */
export function coverage(i18n: Translator): { language: string; have: number; total: number; missing: string[] }[] {
  const namespaces = ['flows', 'common'];
  const all = namespaces.flatMap((namespace) => i18n.keys(i18n.defaultLanguage, namespace).map((key) => (namespace === 'flows' ? key : `${namespace}.${key}`)));
  return i18n.languages.map((language) => {
    const missing = all.filter((key) => !i18n.has(language, key));
    return { language, have: all.length - missing.length, total: all.length, missing };
  });
}

export type { Text };
