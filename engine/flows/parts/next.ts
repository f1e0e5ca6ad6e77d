// `next: step`: where to go when nothing more specific (branch) decided.
import type { StepPart } from '../../types.ts';

export const next: StepPart = {
  key: 'next',
  route(value, ctx) {
    // A step whose answers all failed does not go on as if answered.
    return ctx.invalid ? undefined : (value as string);
  },
};
