// `cordon log verify | proof`: check a served access log from outside, and fetch receipts.

import { existsSync, readFileSync } from 'node:fs';
import { Command } from 'commander';
import {
  decodeEntryBundle,
  entriesPath,
  hashLeaf,
  openCheckpoint,
  parseTlogProof,
  TILE_WIDTH,
  verifyInclusion,
  verifyLog,
  checkRecords,
  parseVerifierKey,
  NoteError,
  type VerifyProblem,
  type VerifyResult,
} from '../log/index.js';
import { Refused } from './access.js';
import {
  EXIT_FINDING,
  EXIT_OK,
  EXIT_UNAVAILABLE,
  EXIT_USAGE,
  UsageError,
  Unreachable,
  displayUrl,
  fetchOrUnreachable,
  fileFailure,
  printJson,
  throwIfUnavailable,
} from './output.js';

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

const KEY_FORM = /^[^+\s]+\+[0-9a-f]{8}\+\S+$/;

/**
 * A verifier key given inline (`name+hex8+base64`) or as a file that holds one, checked to parse.
 * A malformed key is a UsageError (exit 2); a file that cannot be read is Unreachable (exit 3).
 */
export function readKeyArg(value: string, what: string): string {
  let key = value;
  if (!KEY_FORM.test(value)) {
    // A value with a "+" that names no file is a mistyped key, not a missing file.
    if (value.includes('+') && !existsSync(value))
      throw new UsageError(`${what} must be a verifier key (name+hex8+base64) or a file holding one; ${JSON.stringify(value.slice(0, 60))} is neither`);
    try {
      key = readFileSync(value, 'utf8').trim();
    } catch (err) {
      const why = fileFailure(err);
      if (why === undefined) throw err;
      throw new Unreachable(`cannot read ${what} ${value}: ${why}`);
    }
    if (!KEY_FORM.test(key)) throw new UsageError(`${what} ${value} does not hold a verifier key (name+hex8+base64)`);
  }
  try {
    parseVerifierKey(key);
  } catch (err) {
    if (err instanceof NoteError) throw new UsageError(`${what}: ${err.message}`);
    throw err;
  }
  return key;
}

function nonNegative(value: string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^(0|[1-9][0-9]*)$/.test(value) || !Number.isSafeInteger(Number(value)))
    throw new UsageError(`${what} must be a whole number, got ${JSON.stringify(value)}`);
  return Number(value);
}

function baseUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new UsageError(`--url must be an http(s) URL, got ${JSON.stringify(url)}`);
  }
  return url.replace(/\/+$/, '');
}

interface VerifyOpts {
  url: string[];
  vkey: string[];
  state: string[];
  witness: string[];
  minCosignatures?: string;
  records?: boolean;
  token?: string;
  json?: boolean;
}

function printVerify(result: VerifyResult, records: Awaited<ReturnType<typeof checkRecords>> | undefined): void {
  if (!result.ok) {
    for (const p of result.problems) {
      process.stdout.write(`FAILED (${p.kind}): ${p.message}\n`);
      for (const [k, v] of Object.entries(p.evidence)) process.stdout.write(`  ${k}: ${String(v).replace(/\n/g, '\n    ')}\n`);
    }
    return;
  }
  process.stdout.write(`verified ${result.origin}: ${result.size} entries, root ${result.root}\n`);
  if (result.previous) process.stdout.write(`  consistent with the checkpoint seen before (size ${result.previous.size})\n`);
  for (const c of result.cosignatures ?? []) process.stdout.write(`  cosigned by ${c.name} at ${new Date(c.time * 1000).toISOString()}\n`);
  if (records) {
    process.stdout.write(
      `  records: ${records.checked} checked against their entries, ${records.mismatches.length} mismatches, ${records.anomalies.length} anomalies\n`,
    );
    for (const m of records.mismatches) process.stdout.write(`  MISMATCH at index ${m.index}: ${m.message}\n`);
    for (const a of records.anomalies) process.stdout.write(`  ANOMALY at index ${a.index} (${a.kind}): ${a.message}\n`);
  }
}

/**
 * The exit code a failed verification means: a log that could not be fetched (no answer, a 5xx, or
 * no checkpoint at all) is exit 3, since nothing was verified; a bad state file is input (2); every
 * other problem is evidence against the log (1).
 */
export function exitOfProblem(p: VerifyProblem): number {
  if (p.kind === 'state') return EXIT_USAGE;
  if (p.kind !== 'fetch') return EXIT_FINDING;
  const status = p.evidence['status'];
  return status === undefined || Number(status) >= 500 || p.evidence['path'] === 'checkpoint' ? EXIT_UNAVAILABLE : EXIT_FINDING;
}

