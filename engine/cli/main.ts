// The `tocsin` command line. Errors meant for people print as one line and exit 1.
import { Command, CommanderError } from 'commander';
import { describe, TocsinError } from '../errors.ts';
import { FlowFileError } from '../flows/loader.ts';
import { alertCommand } from './commands/alert.ts';
import { chatCommand } from './commands/chat.ts';
import { contactsCommand } from './commands/contacts.ts';
import { dbCommand } from './commands/db.ts';
import { eventsCommand } from './commands/events.ts';
import { flowsCommand } from './commands/flows.ts';
import { keysCommand } from './commands/keys.ts';
import { resultsCommand } from './commands/results.ts';
import { startCommand } from './commands/start.ts';

const program = new Command('tocsin')
  .description('Chat-bot and messaging automation engine for civic organizations')
  .showSuggestionAfterError()
  .exitOverride();

program.addCommand(startCommand());
program.addCommand(chatCommand());
program.addCommand(dbCommand());
program.addCommand(flowsCommand());
program.addCommand(resultsCommand());
program.addCommand(alertCommand());
program.addCommand(eventsCommand());
program.addCommand(contactsCommand());
program.addCommand(keysCommand());

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander already printed its message (unknown command, missing argument, --help).
    process.exit(error.exitCode);
  }
  if (error instanceof FlowFileError) {
    process.stderr.write(`${error.problems.join('\n')}\n`);
  } else if (error instanceof TocsinError) {
    process.stderr.write(`tocsin: ${error.message}\n`);
  } else {
    process.stderr.write(`tocsin: unexpected error: ${describe(error)} (run with LOG_LEVEL=debug and report it)\n`);
    if (process.env.LOG_LEVEL === 'debug') console.error(error);
  }
  process.exit(1);
}
