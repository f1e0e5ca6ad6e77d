// While the engine runs, edits to flows/ and locales/ apply without a restart: a valid
// change serves new conversations at once (conversations under way finish on the version
// they started with); an invalid change is refused, its problems logged with their
// positions, and the last good version keeps running.
import { watch, type FSWatcher } from 'node:fs';
import { describe } from '../errors.ts';
import { readLocales, Translator } from '../i18n.ts';
import type { Services } from '../services.ts';
import { formatProblem } from './loader.ts';
import { loadFlowSet } from './validate.ts';
import { saveFlowVersions } from './versions.ts';

const SETTLE_MS = 250;

export interface ReloadResult {
  ok: boolean;
  problems: string[];
}

export class FlowWatcher {
  private watchers: FSWatcher[] = [];
  private timer?: NodeJS.Timeout;
  private reloading: Promise<unknown> = Promise.resolve();

  constructor(private readonly services: Services) {}

  start() {
    const { flowsDir, localesDir } = this.services.config;
    for (const dir of [flowsDir, localesDir]) {
      try {
        const watcher = watch(dir, { recursive: true }, () => this.schedule());
        watcher.on('error', (error) => this.services.log.warn({ dir, error: describe(error) }, 'stopped watching for edits'));
        this.watchers.push(watcher);
      } catch (error) {
        this.services.log.warn({ dir, error: describe(error) }, 'cannot watch for edits; restart the engine to apply them');
      }
    }
  }

  stop() {
    clearTimeout(this.timer);
    for (const watcher of this.watchers) watcher.close();
    this.watchers = [];
  }

  /** Editors write files in several steps: wait until they settle. */
  private schedule() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.reloading = this.reloading.then(() => this.reload()).catch(() => {});
    }, SETTLE_MS);
  }

  /** Reads flows/ and locales/ again; applies them only when everything is valid. */
  async reload(): Promise<ReloadResult> {
    const { config, log, i18n, flows, pipeline, db } = this.services;
    let resources;
    try {
      resources = readLocales(config.localesDir, config.defaultLanguage);
    } catch (error) {
      log.error(`${describe(error)} — the previous texts keep running`);
      return { ok: false, problems: [describe(error)] };
    }
    const candidate = new Translator(resources, config.defaultLanguage);
    const set = loadFlowSet(config.flowsDir, candidate, config.localesDir);
    if (set.problems.length) {
      const problems = set.problems.map(formatProblem);
      for (const problem of problems) log.error(problem);
      log.error(`flow change refused (${problems.length} problem${problems.length === 1 ? '' : 's'}): the previous version keeps running`);
      return { ok: false, problems };
    }
    i18n.replace(resources);
    flows.replace(set.flows);
    pipeline.refreshTriggers();
    await saveFlowVersions(db, set.flows);
    log.info({ flows: Object.fromEntries(set.flows.map((flow) => [flow.id, flow.version])) }, 'flows and texts reloaded');
    return { ok: true, problems: [] };
  }
}
