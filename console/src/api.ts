// The console talks to the server only over its HTTP API, as the signed-in principal.

export interface Session {
  readonly principal: string;
  readonly token: string;
  /** Demo: the address of the persona's site, sent as X-Forwarded-For (the demo trusts this host as a proxy). */
  readonly forwardedFor?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export type Json = Record<string, unknown>;

export async function api<T = Json>(session: Session | undefined, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (session) {
    headers['authorization'] = `Bearer ${session.token}`;
    if (session.forwardedFor) headers['x-forwarded-for'] = session.forwardedFor;
  }
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  const data = text ? (JSON.parse(text) as Json) : {};
  if (!res.ok) throw new ApiError(res.status, String(data['code'] ?? res.status), String(data['detail'] ?? res.statusText));
  return data as T;
}

export async function apiText(path: string): Promise<string> {
  const res = await fetch(path);
  if (!res.ok) throw new ApiError(res.status, String(res.status), res.statusText);
  return res.text();
}

export interface Persona {
  readonly id: string;
  readonly name: string;
  readonly team: string;
  readonly site: string;
  readonly token: string;
  readonly forwardedFor?: string;
}

export interface Info {
  readonly deployment: string;
  readonly policyVersion: string;
  readonly logOrigin: string;
  readonly logVkey: string;
  readonly statementsVkey: string;
  readonly datasets: { name: string; key: string; fields: string[] }[];
  readonly reasons: { code: string; maxSeconds: number }[];
  readonly demo: boolean;
}

export interface Status {
  readonly policyVersion: string;
  readonly checkpoint: { origin: string; size: number; signedAt: string | null; ageSeconds: number | null; cosignedBy: string[] };
}

/** The query of the page's hash (#/log?principal=x&outcome=refused): how pages link to each other's filtered views. */
export function hashQuery(): URLSearchParams {
  const h = window.location.hash;
  const q = h.indexOf('?');
  return new URLSearchParams(q < 0 ? '' : h.slice(q + 1));
}

/** A link to the Log page filtered so (drill-down from a count to the records behind it). */
export function logLink(filters: Record<string, string>): string {
  return `#/log?${new URLSearchParams(filters).toString()}`;
}

/** Seconds as a short age: 42s, 3m 05s, 2h 10m, 3d 4h. */
export function age(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${String(seconds % 60).padStart(2, '0')}s`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(seconds / 86400)}d ${Math.floor((seconds % 86400) / 3600)}h`;
}
