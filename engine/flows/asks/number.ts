// `type: number` with optional `min` and `max`: "7", "7.5", "7,5", "٧", " 10 ".
import { asciiDigits } from '../../format.ts';
import type { AskType } from './index.ts';

export const number: AskType = {
  type: 'number',
  retry: 'common.retry_number',
  parse(input, spec) {
    const typed = asciiDigits(input.text).trim().replace(/\s/g, '').replace(/[,٫]/, '.');
    if (!/^[-+]?\d+(\.\d+)?$/.test(typed)) return { ok: false };
    const value = Number(typed);
    if (typeof spec.min === 'number' && value < spec.min) return { ok: false };
    if (typeof spec.max === 'number' && value > spec.max) return { ok: false };
    return { ok: true, value };
  },
};