/** fetch for a log client: no answer or a 5xx is Unreachable, a 4xx a Refused with the server's problem. */
async function fetchLog(url: string, init?: RequestInit): Promise<Response> {
  const res = await fetchOrUnreachable(url, init);
  await throwIfUnavailable(res, url);
  if (res.status >= 400) throw new Refused(res.status, (await res.json().catch(() => ({}))) as Record<string, unknown>);
  return res;
}

/** One log of `cordon log verify`: checked, printed as text (unless --json), and its JSON and exit code. */
async function verifyOne(
  log: { url: string; vkey: string; state: string | undefined },
  o: { witnesses: string[]; min: number | undefined; token: string | undefined; records?: boolean; json?: boolean; several: boolean },
): Promise<{ exit: number; json: Record<string, unknown> }> {
  const { url, vkey } = log;
  const tty = process.stderr.isTTY && !o.json;
  const result = await verifyLog({
    url,
    vkey,
    statePath: log.state,
    witnesses: o.witnesses,
    minCosignatures: o.min,
    onProgress: tty ? (done, total) => process.stderr.write(`\rverifying${o.several ? ` ${displayUrl(url)}` : ''}: ${done}/${total} entries`) : undefined,
  });
  if (tty) process.stderr.write('\n');
  const failed = result.problems.find((p) => exitOfProblem(p) !== EXIT_FINDING);
  if (failed) {
    process.stderr.write(
      `cordon: ${exitOfProblem(failed) === EXIT_USAGE ? `--state ${log.state ?? ''}: ` : `cannot verify ${displayUrl(url)}: `}${failed.message}\n`,
    );
    return { exit: exitOfProblem(failed), json: { ok: false, ...(o.several ? { url: displayUrl(url) } : {}), problems: result.problems } };
  }
  let records: Awaited<ReturnType<typeof checkRecords>> | undefined;
  try {
    records = result.ok && o.records ? await checkRecords({ url, token: o.token!, entries: result.entries ?? [], fetch: fetchLog }) : undefined;
  } catch (err) {
    if (!(err instanceof Refused)) throw err;
    process.stderr.write(`cordon: reading the records was refused: ${String(err.body['code'] ?? `HTTP ${err.status}`)}: ${err.message}\n`);
    return { exit: EXIT_FINDING, json: { ok: false, ...(o.several ? { url: displayUrl(url) } : {}), problems: result.problems } };
  }
  const ok = result.ok && (!records || (records.mismatches.length === 0 && records.anomalies.length === 0));
  if (!o.json) {
    if (o.several && !result.ok) process.stdout.write(`${displayUrl(url)}:\n`);
    printVerify(result, records);
  }
  return {
    exit: ok ? EXIT_OK : EXIT_FINDING,
    json: {
      ok,
      ...(o.several ? { url: displayUrl(url) } : {}),
      origin: result.origin,
      size: result.size,
      root: result.root,
      previous: result.previous,
      cosignatures: result.cosignatures,
      problems: result.problems,
      records,
    },
  };
}

