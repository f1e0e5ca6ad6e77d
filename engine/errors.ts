// Errors meant for people: one line, saying what is wrong and how to fix it.
// The CLI prints `tocsin: <message>` and exits 1 for these, never a stack trace.
// Every such error is made here, so their wording stays consistent.

export class TocsinError extends Error {
  override name = 'TocsinError';
}

export const errors = {
  badVariable(name: string, value: string, expected: string) {
    return new TocsinError(`${name}=${JSON.stringify(value)} is not valid: expected ${expected}`);
  },
  databaseUnreachable(where: string, cause: unknown) {
    return new TocsinError(`cannot reach the database at ${where}: ${describe(cause)} (check DATABASE_URL, or unset it to use the embedded database)`);
  },
  portInUse(host: string, port: number) {
    return new TocsinError(`port ${port} on ${host} is already in use (is another tocsin running? set PORT to use another port)`);
  },
  embeddedDatabaseBusy(dir: string, owner: { pid: number; command: string }) {
    if (owner.command === 'start') {
      return new TocsinError(`an engine already runs on the embedded database in ${dir} (pid ${owner.pid}); stop it first, or set TOCSIN_DATA_DIR or DATABASE_URL to run another`);
    }
    return new TocsinError(
      `the embedded database in ${dir} is open in another process (pid ${owner.pid}, tocsin ${owner.command}); ` +
        'stop it, or run `tocsin start` so that other commands can go through it, or set DATABASE_URL to a PostgreSQL server',
    );
  },
  engineUnreachable(socket: string, cause: unknown) {
    return new TocsinError(`the engine that owns the embedded database does not answer on ${socket}: ${describe(cause)}`);
  },
  flowFile(path: string, problem: string) {
    return new TocsinError(`${path}: ${problem}`);
  },
  migrationFailed(cause: unknown) {
    return new TocsinError(`database migration failed: ${describe(cause)}`);
  },
};

/** The first line of an error's message, for people. */
export function describe(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length) return describe(error.errors[0]);
  const text = error instanceof Error ? error.message || error.name : String(error);
  return text.split('\n')[0]!.trim();
}
