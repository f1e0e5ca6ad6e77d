// `type: number` with optional `min` and `max`: "7", "7.5", "٧", " 10 "; a comma is the
// decimal mark ("7,5") except in English, where it separates thousands ("1,000").
import { asciiDigits } from '../../format.ts';
import type { AskType } from './index.ts';

export const number: AskType = {
  type: 'number',
  retry: 'common.retry_number',
  parse(input, spec, ctx) {
    let typed = asciiDigits(input.text).trim().replace(/[\s\u066C]/g, '');
    typed = ctx.contact.language === 'en' ? typed.replace(/,(?=\d{3}\b)/g, '') : typed.replace(/[,٫]/, '.');
    if (!/^[-+]?\d+(\.\d+)?$/.test(typed)) return { ok: false };
    const value = Number(typed);
    const min = bound(spec.min);
    const max = bound(spec.max);
    if (min !== undefined && value < min) return { ok: false };
    if (max !== undefined && value > max) return { ok: false };
    return { ok: true, value };
  },
};

const bound = (limit: unknown) => (limit === undefined || limit === null || limit === '' || Number.isNaN(Number(limit)) ? undefined : Number(limit));
