// The part of node-postgres (pg) the wire gateway's tests use: a client, parameterized queries, notices.
declare module 'pg' {
  export interface ClientConfig {
    host?: string;
    port?: number;
    user?: string;
    password?: string;
    database?: string;
    /** Ask for every result in binary format. */
    binary?: boolean;
    /** The startup packet's options (`-c name=value`). */
    options?: string;
    /** TLS: the server's CA and the name its certificate must carry (node:tls connect options). */
    ssl?: boolean | { ca?: string | Buffer; servername?: string; rejectUnauthorized?: boolean };
  }
  export interface FieldDef {
    name: string;
    dataTypeID: number;
  }
  export interface QueryResult<R = Record<string, unknown>> {
    rows: R[];
    fields: FieldDef[];
    rowCount: number | null;
    command: string;
  }
  export class Client {
    constructor(config?: ClientConfig);
    connect(): Promise<void>;
    query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
    end(): Promise<void>;
    on(event: 'notice', listener: (notice: Error) => void): this;
  }
  const pg: { Client: typeof Client };
  export default pg;
}
