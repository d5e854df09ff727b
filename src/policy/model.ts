// The loaded, validated policy: the types every other module reads. A Policy exists only when
// every file of its directory loaded without error (see load.ts).

export type DataClass = 'protected' | 'excepted' | 'public';
export const DATA_CLASSES: readonly DataClass[] = ['protected', 'excepted', 'public'];

/**
 * The read ladder: how a field may be disclosed, strongest first, with the Cedar action that permits
 * each step and whether the step needs a mask for the field. A read asks the steps in this order and
 * takes the first one permitted; `withheld` is what remains when none is. Everything that ranks
 * disclosures (the decider, explain, diff, the review) derives from this one table.
 */
export const LADDER = [
  { disclosure: 'clear', action: 'disclose_clear', needsMask: false },
  { disclosure: 'tokenized', action: 'disclose_tokenized', needsMask: false },
  { disclosure: 'masked', action: 'disclose_masked', needsMask: true },
] as const satisfies readonly LadderStep[];
export interface LadderStep {
  readonly disclosure: string;
  readonly action: string;
  readonly needsMask: boolean;
}
export type Ladder = readonly (typeof LADDER)[number][];

/** Strongest first. `withheld` is what remains when the rules permit nothing else. */
export type Disclosure = (typeof LADDER)[number]['disclosure'] | 'withheld';
export const DISCLOSURES: readonly Disclosure[] = [...LADDER.map((s) => s.disclosure), 'withheld'];

/** Cedar action ids of the read ladder's steps. */
export type ReadAction = (typeof LADDER)[number]['action'];
export const READ_ACTIONS: readonly ReadAction[] = LADDER.map((s) => s.action);
export const WRITE_ACTION = 'write' as const;
/**
 * What a write does besides writing its body's fields: `transfer` moves a protected field to another
 * jurisdiction or another subject (a user changing country takes their videos along; a video given
 * another owner), `declassify` turns a stored protected value into excepted or public data (a
 * private video going public). Each is its own action, forbidden unless a rule permits it.
 */
export const MOVE_ACTIONS = ['transfer', 'declassify'] as const;
export type MoveAction = (typeof MOVE_ACTIONS)[number];
export type CedarAction = ReadAction | typeof WRITE_ACTION | MoveAction;
export const ALL_ACTIONS: readonly CedarAction[] = [...READ_ACTIONS, WRITE_ACTION, ...MOVE_ACTIONS];

