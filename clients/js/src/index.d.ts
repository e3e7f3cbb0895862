// Type declarations of @userdb/client (checked with `tsc --noEmit`, see tsconfig.json).

/** A JSON value, as documents hold. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/**
 * Where the client keeps its session, outbox and replica: the shape of `localStorage` and
 * of React Native's AsyncStorage. Each method may answer at once or with a promise.
 */
export interface Storage {
  getItem(key: string): string | null | undefined | Promise<string | null | undefined>;
  setItem(key: string, value: string): void | Promise<void>;
  removeItem(key: string): void | Promise<void>;
}

/** A WebSocket class with the WHATWG API: the browser's, React Native's, or `ws`'s on Node. */
export type WebSocketClass = new (url: string) => {
  readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: any) => void) | null;
  onmessage: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
};

export interface ClientOptions {
  /** The REST API's root, e.g. "http://127.0.0.1:8000/api" (locally) or the stage URL on AWS. */
  url: string;
  /** The WebSocket API's URL, e.g. "ws://127.0.0.1:8001/"; without it the client does not go live. */
  wsUrl?: string | null;
  /** Where to keep the session, outbox and replica (default: memory, gone with the client). */
  storage?: Storage;
  /** The WebSocket class (default: globalThis.WebSocket; on Node 20 pass `ws`'s). */
  WebSocket?: WebSocketClass | any;
  /** Follow only these collections (default: every collection). */
  collections?: string[] | null;
  /** This client's id (default: one made once and kept in storage). One connection per id. */
  clientId?: string;
  /** The fetch to use (default: globalThis.fetch). */
  fetch?: typeof fetch;
  /** Prefix of the storage keys (default "userdb"): two apps can share one storage. */
  namespace?: string;
  /** Protocol intervals in seconds (tests); DESIGN §5 fixes the defaults. */
  timings?: Partial<Timings>;
}

export interface Timings {
  ackInterval: number;
  pingInterval: number;
  pongTimeout: number;
  welcomeTimeout: number;
  syncTimeout: number;
  backoffInitial: number;
  backoffMax: number;
  offlineAfterFailures: number;
  maxPendingMessages: number;
  renewAfter: number;
}

/** A document as the server keeps it; `pending` while this client's write of it is unconfirmed. */
export interface Doc<T extends JsonObject = JsonObject> {
  collection: string;
  id: string;
  data: T;
  version: number;
  created: number;
  updated: number;
  pending?: boolean;
}

export interface DeletedDoc {
  collection: string;
  id: string;
  version?: number;
  deleted: true;
}

export type ConnectionStateName = "connecting" | "live" | "reconnecting" | "offline";

export interface ConnectionState {
  state: ConnectionStateName;
  /** Why it is not live (null when live or connecting for the first time). */
  reason: string | null;
  /** Seconds until the next attempt, when one is scheduled. */
  retryIn: number | null;
  failures: number;
  cursor: number | null;
}

export interface User {
  id: string;
  email: string;
  name: string;
  [field: string]: Json | undefined;
}

export interface SessionInfo {
  id: string;
  [field: string]: Json | undefined;
}

export interface Auth {
  readonly user: User | null;
  readonly token: string | null;
  signUp(account: { email: string; password: string; name: string }): Promise<User>;
  logIn(credentials: { email: string; password: string }): Promise<User>;
  /** Sign in with a session token obtained elsewhere (an OAuth redirect's fragment). */
  useToken(token: string): Promise<User>;
  /** Ends the session on the server and forgets it here, with the replica and unsent writes. */
  logOut(): Promise<void>;
  session(): Promise<{ user: User; session: SessionInfo }>;
  sessions(): Promise<SessionInfo[]>;
  revoke(id: string): Promise<void>;
}

export interface ListOptions<T extends JsonObject> {
  /** Equality on top-level fields of `data`. */
  where?: Partial<T> | null;
}

export interface Collection<T extends JsonObject = JsonObject> {
  readonly name: string;
  get(id: string): Promise<Doc<T> | null>;
  list(options?: ListOptions<T>): Promise<Doc<T>[]>;
  create(data: T, options?: { id?: string }): Promise<Doc<T>>;
  put(id: string, data: T, options?: { ifMatch?: number }): Promise<Doc<T>>;
  /** JSON Merge Patch (RFC 7386): null removes a field. */
  patch(id: string, mergePatch: { [K in keyof T]?: T[K] | null } & JsonObject, options?: { ifMatch?: number }): Promise<Doc<T>>;
  delete(id: string, options?: { ifMatch?: number }): Promise<DeletedDoc>;
  /** Called with the current documents now, then on every change; returns the unsubscribe function. */
  subscribe(callback: (docs: Doc<T>[]) => void, options?: ListOptions<T>): () => void;
}

