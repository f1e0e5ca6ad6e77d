// Segments: who a broadcast goes to, in a small query language —
//   group = volunteers and language = ar
//   city ~ "Kyiv"
//   rsvp = "town-hall" and not group = staff
//   last_seen < 30d
// Parsed with positions (an error points at the place with a caret), checked against the
// known fields, and compiled to SQL with parameters — a value never becomes SQL text.
import { parseDuration } from './flows/duration.ts';
import { didYouMean } from './flows/suggest.ts';

export type Node =
  | { kind: 'everyone' }
  | { kind: 'and' | 'or'; left: Node; right: Node }
  | { kind: 'not'; operand: Node }
  | { kind: 'compare'; field: string; op: Operator; value: string; at: number };

type Operator = '=' | '!=' | '~' | '<' | '>';

/** Fields every contact has; any other name is a custom field (`contact.fields`). */
export const BUILTIN_FIELDS = ['group', 'language', 'channel', 'consent', 'rsvp', 'last_seen', 'name', 'timezone'];

export class SegmentError extends Error {
  constructor(
    message: string,
    readonly query: string,
    readonly at: number,
  ) {
    super(message);
  }

  /** The query, and a caret under the problem: for people. */
  get pointer(): string {
    return `${this.query}\n${' '.repeat(this.at)}^ ${this.message}`;
  }
}

interface Token {
  type: 'word' | 'string' | 'op' | '(' | ')' | 'end';
  text: string;
  at: number;
}

