// Question types for `ask: { type: ... }`. Each validates and normalizes an answer, and
// says which choices to show, if any. Adding one is adding a file and a line here.
import type { Choice, FlowInput, StepContext, Text } from '../../types.ts';
import { choice } from './choice.ts';
import { date } from './date.ts';
import { email } from './email.ts';
import { event } from './event.ts';
import { language } from './language.ts';
import { multi } from './multi.ts';
import { number } from './number.ts';
import { phone } from './phone.ts';
import { text } from './text.ts';
import { yesNo } from './yes_no.ts';

export interface AskSpec {
  type: string;
  save?: string;
  retry?: Text;
  choices?: Record<string, Text>;
  /** Other words that mean a choice: `{ yes: [y, ok, "👍"] }`. */
  aliases?: Record<string, string[]>;
  min?: number | string;
  max?: number | string;
  /** Phone numbers: the country assumed for numbers written without +code. */
  country?: string;
  [option: string]: unknown;
}

export type Parsed = { ok: true; value: unknown } | { ok: false };

export interface AskType {
  type: string;
  parse(input: FlowInput, spec: AskSpec, ctx: StepContext): Parsed;
  /** The choices to show, for types that have them. */
  choices?(spec: AskSpec, ctx: StepContext): Choice[];
  /** The text said after an invalid answer, when the step has no `retry`. */
  retry?: Text;
}

export const askTypes = new Map<string, AskType>([text, number, choice, multi, yesNo, date, email, phone, language, event].map((type) => [type.type, type]));