export interface SourcePos {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

export interface PolicyIssue extends SourcePos {
  /** A code of the error registry (src/shared/errors.ts). */
  readonly code: string;
  readonly severity: 'error' | 'warning';
  readonly message: string;
}

export interface Category {
  readonly key: string;
  readonly parent: string | undefined;
  readonly name: string;
  readonly description: string;
  /** The key itself and every ancestor, most specific first. */
  readonly lineage: readonly string[];
  readonly source: 'fideslang' | 'cordon' | 'policy';
}

export interface Taxonomy {
  readonly categories: ReadonlyMap<string, Category>;
  /** Deprecated key -> its replacement. */
  readonly aliases: ReadonlyMap<string, string>;
  /** The category for a key or alias, or undefined. */
  resolve(key: string): Category | undefined;
}

export interface Enclave {
  readonly name: string;
  readonly jurisdictions: readonly string[];
  readonly store: string;
  readonly allowedCountries: readonly string[];
  /** The legal entity that operates the enclave; its staff's reporting lines must stay inside it. */
  readonly employer: string | undefined;
}

export interface Jurisdiction {
  readonly name: string;
  readonly countries: readonly string[];
  readonly isDefault: boolean;
  readonly enclave: string;
}

export interface StoreConfig {
  readonly name: string;
  readonly url: string;
}

export interface NetworkLocation {
  readonly cidr: string;
  readonly country: string;
  readonly site: string;
}

export interface Deployment {
  readonly name: string;
  readonly enclaves: ReadonlyMap<string, Enclave>;
  readonly jurisdictions: ReadonlyMap<string, Jurisdiction>;
  /** Country code -> jurisdiction name. */
  readonly countryJurisdiction: ReadonlyMap<string, string>;
  readonly defaultJurisdiction: string | undefined;
  readonly stores: ReadonlyMap<string, StoreConfig>;
  readonly globalStore: string;
  readonly locations: readonly NetworkLocation[];
  readonly accessLog: AccessLogConfig;
  readonly access: AccessConfig;
  readonly flows: FlowsConfig;
  readonly identity: IdentityConfig;
  /** Set for one region's gateway (cordon up --region; policy/region.ts): the enclave it serves, the only one whose store it opens. */
  readonly region?: string;
}

/** cordon.yaml `identity`: how a verified token names a principal of the directory, and for whom it must be. */
export interface IdentityConfig {
  /** The claim whose value names the principal (default `sub`). */
  readonly principalClaim: string;
  /**
   * Claim value -> directory principal id. When given, only the values it lists name principals (a
   * value that happens to equal a principal id does not); when absent, the value is the id itself.
   */
  readonly principals?: ReadonlyMap<string, string>;
  /** Audiences a token must carry one of (cordon up --audience adds to them); empty: given on the command line. */
  readonly audience: readonly string[];
}

/** cordon.yaml `flows`: the lineage and inventory files of the flow map, and where data places are. */
export interface FlowsConfig {
  /** Paths relative to the policy directory: OpenLineage events (JSON or NDJSON files, or folders of them). */
  readonly lineage: readonly string[];
  /** Paths relative to the policy directory: tool inventory YAML files. */
  readonly inventory: readonly string[];
  /** Dataset namespaces (exact or prefix, such as `postgres://db:5432` or `s3://bucket`) -> where they are. */
  readonly places: readonly FlowPlace[];
  /** `namespace/name` of a lineage dataset -> the catalog dataset whose categories its columns carry. */
  readonly datasets: ReadonlyMap<string, string>;
  /**
   * Where each store's tables are in lineage (cordon.yaml flows.stores): a lineage dataset in an
   * alias's namespace whose name is the alias's prefix plus one part (the table) is that catalog
   * dataset, held in that store.
   */
  readonly stores: readonly StoreAlias[];
  /**
   * Principals and teams (with their sub-teams) that may post OpenLineage events. Empty: nobody may
   * (lineage plants and hides leak paths, so intake fails closed).
   */
  readonly producers: readonly string[];
  /** The enclave stores' own audit trails that the backdoor finder reads (`flows.audit`). */
  readonly audit?: readonly FlowAuditSource[];
}

/** cordon.yaml `flows.audit` item: a PostgreSQL store's csvlog with pgaudit's lines, or its pg_stat_statements. */
export interface FlowAuditSource {
  readonly store: string;
  /** The server's csvlog file (absolute, or relative to the policy directory). */
  readonly csvlog?: string;
  /** Read the store's pg_stat_statements view instead (where pgaudit is absent). */
  readonly pgStatStatements?: true;
  /** cordon's own database roles, besides the user of the store's URL. */
  readonly roles: readonly string[];
}

export interface StoreAlias {
  readonly store: string;
  /** Canonical OpenLineage namespace (`postgres://enclave-us-db:5432`). */
  readonly namespace: string;
  /** Every part of a table's name but the last (`app.public`). */
  readonly prefix: string;
}

export interface FlowPlace {
  readonly namespace: string;
  readonly country: string;
  readonly region: string | undefined;
  /** Whose data the place holds (jurisdictions); empty: anyone's. */
  readonly holds: readonly string[];
}
/** cordon.yaml `access`: how grants are asked for, approved, broken into and reviewed. */
export interface AccessConfig {
  /** Reason code -> the longest grant (ms) a request with that reason may ask for. */
  readonly reasons: ReadonlyMap<string, number>;
  /** A pending request expires this long (ms) after it was made. */
  readonly requestTtlMs: number;
  readonly approverGroups: ReadonlyMap<string, ApproverGroup>;
  readonly breakGlass: BreakGlassConfig | undefined;
  readonly review: ReviewConfig;
}

export interface ApproverGroup {
  readonly name: string;
  /** The enclave whose data the group's approvals grant, and whose countries approvers must be in. */
  readonly enclave: string;
  /** N of N-of-M: approvals needed. M is the group's members. */
  readonly required: number;
  /** Members must also be in one of these teams (with sub-teams); empty: any team. */
  readonly teams: readonly string[];
  /** Refuse approvals from anyone in the requester's reporting line (managers, their managers, …). */
  readonly excludeReportingLine: boolean;
}

export interface BreakGlassConfig {
  /** Teams (with sub-teams) and principals that may self-grant. */
  readonly allowed: readonly string[];
  /** At most one hour. */
  readonly maxDurationMs: number;
  /** Approvers of this group must review a break-glass grant within `reviewWithinMs`. */
  readonly reviewers: string;
  readonly reviewWithinMs: number;
  /** Alerts are POSTed here (JSON), as well as logged. */
  readonly webhook: string | undefined;
}

export interface ReviewConfig {
  /** An active grant unused for this long (ms) is dormant. */
  readonly dormantAfterMs: number;
  /** An approver with at least `minDecisions` decisions, approving at least `approveRate` of them with a median under `medianMs`, is flagged. */
  readonly rubberStamp: { readonly minDecisions: number; readonly approveRate: number; readonly medianMs: number };
}

/** cordon.yaml `access_log`: where the verifiable access log lives and who may read its records. */
export interface AccessLogConfig {
  /** The store holding entries, records and checkpoints (default: the first enclave's store). */
  readonly store: string;
  /** The checkpoint origin line, unique per log (default: `cordon.invalid/<deployment name>/access`). */
  readonly origin: string;
  /** Teams (with their sub-teams) and principals that may read full access records. Empty: nobody. */
  readonly auditors: readonly string[];
}

/** A row-dependent category: when the row's `field` equals (or is among) the values, use `category`. */
export interface CategoryCondition {
  readonly field: string;
  readonly values: readonly string[];
  readonly negate: boolean;
  readonly category: string;
}

/** What a field's values are (catalog `type`; default `string`): list filters are parsed as this. */
export type FieldType = 'string' | 'number' | 'boolean';
export const FIELD_TYPES: readonly FieldType[] = ['string', 'number', 'boolean'];

export interface CatalogField {
  readonly name: string;
  /** The category when no condition applies. */
  readonly category: string;
  /** The values' JSON type (catalog `type`, default `string`). */
  readonly type: FieldType;
  /** Checked in order; the first that holds decides the category. */
  readonly conditions: readonly CategoryCondition[];
  readonly pos: SourcePos;
}

/** Every category a field can take, its default first, each once. */
export function fieldCategories(field: CatalogField): readonly string[] {
  return [...new Set([field.category, ...field.conditions.map((c) => c.category)])];
}

export interface Dataset {
  readonly name: string;
  readonly key: string;
  /** The field that names the data subject. */
  readonly subjectField: string;
  /** When set, the subject's jurisdiction comes from that dataset's record for the subject. */
  readonly subjectDataset: string | undefined;
  /** When set, this record holds the subject's country in this field. */
  readonly jurisdictionField: string | undefined;
  readonly fields: ReadonlyMap<string, CatalogField>;
  readonly file: string;
}

export interface Classes {
  readonly default: DataClass;
  /** jurisdiction -> category key -> class, as listed (not yet inherited). */
  readonly listed: ReadonlyMap<string, ReadonlyMap<string, DataClass>>;
}

export interface Team {
  readonly name: string;
  readonly parent: string | undefined;
  readonly description: string;
  /** The team and all its ancestors. */
  readonly lineage: readonly string[];
}

export type PrincipalKind = 'person' | 'service';

export interface Principal {
  readonly id: string;
  readonly kind: PrincipalKind;
  readonly name: string;
  readonly team: string;
  readonly employer: string;
  readonly workCountry: string;
  readonly site: string;
  readonly clearance: number;
  readonly approverGroups: readonly string[];
  readonly manager: string | undefined;
}

export interface Directory {
  readonly teams: ReadonlyMap<string, Team>;
  readonly principals: ReadonlyMap<string, Principal>;
}

export interface Rule {
  /** From `@id("…")`, else `<file>:<line>`. */
  readonly id: string;
  readonly effect: 'permit' | 'forbid';
  readonly text: string;
  readonly file: string;
  readonly line: number;
  readonly col: number;
  /** Cedar's JSON form of the rule (the EST), from cedar-wasm's parser. */
  readonly json: unknown;
}

export interface Policy {
  readonly dir: string;
  /** SHA-256 over every file of the policy, hex: names the policy version. */
  readonly versionHash: string;
  readonly deployment: Deployment;
  readonly taxonomy: Taxonomy;
  readonly datasets: ReadonlyMap<string, Dataset>;
  readonly classes: Classes;
  readonly directory: Directory;
  readonly rules: readonly Rule[];
  /** The Cedar schema (JSON form) that rules were validated against. */
  readonly cedarSchema: unknown;
  /** Warnings that do not stop loading (e.g. compile fallbacks are added by the compiler). */
  readonly warnings: readonly PolicyIssue[];
}
