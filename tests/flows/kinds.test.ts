// Every step part, ask type and action has a fixture in tests/flows/kinds/<group>/<key>.yaml:
// a small flow and a conversation with it — replies, and the store changes (effects) the
// flow asks for. The runtime is pure, so these run without a database. A kind registered
// without a fixture fails the registry test. UPDATE_FIXTURES=1 rewrites the expectations.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument, stringify } from 'yaml';
import { choicesAsText } from '../../engine/delivery/format.ts';
import { actions } from '../../engine/flows/actions/index.ts';
import { askTypes } from '../../engine/flows/asks/index.ts';
import { FlowFile, formatProblem, parseFlowFile } from '../../engine/flows/loader.ts';
import { stepParts } from '../../engine/flows/parts/index.ts';
import { continueConversation, startConversation, type RunEnvironment, type RunResult } from '../../engine/flows/runtime.ts';
import { validateFiles } from '../../engine/flows/validate.ts';
import { Translator } from '../../engine/i18n.ts';
import type { ContactView, ConversationState, Flow } from '../../engine/types.ts';
import { ROOT } from '../helpers/services.ts';

interface KindFixture {
  lang?: string;
  contact?: { name?: string; timezone?: string };
  data?: { events?: { slug: string; title: string; startsAt: string; timezone: string; place?: string }[] };
  /** Other flows, for `goto`. */
  flows?: Record<string, unknown>;
  flow: unknown;
  conversation: { start?: { vars?: Record<string, unknown> }; send?: string | number; choice?: string; replies?: string[]; effects?: unknown[]; vars?: unknown; answers?: unknown; status?: string }[];
}

const KINDS = join(ROOT, 'tests/flows/kinds');
const update = process.env.UPDATE_FIXTURES === '1';
const i18n = Translator.load(join(ROOT, 'locales'), 'en');
const registry = [
  ...stepParts.map((part) => ['parts', part.key]),
  ...[...askTypes.keys()].map((key) => ['asks', key]),
  ...[...actions.keys()].map((key) => ['actions', key]),
] as [string, string][];

function flowFrom(id: string, definition: unknown): { file: FlowFile; flow: Flow } {
  const { file, problems } = parseFlowFile(`${id}.yaml`, stringify(definition));
  if (!file) throw new Error(problems.map(formatProblem).join('\n'));
  return { file, flow: file.toFlow() };
}

test.each(registry)('%s/%s has a fixture', (group, key) => {
  expect(existsSync(join(KINDS, group, `${key}.yaml`))).toBe(true);
});

describe.each(registry.filter(([group, key]) => existsSync(join(KINDS, group, `${key}.yaml`))))('%s/%s', (group, key) => {
  const path = join(KINDS, group, `${key}.yaml`);
  const fixture = parseDocument(readFileSync(path, 'utf8')).toJS() as KindFixture;

  test('the flow is valid', () => {
    const files = [flowFrom(key, fixture.flow).file, ...Object.entries(fixture.flows ?? {}).map(([id, definition]) => flowFrom(id, definition).file)];
    expect(validateFiles(files, i18n, undefined, { localeFlowNames: false }).map(formatProblem)).toEqual([]);
  });

  test('the conversation', () => {
    const { flow } = flowFrom(key, fixture.flow);
    const others = new Map(Object.entries(fixture.flows ?? {}).map(([id, definition]) => [id, flowFrom(id, definition).flow]));
    const env: RunEnvironment = {
      i18n,
      flows: { get: (id) => others.get(id) ?? (id === flow.id ? flow : undefined) },
      data: { events: (fixture.data?.events ?? []).map((event) => ({ ...event, startsAt: new Date(event.startsAt), place: event.place ?? null })) },
    };
    const contact: ContactView = { id: 1, name: fixture.contact?.name ?? null, language: fixture.lang ?? 'en', timezone: fixture.contact?.timezone ?? null, fields: {}, channel: 'console' };
    let current = flow;
    let state: ConversationState | undefined;
    const actual: Record<string, unknown>[] = [];
    for (const turn of fixture.conversation) {
      let result: RunResult;
      if (turn.start || !state || state.status === 'done') {
        result = startConversation(current = flow, contact, env, turn.start?.vars ?? {});
      } else {
        result = continueConversation(current, state, { text: String(turn.send ?? ''), choice: turn.choice }, contact, env);
      }
      current = result.flow;
      state = result.state;
      for (const effect of result.effects) if (effect.kind === 'set_contact' && effect.field === 'language') contact.language = String(effect.value);
      expect(result.problems).toEqual([]);
      const observed = {
        replies: result.replies.map((reply) => choicesAsText(reply)),
        effects: result.effects,
        vars: result.state.vars,
        answers: result.state.answers,
        status: result.state.status,
      };
      actual.push(observed);
      if (!update) {
        const expected: Record<string, unknown> = { replies: turn.replies ?? [] };
        for (const field of ['effects', 'vars', 'answers', 'status'] as const) if (turn[field] !== undefined) expected[field] = turn[field];
        expect(pick(observed, Object.keys(expected))).toEqual(expected);
      }
    }
    if (update) {
      const document = parseDocument(readFileSync(path, 'utf8'));
      actual.forEach((observed, index) => {
        document.setIn(['conversation', index, 'replies'], observed.replies);
        if ((observed.effects as unknown[]).length) document.setIn(['conversation', index, 'effects'], observed.effects);
        else if (document.hasIn(['conversation', index, 'effects'])) document.deleteIn(['conversation', index, 'effects']);
        for (const field of ['vars', 'answers', 'status']) if (document.hasIn(['conversation', index, field])) document.setIn(['conversation', index, field], observed[field]);
      });
      writeFileSync(path, document.toString({ lineWidth: 0 }));
    }
  });
});

const pick = (object: Record<string, unknown>, keys: string[]) => Object.fromEntries(keys.map((key) => [key, object[key]]));
