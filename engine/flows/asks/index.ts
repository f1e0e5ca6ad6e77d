// Question types for `ask: { type: ... }`. Each validates and normalizes an answer.
// Adding one is adding a file and a line here.
import type { Choice, FlowInput, StepContext, Text } from '../../types.ts';
import { choice } from './choice.ts';
import { text } from './text.ts';

export interface AskSpec {
  type: string;
  save?: string;
  retry?: Text;
  choices?: Record<string, Text>;
  [option: string]: unknown;
}

export type Parsed = { ok: true; value: unknown } | { ok: false };

export interface AskType {
  type: string;
  parse(input: FlowInput, spec: AskSpec, ctx: StepContext): Parsed;
  /** The choices to show, for types that have them. */
  choices?(spec: AskSpec, ctx: StepContext): Choice[];
}

export const askTypes = new Map<string, AskType>([text, choice].map((type) => [type.type, type]));
