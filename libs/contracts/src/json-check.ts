/**
 * Checks that bytes are one JSON text (RFC 8259, as JSON.parse reads it) without building anything.
 *
 * The batcher copies the fan-out's serialised `data` into the payloads as it is (dispatch-wire.ts), so
 * it must know the bytes are one JSON object; parsing them with JSON.parse to find out made a string
 * and an object tree per record only to drop them, and a young-generation collection is paid per
 * megabyte allocated. This scanner answers the same question from the bytes: the same CPU, no garbage.
 *
 * It checks syntax only. UTF-8 is checked apart (node:buffer isUtf8); bytes of 0x80 and above are taken
 * inside strings, as JSON.parse takes any character there but the controls below U+0020.
 */

/** The answer: `ok`, or the byte position where the text stops being JSON. */
export type JsonCheck = { ok: true; object: boolean } | { ok: false; at: number };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

/** Whether `c` is a character JSON allows between tokens (space, tab, line feed, carriage return). */
function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}

function isHex(c: number): boolean {
  return (c >= ZERO && c <= NINE) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** The position after the string that opens at `i` (its quote), or -1 - the position of its fault. */
function skipString(b: Uint8Array, i: number): number {
  const n = b.length;
  i += 1;
  while (i < n) {
    const c = b[i]!;
    if (c === QUOTE) return i + 1;
    if (c < 0x20) return -1 - i;
    if (c === BACKSLASH) {
      const e = b[i + 1];
      if (e === 0x75) {
        // \uXXXX: four hex digits (a lone surrogate is allowed, as JSON.parse allows it).
        for (let k = 2; k < 6; k++) if (i + k >= n || !isHex(b[i + k]!)) return -1 - Math.min(i + k, n);
        i += 6;
        continue;
      }
      if (
        e === QUOTE ||
        e === BACKSLASH ||
        e === 0x2f ||
        e === 0x62 ||
        e === 0x66 ||
        e === 0x6e ||
        e === 0x72 ||
        e === 0x74
      ) {
        i += 2;
        continue;
      }
      return -1 - Math.min(i + 1, n);
    }
    i += 1;
  }
  return -1 - n;
}

/** The position after the number that starts at `i`, or -1 - the position of its fault. */
function skipNumber(b: Uint8Array, i: number): number {
  const n = b.length;
  if (b[i] === MINUS) i += 1;
  if (i >= n) return -1 - n;
  if (b[i] === ZERO) i += 1;
  else if (isDigit(b[i]!)) while (i < n && isDigit(b[i]!)) i += 1;
  else return -1 - i;
  if (b[i] === DOT) {
    i += 1;
    if (i >= n || !isDigit(b[i]!)) return -1 - i;
    while (i < n && isDigit(b[i]!)) i += 1;
  }
  if (b[i] === 0x65 || b[i] === 0x45) {
    i += 1;
    if (b[i] === PLUS || b[i] === MINUS) i += 1;
    if (i >= n || !isDigit(b[i]!)) return -1 - i;
    while (i < n && isDigit(b[i]!)) i += 1;
  }
  return i;
}

const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];
const NULL = [0x6e, 0x75, 0x6c, 0x6c];

function skipWord(b: Uint8Array, i: number, word: readonly number[]): number {
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word[k]) return -1 - Math.min(i + k, b.length);
  return i + word.length;
}

/** Past a scalar (string, number, literal) at `i`, or -1 - the fault's position. */
function skipScalar(b: Uint8Array, i: number, c: number): number {
  if (c === QUOTE) return skipString(b, i);
  if (c === MINUS || isDigit(c)) return skipNumber(b, i);
  if (c === 0x74) return skipWord(b, i, TRUE);
  if (c === 0x66) return skipWord(b, i, FALSE);
  if (c === 0x6e) return skipWord(b, i, NULL);
  return -1 - i;
}

/**
 * Whether `b` is exactly one JSON text (whitespace around it allowed), and whether that text is an
 * object. Nesting is tracked on an explicit stack, so depth costs memory (one byte per level), not
 * the call stack.
 */
export function checkJson(b: Uint8Array): JsonCheck {
  const n = b.length;
  let stack = new Uint8Array(32);
  let depth = 0;
  let i = 0;
  while (i < n && isSpace(b[i]!)) i++;
  if (i >= n) return { ok: false, at: n };
  const object = b[i] === OPEN_OBJECT;
  // Each turn reads one value at `i` (after whitespace), then what follows it in its container.
  for (;;) {
    while (i < n && isSpace(b[i]!)) i++;
    if (i >= n) return { ok: false, at: n };
    const c = b[i]!;
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (depth === stack.length) {
        const grown = new Uint8Array(stack.length * 2);
        grown.set(stack);
        stack = grown;
      }
      stack[depth++] = c;
      i += 1;
      while (i < n && isSpace(b[i]!)) i++;
      if (c === OPEN_OBJECT) {
        if (b[i] === CLOSE_OBJECT) {
          depth -= 1;
          i += 1;
        } else {
          // The first member's name, then its colon; the loop reads its value.
          if (b[i] !== QUOTE) return { ok: false, at: Math.min(i, n) };
          i = skipString(b, i);
          if (i < 0) return { ok: false, at: -1 - i };
          while (i < n && isSpace(b[i]!)) i++;
          if (b[i] !== COLON) return { ok: false, at: Math.min(i, n) };
          i += 1;
          continue;
        }
      } else if (b[i] === CLOSE_ARRAY) {
        depth -= 1;
        i += 1;
      } else continue;
    } else {
      i = skipScalar(b, i, c);
      if (i < 0) return { ok: false, at: -1 - i };
    }
    // After a value: the next member or element, or the end of one or more containers.
    for (;;) {
      while (i < n && isSpace(b[i]!)) i++;
      if (depth === 0) {
        return i === n ? { ok: true, object } : { ok: false, at: i };
      }
      const open = stack[depth - 1];
      const d = b[i];
      if (d === COMMA) {
        i += 1;
        if (open === OPEN_OBJECT) {
          while (i < n && isSpace(b[i]!)) i++;
          if (b[i] !== QUOTE) return { ok: false, at: Math.min(i, n) };
          i = skipString(b, i);
          if (i < 0) return { ok: false, at: -1 - i };
          while (i < n && isSpace(b[i]!)) i++;
          if (b[i] !== COLON) return { ok: false, at: Math.min(i, n) };
          i += 1;
        }
        break;
      }
      if ((d === CLOSE_OBJECT && open === OPEN_OBJECT) || (d === CLOSE_ARRAY && open === OPEN_ARRAY)) {
        depth -= 1;
        i += 1;
        continue;
      }
      return { ok: false, at: Math.min(i, n) };
    }
  }
}
