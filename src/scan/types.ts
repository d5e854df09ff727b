// The scanner's vocabulary: detectors, the detections they make in a piece of text, and the findings
// (a detection placed in a file or a store, with a masked sample) that reports carry.

export type DetectorId = 'phone' | 'email' | 'date_of_birth' | 'ipv4' | 'ipv6' | 'advertising_id' | 'imei' | 'payment_card' | 'us_ssn' | 'enclave_match';

/** The taxonomy category each detector reports (fideslang keys, as in src/policy/data). */
export const DETECTOR_CATEGORY: Readonly<Record<DetectorId, string>> = {
  phone: 'user.contact.phone_number',
  email: 'user.contact.email',
  date_of_birth: 'user.demographic.date_of_birth',
  ipv4: 'user.device.ip_address',
  ipv6: 'user.device.ip_address',
  advertising_id: 'user.device.device_id',
  imei: 'user.device.device_id',
  payment_card: 'user.financial.credit_card',
  us_ssn: 'user.government_id.national_identification_number',
  // An exact match takes the category of the enclave field it matched.
  enclave_match: 'user',
};

export const DETECTOR_IDS = Object.keys(DETECTOR_CATEGORY) as DetectorId[];

/**
 * One detection in a string. `value` is the normalised clear value: it MUST NOT leave the scanning
 * process (findings carry only `sample`, a mask of it) and exists so exact matching can hash it.
 */
export interface Detection {
  readonly detector: DetectorId;
  readonly category: string;
  /** 0..1: how sure the detector is, after validation and context. */
  readonly confidence: number;
  /** UTF-16 offsets in the scanned string, end exclusive. */
  readonly start: number;
  readonly end: number;
  readonly value: string;
  /** For phone numbers: the region libphonenumber placed the number in (ISO 3166 alpha-2). */
  readonly country?: string;
  /** For enclave matches: the enclave whose record this value copies. */
  readonly enclave?: string;
  /** Why it scored what it did, e.g. `["valid:US", "shape:national-punctuated", "context:+call"]`; never the value. */
  readonly reasons?: readonly string[];
}

export interface FileLocation {
  readonly kind: 'file';
  readonly file: string;
  /** From 1. */
  readonly line: number;
  /** From 1, in UTF-16 code units of the line. */
  readonly column: number;
  /** For CSV with a header and NDJSON/JSON: the column or member path. */
  readonly field?: string;
}

export interface StoreLocation {
  readonly kind: 'store';
  readonly store: string;
  readonly table: string;
  readonly column: string;
  /** The row's key (its `key`, `id` or first column), as text. */
  readonly row: string;
  /**
   * For a table of a catalog dataset scanned with a policy: the record's own jurisdiction, as the
   * gateway tells it (its jurisdiction field, or its subject's); null when the row cannot tell
   * (missing, malformed or sealed field, subject not found), which counts as every jurisdiction.
   */
  readonly jurisdiction?: string | null;
}

export type Location = FileLocation | StoreLocation;

/** A detection where it was found, with the clear value replaced by a masked sample. */
export interface Finding {
  readonly detector: DetectorId;
  readonly category: string;
  readonly confidence: number;
  readonly where: Location;
  /** Only the last two characters of the value, e.g. `…01`; never the clear value. */
  readonly sample: string;
  /** Offsets of the value within the field or line it was found in. */
  readonly span: readonly [number, number];
  readonly country?: string;
  readonly enclave?: string;
  /** Why the detection scored what it did (Detection.reasons); never the value. */
  readonly reasons?: readonly string[];
}

/** Per file or table, column and detector: every finding counted (kept or past the cap), never a value. */
export interface ColumnSummary {
  /** The file, or `store/table`. */
  readonly target: string;
  /** The CSV column, JSON member or table column; absent for text outside any field. */
  readonly column?: string;
  readonly detector: DetectorId;
  readonly category: string;
  /** Findings, those not kept included. */
  readonly count: number;
  /** Rows (lines of a file, rows of a table) holding at least one. */
  readonly rows: number;
  /** Rows the target has (data lines of a file, rows read of a table). */
  readonly of: number;
  /** rows / of, to four places. */
  readonly share: number;
  /** The first few positions: `LINE:COLUMN` in a file, `row KEY` in a table. */
  readonly examples: readonly string[];
}

/** A target or part of one that could not be (fully) scanned; the scan went on with the rest. */
export interface ScanProblem {
  readonly code:
    | 'scan.unreadable'
    | 'scan.binary'
    | 'scan.bad_gzip'
    | 'scan.malformed'
    | 'scan.invalid_encoding'
    | 'scan.store_unavailable'
    | 'scan.unsupported';
  /** The file, or `store/table`. */
  readonly target: string;
  readonly message: string;
}

/** Masks a clear value down to its last two characters. */
export function maskSample(value: string): string {
  const tail = value.length <= 4 ? '' : value.slice(-2);
  return `…${tail}`;
}
