// The few contracts of Tocsin. A reader of this file knows the system:
// channels hand InboundMessages to the pipeline, the flow runtime turns them into
// OutboundMessages, and the delivery worker sends those through the same channels.

/** A channel's name, also the prefix of its identities: `telegram:123`, `console:amina`. */
export type ChannelName = string;

/** A supporter's message as every adapter hands it to the inbound pipeline. */
export interface InboundMessage {
  channel: ChannelName;
  /** The sender's address on the channel: a chat id, an E.164 number, an e-mail address. */
  address: string;
  /** The channel's own id for this message, unique per channel: used to drop redeliveries. */
  channelMessageId: string;
  text?: string;
  /** The id of a pressed button (a choice id), when the channel has buttons. */
  choice?: string;
  /** A deep-link payload (`/start rsvp`): start the flow whose `triggers.start` matches. */
  start?: string;
  /** The language the channel reports for the sender (Telegram's `language_code`). */
  languageHint?: string;
  displayName?: string;
  receivedAt: Date;
}

export interface Choice {
  id: string;
  label: string;
}

/** What the bot says: text, and the choices the supporter can answer with. */
export interface OutboundMessage {
  text: string;
  choices?: Choice[];
  /** The language the text is in (for `dir`/`lang` on channels that care). */
  language?: string;
  /** A structured payload, for machine channels (the JSON a webhook posts). */
  data?: unknown;
}

/** The normalized outcome of one send, whatever the vendor said. */
export type SendResult =
  | { status: 'sent'; channelMessageId?: string }
  /** Try again later; `scope: 'channel'` pauses the whole channel (a global rate limit). */
  | { status: 'retry'; reason: string; afterSeconds?: number; scope?: 'address' | 'channel' }
  /** Never try again; `stopContact` when the recipient blocked us (they become stopped). */
  | { status: 'permanent'; reason: string; stopContact?: boolean };

export interface ChannelCapabilities {
  /** Choices can be shown as buttons (otherwise they are numbered in the text). */
  buttons: boolean;
  /** Longest text one message may carry. */
  maxTextLength: number;
  /** Messages per second the channel accepts overall. */
  ratePerSecond: number;
  /** Shortest gap between two messages to one address, in ms (Telegram: 1 s per chat, 3 s per group). */
  addressIntervalMs?(address: string): number;
  /** Up to this share of the gap is added at random (WhatsApp: do not look like a machine). */
  jitter?: number;
  /** Addresses can be put on hold (e-mail bounces): nothing is sent to a held address. */
  holds?: boolean;
}

/** Where an adapter hands what it receives. Resolves once the message is stored. */
export type InboundHandler = (message: InboundMessage) => Promise<void>;

/** What the engine offers adapters when they start. */
export interface ChannelContext {
  /** Adds a route to the engine's HTTP server (webhooks). */
  route(method: string, path: string, handler: (request: import('node:http').IncomingMessage, response: import('node:http').ServerResponse, body: Buffer) => unknown): void;
}

/** One adapter per channel in `bots/`; each is thin: the vendor's world in, SendResult out. */
export interface Channel {
  readonly name: ChannelName;
  readonly capabilities: ChannelCapabilities;
  start(onInbound: InboundHandler, context?: ChannelContext): Promise<void>;
  stop(): Promise<void>;
  send(address: string, message: OutboundMessage): Promise<SendResult>;
  /** For /healthz and /metrics: `ready`, `qr`, `disconnected`... (channels with a connection). */
  status?(): string;
}

// ---- Flows ----------------------------------------------------------------------------

/** Text in a flow file: an i18n key (`subscribe.ask_name`) or an inline map per language. */
export type Text = string | Record<string, string>;

export interface Flow {
  id: string;
  /** Content hash of the file: conversations keep the version they started on. */
  version: string;
  /** The file's text, stored with the version. */
  source: string;
  title?: string;
  keywords: string[];
  start?: string;
  /** Seconds a waiting conversation lives before it ends quietly. */
  expireSeconds: number;
  /** The first step is the entry point. */
  entry: string;
  steps: Record<string, Step>;
}

/** A step as written in YAML: the keys are the step parts (`say`, `ask`, `do`, `next`...). */
export type Step = Record<string, unknown>;

