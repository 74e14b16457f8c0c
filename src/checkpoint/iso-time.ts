/**
 * Whether a timestamp is canonical ISO-8601 text: what `toISOString` writes for the instant the
 * text names, so that it can be kept as a time and written back identically. The adapter asks it
 * of every LangGraph checkpoint and the SQLite backend of every row it stores, on the write path,
 * so the usual form (`YYYY-MM-DDTHH:mm:ss.sssZ`, years 0-9999) is checked field by field: parsing
 * it and formatting it back cost a put about a microsecond more. Any other form is parsed.
 */

/** The usual form, `d` standing for a digit. */
const SHAPE = "dddd-dd-ddTdd:dd:dd.dddZ";
const DIGIT = "d".charCodeAt(0);
const ZERO = "0".charCodeAt(0);

/** True when `text` is exactly what `toISOString` writes for the instant it names. */
export function isCanonicalIsoTime(text: string): boolean {
  if (text.length !== SHAPE.length) return roundTrips(text);
  for (let i = 0; i < SHAPE.length; i++) {
    const code = text.charCodeAt(i);
    const want = SHAPE.charCodeAt(i);
    const fits = want === DIGIT ? code >= ZERO && code <= ZERO + 9 : code === want;
    if (!fits) return roundTrips(text);
  }
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  // 31 days in odd months up to July and even ones from August on.
  const days = month === 2 ? (leap ? 29 : 28) : 30 + ((month + (month >> 3)) & 1);
  return (
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= days &&
    digits(text, 11, 2) < 24 &&
    digits(text, 14, 2) < 60 &&
    digits(text, 17, 2) < 60
  );
}

function roundTrips(text: string): boolean {
  const ms = Date.parse(text);
  return Number.isFinite(ms) && new Date(ms).toISOString() === text;
}

/** The number written by `count` decimal digits of `text` from `at`. */
function digits(text: string, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) value = value * 10 + text.charCodeAt(i) - ZERO;
  return value;
}
