// The flow runtime. Pure: given a flow, a conversation's state and what the supporter
// said, it returns the new state, the replies and the store changes (effects). The
// inbound pipeline persists all of it in one transaction.
import { describe } from '../errors.ts';
import type { Translator } from '../i18n.ts';
import type { Choice, ContactView, ConversationState, Effect, Flow, FlowData, FlowInput, OutboundMessage, StepContext, Text } from '../types.ts';
import { evaluateCondition } from './conditions.ts';
import { stepParts } from './parts/index.ts';

/** A flow that moves through this many steps without waiting is stopped: it loops. */
export const MAX_STEPS_WITHOUT_WAITING = 100;

/** What a run may read besides the conversation: languages, other flows, store data. */
export interface RunEnvironment {
  i18n: Translator;
  /** Other flows, for `goto`. */
  flows: { get(id: string): Flow | undefined };
  data: FlowData;
}

export interface RunResult {
  /** The flow the conversation is in now (another one after a `goto`). */
  flow: Flow;
  state: ConversationState;
  replies: OutboundMessage[];
  effects: Effect[];
  /** What went wrong in the flow itself (for the log); the conversation ended cleanly. */
  problems: string[];
}

export function startConversation(flow: Flow, contact: ContactView, env: RunEnvironment, vars: Record<string, unknown> = {}): RunResult {
  const run = new Run(flow, initialState(flow, vars), contact, env);
  run.walkFrom(flow.entry);
  return run.result();
}

export function continueConversation(flow: Flow, state: ConversationState, input: FlowInput, contact: ContactView, env: RunEnvironment): RunResult {
  const run = new Run(flow, structuredClone(state), contact, env);
  const step = flow.steps[state.step];
  if (!step) {
    run.end(`step "${state.step}" no longer exists in flow "${flow.id}"`);
    return run.result();
  }
  run.beginStep(state.step);
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
  if (outcome === 'invalid') run.invalid = true;
  if (run.state.status !== 'done') run.moveOn();
  return run.result();
}

function initialState(flow: Flow, vars: Record<string, unknown>): ConversationState {
  return { flow: flow.id, flowVersion: flow.version, step: flow.entry, status: 'running', vars: { ...vars }, answers: {}, retries: 0 };
}

class Run implements StepContext {
  readonly replies: OutboundMessage[] = [];
  readonly effects: Effect[] = [];
  readonly problems: string[] = [];
  invalid = false;
  answer: unknown = undefined;
  /** Replies before this index were said by earlier steps. */
  private stepRepliesStart = 0;
  /** Set by `goto`: the flow to continue in once the current step's parts ran. */
  private nextFlow?: Flow;

  constructor(
    public flow: Flow,
    public state: ConversationState,
    readonly contact: ContactView,
    private readonly env: RunEnvironment,
  ) {}

  get data(): FlowData {
    return this.env.data;
  }

  get languages(): string[] {
    return this.env.i18n.languages;
  }

  get defaultLanguage(): string {
    return this.env.i18n.defaultLanguage;
  }

  get replyCount(): number {
    return this.replies.length;
  }

  render(text: Text, extra: Record<string, unknown> = {}, language = this.contact.language) {
    return this.env.i18n.render(text, language, this.templateData(extra));
  }

  renderValue(template: string) {
    return this.env.i18n.render({ [this.contact.language]: template }, this.contact.language, this.templateData({}), {}, { isolate: false });
  }

  allTexts(text: Text) {
    return this.env.i18n.allTexts(text);
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
      else if (effect.field === 'language' && this.env.i18n.supports(effect.value as string)) this.contact.language = effect.value as string;
      else if (effect.field === 'timezone') this.contact.timezone = effect.value as string;
      else this.contact.fields = { ...this.contact.fields, [effect.field]: effect.value };
    }
  }

  get ended(): boolean {
    return this.state.status === 'done';
  }

  end(problem?: string) {
    if (problem) this.problems.push(problem);
    this.state.status = 'done';
  }

  goto(flowId: string): boolean {
    const target = this.env.flows.get(flowId);
    if (!target) return false;
    this.nextFlow = target;
    return true;
  }

  test(expression: string): boolean {
    try {
      return evaluateCondition(expression, this.templateData({}));
    } catch (error) {
      this.problems.push(`condition "${expression}" in flow "${this.flow.id}" failed: ${describe(error)}`);
      return false;
    }
  }

  beginStep(name: string) {
    this.state.step = name;
    this.invalid = false;
    this.answer = undefined;
    this.stepRepliesStart = this.replies.length;
  }

  /** Enters `name` and keeps going until a step waits or the flow ends. */
  walkFrom(name: string) {
    let next: string | undefined = name;
    for (let count = 0; next !== undefined; count++) {
      if (count >= MAX_STEPS_WITHOUT_WAITING) return this.end(`flow "${this.flow.id}" ran ${MAX_STEPS_WITHOUT_WAITING} steps without waiting for an answer (a loop?)`);
      const step = this.flow.steps[next];
      if (!step) return this.end(`flow "${this.flow.id}" goes to unknown step "${next}"`);
      this.beginStep(next);
      this.state.status = 'running';
      for (const part of stepParts) {
        if (!part.enter || step[part.key] === undefined) continue;
        const outcome = part.enter(step[part.key], this);
        if (this.ended) return;
        if (outcome === 'wait' && !this.nextFlow) {
          this.state.status = 'waiting';
          return;
        }
        if (this.nextFlow) break;
      }
      if (this.nextFlow) {
        next = this.switchFlow(this.nextFlow);
        continue;
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

  private switchFlow(target: Flow): string {
    this.nextFlow = undefined;
    this.flow = target;
    this.state = initialState(target, this.state.vars);
    return target.entry;
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

  private templateData(extra: Record<string, unknown>) {
    return { contact: this.contact, vars: this.state.vars, answers: this.state.answers, events: this.env.data.events, upcoming: this.env.data.events.length, ...extra };
  }

  result(): RunResult {
    return { flow: this.flow, state: this.state, replies: this.replies, effects: this.effects, problems: this.problems };
  }
}
