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
