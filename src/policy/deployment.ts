// cordon.yaml: enclaves, jurisdictions, stores and network locations of one deployment.

import { isIP } from 'node:net';
import type { Deployment, Directory, Enclave, Jurisdiction, NetworkLocation, StoreConfig } from './model.js';
import { type IssueList, type YamlFile, readBoolean, readList, readMap, readString, readStringList, type Node } from './yaml-source.js';
import { didYouMean } from '../shared/suggest.js';
import { readAccessConfig } from './access-config.js';
import { readFlowsConfig } from './flows-config.js';
import { readFlowAudit } from './flows-audit-config.js';
import { readIdentityConfig } from './identity-config.js';

export const DEPLOYMENT_FILE = 'cordon.yaml';
export const DEFAULT_GLOBAL_STORE = 'global';
const COUNTRY = /^[A-Z]{2}$/;

function readCountries(f: YamlFile, node: Node | null, issues: IssueList, what: string): string[] {
  const out: string[] = [];
  for (const c of readStringList(f, node, issues, what) ?? []) {
    if (!COUNTRY.test(c.value))
      issues.error(
        f.pos(c.node),
        'policy.invalid_value',
        `${what}: ${JSON.stringify(c.value)} is not an ISO 3166-1 alpha-2 country code (two capital letters)`,
      );
    else out.push(c.value);
  }
  return out;
}

function readCountry(f: YamlFile, node: Node | null, issues: IssueList, what: string): string | undefined {
  const c = readString(f, node, issues, what);
  if (c !== undefined && !COUNTRY.test(c)) {
    issues.error(f.pos(node), 'policy.invalid_value', `${what}: ${JSON.stringify(c)} is not an ISO 3166-1 alpha-2 country code (two capital letters)`);
    return undefined;
  }
  return c;
}

function isCidr(s: string): boolean {
  const [addr, bits, extra] = s.split('/');
  if (addr === undefined || bits === undefined || extra !== undefined || !/^\d{1,3}$/.test(bits)) return false;
  const family = isIP(addr);
  const n = Number(bits);
  return (family === 4 && n <= 32) || (family === 6 && n <= 128);
}

