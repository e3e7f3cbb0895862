// How much room a note has left. The server takes a document's data up to 64 KiB of
// compact UTF-8 JSON (DESIGN §7): for a note, {"text": …}, where quotes, backslashes
// and control characters take escapes and other characters 1 to 4 bytes. People count
// characters, not bytes, so the room is told in characters: exactly when over (how many
// to remove), and when under, how many more of the kind of characters in the note fit.

export const MAX_DATA_BYTES = 64 * 1024;
const encoder = new TextEncoder();

export function dataBytes(text) {
  return encoder.encode(JSON.stringify({ text })).length;
}

/** {left, over}: characters that still fit (an estimate) or must go (exact). */
export function roomLeft(text) {
  const bytes = dataBytes(text);
  if (bytes <= MAX_DATA_BYTES) {
    const characters = [...text];
    const perCharacter = characters.length ? Math.max(1, (bytes - dataBytes("")) / characters.length) : 1;
    return { left: Math.floor((MAX_DATA_BYTES - bytes) / perCharacter), over: 0 };
  }
  // Over: drop characters from the end until the rest fits.
  const characters = [...text];
  let excess = bytes - MAX_DATA_BYTES;
  let over = 0;
  while (excess > 0 && over < characters.length) {
    over += 1;
    excess -= dataBytes(characters[characters.length - over]) - dataBytes("");
  }
  return { left: 0, over };
}

const number = new Intl.NumberFormat();

/** The counter's text and its level (ok, low, over). */
export function roomLabel(text) {
  const { left, over } = roomLeft(text);
  if (over) return { text: `${number.format(over)} character${over === 1 ? "" : "s"} too many`, level: "over" };
  return { text: `${number.format(left)} character${left === 1 ? "" : "s"} left`, level: left < 1000 ? "low" : "ok" };
}
