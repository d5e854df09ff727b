// The one registry of cordon's error codes: stable, prefixed by area, each with its HTTP status and
// a one-line meaning. docs/errors.md lists the same codes; a test keeps the two in step.

export interface ErrorCodeInfo {
  readonly status: number;
  readonly severity: 'error' | 'warning';
  readonly message: string;
}

export const ERROR_CODES = {
  'usage.invalid_argument': { status: 400, severity: 'error', message: 'A command-line argument or request parameter is missing or malformed.' },

  'policy.missing_file': { status: 400, severity: 'error', message: 'A file the policy needs (cordon.yaml, classes.yaml, directory.yaml) is missing.' },
  'policy.yaml_syntax': { status: 400, severity: 'error', message: 'A policy file is not valid YAML.' },
  'policy.unknown_key': {
    status: 400,
    severity: 'error',
    message: 'A policy file has a key that cordon does not know; unknown keys are errors, never ignored.',
  },
  'policy.missing_key': { status: 400, severity: 'error', message: 'A required key is missing.' },
  'policy.invalid_value': { status: 400, severity: 'error', message: 'A value has the wrong type or form.' },
  'policy.duplicate_key': { status: 400, severity: 'error', message: 'A key appears twice in one map (a field, dataset, principal or team defined twice).' },
  'policy.unknown_category': { status: 400, severity: 'error', message: 'A data category is not in the taxonomy.' },
  'policy.unknown_parent': { status: 400, severity: 'error', message: 'A taxonomy category names a parent that does not exist.' },
  'policy.taxonomy_cycle': { status: 400, severity: 'error', message: 'The taxonomy has a cycle of parents.' },
  'policy.unknown_field': { status: 400, severity: 'error', message: 'A field is referenced that the dataset does not define.' },
  'policy.unknown_dataset': { status: 400, severity: 'error', message: 'A dataset is referenced that the catalog does not define.' },
  'policy.missing_subject': {
    status: 400,
    severity: 'error',
    message: 'A dataset does not say whose data it holds (subject) or where the jurisdiction comes from.',
  },
  'policy.unknown_jurisdiction': { status: 400, severity: 'error', message: 'A jurisdiction is referenced that cordon.yaml does not define.' },
  'policy.jurisdiction_without_enclave': {
    status: 400,
    severity: 'error',
    message: 'A jurisdiction is bound to no enclave, so its protected data would have nowhere to live.',
  },
  'policy.jurisdiction_conflict': {
    status: 400,
    severity: 'error',
    message: 'A jurisdiction or country is claimed twice (two enclaves, two jurisdictions or two defaults).',
  },
  'policy.unknown_store': { status: 400, severity: 'error', message: 'An enclave names a store that cordon.yaml does not define.' },
  'policy.unknown_team': { status: 400, severity: 'error', message: 'A principal or team names a team that the directory does not define.' },
  'policy.unknown_principal': {
    status: 400,
    severity: 'error',
    message: 'cordon.yaml identity.principals maps a claim value to a principal the directory does not define.',
  },
  'policy.team_cycle': { status: 400, severity: 'error', message: 'The team hierarchy has a cycle.' },
  'policy.duplicate_classification': { status: 400, severity: 'error', message: 'A category is given two classes in one jurisdiction.' },
  'policy.duplicate_rule_id': { status: 400, severity: 'error', message: 'Two Cedar rules have the same @id.' },
  'policy.cedar_syntax': { status: 400, severity: 'error', message: 'A Cedar rule does not parse.' },
  'policy.cedar_type': { status: 400, severity: 'error', message: 'A Cedar rule fails validation against the schema cordon generates for its entities.' },
  'policy.unknown_entity': { status: 400, severity: 'error', message: 'A Cedar rule names a team, principal or action that does not exist.' },
  'policy.unknown_value': {
    status: 400,
    severity: 'error',
    message: 'A Cedar rule compares a category, class, jurisdiction, dataset or field with a string that names none.',
  },
  'policy.no_rules': { status: 400, severity: 'error', message: 'The policy has no Cedar rules, so every field would be withheld.' },
  'policy.compile_fallback': {
    status: 200,
    severity: 'warning',
    message: 'A rule uses Cedar that the compiler does not support; it is evaluated by cedar-wasm instead (correct, slower).',
  },
  'policy.standing_access': {
    status: 200,
    severity: 'warning',
    message: 'A rule would release protected data in clear without a grant (standing access); the gateway leaves it out, so it has no effect at run time.',
  },

  'decide.unknown_principal': { status: 403, severity: 'error', message: 'The principal is not in the directory.' },
  'decide.unknown_dataset': { status: 404, severity: 'error', message: 'The dataset is not in the catalog.' },
  'decide.unknown_field': { status: 400, severity: 'error', message: 'The field is not in the catalog.' },
  'decide.evaluation_failed': { status: 503, severity: 'error', message: 'The policy could not be evaluated; the request is refused (fail closed).' },

  'gateway.not_found': { status: 404, severity: 'error', message: 'No record of the dataset has this key.' },
  'gateway.no_route': { status: 404, severity: 'error', message: 'No route has this path, with any method (/openapi.json lists the routes).' },
  'gateway.method_not_allowed': {
    status: 405,
    severity: 'error',
    message: 'The path is a route, but not for this method; the Allow header lists the methods it takes. Nothing was read, logged or stored.',
  },
  'gateway.unsupported_media_type': {
    status: 415,
    severity: 'error',
    message:
      'The request body is not application/json in UTF-8, or is encoded other than gzip (the message names what was received); nothing was read, logged or stored.',
  },
  'gateway.invalid_body': { status: 400, severity: 'error', message: 'The request body is not valid JSON of the expected shape.' },
  'gateway.invalid_query': { status: 400, severity: 'error', message: 'A query parameter is malformed or names no field.' },
  'gateway.payload_too_large': {
    status: 413,
    severity: 'error',
    message: 'The request body is over the configured limit (a gzip-encoded body: as sent or once inflated); nothing was logged or stored.',
  },
  'gateway.write_refused': {
    status: 403,
    severity: 'error',
    message: 'The rules do not permit writing some fields (listed with their reasons); nothing was written.',
  },
  'gateway.filter_refused': {
    status: 403,
    severity: 'error',
    message: 'Lists may filter only on fields the caller sees in clear and that are not protected anywhere.',
  },
  'gateway.invalid_input': {
    status: 400,
    severity: 'error',
    message: 'The path, query or body holds a NUL byte or another value that can never be valid (the message says where); nothing was logged or stored.',
  },
  'gateway.unknown_field': { status: 400, severity: 'error', message: 'A write names a field the dataset does not define; nothing was written.' },
  'gateway.other_region': {
    status: 307,
    severity: 'warning',
    message:
      "The record's subject belongs to another region, whose gateway decides, logs and answers: repeat the request (method, body and Authorization) at the Location given.",
  },
  'gateway.region_unknown': {
    status: 503,
    severity: 'error',
    message:
      "The record's subject belongs to another region, and this gateway knows no gateway of it (cordon up --peer REGION=URL); nothing was read or written.",
  },
  'gateway.cross_region_move': {
    status: 409,
    severity: 'error',
    message:
      "The write would move the record's subject to a jurisdiction of another region; a regional gateway holds only its own region's stores and keys, so nothing was written (move it with cordon migrate).",
  },
  'gateway.duplicate_key': { status: 409, severity: 'error', message: 'A create names a key that a record of the dataset already has; nothing was written.' },
  'gateway.unknown_subject': {
    status: 422,
    severity: 'error',
    message: "A write names a subject (e.g. a video's owner) that has no record, so its jurisdiction cannot be told; nothing was written.",
  },
  'gateway.unknown_jurisdiction': {
    status: 422,
    severity: 'error',
    message: "A write would leave the record's jurisdiction unknown (e.g. a country no jurisdiction claims and no default); nothing was written.",
  },
  'gateway.write_failed': {
    status: 503,
    severity: 'error',
    message:
      'The store failed after the write decision was logged; a record saying it failed follows it in the log. Whether the write took is unknown: read the record again.',
  },
  'gateway.unknown_location': {
    status: 403,
    severity: 'error',
    message: 'The request comes from an unknown place (or the token names another place than the network), so a record with protected data is refused.',
  },
  'access.invalid_request': {
    status: 400,
    severity: 'error',
    message: 'An access request, approval, revocation, break-glass or review is missing a field or has one of the wrong form (the message names it).',
  },
  'access.unknown_reason': { status: 400, severity: 'error', message: "The reason code is not in the policy's list (cordon.yaml access.reasons)." },
  'access.duration_over_cap': {
    status: 400,
    severity: 'error',
    message: 'The requested duration is longer than the policy allows for the reason (or than an hour for break-glass).',
  },
  'access.invalid_scope': {
    status: 400,
    severity: 'error',
    message: "The scope names an unknown dataset, category or jurisdiction, or a jurisdiction outside the approver group's enclave.",
  },
  'access.not_found': { status: 404, severity: 'error', message: 'No access request or grant has this id.' },
  'access.self_approval': { status: 403, severity: 'error', message: 'Nobody approves, denies or reviews their own request or grant.' },
  'access.not_approver': {
    status: 403,
    severity: 'error',
    message: "The principal is not a member of the approver group (directory approver_groups, and the group's teams).",
  },
  'access.outside_enclave': {
    status: 403,
    severity: 'error',
    message: "Approvals, reviews and break-glass count only from a known place inside the enclave's countries.",
  },
  'access.reporting_line': { status: 403, severity: 'error', message: "The approver is in the requester's reporting line, and the group excludes it." },
  'access.already_decided': { status: 409, severity: 'error', message: 'The request or grant was already approved, denied, withdrawn, revoked or reviewed.' },
  'access.expired': { status: 409, severity: 'error', message: 'The request or grant has expired.' },
  'access.duplicate_approval': {
    status: 409,
    severity: 'error',
    message: 'This approver already approved the request; an approval counts once (a replay changes nothing).',
  },
  'access.break_glass_not_allowed': {
    status: 403,
    severity: 'error',
    message: 'The principal may not break glass (cordon.yaml access.break_glass.allowed), or break-glass is not configured.',
  },
  'access.journal_damaged': {
    status: 503,
    severity: 'error',
    message:
      "A stored access-broker event cannot be folded (a shape the broker never writes, or a request or grant no earlier event made): the journal was changed outside cordon. The broker refuses every act, and cordon up does not start, until it is repaired; the message names the event's index.",
  },
  'access.not_break_glass': { status: 409, severity: 'error', message: 'Only break-glass grants are reviewed.' },
  'access.forbidden': {
    status: 403,
    severity: 'error',
    message: "The caller may not see or change this request or grant (only its principal, the group's approvers and auditors may).",
  },
  'flows.invalid_event': {
    status: 400,
    severity: 'error',
    message: 'An OpenLineage event fails its JSON Schema (the error names the event and the schema path); nothing of the batch is stored.',
  },
  'flows.event_too_large': { status: 413, severity: 'error', message: 'An OpenLineage event is over the configured size limit.' },
  'flows.bad_inventory': {
    status: 400,
    severity: 'error',
    message: 'A tool inventory file has an unknown key, an unknown team or a malformed value (file:line named).',
  },
  'flows.unreadable': { status: 400, severity: 'error', message: 'A lineage or inventory file cannot be read or is not JSON/NDJSON/YAML.' },
  'flows.unknown_dataset': {
    status: 400,
    severity: 'error',
    message: 'cordon.yaml flows.datasets maps a lineage dataset to a dataset the catalog does not define.',
  },
  'flows.not_producer': {
    status: 403,
    severity: 'error',
    message: 'Only principals and teams that cordon.yaml names under flows.producers may post OpenLineage events (none named: nobody may); nothing was stored.',
  },
  'flows.forbidden': {
    status: 403,
    severity: 'error',
    message: 'The flow map (leak paths, the graph, posted lineage) is for auditors (cordon.yaml access_log.auditors) and approvers.',
  },
  'flows.not_found': { status: 404, severity: 'error', message: 'No node of the flow graph has this id.' },
  'pgwire.refused': {
    status: 400,
    severity: 'error',
    message:
      'The PostgreSQL wire gateway refused a message or statement: the client gets an ErrorResponse with the SQLSTATE PostgreSQL would give (42501 a column the caller may not filter on, 0A000 what is not supported, 08P01 a malformed message, 28000/28P01 a login), not this code.',
  },
  'scan.unreadable': {
    status: 422,
    severity: 'warning',
    message: 'A scan target (file or folder) could not be read; the scan went on without it and is incomplete.',
  },
  'scan.binary': { status: 422, severity: 'warning', message: 'A file is binary (NUL bytes) and was not scanned; the scan is incomplete.' },
  'scan.bad_gzip': {
    status: 422,
    severity: 'warning',
    message: 'A .gz file is corrupt or truncated; what came before the damage was scanned, the rest was not.',
  },
  'scan.malformed': {
    status: 422,
    severity: 'warning',
    message:
      'A CSV file has ragged rows or bad quoting, an NDJSON line is not JSON, or a line is longer than 4 MiB; those rows were scanned as text, without column names (a long line in 4 MiB pieces). The message names the first such line and how many there were.',
  },
  'scan.invalid_encoding': {
    status: 422,
    severity: 'warning',
    message: 'A file is not valid UTF-8; invalid bytes were scanned as U+FFFD. The message names the line of the first invalid byte.',
  },
  'scan.store_unavailable': {
    status: 503,
    severity: 'warning',
    message: 'A store or one of its tables failed during the scan (gone away, no permission); the scan went on with the rest and is incomplete.',
  },
  'scan.unsupported': { status: 422, severity: 'warning', message: 'A scan target is neither a regular file, a folder nor a store URL; it was skipped.' },
  'migrate.bad_mapping': {
    status: 400,
    severity: 'error',
    message:
      'The migration mapping file is malformed or names an unknown enclave, dataset, field, table or column (file:line:col named); nothing was read or written.',
  },
  'migrate.type_mismatch': {
    status: 400,
    severity: 'error',
    message:
      "A legacy column's SQL type does not fit the mapping (declared type, or a kind cordon cannot store such as bytea or json), or a legacy number cannot be held exactly as a JSON number; nothing was written.",
  },
  'migrate.legacy_unavailable': { status: 503, severity: 'error', message: 'The legacy database cannot be reached or queried; nothing was destroyed.' },
  'migrate.key_service_unavailable': {
    status: 503,
    severity: 'error',
    message: 'The key service cannot be reached (or its keyring is unreadable); nothing was destroyed.',
  },
  'migrate.not_verified': {
    status: 409,
    severity: 'error',
    message: 'Purge needs a verify of the same mapping with no mismatches, whose statement is in the access log; nothing was purged.',
  },
  'migrate.data_changed': {
    status: 409,
    severity: 'error',
    message: 'The legacy or enclave data no longer matches the verified statement (the differing rows are listed); nothing more was purged.',
  },
  'migrate.mismatch': {
    status: 422,
    severity: 'error',
    message:
      'Verify found rows whose enclave copy is missing or differs from the legacy row (each listed); the statement records the count and purge is refused.',
  },
  'log.unavailable': { status: 503, severity: 'error', message: 'The decision could not be recorded, so nothing was released (nothing unlogged).' },
  'log.not_found': { status: 404, severity: 'error', message: "The tile, entry bundle, proof or record asked for is beyond the log's current tree." },
  'log.bad_tile_path': {
    status: 400,
    severity: 'error',
    message: 'The path is not a C2SP tlog-tiles path (tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>]).',
  },
  'log.bad_tile': { status: 422, severity: 'error', message: 'A tile or entry bundle has the wrong length or form.' },
  'log.bad_witness_state': {
    status: 500,
    severity: 'error',
    message: "A witness's state file is unreadable or corrupt; the witness refuses to start rather than forget what it cosigned.",
  },
  'log.not_auditor': {
    status: 403,
    severity: 'error',
    message: 'Full access records are readable only by the auditors cordon.yaml names (access_log.auditors).',
  },
  'log.bad_note': { status: 400, severity: 'error', message: 'A signed note is malformed (C2SP signed-note).' },
  'log.bad_key': { status: 400, severity: 'error', message: 'A signed-note key (verifier or signer key) is malformed, or a key file is unsafe.' },
  'log.bad_signature': { status: 403, severity: 'error', message: 'A signature by a known key does not verify.' },
  'log.untrusted_note': { status: 403, severity: 'error', message: 'No known key signed the note.' },
  'log.bad_checkpoint': {
    status: 400,
    severity: 'error',
    message: 'A checkpoint body is malformed (C2SP tlog-checkpoint: origin, size, root hash, extensions).',
  },
  'log.bad_proof': { status: 422, severity: 'error', message: 'An inclusion or consistency proof does not verify, or has the wrong form.' },
  'log.missing_cosignatures': { status: 403, severity: 'error', message: 'A checkpoint has fewer valid witness cosignatures than required.' },
  'log.invalid_record': {
    status: 500,
    severity: 'error',
    message:
      'A record given to the access log is of no registered type, of a retired type or version, or fails its schema (docs/log-records.md); nothing was appended.',
  },
  'log.witness_refused': {
    status: 502,
    severity: 'error',
    message:
      'A witness gave no cosignature: it refused the checkpoint, answered out of form, or its cosignature does not verify; the checkpoint is published without it.',
  },
  'log.verify_failed': {
    status: 422,
    severity: 'error',
    message:
      'Checking a log from outside found a problem (a fetch that failed; a signature, entry bundle, hash tile or root that does not check out; a rollback or fork); the problem names its kind and evidence.',
  },
  'store.unknown_dataset': { status: 404, severity: 'error', message: 'The dataset is not in the catalog, so no store holds it.' },
  'store.unknown_jurisdiction': {
    status: 422,
    severity: 'error',
    message: "The record's subject jurisdiction cannot be told, so its fields cannot be placed; nothing is written (fail closed).",
  },
  'store.protected_key': {
    status: 422,
    severity: 'error',
    message: "The record's key field is protected in its jurisdiction; it would reach the global store as the join key, so nothing is written.",
  },
  'store.duplicate_key': { status: 409, severity: 'error', message: 'A record with this key exists.' },
  'store.not_found': { status: 404, severity: 'error', message: 'No record has this key.' },
  'store.unavailable': {
    status: 503,
    severity: 'error',
    message: 'A store cannot be reached or went away (stopped, restarting, cut off); the request is refused and nothing was released. Retry later.',
  },
  'store.locked': {
    status: 503,
    severity: 'error',
    message:
      'An embedded (PGlite) store is open in another process, or already in this one; one process owns it (stop that process, send the work to it, or keep the store in PostgreSQL).',
  },
  'store.entry_index_taken': {
    status: 409,
    severity: 'error',
    message:
      'An append to a log table found an index already taken: another writer appended first, and nothing was written (the writer reads and tries again).',
  },
  'store.bad_key_file': {
    status: 400,
    severity: 'error',
    message: 'The master key file is missing, readable or writable by others than its owner (it must be 0600), or not 32 bytes in base64.',
  },
  'store.key_service_unavailable': {
    status: 500,
    severity: 'error',
    message: 'The key service cannot be read (its keyring file is unreadable or not JSON); a failure inside cordon, logged and answered as internal.error.',
  },
  'store.bad_key': {
    status: 500,
    severity: 'error',
    message:
      'A keyring is unsafe (not 0600) or not a cordon keyring, or a data key does not unwrap (tampered, or bound to another subject); logged and answered as internal.error.',
  },
  'store.unknown_kek': {
    status: 500,
    severity: 'error',
    message: 'A key names a KEK generation the key service does not have (or a name that is not scope#N); logged and answered as internal.error.',
  },
  'store.kek_destroyed': {
    status: 500,
    severity: 'error',
    message:
      'A key was wrapped under a KEK generation that was destroyed, so it cannot be recovered (reads say so per field instead); logged and answered as internal.error.',
  },

  'auth.missing_token': { status: 401, severity: 'error', message: 'The request has no Authorization: Bearer token.' },
  'auth.invalid_token': { status: 401, severity: 'error', message: 'The bearer token is malformed or its claims have the wrong form.' },
  'auth.unsupported_alg': {
    status: 401,
    severity: 'error',
    message: 'The token is signed with an algorithm cordon does not accept (none and HMAC never are).',
  },
  'auth.unknown_key': { status: 401, severity: 'error', message: "The token's key id names no key of the issuer's key set." },
  'auth.bad_signature': { status: 401, severity: 'error', message: "The token's signature does not verify." },
  'auth.expired': { status: 401, severity: 'error', message: 'The token has expired.' },
  'auth.not_yet_valid': { status: 401, severity: 'error', message: 'The token is not valid yet (nbf is in the future).' },
  'auth.wrong_issuer': { status: 401, severity: 'error', message: 'The token was issued by an issuer cordon does not trust.' },
  'auth.wrong_audience': { status: 401, severity: 'error', message: 'The token is not meant for cordon (aud).' },
  'auth.missing_claim': {
    status: 401,
    severity: 'error',
    message: 'The token lacks a required claim (exp, or the claim that names the principal: sub by default).',
  },
  'auth.keys_unavailable': { status: 503, severity: 'error', message: "The issuer's key set could not be fetched; the request is refused (fail closed)." },
  'auth.unknown_principal': {
    status: 403,
    severity: 'error',
    message:
      "The claim that names the token's principal (sub, or identity.principal_claim) names no principal of the directory, or none that identity.principals maps.",
  },
  'auth.unverified_email': {
    status: 403,
    severity: 'error',
    message: 'The principal is named by email, and the token does not say the email is verified (email_verified is present and not true).',
  },

  'server.invalid_setup': {
    status: 400,
    severity: 'error',
    message:
      'The server cannot start with this setup: a store path that leaves the data directory, a data directory that is a file, a store or service that cordon.yaml does not define (exit 2).',
  },
  'server.unavailable': {
    status: 503,
    severity: 'error',
    message:
      'The server cannot start: the data directory cannot be written, a store, key or log cannot be opened (or another process holds it), or the address cannot be listened on (exit 3).',
  },
  'cli.unreachable': {
    status: 503,
    severity: 'error',
    message:
      'Something a command needed could not be reached or read: a server or database that refuses, does not resolve, times out or answers 5xx, or a file or folder named on the command line (exit 3).',
  },
  'cli.refused': {
    status: 403,
    severity: 'error',
    message:
      "A server refused a command's request (it answered 4xx); the command prints the server's code and detail (exit 1, or 2 when the server said the request was malformed).",
  },

  'internal.error': { status: 500, severity: 'error', message: 'An unexpected error; it is logged, never echoed.' },
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}

/**
 * An expected failure carried as a value through APIs that may also throw for bugs. Every error
 * class of cordon extends it (a test checks): its code is in the registry. The message MUST NOT
 * hold a protected value, nor text cordon did not write that could (put that in `cause`, which is
 * logged scrubbed).
 */
export class CordonError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  constructor(code: ErrorCode, message: string, options?: { readonly cause?: unknown }) {
    super(message, options);
    this.name = 'CordonError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
  }
}

/**
 * Thrown where a regional gateway (cordon up --region) would touch a store of another region: the
 * record's subject is of a jurisdiction whose enclave is `region`. Nothing was read from or written
 * to any store of that region (this gateway holds none of its credentials or keys).
 */
export class OtherRegionError extends CordonError {
  constructor(
    readonly region: string,
    readonly jurisdiction?: string,
  ) {
    super('gateway.other_region', `the record is served by region ${region}${jurisdiction === undefined ? '' : ` (jurisdiction ${jurisdiction})`}`);
    this.name = 'OtherRegionError';
  }
}
