// `type: date`: a calendar date written the way people write them in their language:
// "2027-03-12", "12/03/2027" (in the order the language uses), "12 mars", "12 марта",
// "١٢ مارس ٢٠٢٧", "March 12", "today", "demain". Saves `YYYY-MM-DD`. Optional `min` and
// `max` (ISO dates, or `today`).
import { asciiDigits, validTimezone } from '../../format.ts';
import { normalizeWord } from '../../i18n.ts';
import type { AskType } from './index.ts';

export const date: AskType = {
  type: 'date',
  retry: 'common.retry_date',
  parse(input, spec, ctx) {
    const today = todayIn(ctx.contact.timezone);
    const value = parseDate(input.text, ctx.contact.language, today, (key) => ctx.allTexts(key).flatMap((words) => words.split(',')));
    if (!value) return { ok: false };
    const bound = (limit: unknown) => (limit === 'today' ? today : typeof limit === 'string' ? limit : undefined);
    const min = bound(spec.min);
    const max = bound(spec.max);
    if ((min && value < min) || (max && value > max)) return { ok: false };
    return { ok: true, value };
  },
};

/** Today's date (YYYY-MM-DD) in a timezone. */
export function todayIn(timezone: string | null | undefined, now = new Date()): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: validTimezone(timezone), year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
}

export function parseDate(text: string, language: string, today: string, words: (key: string) => string[]): string | undefined {
  const typed = normalizeWord(asciiDigits(text)).replace(/\s+/g, ' ');
  if (!typed) return undefined;
  const [year, month, day] = today.split('-').map(Number) as [number, number, number];
  const shift = (days: number) => iso(new Date(Date.UTC(year, month - 1, day + days)));
  if (words('common.today_words').some((word) => normalizeWord(word) === typed)) return shift(0);
  if (words('common.tomorrow_words').some((word) => normalizeWord(word) === typed)) return shift(1);

  let match = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(typed);
  if (match) return valid(Number(match[1]), Number(match[2]), Number(match[3]));

  match = /^(\d{1,2})[./-](\d{1,2})(?:[./-](\d{2}|\d{4}))?$/.exec(typed);
  if (match) {
    const [a, b] = [Number(match[1]), Number(match[2])];
    const [d, m] = dayFirst(language) ? [a, b] : [b, a];
    return valid(fullYear(match[3], year), m, d);
  }

  const months = monthNames(language);
  const tokens = typed.replace(/[,.]/g, ' ').split(' ').filter(Boolean);
  const monthIndex = tokens.findIndex((token) => months.has(token));
  if (monthIndex >= 0) {
    const numbers = tokens.filter((token, index) => index !== monthIndex && /^\d+$/.test(token)).map(Number);
    const dayNumber = numbers.find((n) => n >= 1 && n <= 31);
    const yearNumber = numbers.find((n) => n > 31);
    if (dayNumber !== undefined && numbers.length <= 2) return valid(yearNumber ?? year, months.get(tokens[monthIndex]!)!, dayNumber);
  }
  return undefined;
}

function valid(year: number, month: number, day: number): string | undefined {
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day ? iso(date) : undefined;
}

const iso = (date: Date) => date.toISOString().slice(0, 10);

function fullYear(written: string | undefined, current: number): number {
  if (!written) return current;
  const value = Number(written);
  return written.length === 2 ? 2000 + value : value;
}

/** Whether the language writes the day before the month (12/03 = 12 March). */
function dayFirst(language: string): boolean {
  const parts = new Intl.DateTimeFormat(language, { day: 'numeric', month: 'numeric', timeZone: 'UTC' }).formatToParts(new Date(Date.UTC(2024, 2, 15)));
  return parts.findIndex((part) => part.type === 'day') < parts.findIndex((part) => part.type === 'month');
}

const monthCache = new Map<string, Map<string, number>>();

/** Month names of a language, full, short and as after a day ("марта"), normalized -> 1..12. */
function monthNames(language: string): Map<string, number> {
  let names = monthCache.get(language);
  if (names) return names;
  names = new Map();
  for (const locale of [language, 'en']) {
    for (let month = 0; month < 12; month++) {
      const day = new Date(Date.UTC(2024, month, 15));
      const forms = [
        new Intl.DateTimeFormat(locale, { month: 'long', timeZone: 'UTC' }).format(day),
        new Intl.DateTimeFormat(locale, { month: 'short', timeZone: 'UTC' }).format(day),
        ...new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'long', timeZone: 'UTC' }).formatToParts(day).filter((part) => part.type === 'month').map((part) => part.value),
      ];
      for (const form of forms) {
        const key = normalizeWord(form.replace(/\.$/, ''));
        if (key && !names.has(key)) names.set(key, month + 1);
      }
    }
  }
  monthCache.set(language, names);
  return names;
}
