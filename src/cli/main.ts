// The `cordon` command. Every command has --help; commands that print results have --json.
// Exit codes (README "Exit codes"), one meaning each:
//   0  success
//   1  a finding: tampering, a leak, a violation, a refusal, a signature that does not verify
//   2  bad usage or input (flags, values, a policy or file that is not what it must be)
//   3  could not reach or read what it needed: a server or database (refused, DNS, timeout, 5xx),
//      or a missing or unreadable file named on the command line
//  70  a bug (internal error); nothing else
// Expected failures print one line on stderr, never a stack trace.

import { Command, CommanderError, Option } from 'commander';
import { EXIT_FINDING, EXIT_UNAVAILABLE, EXIT_USAGE, UsageError, Unreachable, fileFailure, networkFailure } from './output.js';
import { CordonError } from '../shared/errors.js';

/**
 * Every command, loaded when asked for: `cordon policy check` loads the policy core, not the
 * server, PGlite and Fastify (about 0.8 s of CPU at every start, which users of a CLI and the tests
 * that run it a few hundred times both pay).
 */
const COMMANDS: Readonly<Record<string, () => Promise<Command>>> = {
  policy: async () => (await import('./policy.js')).policyCommand(),
  up: async () => (await import('./up.js')).upCommand(),
  demo: async () => (await import('./demo.js')).demoCommand(),
  log: async () => (await import('./log.js')).logCommand(),
  witness: async () => (await import('./witness.js')).witnessCommand(),
  access: async () => (await import('./access.js')).accessCommand(),
  scan: async () => (await import('./scan.js')).scanCommand(),
  flows: async () => (await import('./flows.js')).flowsCommand(),
  report: async () => (await import('./report.js')).reportCommand(),
  migrate: async () => (await import('./migrate.js')).migrateCommand(),
};

/** The program with every command, or (given argv naming one) with that command only: its parse and help are the same. */
export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const program = new Command('cordon')
    .description('Keep protected user data in its region, let only approved people see it, and prove both.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const first = argv[0];
  const names = first !== undefined && Object.hasOwn(COMMANDS, first) ? [first] : Object.keys(COMMANDS);
  for (const name of names) program.addCommand(await COMMANDS[name]!());
  // Commands built apart do not inherit these; bad usage must exit 2 everywhere, not commander's 1.
  const inherit = (c: Command): void => {
    for (const sub of c.commands) {
      sub.exitOverride().showHelpAfterError('(run with --help for usage)');
      inherit(sub);
    }
  };
  inherit(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = await buildProgram(argv);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    // RuntimeError and StoreLockedError are known by their codes: their modules are the server's and the store's.
    if (e instanceof CordonError && (e.code === 'server.invalid_setup' || e.code === 'server.unavailable')) {
      process.stderr.write(`cordon: ${e.message}\n`);
      return e.code === 'server.invalid_setup' ? EXIT_USAGE : EXIT_UNAVAILABLE;
    }
    if (e instanceof UsageError || (e instanceof CordonError && e.code === 'usage.invalid_argument')) {
      process.stderr.write(`cordon: ${e.message}\n`);
      return EXIT_USAGE;
    }
    if (e instanceof Unreachable || (e instanceof CordonError && e.code === 'store.locked')) {
      process.stderr.write(`cordon: ${e.message}\n`);
      return EXIT_UNAVAILABLE;
    }
    // Before the CordonError rule below: these are CordonErrors too, but mostly findings. Known by
    // their names (log/note.ts NoteError, log/merkle.ts MerkleProofError): importing the log module
    // here would load it, the store and PGlite for every command.
    if (e instanceof CordonError && (e.name === 'NoteError' || e.name === 'MerkleProofError')) {
      // A key the user gave that is malformed is input; a note or proof that does not verify is a finding.
      process.stderr.write(`cordon: ${e.code}: ${e.message}\n`);
      return e.code === 'log.bad_key' ? EXIT_USAGE : EXIT_FINDING;
    }
    // 500 codes are failures inside cordon (a corrupt witness state, a failing key service), and an
    // evaluator that throws in this process is a bug too (a server answers it with 503): said below.
    const bug = e instanceof CordonError && (e.status === 500 || e.code === 'decide.evaluation_failed');
    if (e instanceof CordonError && !bug) {
      // 503 codes (log.unavailable, migrate.legacy_unavailable, migrate.key_service_unavailable, …)
      // say that something needed could not be reached; the others are bad input.
      process.stderr.write(`cordon: ${e.code}: ${e.message}\n`);
      return e.status === 503 ? EXIT_UNAVAILABLE : EXIT_USAGE;
    }
    // A connection or a file that failed where no command said what it was for: still one line.
    const network = networkFailure(e);
    if (network !== undefined) {
      process.stderr.write(`cordon: connection failed: ${network}\n`);
      return EXIT_UNAVAILABLE;
    }
    const file = fileFailure(e);
    if (file !== undefined) {
      const path = (e as NodeJS.ErrnoException).path;
      process.stderr.write(`cordon: ${path === undefined ? '' : `${path}: `}${file}\n`);
      return EXIT_UNAVAILABLE;
    }
    // A bug: say so without echoing data (an evaluator's failure by the evaluator's own stack).
    const thrown = e instanceof CordonError && e.code === 'decide.evaluation_failed' && e.cause !== undefined ? e.cause : e;
    process.stderr.write(`cordon: internal error: ${thrown instanceof Error ? (thrown.stack ?? thrown.message) : String(thrown)}\n`);
    return 70;
  }
}

export { Option };
