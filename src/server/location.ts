// Where a request comes from: the client's address (the direct peer, or — only behind a trusted
// proxy — the X-Forwarded-For entry the proxies vouch for) matched against the deployment's network
// locations. A token may carry a location too; it never places a request, it can only disagree,
// and a disagreement makes the place unknown.
import { BlockList, isIP, isIPv4 } from 'node:net';
import { BoundedCache } from '../shared/bounded-cache.js';
import type { NetworkLocation } from '../policy/index.js';

export interface ResolvedLocation {
  readonly country: string;
  readonly site: string;
  /** The client address the location was found for (IPv4-mapped IPv6 written as IPv4). */
  readonly address: string;
}

export interface RequestLocation {
  readonly country: string;
  readonly site: string;
  /** True when the token's location disagreed with the network's. */
  readonly mismatch: boolean;
}

export const UNKNOWN_PLACE = 'unknown';

export interface LocationResolverOptions {
  /** CIDRs (or single addresses) of proxies whose X-Forwarded-For is believed. */
  readonly trustedProxies?: readonly string[];
}

export interface LocationResolver {
  resolve(remoteAddress: string, forwardedFor: string | undefined): ResolvedLocation | undefined;
  reconcile(resolved: ResolvedLocation | undefined, tokenLocation: { country?: string; site?: string } | undefined): RequestLocation;
  /** Whether `address` is a trusted proxy (what it says of its client is believed: X-Forwarded-For, a PROXY protocol header). */
  isTrustedProxy(address: string): boolean;
}

interface Cidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

/** Parses `a.b.c.d/n`, `x::y/n` or a bare address; throws TypeError on anything else. */
function parseCidr(text: string): Cidr {
  const [addr = '', len, ...rest] = text.trim().split('/');
  const normal = normalizeAddress(addr);
  if (normal === undefined || rest.length > 0) throw new TypeError(`not a CIDR: ${JSON.stringify(text)}`);
  const family = isIPv4(normal) ? 'ipv4' : 'ipv6';
  const max = family === 'ipv4' ? 32 : 128;
  if (len !== undefined && !/^\d{1,3}$/.test(len)) throw new TypeError(`not a CIDR: ${JSON.stringify(text)}`);
  // An IPv4-mapped CIDR (::ffff:10.0.0.0/104) is taken as the IPv4 CIDR it maps.
  const mapped = family === 'ipv4' && !isIPv4(addr.trim());
  let prefix = len === undefined ? max : Number(len);
  if (mapped && len !== undefined) prefix -= 96;
  if (prefix < 0 || prefix > max) throw new TypeError(`not a CIDR: ${JSON.stringify(text)}`);
  return { address: normal, prefix, family };
}

/**
 * The address in canonical form for matching: brackets, zone ids and ports removed, IPv4-mapped
 * IPv6 (`::ffff:10.20.1.2`, `::ffff:a14:102`) written as IPv4. Undefined if it is not an IP address.
 */
export function normalizeAddress(raw: string): string | undefined {
  let a = raw.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(a);
  if (bracketed) a = bracketed[1]!;
  else if (/^\d{1,3}(\.\d{1,3}){3}:\d+$/.test(a)) a = a.slice(0, a.lastIndexOf(':'));
  const zone = a.indexOf('%');
  if (zone >= 0) a = a.slice(0, zone);
  const family = isIP(a);
  if (family === 4) return a;
  if (family !== 6) return undefined;
  const groups = ipv6Groups(a);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const hi = groups[6]!;
    const lo = groups[7]!;
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return a.toLowerCase();
}