function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < query.length) {
    const char = query[i]!;
    if (/\s/.test(char)) {
      i++;
    } else if (char === '(' || char === ')') {
      tokens.push({ type: char, text: char, at: i++ });
    } else if (char === '"') {
      const start = i++;
      let text = '';
      while (i < query.length && query[i] !== '"') {
        if (query[i] === '\\' && i + 1 < query.length) i++;
        text += query[i++];
      }
      if (query[i] !== '"') throw new SegmentError('this quote is never closed', query, start);
      i++;
      tokens.push({ type: 'string', text, at: start });
    } else if (query.startsWith('!=', i)) {
      tokens.push({ type: 'op', text: '!=', at: i });
      i += 2;
    } else if ('=~<>'.includes(char)) {
      tokens.push({ type: 'op', text: char, at: i++ });
    } else if (/[\p{L}\p{N}_.:@+\-']/u.test(char)) {
      const start = i;
      while (i < query.length && /[\p{L}\p{N}_.:@+\-']/u.test(query[i]!)) i++;
      tokens.push({ type: 'word', text: query.slice(start, i), at: start });
    } else {
      throw new SegmentError(`unexpected "${char}"`, query, i);
    }
  }
  tokens.push({ type: 'end', text: '', at: query.length });
  return tokens;
}

/**
 * Parses a segment; `customFields` are the contact fields in use (for checks and hints).
 * `sealed`: names and custom fields are encrypted (TOCSIN_ENCRYPTION_KEY), so the
 * database cannot compare them and conditions on them are refused.
 */
export function parseSegment(query: string, customFields: string[] = [], sealed = false): Node {
  const tokens = tokenize(query);
  let position = 0;
  const peek = () => tokens[position]!;
  const next = () => tokens[position++]!;
  const keyword = (word: string) => peek().type === 'word' && peek().text.toLowerCase() === word;
  const known = [...BUILTIN_FIELDS, ...customFields];

  // `a or b or c`, `a and b`: left-associative chains of one operator over the next level.
  const chain = (word: 'or' | 'and', operand: () => Node) => (): Node => {
    let left = operand();
    while (keyword(word)) {
      next();
      left = { kind: word, left, right: operand() };
    }
    return left;
  };
  const parseOr = chain('or', () => parseAnd());
  const parseAnd = chain('and', () => parseNot());
  const parseNot = (): Node => {
    if (keyword('not')) {
      next();
      return { kind: 'not', operand: parseNot() };
    }
    return parsePrimary();
  };
  const parsePrimary = (): Node => {
    const token = next();
    if (token.type === '(') {
      const inner = parseOr();
      if (peek().type !== ')') throw new SegmentError('expected ")" here', query, peek().at);
      next();
      return inner;
    }
    if (token.type === 'word' && ['everyone', 'all'].includes(token.text.toLowerCase())) return { kind: 'everyone' };
    if (token.type !== 'word') throw new SegmentError(token.type === 'end' ? 'the query ends too early: expected a field such as group, language or channel' : `expected a field here, not "${token.text}"`, query, token.at);
    const field = token.text.toLowerCase();
    if (!known.includes(field)) throw new SegmentError(`unknown field "${token.text}"${didYouMean(field, known) || ` (fields: ${known.join(', ')})`}`, query, token.at);
    const op = next();
    if (op.type !== 'op') throw new SegmentError(`expected =, !=, ~, < or > after "${token.text}"`, query, op.at);
    const value = next();
    if (value.type !== 'word' && value.type !== 'string') throw new SegmentError(`expected a value after "${op.text}"`, query, value.at);
    if (sealed && (field === 'name' || !BUILTIN_FIELDS.includes(field))) {
      throw new SegmentError(`${field} is encrypted (TOCSIN_ENCRYPTION_KEY is set): segments cannot look inside it; put these people in a group instead`, query, token.at);
    }
    const compare: Node = { kind: 'compare', field, op: op.text as Operator, value: value.text, at: token.at };
    checkComparison(compare, query, value.at);
    return compare;
  };

  const tree = parseOr();
  if (peek().type !== 'end') throw new SegmentError(`unexpected "${peek().text}": join conditions with "and" or "or"`, query, peek().at);
  return tree;
}

function checkComparison(node: Extract<Node, { kind: 'compare' }>, query: string, valueAt: number) {
  const { field, op, value } = node;
  if (field === 'last_seen') {
    if (op !== '<' && op !== '>') throw new SegmentError('last_seen takes < or > and a duration: last_seen < 30d (seen in the last 30 days)', query, node.at);
    if (parseDuration(value) === undefined) throw new SegmentError(`"${value}" is not a duration: write it like 12h, 30d or 2w`, query, valueAt);
    return;
  }
  if ((op === '<' || op === '>') && field !== 'last_seen') throw new SegmentError(`${field} cannot be compared with ${op}: use =, != or ~`, query, node.at);
  if (op === '~' && ['group', 'channel', 'consent', 'rsvp', 'language'].includes(field)) throw new SegmentError(`${field} takes = or !=, not ~`, query, node.at);
}

export interface CompiledSegment {
  /** A condition over `c` (contacts), with $n parameters starting at `firstParam`. */
  where: string;
  params: unknown[];
}

/** SQL for a parsed segment; values go in `params`, never into the text. */
export function compileSegment(node: Node, defaultLanguage: string, firstParam = 1): CompiledSegment {
  const params: unknown[] = [];
  const param = (value: unknown) => {
    params.push(value);
    return `$${firstParam + params.length - 1}`;
  };
  const walk = (n: Node): string => {
    switch (n.kind) {
      case 'everyone':
        return 'true';
      case 'and':
      case 'or':
        return `(${walk(n.left)} ${n.kind} ${walk(n.right)})`;
      case 'not':
        return `(not ${walk(n.operand)})`;
      case 'compare':
        return comparison(n, param, defaultLanguage);
    }
  };
  return { where: walk(node), params };
}

function comparison(node: Extract<Node, { kind: 'compare' }>, param: (value: unknown) => string, defaultLanguage: string): string {
  const { field, op, value } = node;
  const negate = (sql: string) => (op === '!=' ? `(not ${sql})` : sql);
  switch (field) {
    case 'group':
      return negate(`exists (select 1 from memberships m join groups g on g.id = m.group_id where m.contact_id = c.id and g.name = ${param(value)})`);
    case 'channel':
      return negate(`exists (select 1 from identities i where i.contact_id = c.id and i.channel = ${param(value)} and i.stopped_at is null and i.held_at is null)`);
    case 'consent':
      return negate(
        `(select k.status from consents k where k.contact_id = c.id and k.channel = ${param(value)} order by k.id desc limit 1) = 'granted'`,
      );
    case 'rsvp':
      return negate(`exists (select 1 from rsvps r join events e on e.id = r.event_id where r.contact_id = c.id and e.slug = ${param(value)} and r.answer = 'yes')`);
    case 'language':
      return negate(`coalesce(c.language, ${param(defaultLanguage)}) = ${param(value)}`);
    case 'last_seen': {
      const seconds = parseDuration(value)!;
      // last_seen < 30d: seen less than 30 days ago; > 30d: longer ago, or never.
      return op === '<'
        ? `c.last_seen_at >= now() - make_interval(secs => ${param(seconds)})`
        : `(c.last_seen_at is null or c.last_seen_at < now() - make_interval(secs => ${param(seconds)}))`;
    }
    case 'name':
    case 'timezone': {
      const column = `c.${field}`;
      return op === '~' ? `${column} ilike ${param(`%${likeEscape(value)}%`)}` : negate(`coalesce(${column}, '') = ${param(value)}`);
    }
    default: {
      const column = `(c.fields ->> ${param(field)})`;
      return op === '~' ? `${column} ilike ${param(`%${likeEscape(value)}%`)}` : negate(`coalesce(${column}, '') = ${param(value)}`);
    }
  }
}

const likeEscape = (value: string) => value.replace(/[\\%_]/g, (char) => `\\${char}`);
