/**
 * Spelled-out English numbers → digits, over a token list, for WER scoring (see
 * {@link spellNumbers}). Own grammar, written for this project:
 * - cardinals: "one hundred and five" → "105", "two thousand twenty six" → "2026",
 *   "a hundred" and a bare "hundred" → "100" ("a" is one only right before hundred/thousand/million/…);
 * - year pairs (10–99 then 10–99, or then "oh"/"zero" + digit): "fourteen fifty five" → "1455",
 *   "nineteen oh five" → "1905";
 * - digit strings (two or more single-digit words, "double x", "triple x"): "one oh one" → "101",
 *   "double seven" → "77". "oh"/"o" is zero only inside such a string or a year pair;
 * - decimals: "three point five" → "3.5", "two point five million" → "2500000";
 * - ordinals and plurals: "twenty third" → "23rd", "nineteen sixties" → "1960s", "thousands" → "1000s";
 * - percent and money, spelled or in digits: "twenty percent" → "20%", "five dollars" → "$5",
 *   "five dollars and fifty cents" → "$5.50", "five pounds" → "£5", "five euros" → "€5";
 *   cents are always written in dollars: "ten cents" → "$0.10" (and "10¢" → "$0.10");
 * - digits with a scale word: "2.5 million" → "2500000", "$5 million" → "$5000000"; other numbers in
 *   digits stay as written, except that a bare leading point gets a zero (".5" → "0.5").
 * Numbers never run across a {@link BREAK} token (sentence punctuation), so "five, six" stays "5 6".
 */

/** Token that marks sentence punctuation (, ; : . ! ? dashes) between words; numbers stop there. */
export const BREAK = "\u0000";

const UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
const TEENS = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"];
const TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];
const UNIT_ORDINALS = ["zeroth", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth"];
const TEEN_ORDINALS = ["tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth", "nineteenth"];
/** Scale words with their power of ten. */
const SCALES: Record<string, number> = {
  hundred: 2, thousand: 3, million: 6, billion: 9, trillion: 12, quadrillion: 15, quintillion: 18,
};

/** What one number word contributes: its class, value, and whether it closes the number as an ordinal or plural. */
interface NumberWord {
  kind: "unit" | "teen" | "tens" | "scale";
  /** Face value (1–99), or the power of ten for a scale word. */
  value: number;
  suffix?: "ordinal" | "plural";
}

const LEXICON = new Map<string, NumberWord>();
UNITS.forEach((w, v) => LEXICON.set(w, { kind: "unit", value: v }));
UNIT_ORDINALS.forEach((w, v) => LEXICON.set(w, { kind: "unit", value: v, suffix: "ordinal" }));
TEENS.forEach((w, i) => LEXICON.set(w, { kind: "teen", value: 10 + i }));
TEEN_ORDINALS.forEach((w, i) => LEXICON.set(w, { kind: "teen", value: 10 + i, suffix: "ordinal" }));
TENS.forEach((w, i) => {
  if (!w) return;
  const stem = w.slice(0, -1); // "twenty" → "twent"
  LEXICON.set(w, { kind: "tens", value: i * 10 });
  LEXICON.set(`${stem}ieth`, { kind: "tens", value: i * 10, suffix: "ordinal" });
  LEXICON.set(`${stem}ies`, { kind: "tens", value: i * 10, suffix: "plural" });
});
for (const [w, p] of Object.entries(SCALES)) {
  LEXICON.set(w, { kind: "scale", value: p });
  LEXICON.set(`${w}th`, { kind: "scale", value: p, suffix: "ordinal" });
  LEXICON.set(`${w}s`, { kind: "scale", value: p, suffix: "plural" });
}

const ZERO_WORDS = new Set(["oh", "o"]);
// Maps, not object literals: a token such as "constructor" must not find an inherited property.
const REPEATERS = new Map([["double", 2], ["triple", 3]]);
const CURRENCY_WORDS = new Map([
  ["dollar", "$"], ["dollars", "$"], ["pound", "£"], ["pounds", "£"], ["euro", "€"], ["euros", "€"],
]);
const CENT_WORDS = new Set(["cent", "cents"]);

/** A parsed number: decimal digits (`int`, `frac`) plus what closes it. */
interface Parsed {
  int: string;
  frac: string;
  suffix?: "ordinal" | "plural";
  /** Index of the first token after the number. */
  end: number;
}

const pow10 = (p: number): bigint => 10n ** BigInt(p);

/** `int.frac × 10^p` as digit strings, e.g. ("2", "5", 6) → ("2500000", ""). */
function shift(int: string, frac: string, p: number): { int: string; frac: string } {
  const digits = int + frac.padEnd(p, "0");
  const point = int.length + p;
  const whole = digits.slice(0, point).replace(/^0+(?=\d)/, "");
  return { int: whole, frac: digits.slice(point) };
}

/** Single-digit word at `i` ("zero"…"nine"; "oh"/"o" too when `allowOh`), or undefined. */
function digitAt(tokens: readonly string[], i: number, allowOh: boolean): string | undefined {
  const w = tokens[i];
  if (w === undefined) return undefined;
  const entry = LEXICON.get(w);
  if (entry?.kind === "unit" && !entry.suffix) return String(entry.value);
  if (allowOh && ZERO_WORDS.has(w)) return "0";
  return undefined;
}

/**
 * Digit string at `i`: single-digit words, "double x", "triple x", and "oh" once a digit came before
 * and another follows. Needs at least two digits to count (a lone "five" is a cardinal).
 */
function readDigitString(tokens: readonly string[], i: number): Parsed | undefined {
  let digits = "";
  let j = i;
  for (;;) {
    const times = REPEATERS.get(tokens[j]);
    if (times) {
      const d = digitAt(tokens, j + 1, true);
      if (d === undefined) break;
      digits += d.repeat(times);
      j += 2;
      continue;
    }
    const ohAllowed = digits.length > 0 && digitAt(tokens, j + 1, true) !== undefined;
    const d = digitAt(tokens, j, ohAllowed);
    if (d === undefined) break;
    digits += d;
    j += 1;
  }
  return digits.length >= 2 ? { int: digits, frac: "", end: j } : undefined;
}

/**
 * Cardinal at `i` by accumulation: `total` holds the finished scale groups, `group` the part below
 * the last scale word. A word that cannot follow the previous one ends the number before it.
 */
function readCardinal(tokens: readonly string[], i: number): (Parsed & { words: NumberWord[] }) | undefined {
  let total = 0n;
  let group = 0n;
  let lastScale = Infinity; // scale groups must come in falling order: "million … thousand …"
  let prev: NumberWord | "and" | undefined;
  const words: NumberWord[] = [];
  let j = i;
  const next = (k: number): NumberWord | undefined => LEXICON.get(tokens[k] ?? "");
  // "a hundred", "a thousand": "a" is one only here.
  if (tokens[j] === "a" && next(j + 1)?.kind === "scale" && !next(j + 1)?.suffix) {
    group = 1n;
    prev = { kind: "unit", value: 1 };
    j += 1;
  }
  for (; j < tokens.length; j++) {
    if (tokens[j] === "and") {
      // "hundred and five", "thousand and one": only between a scale word and a smaller number.
      const after = next(j + 1);
      if (typeof prev === "object" && prev.kind === "scale" && after && after.kind !== "scale") {
        prev = "and";
        continue;
      }
      break;
    }
    const word = next(j);
    if (!word || !follows(prev, word, group, lastScale)) break;
    if (word.kind !== "scale") group += BigInt(word.value);
    else if (word.value === 2) group = (group || 1n) * 100n;
    else {
      total += (group || 1n) * pow10(word.value);
      group = 0n;
      lastScale = word.value;
    }
    words.push(word);
    prev = word;
    if (word.suffix) {
      j += 1;
      break;
    }
  }
  if (words.length === 0) return undefined;
  if (prev === "and") j -= 1; // a trailing "and" is not part of the number
  return { int: String(total + group), frac: "", suffix: words[words.length - 1].suffix, end: j, words };
}

/** May `word` come after `prev` in one cardinal? `group`: value below the last scale word. */
function follows(prev: NumberWord | "and" | undefined, word: NumberWord, group: bigint, lastScale: number): boolean {
  if (prev === undefined) return true; // any number word can start one; "hundred" alone is 100
  if (prev !== "and" && prev.kind === "unit" && prev.value === 0) return false; // "zero" stands alone
  // Is the ones/tens slot of the current group still free?
  const open = prev === "and" || prev.kind === "scale";
  switch (word.kind) {
    case "unit":
      return word.value > 0 && (open || prev.kind === "tens");
    case "teen":
    case "tens":
      return open;
    case "scale":
      if (prev === "and") return false;
      if (word.value === 2) return prev.kind !== "scale" && group > 0n && group < 100n;
      return word.value < lastScale && (group > 0n || prev.kind !== "scale");
  }
}

/** Second half of a year pair at `i`: 10–99 from words, or "oh"/"zero" + digit; with its closing suffix. */
function readYearTail(tokens: readonly string[], i: number): Parsed | undefined {
  const lead = tokens[i];
  if (lead === "zero" || ZERO_WORDS.has(lead ?? "")) {
    const d = digitAt(tokens, i + 1, false);
    return d === undefined || d === "0" ? undefined : { int: `0${d}`, frac: "", end: i + 2 };
  }
  const tail = readCardinal(tokens, i);
  if (!tail || tail.words.some((w) => w.kind === "scale")) return undefined;
  const value = Number(tail.int);
  return value >= 10 && value <= 99 ? tail : undefined;
}

/** Any spelled number at `i`, with its decimal part and scale words, before percent/money. */
function readNumber(tokens: readonly string[], i: number): Parsed | undefined {
  let n: Parsed | undefined = readDigitString(tokens, i);
  if (!n) {
    const c = readCardinal(tokens, i);
    if (!c) return undefined;
    n = c;
    // "fourteen fifty five": a lone 10–99 followed by another 10–99 reads as a year.
    // Only [teen], [tens] or [tens unit] can be a year's first half.
    const first = c.words[0].kind;
    const twoDigit = (first === "teen" || first === "tens") && c.words.every((w) => w.kind !== "scale");
    if (twoDigit && !c.suffix) {
      const tail = readYearTail(tokens, c.end);
      if (tail) n = { int: String(Number(c.int) * 100 + Number(tail.int)), frac: "", suffix: tail.suffix, end: tail.end };
    }
  }
  if (n.suffix) return n;
  return readFraction(tokens, n);
}

/** "… point five" and a following scale word ("two point five million"). */
function readFraction(tokens: readonly string[], n: Parsed): Parsed {
  let { int, frac, end } = n;
  if (tokens[end] === "point" && digitAt(tokens, end + 1, true) !== undefined) {
    let j = end + 1;
    frac = "";
    for (let d = digitAt(tokens, j, true); d !== undefined; d = digitAt(tokens, ++j, true)) frac += d;
    end = j;
  }
  const scale = LEXICON.get(tokens[end] ?? "");
  if (frac && scale?.kind === "scale" && !scale.suffix) {
    ({ int, frac } = shift(int, frac, scale.value));
    end += 1;
  }
  return { int, frac, end };
}

/** English ordinal suffix of a whole number: 1st, 2nd, 3rd, 11th–13th, 21st, … */
function ordinalSuffix(int: string): string {
  const n = Number(int.slice(-2));
  if (n >= 11 && n <= 13) return "th";
  return ["th", "st", "nd", "rd"][n % 10] ?? "th";
}

const plain = (n: { int: string; frac: string }): string => (n.frac ? `${n.int}.${n.frac}` : n.int);

/** Cents as dollars with at least two decimals: 10 → "$0.10", 5 → "$0.05", 150 → "$1.50". */
function centsAsDollars(n: { int: string; frac: string }): string {
  const s = n.int.replace(/^0+/, "").padStart(3, "0");
  return `$${s.slice(0, -2)}.${s.slice(-2)}${n.frac}`;
}

/** A token written in digits, e.g. "42", "3.5", "$3.50", "10.5%", "10¢", split into its parts. */
const DIGIT_TOKEN = /^([$£€]?)(\d*)(?:\.(\d+))?([%¢]?)$/;

/** Number written in digits at `i`, taking scale words after it ("2 thousand", "$5 million"). */
function readDigitToken(tokens: readonly string[], i: number): (Parsed & { currency: string; mark: string }) | undefined {
  const m = DIGIT_TOKEN.exec(tokens[i]);
  if (!m || (!m[2] && !m[3])) return undefined;
  let int = m[2] || "0";
  let frac = m[3] ?? "";
  let end = i + 1;
  const scale = LEXICON.get(tokens[end] ?? "");
  if (!m[4] && scale?.kind === "scale" && !scale.suffix) {
    ({ int, frac } = shift(int, frac, scale.value));
    end += 1;
  }
  return { int, frac, end, currency: m[1], mark: m[4] };
}

/** Percent and money words after a number; returns the final text and where it ends. */
function applyUnit(tokens: readonly string[], n: Parsed, currency = ""): { text: string; end: number } {
  const w = tokens[n.end];
  if (!currency && w === "percent") return { text: `${plain(n)}%`, end: n.end + 1 };
  if (!currency && w === "per" && tokens[n.end + 1] === "cent") return { text: `${plain(n)}%`, end: n.end + 2 };
  if (!currency && w !== undefined && CENT_WORDS.has(w)) return { text: centsAsDollars(n), end: n.end + 1 };
  const symbol = currency || (w !== undefined ? CURRENCY_WORDS.get(w) : undefined);
  if (!symbol) return { text: plain(n), end: n.end };
  let end = currency ? n.end : n.end + 1;
  let text = `${symbol}${plain(n)}`;
  // "five dollars (and) fifty cents" → "$5.50"
  if (symbol === "$" && !n.frac && !currency) {
    const at = tokens[end] === "and" ? end + 1 : end;
    const cents = readCardinal(tokens, at);
    if (cents && !cents.suffix && Number(cents.int) < 100 && CENT_WORDS.has(tokens[cents.end] ?? "")) {
      text = `$${n.int}.${cents.int.padStart(2, "0")}`;
      end = cents.end + 1;
    }
  }
  return { text, end };
}

/**
 * Replace spelled-out numbers in a token list with digits (rules in the module comment).
 * @param tokens lower-case words, digit tokens and {@link BREAK} markers
 * @returns the words with numbers rewritten; {@link BREAK} markers removed
 */
export function spellNumbers(tokens: readonly string[]): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < tokens.length) {
    const t = tokens[i];
    if (t === BREAK) {
      i += 1;
      continue;
    }
    const digits = readDigitToken(tokens, i);
    if (digits) {
      if (digits.mark === "¢") out.push(centsAsDollars(digits));
      else if (digits.mark === "%") out.push(`${plain(digits)}%`);
      else {
        const r = applyUnit(tokens, digits, digits.currency);
        out.push(r.text);
        i = r.end;
        continue;
      }
      i = digits.end;
      continue;
    }
    const n = readNumber(tokens, i);
    if (!n) {
      out.push(t);
      i += 1;
      continue;
    }
    if (n.suffix === "ordinal") out.push(n.int + ordinalSuffix(n.int));
    else if (n.suffix === "plural") out.push(`${n.int}s`);
    else {
      const r = applyUnit(tokens, n);
      out.push(r.text);
      i = r.end;
      continue;
    }
    i = n.end;
  }
  return out;
}
