// Random identifiers from the platform's CSPRNG (browsers, React Native with a
// getRandomValues polyfill, Node 20+).

function randomBytes(count) {
  const cryptoApi = globalThis.crypto;
  if (!cryptoApi?.getRandomValues) {
    throw new Error("@userdb/client needs crypto.getRandomValues (on React Native: react-native-get-random-values)");
  }
  return cryptoApi.getRandomValues(new Uint8Array(count));
}

/** A UUID v4 (client ids, Idempotency-Keys); crypto.randomUUID is missing outside secure contexts. */
export function uuid() {
  const bytes = randomBytes(16);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** A document id chosen here, so an offline create has its final id at once:
 * 22 base-62 characters (about 131 bits), within the server's `[A-Za-z0-9_-]{1,128}`. */
export function newDocId() {
  const bytes = randomBytes(22);
  return [...bytes].map((b) => ALPHABET[b % 62]).join("");
}

export const DOC_ID = /^[A-Za-z0-9_-]{1,128}$/;
