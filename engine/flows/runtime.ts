// The flow runtime. Pure: given a flow, a conversation's state and what the supporter
// said, it returns the new state, the replies and the store changes (effects). The
// inbound pipeline persists all of it in one transaction.
import type { Translator } from '../i18n.ts';
import type { Choice, ContactView, ConversationState, Effect, Flow, FlowInput, OutboundMessage, StepContext, Text } from '../types.ts';
import { stepParts } from './parts/index.ts';

/** A flow that moves through this many steps without waiting is stopped: it loops. */
export const MAX_STEPS_WITHOUT_WAITING = 100;

export interface RunResult {
  state: ConversationState;
  replies: OutboundMessage[];
  effects: Effect[];
  /** What went wrong in the flow itself (for the log); the conversation ended cleanly. */
  problems: string[];
}

export function startConversation(flow: Flow, contact: ContactView, i18n: Translator, vars: Record<string, unknown> = {}): RunResult {
  const state: ConversationState = { flow: flow.id, flowVersion: flow.version, step: flow.entry, status: 'running', vars: { ...vars }, answers: {}, retries: 0 };
  const run = new Run(flow, state, contact, i18n);
  run.walkFrom(flow.entry);
  return run.result();
}

export function continueConversation(flow: Flow, state: ConversationState, input: FlowInput, contact: ContactView, i18n: Translator): RunResult {
  const run = new Run(flow, structuredClone(state), contact, i18n);
  const step = flow.steps[state.step];
  if (!step) {
    run.end(`step "${state.step}" no longer exists in flow "${flow.id}"`);
    return run.result();
  }
  let outcome: 'retry' | 'invalid' | void = undefined;
  for (const part of stepParts) {
    if (part.answer && step[part.key] !== undefined) {
      outcome = part.answer(step[part.key], input, run);
      if (outcome) break;
    }
  }
  if (outcome === 'retry') {
    run.state.status = 'waiting';
    return run.result();
  }
  run.state.retries = 0;
  if (outcome === 'invalid') {
    run.invalid = true;
  }
  run.moveOn();
  return run.result();
}

class Run implements StepContext {
  readonly replies: OutboundMessage[] = [];
  readonly effects: Effect[] = [];
  readonly problems: string[] = [];
  invalid = false;
  answer: unknown = undefined;
  /** Replies before this index were said by earlier steps. */
  private stepRepliesStart = 0;

  constructor(
    readonly flow: Flow,
    readonly state: ConversationState,
    readonly contact: ContactView,
    private readonly i18n: Translator,
  ) {}

  render(text: Text, extra: Record<string, unknown> = {}) {
    return this.i18n.render(text, this.contact.language, { contact: this.contact, vars: this.state.vars, answers: this.state.answers, ...extra });
  }

  allTexts(text: Text) {
    return this.i18n.allTexts(text);
  }

  reply(message: OutboundMessage) {
    this.replies.push({ ...message, language: this.contact.language });
  }

  offerChoices(choices: Choice[]) {
    const last = this.replies.length > this.stepRepliesStart ? this.replies.at(-1)! : undefined;
    if (last && !last.choices) last.choices = choices;
    else this.reply({ text: '', choices });
  }

  effect(effect: Effect) {
    this.effects.push(effect);
    // Later steps of the same run see the change (a name just given, in the next text).
    if (effect.kind === 'set_contact') {
      if (effect.field === 'name') this.contact.name = effect.value as string;
      else if (effect.field === 'language' && this.i18n.supports(effect.value as string)) this.contact.language = effect.value as string;
      else if (effect.field === 'timezone') this.contact.timezone = effect.value as string;
      else this.contact.fields = { ...this.contact.fields, [effect.field]: effect.value };
    }
  }

  end(problem?: string) {
    if (problem) this.problems.push(problem);
    this.state.status = 'done';
  }

  /** Enters `name` and keeps going until a step waits or the flow ends. */
  walkFrom(name: string) {
    let next: string | undefined = name;
    for (let count = 0; next !== undefined; count++) {
      if (count >= MAX_STEPS_WITHOUT_WAITING) return this.end(`flow "${this.flow.id}" ran ${MAX_STEPS_WITHOUT_WAITING} steps without waiting for an answer (a loop?)`);
      const step = this.flow.steps[next];
      if (!step) return this.end(`flow "${this.flow.id}" goes to unknown step "${next}"`);
      this.state.step = next;
      this.state.status = 'running';
      this.invalid = false;
      this.answer = undefined;
      this.stepRepliesStart = this.replies.length;
      for (const part of stepParts) {
        if (part.enter && step[part.key] !== undefined && part.enter(step[part.key], this) === 'wait') {
          this.state.status = 'waiting';
          return;
        }
      }
      next = this.route();
    }
    this.end();
  }

  /** Leaves the current step by its routes, or ends the flow when it has none. */
  moveOn() {
    const next = this.route();
    if (next === undefined) this.end();
    else this.walkFrom(next);
  }

  private route(): string | undefined {
    const step = this.flow.steps[this.state.step]!;
    for (const part of stepParts) {
      if (part.route && step[part.key] !== undefined) {
        const target = part.route(step[part.key], this);
        if (target !== undefined) return target;
      }
    }
    return undefined;
  }

  result(): RunResult {
    return { state: this.state, replies: this.replies, effects: this.effects, problems: this.problems };
  }
}

export type { Run };
