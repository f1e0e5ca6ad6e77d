// `branch: { yes: welcome, no: goodbye, invalid: help }`: goes on by the step's answer.
import type { StepPart } from '../../types.ts';

export const branch: StepPart = {
  key: 'branch',
  route(value, ctx) {
    const targets = value as Record<string, string>;
    if (ctx.invalid) return targets.invalid;
    return ctx.answer === undefined ? undefined : targets[String(ctx.answer)] ?? targets.other;
  },
};