/** The eight 16-bit groups of a valid IPv6 address (as net.isIP accepted it). */
function ipv6Groups(a: string): number[] {
  let text = a.toLowerCase();
  const dotted = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (dotted) {
    const [b0, b1, b2, b3] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((b0 << 8) | b1).toString(16)}:${((b2 << 8) | b3).toString(16)}`;
  }
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const gap = text.indexOf('::');
  if (gap < 0) return parse(text);
  const head = parse(text.slice(0, gap));
  const tail = parse(text.slice(gap + 2));
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

function blockListOf(cidrs: readonly Cidr[]): BlockList {
  const list = new BlockList();
  for (const c of cidrs) list.addSubnet(c.address, c.prefix, c.family);
  return list;
}

function contains(list: BlockList, address: string): boolean {
  return list.check(address, isIPv4(address) ? 'ipv4' : 'ipv6');
}

const LOOPBACK = blockListOf([parseCidr('127.0.0.0/8'), parseCidr('::1/128')]);

/**
 * True when a listening address (`--host`, or what the server reports it is bound to) reaches only
 * this machine: `localhost`, 127.0.0.0/8, ::1 (also IPv4-mapped, bracketed or with a zone). Anything
 * else, the wildcards 0.0.0.0 and :: included, is reachable from other hosts.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase();
  if (h === 'localhost' || h === 'localhost.') return true;
  const address = normalizeAddress(h);
  return address !== undefined && contains(LOOPBACK, address);
}

/** At most twice this many answers are kept (BoundedCache). */
const MAX_CACHED_ANSWERS = 5_000;

export function createLocationResolver(locations: readonly NetworkLocation[], options: LocationResolverOptions = {}): LocationResolver {
  // Most specific first: the first location whose CIDR holds the address is the answer.
  const entries = locations
    .map((loc, index) => ({ loc, index, cidr: parseCidr(loc.cidr) }))
    .sort((a, b) => b.cidr.prefix - a.cidr.prefix || a.index - b.index)
    .map((e) => ({ loc: e.loc, list: blockListOf([e.cidr]) }));
  const proxies = blockListOf((options.trustedProxies ?? []).map(parseCidr));
  const hasProxies = (options.trustedProxies ?? []).length > 0;
  const trusted = (address: string): boolean => hasProxies && contains(proxies, address);

  /** The client address: the peer, or behind trusted proxies the first untrusted X-Forwarded-For entry from the right. */
  function clientAddress(remoteAddress: string, forwardedFor: string | undefined): string | undefined {
    const peer = normalizeAddress(remoteAddress);
    if (peer === undefined) return undefined;
    if (!trusted(peer) || forwardedFor === undefined || forwardedFor.trim() === '') return peer;
    const hops = forwardedFor.split(',');
    let leftmost: string | undefined = peer;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = normalizeAddress(hops[i]!);
      // What a trusted proxy wrote but cannot be read places the request nowhere (fail closed).
      if (hop === undefined) return undefined;
      if (!trusted(hop)) return hop;
      leftmost = hop;
    }
    // Every hop is a trusted proxy: the request began inside the proxy tier.
    return leftmost;
  }

  // The map is fixed for the resolver's life, so an answer is kept per (peer, X-Forwarded-For)
  // pair: clients keep their addresses across requests. Bounded.
  const answers = new BoundedCache<string, ResolvedLocation | undefined>(MAX_CACHED_ANSWERS);
  return {
    resolve(remoteAddress, forwardedFor) {
      const cacheKey = forwardedFor === undefined ? remoteAddress : `${remoteAddress}\u0000${forwardedFor}`;
      if (answers.has(cacheKey)) return answers.get(cacheKey);
      const address = clientAddress(remoteAddress, forwardedFor);
      const hit = address === undefined ? undefined : entries.find((e) => contains(e.list, address));
      const answer = hit && address !== undefined ? Object.freeze({ country: hit.loc.country, site: hit.loc.site, address }) : undefined;
      answers.set(cacheKey, answer);
      return answer;
    },
    reconcile,
    isTrustedProxy(address) {
      const a = normalizeAddress(address);
      return a !== undefined && trusted(a);
    },
  };
}

/**
 * The place a request comes from, for the rules: the network location, unless there is none or
 * the token's location disagrees with it (country or site), in which case the place is unknown.
 */
export function reconcile(resolved: ResolvedLocation | undefined, tokenLocation: { country?: string; site?: string } | undefined): RequestLocation {
  if (resolved === undefined) return { country: UNKNOWN_PLACE, site: UNKNOWN_PLACE, mismatch: false };
  if (tokenLocation !== undefined) {
    const countryDiffers = tokenLocation.country !== undefined && tokenLocation.country !== resolved.country;
    const siteDiffers = tokenLocation.site !== undefined && tokenLocation.site !== resolved.site;
    if (countryDiffers || siteDiffers) return { country: UNKNOWN_PLACE, site: UNKNOWN_PLACE, mismatch: true };
  }
  return { country: resolved.country, site: resolved.site, mismatch: false };
}
