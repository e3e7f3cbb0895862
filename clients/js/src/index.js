// @userdb/client: the userdb client for web and mobile apps (README.md).

export { createClient, Client } from "./client.js";
export { memoryStorage, indexedDBStorage } from "./storage.js";
export {
  UserdbError,
  NetworkError,
  NotSignedInError,
  ApiError,
  BadRequestError,
  UnauthorizedError,
  ForbiddenError,
  NotFoundError,
  ConflictError,
  VersionMismatchError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  RateLimitedError,
  ServiceUnavailableError,
  ServerError,
} from "./errors.js";
export { State, SyncEngine, backoffDelay, pingDelay, parseChanges, docKey, DEFAULT_TIMINGS } from "./sync_engine.js";
export { mergePatch, matchesWhere } from "./replica.js";
export { uuid, newDocId } from "./ids.js";
