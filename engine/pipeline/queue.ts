// Runs work for one key at a time: one contact's messages never race in this process
// (the contact's row lock does the same across processes). A call made while a run is
// under way gets one more run after it, so nothing accepted is left unprocessed.
export class KeyedQueue<K> {
  private readonly running = new Map<K, { done: Promise<void>; rerun?: Promise<void> }>();

  constructor(private readonly work: (key: K) => Promise<void>) {}

  /** Resolves once a run that started after this call has finished. */
  run(key: K): Promise<void> {
    const current = this.running.get(key);
    if (current) return (current.rerun ??= current.done.catch(() => {}).then(() => this.run(key)));
    const entry: { done: Promise<void>; rerun?: Promise<void> } = { done: this.work(key) };
    entry.done = entry.done.finally(() => {
      if (this.running.get(key) === entry) this.running.delete(key);
    });
    this.running.set(key, entry);
    return entry.done;
  }

  get size() {
    return this.running.size;
  }

  /** Resolves when nothing is running. */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.allSettled([...this.running.values()].map((entry) => entry.rerun ?? entry.done));
  }
}