export type BatchOp =
  | { op: "create"; collection: string; id?: string; data: JsonObject }
  | { op: "put"; collection: string; id: string; data: JsonObject; ifMatch?: number }
  | { op: "patch"; collection: string; id: string; data: JsonObject; ifMatch?: number }
  | { op: "delete"; collection: string; id: string; ifMatch?: number };

export interface ClientEvents {
  state: ConnectionState;
  auth: User | null;
  unauthorized: { reason: string };
  rejected: { ops: BatchOp[]; error: ApiError };
  outbox: { pending: number };
  serverError: { code: string; message: string };
  storageError: unknown;
}

export interface Client {
  readonly auth: Auth;
  readonly state: ConnectionState;
  readonly pendingWrites: number;
  readonly clientId: string | null;
  /** Resolves once the session, replica and outbox have been read from storage. */
  readonly ready: Promise<void>;
  collection<T extends JsonObject = JsonObject>(name: string): Collection<T>;
  batch(ops: BatchOp[]): Promise<Array<Doc | DeletedDoc>>;
  on<E extends keyof ClientEvents>(event: E, listener: (value: ClientEvents[E]) => void): () => void;
  /** Any route of the API as this session (e.g. GET /me); the JSON answer. */
  request<T = any>(
    method: string,
    path: string,
    options?: { body?: unknown; query?: Record<string, string | number | boolean | null | undefined>; headers?: Record<string, string> },
  ): Promise<T>;
  reconnect(): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}

export function createClient(options: ClientOptions): Client;

export function memoryStorage(initial?: Record<string, string>): Storage & { keys(): string[] };
export function indexedDBStorage(options?: { name?: string; store?: string; indexedDB?: unknown }): Storage;

export class UserdbError extends Error {}
export class NetworkError extends UserdbError {}
export class NotSignedInError extends UserdbError {}
export class ApiError extends UserdbError {
  readonly status: number;
  readonly code: string;
  readonly details: Array<{ field?: string; message?: string; type?: string; op?: number; [key: string]: Json | undefined }>;
  readonly retryAfter: number | null;
}
export class BadRequestError extends ApiError {}
export class UnauthorizedError extends ApiError {}
export class ForbiddenError extends ApiError {}
export class NotFoundError extends ApiError {}
export class ConflictError extends ApiError {}
export class VersionMismatchError extends ApiError {}
export class PayloadTooLargeError extends ApiError {}
export class UnsupportedMediaTypeError extends ApiError {}
export class RateLimitedError extends ApiError {}
export class ServiceUnavailableError extends ApiError {}
export class ServerError extends ApiError {}

export const State: {
  readonly CONNECTING: "connecting";
  readonly LIVE: "live";
  readonly RECONNECTING: "reconnecting";
  readonly OFFLINE: "offline";
};
export const DEFAULT_TIMINGS: Readonly<Timings>;

export type Effect =
  | { type: "connect"; attempt: number }
  | { type: "send"; message: JsonObject }
  | { type: "disconnect"; reason: string }
  | { type: "save"; state: { clientId: string; cursor: number | null; docs: Doc[] } }
  | { type: "status"; status: ConnectionState }
  | { type: "docs"; changes: { snapshot: boolean; upserted: Doc[]; deleted: Array<{ collection: string; id: string }>; cursor: number | null; local: boolean } }
  | { type: "serverError"; code: string; message: string };

/** The protocol's client rules without I/O (DESIGN §5), for drivers of one's own. */
export class SyncEngine {
  constructor(
    state: { clientId: string; cursor: number | null; docs?: Iterable<[string, Doc]> },
    options: { clock: () => number; random?: () => number; timings?: Partial<Timings>; collections?: string[] | null },
  );
  readonly state: { clientId: string; cursor: number | null; docs: Map<string, Doc> };
  readonly status: ConnectionState;
  readonly running: boolean;
  nextTimer(): number | null;
  start(): Effect[];
  stop(reason?: string): Effect[];
  onOpen(): Effect[];
  onConnectFailed(reason: string, status?: number | null): Effect[];
  onClose(reason: string): Effect[];
  onMessage(text: string): Effect[];
  tick(): Effect[];
  retryNow(): Effect[];
  requestSync(): Effect[];
  applyLocal(doc: Doc): Effect[];
  forgetLocal(collection: string, id: string): Effect[];
}

export function backoffDelay(failures: number, timings?: Partial<Timings>, random?: () => number): number;
export function pingDelay(timings?: Partial<Timings>, random?: () => number): number;
export function parseChanges(message: JsonObject): {
  from: number;
  to: number;
  snapshot: boolean;
  docs: Doc[];
  deletions: Array<{ collection: string; id: string; version: number }>;
  more: boolean;
};
export function docKey(collection: string, id: string): string;
export function mergePatch(target: Json, patch: Json): Json;
export function matchesWhere(doc: Doc, where: JsonObject | null | undefined): boolean;
export function uuid(): string;
export function newDocId(): string;
