// `when: [{ if: 'contact.language == "ar"', next: arabic }, { next: everyone_else }]`:
// goes to the first entry whose condition holds (an entry without `if` always holds).
import type { StepPart } from '../../types.ts';

export interface WhenEntry {
  if?: string;
  next: string;
}

export const when: StepPart = {
  key: 'when',
  route(value, ctx) {
    if (ctx.invalid) return undefined;
    for (const entry of value as WhenEntry[]) {
      if (entry.if === undefined || ctx.test(entry.if)) return entry.next;
    }
    return undefined;
  },
};