export function logCommand(): Command {
  const cmd = new Command('log').description('check the verifiable access log from outside, and fetch inclusion proofs');

  cmd
    .command('verify')
    .description('fetch the checkpoint and every tile, check signatures, recompute the tree, check consistency with the last checkpoint seen')
    .requiredOption(
      '--url <url>',
      'base URL of the log (the server serving /log/checkpoint); repeat it, each with its --vkey, to verify several logs (one per region)',
      collect,
    )
    .requiredOption('--vkey <key>', "the log's verifier key, or a file holding it (e.g. .cordon/demo/log.vkey); one per --url, in order", collect)
    .option('--state <file>', 'remember the verified checkpoint here and require the next one to extend it (one per --url, in order)', collect, [])
    .option('--witness <vkey>', 'a witness verifier key (repeatable)', collect, [])
    .option('--min-cosignatures <k>', 'require at least K valid witness cosignatures')
    .option('--records', 'also fetch the full records (as an auditor) and check each against its entry and for anomalies')
    .option('--token <jwt>', 'bearer token of an auditor (for --records; default: $CORDON_TOKEN)')
    .option('--json', 'print the result as JSON')
    .action(async (opts: VerifyOpts) => {
      if (opts.vkey.length !== opts.url.length)
        throw new UsageError(`give one --vkey for each --url, in the same order (${opts.url.length} --url, ${opts.vkey.length} --vkey)`);
      if (opts.state.length > 0 && opts.state.length !== opts.url.length)
        throw new UsageError(`give one --state for each --url, in the same order, or none (${opts.url.length} --url, ${opts.state.length} --state)`);
      const logs = opts.url.map((u, i) => ({ url: baseUrl(u), vkey: readKeyArg(opts.vkey[i]!, '--vkey'), state: opts.state[i] }));
      const witnesses = opts.witness.map((w) => readKeyArg(w, '--witness'));
      const min = nonNegative(opts.minCosignatures, '--min-cosignatures');
      if (min !== undefined && min > witnesses.length) throw new UsageError(`--min-cosignatures ${min} needs at least ${min} --witness keys`);
      const token = opts.token ?? process.env['CORDON_TOKEN'];
      if (opts.records && !token) throw new UsageError('--records needs an auditor token: --token JWT or CORDON_TOKEN');
      const results: { exit: number; json: Record<string, unknown> }[] = [];
      for (const log of logs) {
        results.push(await verifyOne(log, { ...opts, witnesses, min, token, several: logs.length > 1 }));
      }
      if (opts.json) printJson(logs.length === 1 ? results[0]!.json : { ok: results.every((r) => r.exit === EXIT_OK), logs: results.map((r) => r.json) });
      // The worst outcome decides: unreachable (3) over bad usage (2) over evidence against a log (1).
      process.exitCode = Math.max(...results.map((r) => r.exit));
    });

  cmd
    .command('proof')
    .description('print the inclusion proof of entry N (C2SP tlog-proof), checked against the signed checkpoint')
    .requiredOption('--url <url>', 'base URL of the log')
    .requiredOption('--index <n>', 'the entry (the X-Cordon-Log-Index of a response)')
    .option('--vkey <key>', "the log's verifier key (or a file): check the checkpoint and the proof before printing")
    .option('--json', 'print the proof as JSON')
    .action(async (opts: { url: string; index: string; vkey?: string; json?: boolean }) => {
      const url = baseUrl(opts.url);
      const index = nonNegative(opts.index, '--index')!;
      const vkey = opts.vkey === undefined ? undefined : readKeyArg(opts.vkey, '--vkey');
      const proofUrl = `${url}/v1/log/proof?index=${index}`;
      const res = await fetchOrUnreachable(proofUrl);
      await throwIfUnavailable(res, proofUrl);
      const body = (await res.json().catch(() => ({}))) as { tlog_proof?: string; size?: number; detail?: string; code?: string };
      if (!res.ok || typeof body.tlog_proof !== 'string') {
        process.stderr.write(`cordon: ${body.code ?? `HTTP ${res.status}`}: ${body.detail ?? 'no proof'}\n`);
        process.exitCode = EXIT_FINDING;
        return;
      }
      let checked = false;
      if (vkey !== undefined) {
        // A proof, checkpoint or bundle that does not check out is a finding (NoteError and
        // MerkleProofError exit 1 in main); the bundle's own form is checked here.
        const proof = parseTlogProof(body.tlog_proof);
        const { checkpoint } = openCheckpoint(proof.checkpointNote, vkey);
        const n = Math.floor(index / TILE_WIDTH);
        const width = Math.min(TILE_WIDTH, checkpoint.size - n * TILE_WIDTH);
        const bundleUrl = `${url}/log/${entriesPath(n, width)}`;
        const bundle = await fetchOrUnreachable(bundleUrl);
        await throwIfUnavailable(bundle, bundleUrl);
        let entries: Buffer[];
        try {
          if (!bundle.ok) throw new Error(`HTTP ${bundle.status}`);
          entries = decodeEntryBundle(Buffer.from(await bundle.arrayBuffer()));
        } catch (err) {
          process.stderr.write(`cordon: log.bad_tile: entry bundle ${entriesPath(n, width)}: ${err instanceof Error ? err.message : String(err)}\n`);
          process.exitCode = EXIT_FINDING;
          return;
        }
        const entry = entries[index - n * TILE_WIDTH];
        if (!entry) {
          process.stderr.write(`cordon: log.bad_tile: entry ${index} is not in the entry bundle the signed checkpoint covers\n`);
          process.exitCode = EXIT_FINDING;
          return;
        }
        verifyInclusion(index, checkpoint.size, hashLeaf(entry), proof.proof, checkpoint.root);
        checked = true;
      }
      if (opts.json) printJson({ index, size: body.size, checked, tlog_proof: body.tlog_proof });
      else process.stdout.write(body.tlog_proof);
      if (checked && !opts.json) process.stderr.write(`checked: entry ${index} is in the signed tree of size ${body.size}\n`);
      process.exitCode = EXIT_OK;
    });

  return cmd;
}
