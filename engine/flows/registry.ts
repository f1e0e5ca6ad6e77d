// The flows the engine runs, found by id, keyword (in every language) or deep-link start.
// Every version seen stays known, so conversations finish on the version they began with.
import type { Translator } from '../i18n.ts';
import { normalizeWord } from '../i18n.ts';
import type { Flow } from '../types.ts';

export class FlowRegistry {
  private readonly current = new Map<string, Flow>();
  private readonly versions = new Map<string, Flow>();
  private byKeyword = new Map<string, string>();
  private byStart = new Map<string, string>();

  constructor(
    flows: Flow[],
    private readonly i18n: Translator,
  ) {
    this.replace(flows);
  }

  /** Makes `flows` the current set (older versions stay reachable by version). */
  replace(flows: Flow[]) {
    this.current.clear();
    for (const flow of flows) {
      this.current.set(flow.id, flow);
      this.remember(flow);
    }
    this.byKeyword = new Map();
    this.byStart = new Map();
    for (const flow of flows) {
      if (flow.start) this.byStart.set(flow.start, flow.id);
      const words = [...flow.keywords];
      for (const language of this.i18n.languages) words.push(...(this.i18n.triggers(language).keywords[flow.id] ?? []));
      for (const word of words) this.byKeyword.set(normalizeWord(word), flow.id);
    }
  }

  /** Keeps an older version reachable (loaded from the store for a conversation under way). */
  remember(flow: Flow) {
    this.versions.set(versionKey(flow.id, flow.version), flow);
  }

  /** The current version, or the given version when it is known. */
  get(id: string, version?: string): Flow | undefined {
    if (version) return this.versions.get(versionKey(id, version));
    return this.current.get(id);
  }

  all(): Flow[] {
    return [...this.current.values()];
  }

  /** The flow a message starts by its first word, if any. */
  byFirstWord(text: string): Flow | undefined {
    const first = normalizeWord(text.trim().split(/\s+/)[0] ?? '');
    const id = first ? this.byKeyword.get(first) : undefined;
    return id ? this.current.get(id) : undefined;
  }

  byStartPayload(payload: string): Flow | undefined {
    const id = this.byStart.get(payload) ?? (this.current.has(payload) ? payload : undefined);
    return id ? this.current.get(id) : undefined;
  }
}

const versionKey = (id: string, version: string) => `${id}@${version}`;
