// Dates, times and numbers in a contact's language and timezone (through Intl), and
// bidirectional isolation: in right-to-left text, a Latin name or a number is wrapped in
// Unicode isolates (FSI … PDI) so that it keeps its own order and does not reorder the
// words around it.

const RTL_LANGUAGES = new Set(['ar', 'he', 'fa', 'ur', 'ps', 'yi']);
const FSI = '\u2068';
const PDI = '\u2069';

export function isRightToLeft(language: string): boolean {
  return RTL_LANGUAGES.has(language.split('-')[0]!);
}

/** Wraps `text` in isolates when it goes into right-to-left text and holds left-to-right letters or digits. */
export function isolate(text: string, language: string): string {
  if (!isRightToLeft(language) || !/[A-Za-z0-9\u00C0-\u024F\u0400-\u04FF]/.test(text) || text.startsWith(FSI)) return text;
  return `${FSI}${text}${PDI}`;
}

/** Every string inside `value`, isolated for `language` (objects and arrays walked). */
export function isolateAll<T>(value: T, language: string): T {
  if (!isRightToLeft(language)) return value;
  if (typeof value === 'string') return isolate(value, language) as T;
  if (Array.isArray(value)) return value.map((item) => isolateAll(item, language)) as T;
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, isolateAll(item, language)])) as T;
  }
  return value;
}

export type DateStyle = 'date' | 'time' | 'datetime';

export function formatDate(value: Date | string | number, language: string, timezone: string | null | undefined, style: DateStyle = 'datetime'): string {
  // A calendar date (a `date` answer, 2027-03-12) is the same day everywhere.
  const calendarDate = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value);
  if (calendarDate) [timezone, style] = ['UTC', 'date'];
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  const options: Intl.DateTimeFormatOptions = { timeZone: validTimezone(timezone) };
  if (style !== 'time') Object.assign(options, { weekday: 'long', day: 'numeric', month: 'long' });
  // 6:30 PM where clocks have 12 hours, 02:30 where they have 24.
  if (style !== 'date') Object.assign(options, { hour: twelveHours(language) ? 'numeric' : '2-digit', minute: '2-digit' });
  return new Intl.DateTimeFormat(language, options).format(date);
}

function twelveHours(language: string): boolean {
  const cycle = new Intl.DateTimeFormat(language, { hour: 'numeric' }).resolvedOptions().hourCycle;
  return cycle === 'h11' || cycle === 'h12';
}

export function formatNumber(value: number, language: string, options: Intl.NumberFormatOptions = {}): string {
  return new Intl.NumberFormat(language, options).format(value);
}

/** The timezone if Intl knows it, else UTC. */
export function validTimezone(timezone: string | null | undefined): string {
  if (!timezone) return 'UTC';
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
    return timezone;
  } catch {
    return 'UTC';
  }
}

/** Arabic-Indic and Persian digits as ASCII digits. */
export function asciiDigits(text: string): string {
  return text.replace(/[\u0660-\u0669\u06F0-\u06F9]/g, (digit) => String((digit.charCodeAt(0) & 0xf) % 10));
}
