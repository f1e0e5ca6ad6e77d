// The flow runtime is pure: flows in, state and replies out, no database.
import { resolve } from 'node:path';
import { parseFlowFile } from '../../engine/flows/loader.ts';
import { continueConversation, MAX_STEPS_WITHOUT_WAITING, startConversation, type RunEnvironment } from '../../engine/flows/runtime.ts';
import { Translator } from '../../engine/i18n.ts';
import type { ContactView, Flow } from '../../engine/types.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const i18n = Translator.load(resolve(ROOT, 'locales'), 'en');
const subscribe = parseFlowFile(resolve(ROOT, 'flows/subscribe.yaml')).file!.toFlow();
const env: RunEnvironment = { i18n, flows: { get: () => undefined }, data: { events: [] } };
const contact = (language = 'en'): ContactView => ({ id: 1, name: null, language, timezone: null, fields: {}, channel: 'console' });

function inlineFlow(steps: Flow['steps']): Flow {
  return { id: 'test', version: 'v1', source: '', keywords: [], expireSeconds: 60, entry: Object.keys(steps)[0]!, steps };
}

describe('flow runtime', () => {
  test('subscribe: name, language, topics as groups, consent; each answer becomes an effect', () => {
    const start = startConversation(subscribe, contact(), env);
    expect(start.state).toMatchObject({ step: 'ask_name', status: 'waiting' });
    expect(start.replies.map((reply) => reply.text)).toEqual(['Welcome! What is your name?']);

    const named = continueConversation(subscribe, start.state, { text: '  Amina ' }, contact(), env);
    expect(named.effects).toEqual([{ kind: 'set_contact', field: 'name', value: 'Amina' }]);
    expect(named.replies[0]!.choices!.map((choice) => choice.label)).toEqual(['العربية', 'English', 'Français', 'Русский']);

    const french = continueConversation(subscribe, named.state, { text: 'Français' }, contact(), env);
    expect(french.effects).toEqual([{ kind: 'set_contact', field: 'language', value: 'fr' }]);
    // The next question is already in the language just chosen.
    expect(french.replies[0]!.text).toBe('Quels sujets vous intéressent ? Répondez par un ou plusieurs numéros, par exemple : 1 3');

    const topics = continueConversation(subscribe, french.state, { text: '3 1' }, contact('fr'), env);
    expect(topics.effects).toEqual([
      { kind: 'join', group: 'housing' },
      { kind: 'leave', group: 'climate' },
      { kind: 'join', group: 'transport' },
      { kind: 'leave', group: 'education' },
    ]);

    const agreed = continueConversation(subscribe, topics.state, { text: '', choice: 'yes' }, { ...contact('fr'), name: 'Amina' }, env);
    expect(agreed.state.status).toBe('done');
    expect(agreed.effects).toEqual([
      { kind: 'join', group: 'supporters' },
      { kind: 'consent', status: 'granted', source: 'flow:subscribe', wording: `subscribe@${subscribe.version}#welcome` },
    ]);
    expect(agreed.replies.map((reply) => reply.text)).toEqual(["C'est fait, Amina ! Écrivez STOP à tout moment pour ne plus recevoir de messages."]);
  });

  test.each([
    ['1', 'yes'],
    ['NO', 'no'],
    ['Oui', 'yes'],
    ['нет', 'no'],
    ['نعم', 'yes'],
  ])('a choice answered %j means %s, in any language', (text, expected) => {
    const waiting = { ...startConversation(subscribe, contact(), env).state, step: 'ask_consent' };
    const result = continueConversation(subscribe, waiting, { text }, contact(), env);
    expect(result.state.step).toBe(expected === 'yes' ? 'welcome' : 'goodbye');
  });

  test('invalid answers: retried twice with the retry text, then the flow ends', () => {
    let state = { ...startConversation(subscribe, contact('fr'), env).state, step: 'ask_consent' };
    for (let retry = 1; retry <= 2; retry++) {
      const result = continueConversation(subscribe, state, { text: 'peut-être' }, contact('fr'), env);
      expect(result.state).toMatchObject({ status: 'waiting', retries: retry });
      expect(result.replies[0]!.text).toBe("Désolé, je n'ai pas compris. Pouvez-vous réessayer ?");
      state = result.state;
    }
    const last = continueConversation(subscribe, state, { text: 'peut-être' }, contact('fr'), env);
    expect(last.state.status).toBe('done');
    expect(last.replies).toEqual([]);
  });

  test('invalid answers take the `invalid` branch when there is one', () => {
    const flow = inlineFlow({
      q: { ask: { type: 'choice', choices: { a: { en: 'A' } } }, branch: { a: 'done', invalid: 'help' } },
      done: { say: { en: 'ok' } },
      help: { say: { en: 'call us' } },
    });
    let state = startConversation(flow, contact(), env).state;
    for (let i = 0; i < 3; i++) {
      const result = continueConversation(flow, state, { text: 'zzz' }, contact(), env);
      state = result.state;
      if (i === 2) expect(result.replies.map((reply) => reply.text)).toEqual(['call us']);
    }
    expect(state.status).toBe('done');
  });

  test('save to vars and to survey answers', () => {
    const flow = inlineFlow({
      city: { ask: { type: 'text', save: 'vars.city' }, next: 'comment' },
      comment: { ask: { type: 'text' }, next: 'thanks' },
      thanks: { say: { en: 'Thanks from {{vars.city}}: {{answers.comment}}' } },
    });
    const one = continueConversation(flow, startConversation(flow, contact(), env).state, { text: 'Lyon' }, contact(), env);
    const two = continueConversation(flow, one.state, { text: '{{vars.city}} is <b>great</b>' }, contact(), env);
    expect(two.state.vars).toEqual({ city: 'Lyon' });
    expect(two.state.answers).toEqual({ comment: '{{vars.city}} is <b>great</b>' });
    // A supporter's text is data: it is printed, not rendered as a template or markup.
    expect(two.replies.map((reply) => reply.text)).toEqual(['Thanks from Lyon: {{vars.city}} is <b>great</b>']);
  });

  test('numbers: "1,000" in English is a thousand; "7,5" elsewhere is seven and a half', () => {
    const flow = inlineFlow({ n: { ask: { type: 'number', save: 'vars.n' } } });
    const answer = (text: string, language: string) => continueConversation(flow, startConversation(flow, contact(language), env).state, { text }, contact(language), env).state.vars.n;
    expect(answer('1,000', 'en')).toBe(1000);
    expect(answer('7,5', 'fr')).toBe(7.5);
    expect(answer('7.5', 'ru')).toBe(7.5);
  });

  test('an answer given before a goto is recorded for the flow that asked it', () => {
    const next = inlineFlow({ thanks: { say: { en: 'Thanks' } } });
    const flow = inlineFlow({ q: { ask: { type: 'text' }, next: 'jump' }, jump: { do: [{ goto: 'next' }] } });
    const withOthers: RunEnvironment = { ...env, flows: { get: (id) => (id === 'next' ? { ...next, id: 'next' } : undefined) } };
    const result = continueConversation(flow, startConversation(flow, contact(), withOthers).state, { text: 'hello' }, contact(), withOthers);
    expect(result.flow.id).toBe('next');
    expect(result.effects).toEqual([{ kind: 'answer', flow: 'test', question: 'q', type: 'text', value: 'hello' }]);
    expect(result.replies.map((reply) => reply.text)).toEqual(['Thanks']);
  });

  test('a loop without waiting is stopped', () => {
    const flow = inlineFlow({ a: { next: 'b' }, b: { next: 'a' } });
    const result = startConversation(flow, contact(), env);
    expect(result.state.status).toBe('done');
    expect(result.problems).toEqual([`flow "test" ran ${MAX_STEPS_WITHOUT_WAITING} steps without waiting for an answer (a loop?)`]);
  });

  test('a route to a missing step, or a state on a missing step, ends cleanly', () => {
    const flow = inlineFlow({ a: { say: { en: 'hi' }, next: 'gone' } });
    expect(startConversation(flow, contact(), env).problems).toEqual(['flow "test" goes to unknown step "gone"']);
    const result = continueConversation(flow, { ...startConversation(flow, contact(), env).state, step: 'vanished', status: 'waiting' }, { text: 'x' }, contact(), env);
    expect(result.state.status).toBe('done');
    expect(result.problems).toEqual(['step "vanished" no longer exists in flow "test"']);
  });
});

describe('what supporters type', () => {
  test.each([
    ['template syntax', '{{constructor.constructor "return process"}}'],
    ['HTML', '<script>alert(1)</script>'],
    ['RTL override and emoji', '\u202Eevil\u202C 👩🏽‍🚀'],
    ['10,000 characters', 'x'.repeat(10_000)],
  ])('%s gets the normal retry at a name question with a limit, or is kept as typed', (_kind, typed) => {
    const started = startConversation(subscribe, contact(), env);
    const result = continueConversation(subscribe, started.state, { text: typed }, contact(), env);
    if (typed.length > 100) {
      expect(result.replies.map((reply) => reply.text)).toEqual(['Please tell me your name (up to 100 characters).']);
    } else {
      expect(result.effects).toEqual([{ kind: 'set_contact', field: 'name', value: typed.trim() }]);
      // The name is printed as typed, never run as a template nor turned into markup.
      const named = { ...contact(), name: typed.trim() };
      const language = continueConversation(subscribe, result.state, { text: 'English' }, named, env);
      const topics = continueConversation(subscribe, language.state, { text: '1' }, named, env);
      expect(topics.replies[0]!.text).toBe(`Thank you, ${typed.trim()}. May we send you news and alerts here?`);
    }
  });
});