/** `directory`, when it loaded, is used to check that access-log auditors and lineage producers name teams or principals. */
export function readDeployment(f: YamlFile, issues: IssueList, directory?: Directory): Deployment | undefined {
  if (!f.ok) return undefined;
  const before = issues.errorCount;
  const top = readMap(f, f.root, issues, DEPLOYMENT_FILE, {
    required: ['enclaves', 'jurisdictions', 'stores'],
    optional: ['version', 'name', 'global_store', 'locations', 'description', 'access_log', 'access', 'flows', 'identity'],
  });
  if (!top) return undefined;
  const version = top.get('version');
  if (version && !(version.value && 'value' in version.value && version.value.value === 1)) {
    issues.error(f.pos(version.value), 'policy.invalid_value', 'version must be 1');
  }
  const nameEntry = top.get('name');
  const name = (nameEntry && readString(f, nameEntry.value, issues, 'name')) ?? 'cordon';

  const stores = new Map<string, StoreConfig>();
  const storesEntry = top.get('stores');
  for (const e of (storesEntry && readMap(f, storesEntry.value, issues, 'stores')?.values()) ?? []) {
    const spec = readMap(f, e.value, issues, `store ${e.key}`, { required: ['url'], optional: ['description'] });
    const urlEntry = spec?.get('url');
    const url = urlEntry && readString(f, urlEntry.value, issues, `url of store ${e.key}`);
    if (url !== undefined && !/^(pglite|postgres|postgresql):\/\//.test(url)) {
      issues.error(f.pos(urlEntry!.value), 'policy.invalid_value', `url of store ${e.key} must start with pglite://, postgres:// or postgresql://`);
    }
    if (url !== undefined) stores.set(e.key, { name: e.key, url });
  }
  const globalEntry = top.get('global_store');
  const globalStore = (globalEntry && readString(f, globalEntry.value, issues, 'global_store')) ?? DEFAULT_GLOBAL_STORE;
  if (storesEntry && !stores.has(globalStore)) {
    issues.error(
      f.pos(globalEntry?.value ?? storesEntry.keyNode),
      'policy.unknown_store',
      `global store ${JSON.stringify(globalStore)} is not defined under stores${didYouMean(globalStore, stores.keys())}`,
    );
  }

  interface RawJurisdiction {
    name: string;
    countries: string[];
    isDefault: boolean;
    node: Node;
  }
  const jurisdictions = new Map<string, RawJurisdiction>();
  const countryJurisdiction = new Map<string, string>();
  let defaultJurisdiction: string | undefined;
  const jEntry = top.get('jurisdictions');
  for (const e of (jEntry && readMap(f, jEntry.value, issues, 'jurisdictions')?.values()) ?? []) {
    const spec = readMap(f, e.value, issues, `jurisdiction ${e.key}`, { optional: ['countries', 'default', 'description'] });
    if (!spec) continue;
    const countriesEntry = spec.get('countries');
    const countries = countriesEntry ? readCountries(f, countriesEntry.value, issues, `countries of jurisdiction ${e.key}`) : [];
    const defEntry = spec.get('default');
    const isDefault = (defEntry && readBoolean(f, defEntry.value, issues, `default of jurisdiction ${e.key}`)) ?? false;
    if (!countriesEntry && !isDefault) {
      issues.error(f.pos(e.keyNode), 'policy.missing_key', `jurisdiction ${e.key} needs countries, or default: true`);
    }
    for (const c of countries) {
      const other = countryJurisdiction.get(c);
      if (other !== undefined)
        issues.error(f.pos(countriesEntry!.value), 'policy.jurisdiction_conflict', `country ${c} is in jurisdictions ${other} and ${e.key}`);
      else countryJurisdiction.set(c, e.key);
    }
    if (isDefault) {
      if (defaultJurisdiction !== undefined)
        issues.error(f.pos(defEntry!.value), 'policy.jurisdiction_conflict', `jurisdictions ${defaultJurisdiction} and ${e.key} are both the default`);
      else defaultJurisdiction = e.key;
    }
    jurisdictions.set(e.key, { name: e.key, countries, isDefault, node: e.keyNode });
  }

  const enclaves = new Map<string, Enclave>();
  const enclaveOf = new Map<string, string>();
  const eEntry = top.get('enclaves');
  for (const e of (eEntry && readMap(f, eEntry.value, issues, 'enclaves')?.values()) ?? []) {
    const spec = readMap(f, e.value, issues, `enclave ${e.key}`, {
      required: ['jurisdictions', 'store', 'allowed_countries'],
      optional: ['description', 'employer'],
    });
    if (!spec) continue;
    const js = readStringList(f, spec.get('jurisdictions')?.value ?? null, issues, `jurisdictions of enclave ${e.key}`) ?? [];
    for (const j of js) {
      if (!jurisdictions.has(j.value)) {
        issues.error(
          f.pos(j.node),
          'policy.unknown_jurisdiction',
          `enclave ${e.key} names unknown jurisdiction ${JSON.stringify(j.value)}${didYouMean(j.value, jurisdictions.keys())}`,
        );
      } else if (enclaveOf.has(j.value)) {
        issues.error(f.pos(j.node), 'policy.jurisdiction_conflict', `jurisdiction ${j.value} is bound to enclaves ${enclaveOf.get(j.value)} and ${e.key}`);
      } else enclaveOf.set(j.value, e.key);
    }
    const storeNode = spec.get('store')?.value ?? null;
    const store = spec.has('store') ? readString(f, storeNode, issues, `store of enclave ${e.key}`) : undefined;
    if (store !== undefined && storesEntry && !stores.has(store)) {
      issues.error(
        f.pos(storeNode),
        'policy.unknown_store',
        `enclave ${e.key} names unknown store ${JSON.stringify(store)}${didYouMean(store, stores.keys())}`,
      );
    }
    const allowed = spec.has('allowed_countries')
      ? readCountries(f, spec.get('allowed_countries')!.value, issues, `allowed_countries of enclave ${e.key}`)
      : [];
    const employer = spec.has('employer') ? readString(f, spec.get('employer')!.value, issues, `employer of enclave ${e.key}`) : undefined;
    enclaves.set(e.key, { name: e.key, jurisdictions: js.map((j) => j.value), store: store ?? '', allowedCountries: allowed, employer });
  }
  const resolvedJurisdictions = new Map<string, Jurisdiction>();
  for (const j of jurisdictions.values()) {
    const enclave = enclaveOf.get(j.name);
    if (enclave === undefined) {
      issues.error(
        f.pos(j.node),
        'policy.jurisdiction_without_enclave',
        `jurisdiction ${j.name} is bound to no enclave: add it to the jurisdictions of one enclave`,
      );
      continue;
    }
    resolvedJurisdictions.set(j.name, { name: j.name, countries: j.countries, isDefault: j.isDefault, enclave });
  }

  const locations: NetworkLocation[] = [];
  const lEntry = top.get('locations');
  for (const item of (lEntry && readList(f, lEntry.value, issues, 'locations')) ?? []) {
    const spec = readMap(f, item, issues, 'a location', { required: ['cidr', 'country', 'site'], optional: ['description'] });
    if (!spec) continue;
    const cidrNode = spec.get('cidr')?.value ?? null;
    const cidr = spec.has('cidr') ? readString(f, cidrNode, issues, 'cidr') : undefined;
    if (cidr !== undefined && !isCidr(cidr))
      issues.error(f.pos(cidrNode), 'policy.invalid_value', `${JSON.stringify(cidr)} is not a CIDR block such as 10.20.0.0/16`);
    const country = spec.has('country') ? readCountry(f, spec.get('country')!.value, issues, 'country of a location') : undefined;
    const site = spec.has('site') ? readString(f, spec.get('site')!.value, issues, 'site') : undefined;
    if (cidr && country && site) locations.push({ cidr, country, site });
  }

  const logEntry = top.get('access_log');
  const logSpec = logEntry ? readMap(f, logEntry.value, issues, 'access_log', { optional: ['store', 'origin', 'auditors', 'description'] }) : undefined;
  const logStoreNode = logSpec?.get('store')?.value ?? null;
  const logStore = logSpec?.has('store') ? readString(f, logStoreNode, issues, 'access_log.store') : [...enclaves.values()][0]?.store;
  if (logSpec?.has('store') && logStore !== undefined && !stores.has(logStore)) {
    issues.error(
      f.pos(logStoreNode),
      'policy.unknown_store',
      `access_log.store ${JSON.stringify(logStore)} is not defined under stores${didYouMean(logStore, stores.keys())}`,
    );
  }
  const originNode = logSpec?.get('origin')?.value ?? null;
  const origin = logSpec?.has('origin') ? readString(f, originNode, issues, 'access_log.origin') : `cordon.invalid/${name}/access`;
  if (origin !== undefined && !/^[\x21-\x2a\x2c-\x7e]+$/.test(origin)) {
    issues.error(
      f.pos(originNode),
      'policy.invalid_value',
      'access_log.origin must be printable ASCII without spaces or "+", such as example.com/cordon/access',
    );
  }
  const auditorItems = logSpec?.has('auditors') ? (readStringList(f, logSpec.get('auditors')!.value, issues, 'access_log.auditors') ?? []) : [];
  for (const a of directory ? auditorItems : []) {
    if (!directory!.teams.has(a.value) && !directory!.principals.has(a.value)) {
      issues.error(
        f.pos(a.node),
        'policy.unknown_team',
        `access_log.auditors names ${JSON.stringify(a.value)}, which is neither a team nor a principal${didYouMean(a.value, [...directory!.teams.keys(), ...directory!.principals.keys()])}`,
      );
    }
  }
  const auditors = auditorItems.map((a) => a.value);
  const access = readAccessConfig(f, top.get('access')?.value, issues, enclaves, directory);
  const flows = {
    ...readFlowsConfig(f, top.get('flows')?.value, issues, jurisdictions, directory, stores),
    audit: readFlowAudit(f, top.get('flows')?.value, issues, stores, enclaves),
  };
  const identity = readIdentityConfig(f, top.get('identity')?.value, issues, directory);

  if (issues.errorCount > before) return undefined;
  return {
    name,
    enclaves,
    jurisdictions: resolvedJurisdictions,
    countryJurisdiction,
    defaultJurisdiction,
    stores,
    globalStore,
    locations,
    accessLog: { store: logStore ?? globalStore, origin: origin ?? `cordon.invalid/${name}/access`, auditors },
    access,
    flows,
    identity,
  };
}
