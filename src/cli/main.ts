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
import { policyCommand } from './policy.js';
import { demoCommand } from './demo.js';
import { upCommand } from './up.js';
import { logCommand } from './log.js';
import { witnessCommand } from './witness.js';
import { accessCommand } from './access.js';
import { scanCommand } from './scan.js';
import { flowsCommand } from './flows.js';
import { reportCommand } from './report.js';
import { migrateCommand } from './migrate.js';
import { EXIT_FINDING, EXIT_UNAVAILABLE, EXIT_USAGE, UsageError, Unreachable, fileFailure, networkFailure } from './output.js';
import { CordonError } from '../shared/errors.js';
import { RuntimeError } from '../server/index.js';
import { StoreLockedError } from '../store/index.js';
import { MerkleProofError, NoteError } from '../log/index.js';

export function buildProgram(): Command {
  const program = new Command('cordon')
    .description('Keep protected user data in its region, let only approved people see it, and prove both.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  program.addCommand(policyCommand());
  program.addCommand(upCommand());
  program.addCommand(demoCommand());
  program.addCommand(logCommand());
  program.addCommand(witnessCommand());
  program.addCommand(accessCommand());
  program.addCommand(scanCommand());
  program.addCommand(flowsCommand());
  program.addCommand(reportCommand());
  program.addCommand(migrateCommand());
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
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    if (e instanceof RuntimeError) {
      process.stderr.write(`cordon: ${e.message}\n`);
      return e.exit;
    }
    if (e instanceof UsageError || (e instanceof CordonError && e.code === 'usage.invalid_argument')) {
      process.stderr.write(`cordon: ${e.message}\n`);
      return EXIT_USAGE;
    }
    if (e instanceof Unreachable || e instanceof StoreLockedError) {
      process.stderr.write(`cordon: ${e.message}\n`);
      return EXIT_UNAVAILABLE;
    }
    // Before the CordonError rule below: these are CordonErrors too, but mostly findings.
    if (e instanceof NoteError || e instanceof MerkleProofError) {
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
