// Every failure of the API is an ApiError with the server's stable code (DESIGN §4),
// as its own class by status, or a NetworkError: nothing is swallowed. The names are
// the Python SDK's (userdb/errors.py).

export class UserdbError extends Error {
  constructor(message) {
    super(message);
    this.name = new.target.name;
  }
}

/** The server could not be reached (offline, DNS, refused): writes wait in the outbox. */
export class NetworkError extends UserdbError {}

/** No session: sign up, log in or pass a token first. */
export class NotSignedInError extends UserdbError {}

/** The server answered, and refused. `code` is its stable error code. */
export class ApiError extends UserdbError {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   * @param {{details?: object[], retryAfter?: number|null}} [extra]
   */
  constructor(status, code, message, { details = [], retryAfter = null } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfter = retryAfter;
  }
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

const BY_STATUS = new Map([
  [400, BadRequestError],
  [401, UnauthorizedError],
  [403, ForbiddenError],
  [404, NotFoundError],
  [409, ConflictError],
  [412, VersionMismatchError],
  [413, PayloadTooLargeError],
  [415, UnsupportedMediaTypeError],
  [429, RateLimitedError],
  [503, ServiceUnavailableError],
]);

/** The error for a refused request, of the class its status calls for. */
export function apiError(status, code, message, extra) {
  const Kind = BY_STATUS.get(status) ?? (status >= 500 ? ServerError : ApiError);
  return new Kind(status, code, message, extra);
}

/** True when the server refused a write for good: retrying the same request cannot help. */
export function isRefusal(error) {
  return error instanceof ApiError && error.status >= 400 && error.status < 500 && ![401, 408, 429].includes(error.status);
}
