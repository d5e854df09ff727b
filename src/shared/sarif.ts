// The SARIF 2.1.0 envelope cordon's reports share (flow leaks, scanner findings): one run by the
// `cordon` driver with its rules, and the results.

export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';
export const CORDON_VERSION = '0.1.0';

export interface SarifRule {
  readonly id: string;
  readonly shortDescription: { readonly text: string };
}

/** `run` adds members to the one run (such as `invocations`). */
export function sarifLog(rules: readonly SarifRule[], results: readonly unknown[], run: Readonly<Record<string, unknown>> = {}): Record<string, unknown> {
  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [{ tool: { driver: { name: 'cordon', version: CORDON_VERSION, informationUri: 'https://github.com/cordon-dev/cordon', rules } }, results, ...run }],
  };
}