/** The runtime state of a conversation, persisted between messages. */
export interface ConversationState {
  flow: string;
  flowVersion: string;
  step: string;
  /** `waiting` when the step asked and waits for the answer; `done` when the flow ended. */
  status: 'running' | 'waiting' | 'done';
  vars: Record<string, unknown>;
  answers: Record<string, unknown>;
  /** How many invalid answers were given to the current question. */
  retries: number;
}

/** What a contact looks like to a flow (templates, conditions, `save: contact.x`). */
export interface ContactView {
  id: number;
  name: string | null;
  language: string;
  timezone: string | null;
  fields: Record<string, unknown>;
  channel: ChannelName;
}

/** A change to the store asked for by a flow; the pipeline applies it in the same transaction. */
export type Effect =
  | { kind: 'set_contact'; field: string; value: unknown }
  | { kind: 'join'; group: string }
  | { kind: 'leave'; group: string }
  /** `wording`: what the person agreed to — the flow's version and step. */
  | { kind: 'consent'; status: 'granted' | 'withdrawn'; source: string; wording?: string }
  /** A survey answer, stored typed. */
  | { kind: 'answer'; flow: string; question: string; type: string; value: unknown }
  /** An RSVP; its outcome (confirmed, waitlisted at position N) is told at `replyAt`. */
  | { kind: 'rsvp'; event: string; answer: 'yes' | 'no' | 'maybe'; replyAt: number }
  /** A note for the organizers (posted to Slack). */
  | { kind: 'notify'; text: string; channel?: string }
  /** A JSON POST to another system, retried by the delivery worker. */
  | { kind: 'webhook'; url: string; body: unknown };

/** An event as flows see it: its title already in the contact's language. */
export interface EventView {
  slug: string;
  title: string;
  startsAt: Date;
  timezone: string;
  place: string | null;
}

/** What the store tells flows, loaded by the pipeline before a run. */
export interface FlowData {
  /** Upcoming, scheduled events, soonest first. */
  events: EventView[];
}

/** Everything a step part or action may read while the flow runs. Pure: no I/O. */
export interface StepContext {
  flow: Flow;
  state: ConversationState;
  contact: ContactView;
  data: FlowData;
  /** Languages the engine speaks (for `ask: { type: language }`). */
  languages: string[];
  /** DEFAULT_LANGUAGE: what organizers read. */
  defaultLanguage: string;
  /** The answer given to the current step (a choice id, a number, a text...). */
  answer: unknown;
  /** True when the current step got too many invalid answers: routes may take `invalid`. */
  invalid: boolean;
  /** Translate a flow text and render its template for this contact (or in `language`). */
  render(text: Text, extra?: Record<string, unknown>, language?: string): string;
  /** Renders a template written in the flow (`"{{vars.event}}"`) as a plain value: no translation, no bidi isolates. */
  renderValue(template: string): string;
  /** Every language's version of a text, to recognise answers typed in any of them. */
  allTexts(text: Text): string[];
  reply(message: OutboundMessage): void;
  /** Shows choices with what this step just said (or alone when it said nothing). */
  offerChoices(choices: Choice[]): void;
  effect(effect: Effect): void;
  /** Ends the flow; with a problem, it is logged. */
  end(problem?: string): void;
  /** Leaves this flow for another (`- goto: survey`); false when there is no such flow. */
  goto(flowId: string): boolean;
  /** Evaluates a condition (`contact.language == "ar"`) over contact, vars, answers and data. */
  test(expression: string): boolean;
  /** How many replies were said so far (where an effect's own reply goes). */
  readonly replyCount: number;
}

/**
 * One key of a step (`say`, `ask`, `do`, `next`, `branch`...). Parts run in the order they
 * are registered; a part may end the step's run by waiting for an answer or moving on.
 */
export interface StepPart {
  key: string;
  /** Runs when the step is entered. Returns `wait` when the step now waits for input. */
  enter?(value: unknown, ctx: StepContext): 'wait' | void;
  /** Runs when input arrives for a waiting step. `retry` keeps waiting. */
  answer?(value: unknown, input: FlowInput, ctx: StepContext): 'retry' | 'invalid' | void;
  /** Where to go after the step, or undefined for "not my business". */
  route?(value: unknown, ctx: StepContext): string | undefined;
}

/** One flow action (`- join: supporters`). */
export interface Action {
  key: string;
  run(value: unknown, ctx: StepContext): void;
}

export interface FlowInput {
  text: string;
  choice?: string;
}
