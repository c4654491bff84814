/**
 * Whisper's English text normalizer, ported to TypeScript for word-error-rate scoring.
 *
 * Source: openai/whisper@c0d2f624c09dc18e709e37c2ad90c039a4eb72a2, `whisper/normalizers/english.py`
 * and `basic.py` (MIT License, Copyright (c) 2022 OpenAI). `english-spelling.json` beside this file is
 * that commit's `whisper/normalizers/english.json` (British → American spellings), unchanged.
 * No maintained npm package implements this normalizer (checked the registry: `word-error-rate`
 * 0.0.7 has no text normalization), so this is a line-by-line port. Differences from the Python:
 * - Python's `int` is unbounded; numbers here are `bigint` so "quintillion" stays exact.
 * - JavaScript's `\b` treats only ASCII letters and digits as word characters (Python: any Unicode
 *   letter). It matters only for non-English text, which this normalizer is not for.
 * - {@link normalizeEnglish} trims the result; Whisper can leave one leading/trailing space.
 *
 * What it does: lower-case; drop `[…]`, `<…>` and `(…)` spans and fillers (hmm, uh, um); expand
 * contractions and titles (mr → mister); remove punctuation and diacritics; spelled-out numbers →
 * digits ("forty two" → "42", "fourteen fifty five" → "1455", "twenty percent" → "20%");
 * British → American spelling.
 */
import spellingMap from "./english-spelling.json";

// ---------------------------------------------------------------------------------------------
// basic.py: remove_symbols_and_diacritics
// ---------------------------------------------------------------------------------------------

/** Non-ASCII letters that NFKD does not split into base letter + mark (basic.py). */
const ADDITIONAL_DIACRITICS: Record<string, string> = {
  œ: "oe", Œ: "OE", ø: "o", Ø: "O", æ: "ae", Æ: "AE", ß: "ss", ẞ: "SS",
  đ: "d", Đ: "D", ð: "d", Ð: "D", þ: "th", Þ: "th", ł: "l", Ł: "L",
};

const NONSPACING_MARK = /^\p{Mn}$/u;
const MARK_SYMBOL_PUNCT = /^[\p{M}\p{S}\p{P}]$/u;

/**
 * Replace marks, symbols and punctuation with a space and drop diacritics (Unicode category Mn,
 * plus {@link ADDITIONAL_DIACRITICS}); characters in `keep` stay as they are.
 */
export function removeSymbolsAndDiacritics(s: string, keep = ""): string {
  let out = "";
  for (const c of s.normalize("NFKD")) {
    if (keep.includes(c)) out += c;
    else if (c in ADDITIONAL_DIACRITICS) out += ADDITIONAL_DIACRITICS[c];
    else if (NONSPACING_MARK.test(c)) out += "";
    else if (MARK_SYMBOL_PUNCT.test(c)) out += " ";
    else out += c;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// english.py: EnglishNumberNormalizer
// ---------------------------------------------------------------------------------------------

/** An exact rational number, enough of Python's `fractions.Fraction` for decimal strings. */
interface Fraction {
  num: bigint;
  den: bigint;
}

function gcd(a: bigint, b: bigint): bigint {
  a = a < 0n ? -a : a;
  b = b < 0n ? -b : b;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/** Python `Fraction(s)` for decimal strings ("12", "1.5", "1.", ".5"); `null` where it would raise. */
function toFraction(s: string | bigint): Fraction | null {
  if (typeof s === "bigint") return { num: s, den: 1n };
  const m = /^\s*([+-]?)(?=\d|\.\d)(\d*)(?:\.(\d*))?\s*$/.exec(s);
  if (!m) return null;
  const decimals = m[3] ?? "";
  let num = BigInt((m[2] || "0") + decimals);
  if (m[1] === "-") num = -num;
  let den = 10n ** BigInt(decimals.length);
  const g = gcd(num, den) || 1n;
  num /= g;
  den /= g;
  return { num, den };
}

type NumValue = bigint | string | null;

const ONES_NAMES = [
  "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
  "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
];

class EnglishNumberNormalizer {
  private readonly zeros = new Set(["o", "oh", "zero"]);
  private readonly ones = new Map<string, number>(ONES_NAMES.map((name, i) => [name, i + 1]));
  private readonly onesSuffixed = new Map<string, [number, string]>();
  private readonly tens = new Map<string, number>([
    ["twenty", 20], ["thirty", 30], ["forty", 40], ["fifty", 50],
    ["sixty", 60], ["seventy", 70], ["eighty", 80], ["ninety", 90],
  ]);
  private readonly tensSuffixed = new Map<string, [number, string]>();
  private readonly multipliers = new Map<string, bigint>();
  private readonly multipliersSuffixed = new Map<string, [bigint, string]>();
  private readonly decimals: Set<string>;
  private readonly precedingPrefixers = new Map([["minus", "-"], ["negative", "-"], ["plus", "+"], ["positive", "+"]]);
  private readonly followingPrefixers = new Map([
    ["pound", "£"], ["pounds", "£"], ["euro", "€"], ["euros", "€"],
    ["dollar", "$"], ["dollars", "$"], ["cent", "¢"], ["cents", "¢"],
  ]);
  private readonly prefixes: Set<string>;
  private readonly suffixers = new Map<string, string | Record<string, string>>([["per", { cent: "%" }], ["percent", "%"]]);
  private readonly specials = new Set(["and", "double", "triple", "point"]);
  private readonly words: Set<string>;

  constructor() {
    for (const [name, value] of this.ones) {
      this.onesSuffixed.set(name === "six" ? "sixes" : name + "s", [value, "s"]);
    }
    const ordinals: [string, number, string][] = [
      ["zeroth", 0, "th"], ["first", 1, "st"], ["second", 2, "nd"], ["third", 3, "rd"],
      ["fifth", 5, "th"], ["twelfth", 12, "th"],
    ];
    for (const [name, value] of this.ones) {
      if (value > 3 && value !== 5 && value !== 12) {
        ordinals.push([name + (name.endsWith("t") ? "h" : "th"), value, "th"]);
      }
    }
    for (const [name, value, suffix] of ordinals) this.onesSuffixed.set(name, [value, suffix]);
    for (const [name, value] of this.tens) {
      this.tensSuffixed.set(name.replace("y", "ies"), [value, "s"]);
    }
    for (const [name, value] of this.tens) {
      this.tensSuffixed.set(name.replace("y", "ieth"), [value, "th"]);
    }
    const multiplierNames = [
      "hundred", "thousand", "million", "billion", "trillion", "quadrillion", "quintillion",
      "sextillion", "septillion", "octillion", "nonillion", "decillion",
    ];
    multiplierNames.forEach((name, i) => {
      this.multipliers.set(name, i === 0 ? 100n : 1000n ** BigInt(i));
    });
    for (const [name, value] of this.multipliers) this.multipliersSuffixed.set(name + "s", [value, "s"]);
    for (const [name, value] of this.multipliers) this.multipliersSuffixed.set(name + "th", [value, "th"]);
    this.decimals = new Set([...this.ones.keys(), ...this.tens.keys(), ...this.zeros]);
    this.prefixes = new Set([...this.precedingPrefixers.values(), ...this.followingPrefixers.values()]);
    this.words = new Set([
      ...this.zeros, ...this.ones.keys(), ...this.onesSuffixed.keys(), ...this.tens.keys(),
      ...this.tensSuffixed.keys(), ...this.multipliers.keys(), ...this.multipliersSuffixed.keys(),
      ...this.precedingPrefixers.keys(), ...this.followingPrefixers.keys(), ...this.suffixers.keys(),
      ...this.specials,
    ]);
  }

  private *processWords(words: string[]): Generator<string> {
    let prefix: string | null = null;
    let value: NumValue = null;
    let skip = false;
    const isNumeric = (s: string | null) => s !== null && /^\d+(\.\d+)?$/.test(s);
    const output = (result: bigint | string): string => {
      let r = String(result);
      if (prefix !== null) r = prefix + r;
      value = null;
      prefix = null;
      return r;
    };
    const has = (set: { has(k: string): boolean }, k: string | null) => k !== null && set.has(k);

    if (words.length === 0) return;
    const padded: (string | null)[] = [null, ...words, null];
    for (let i = 1; i < padded.length - 1; i++) {
      const prev = padded[i - 1];
      const current = padded[i] as string;
      const next = padded[i + 1];
      if (skip) {
        skip = false;
        continue;
      }
      const nextIsNumeric = isNumeric(next);
      const hasPrefix = this.prefixes.has(current[0]);
      const currentWithoutPrefix = hasPrefix ? current.slice(1) : current;

      if (/^\d+(\.\d+)?$/.test(currentWithoutPrefix)) {
        // arabic numbers (potentially with signs and fractions)
        const f = toFraction(currentWithoutPrefix)!;
        if (value !== null) {
          if (typeof value === "string" && value.endsWith(".")) {
            // concatenate decimals / ip address components
            value = value + current;
            continue;
          } else {
            yield output(value);
          }
        }
        prefix = hasPrefix ? current[0] : prefix;
        value = f.den === 1n ? f.num : currentWithoutPrefix;
      } else if (!this.words.has(current)) {
        // non-numeric words
        if (value !== null) yield output(value);
        yield output(current);
      } else if (this.zeros.has(current)) {
        value = (value === null || value === 0n || value === "" ? "" : String(value)) + "0";
      } else if (this.ones.has(current)) {
        const ones = this.ones.get(current)!;
        if (value === null) {
          value = BigInt(ones);
        } else if (typeof value === "string" || has(this.ones, prev)) {
          const v: string = String(value);
          if (has(this.tens, prev) && ones < 10) {
            // replace the last zero with the digit
            value = v.slice(0, -1) + String(ones);
          } else {
            value = v + String(ones);
          }
        } else if (ones < 10) {
          value = value % 10n === 0n ? value + BigInt(ones) : String(value) + String(ones);
        } else {
          // eleven to nineteen
          value = value % 100n === 0n ? value + BigInt(ones) : String(value) + String(ones);
        }
      } else if (this.onesSuffixed.has(current)) {
        // ordinal or cardinal; yield the number right away
        const [ones, suffix] = this.onesSuffixed.get(current)!;
        if (value === null) {
          yield output(String(ones) + suffix);
        } else if (typeof value === "string" || has(this.ones, prev)) {
          const v = String(value);
          if (has(this.tens, prev) && ones < 10) yield output(v.slice(0, -1) + String(ones) + suffix);
          else yield output(v + String(ones) + suffix);
        } else if (ones < 10) {
          if (value % 10n === 0n) yield output(String(value + BigInt(ones)) + suffix);
          else yield output(String(value) + String(ones) + suffix);
        } else {
          if (value % 100n === 0n) yield output(String(value + BigInt(ones)) + suffix);
          else yield output(String(value) + String(ones) + suffix);
        }
        value = null;
      } else if (this.tens.has(current)) {
        const tens = this.tens.get(current)!;
        if (value === null) value = BigInt(tens);
        else if (typeof value === "string") value = value + String(tens);
        else value = value % 100n === 0n ? value + BigInt(tens) : String(value) + String(tens);
      } else if (this.tensSuffixed.has(current)) {
        // ordinal or cardinal; yield the number right away
        const [tens, suffix] = this.tensSuffixed.get(current)!;
        if (value === null) yield output(String(tens) + suffix);
        else if (typeof value === "string") yield output(value + String(tens) + suffix);
        else if (value % 100n === 0n) yield output(String(value + BigInt(tens)) + suffix);
        else yield output(String(value) + String(tens) + suffix);
      } else if (this.multipliers.has(current)) {
        const multiplier = this.multipliers.get(current)!;
        if (value === null) {
          value = multiplier;
        } else if (typeof value === "string" || value === 0n) {
          const f = toFraction(value);
          if (f !== null && (f.num * multiplier) % f.den === 0n) {
            value = (f.num * multiplier) / f.den;
          } else {
            yield output(value);
            value = multiplier;
          }
        } else {
          const before: bigint = (value / 1000n) * 1000n;
          const residual: bigint = value % 1000n;
          value = before + residual * multiplier;
        }
      } else if (this.multipliersSuffixed.has(current)) {
        const [multiplier, suffix] = this.multipliersSuffixed.get(current)!;
        if (value === null) {
          yield output(String(multiplier) + suffix);
        } else if (typeof value === "string") {
          const f = toFraction(value);
          if (f !== null && (f.num * multiplier) % f.den === 0n) {
            yield output(String((f.num * multiplier) / f.den) + suffix);
          } else {
            yield output(value);
            yield output(String(multiplier) + suffix);
          }
        } else {
          const before = (value / 1000n) * 1000n;
          const residual = value % 1000n;
          value = before + residual * multiplier;
          yield output(String(value) + suffix);
        }
        value = null;
      } else if (this.precedingPrefixers.has(current)) {
        // apply prefix (positive, minus, etc.) if it precedes a number
        if (value !== null) yield output(value);
        if (has(this.words, next) || nextIsNumeric) prefix = this.precedingPrefixers.get(current)!;
        else yield output(current);
      } else if (this.followingPrefixers.has(current)) {
        // apply prefix (dollars, cents, etc.) only after a number
        if (value !== null) {
          prefix = this.followingPrefixers.get(current)!;
          yield output(value);
        } else {
          yield output(current);
        }
      } else if (this.suffixers.has(current)) {
        // apply suffix symbols (percent -> '%')
        if (value !== null) {
          const suffix = this.suffixers.get(current)!;
          if (typeof suffix === "object") {
            if (next !== null && next in suffix) {
              yield output(String(value) + suffix[next]);
              skip = true;
            } else {
              yield output(value);
              yield output(current);
            }
          } else {
            yield output(String(value) + suffix);
          }
        } else {
          yield output(current);
        }
      } else if (this.specials.has(current)) {
        if (!has(this.words, next) && !nextIsNumeric) {
          // apply special handling only if the next word can be numeric
          if (value !== null) yield output(value);
          yield output(current);
        } else if (current === "and") {
          // ignore "and" after hundreds, thousands, etc.
          if (!has(this.multipliers, prev)) {
            if (value !== null) yield output(value);
            yield output(current);
          }
        } else if (current === "double" || current === "triple") {
          if (has(this.ones, next) || has(this.zeros, next)) {
            const repeats = current === "double" ? 2 : 3;
            const ones = this.ones.get(next!) ?? 0;
            value = (value === null || value === 0n || value === "" ? "" : String(value)) + String(ones).repeat(repeats);
            skip = true;
          } else {
            if (value !== null) yield output(value);
            yield output(current);
          }
        } else if (current === "point") {
          if (has(this.decimals, next) || nextIsNumeric) {
            value = (value === null || value === 0n || value === "" ? "" : String(value)) + ".";
          }
        } else {
          throw new Error(`Unexpected token: ${current}`);
        }
      } else {
        throw new Error(`Unexpected token: ${current}`);
      }
    }
    if (value !== null) yield output(value);
  }

  private preprocess(s: string): string {
    // replace "<number> and a half" with "<number> point five"
    const results: string[] = [];
    const segments = s.split(/\band\s+a\s+half\b/);
    segments.forEach((segment, i) => {
      if (segment.trim().length === 0) return;
      results.push(segment);
      if (i !== segments.length - 1) {
        const parts = segment.trim().split(/\s+/);
        const lastWord = parts[parts.length - 1];
        if (this.decimals.has(lastWord) || this.multipliers.has(lastWord)) results.push("point five");
        else results.push("and a half");
      }
    });
    s = results.join(" ");
    // put a space at number/letter boundary
    s = s.replace(/([a-z])([0-9])/g, "$1 $2");
    s = s.replace(/([0-9])([a-z])/g, "$1 $2");
    // but remove spaces which could be a suffix
    s = s.replace(/([0-9])\s+(st|nd|rd|th|s)\b/g, "$1$2");
    return s;
  }

  private postprocess(s: string): string {
    // apply currency postprocessing; "$2 and ¢7" -> "$2.07"
    s = s.replace(/([€£$])([0-9]+) (?:and )?¢([0-9]{1,2})\b/g, (_m, currency: string, integer: string, cents: string) =>
      `${currency}${integer}.${String(Number.parseInt(cents, 10)).padStart(2, "0")}`,
    );
    s = s.replace(/[€£$]0.([0-9]{1,2})\b/g, (_m, cents: string) => `¢${Number.parseInt(cents, 10)}`);
    // write "one(s)" instead of "1(s)", just for the readability
    s = s.replace(/\b1(s?)\b/g, "one$1");
    return s;
  }

  normalize(s: string): string {
    s = this.preprocess(s);
    s = [...this.processWords(s.split(/\s+/).filter((w) => w.length > 0))].join(" ");
    return this.postprocess(s);
  }
}

// ---------------------------------------------------------------------------------------------
// english.py: EnglishTextNormalizer
// ---------------------------------------------------------------------------------------------

const IGNORE_PATTERNS = /\b(hmm|mm|mhm|mmm|uh|um)\b/g;

/** Contractions and abbreviations, applied in this order (english.py `replacers`). */
const REPLACERS: [RegExp, string][] = [
  // common contractions
  [/\bwon't\b/g, "will not"], [/\bcan't\b/g, "can not"], [/\blet's\b/g, "let us"],
  [/\bain't\b/g, "aint"], [/\by'all\b/g, "you all"], [/\bwanna\b/g, "want to"],
  [/\bgotta\b/g, "got to"], [/\bgonna\b/g, "going to"], [/\bi'ma\b/g, "i am going to"],
  [/\bimma\b/g, "i am going to"], [/\bwoulda\b/g, "would have"], [/\bcoulda\b/g, "could have"],
  [/\bshoulda\b/g, "should have"], [/\bma'am\b/g, "madam"],
  // contractions in titles/prefixes
  [/\bmr\b/g, "mister "], [/\bmrs\b/g, "missus "], [/\bst\b/g, "saint "], [/\bdr\b/g, "doctor "],
  [/\bprof\b/g, "professor "], [/\bcapt\b/g, "captain "], [/\bgov\b/g, "governor "],
  [/\bald\b/g, "alderman "], [/\bgen\b/g, "general "], [/\bsen\b/g, "senator "],
  [/\brep\b/g, "representative "], [/\bpres\b/g, "president "], [/\brev\b/g, "reverend "],
  [/\bhon\b/g, "honorable "], [/\basst\b/g, "assistant "], [/\bassoc\b/g, "associate "],
  [/\blt\b/g, "lieutenant "], [/\bcol\b/g, "colonel "], [/\bjr\b/g, "junior "],
  [/\bsr\b/g, "senior "], [/\besq\b/g, "esquire "],
  // perfect tenses
  [/'d been\b/g, " had been"], [/'s been\b/g, " has been"], [/'d gone\b/g, " had gone"],
  [/'s gone\b/g, " has gone"], [/'d done\b/g, " had done"], [/'s got\b/g, " has got"],
  // general contractions
  [/n't\b/g, " not"], [/'re\b/g, " are"], [/'s\b/g, " is"], [/'d\b/g, " would"],
  [/'ll\b/g, " will"], [/'t\b/g, " not"], [/'ve\b/g, " have"], [/'m\b/g, " am"],
];

const SPELLINGS = spellingMap as Record<string, string>;
const numberNormalizer = new EnglishNumberNormalizer();

/**
 * Normalize English text the way Whisper's `EnglishTextNormalizer` does, for WER scoring.
 * Example: `"Mr. Quilter's 42 apostles, colour!"` → `"mister quilter is 42 apostles color"`.
 * @param text any English text (reference or hypothesis)
 * @returns space-separated lower-case words, trimmed; `""` for empty input
 */
export function normalizeEnglish(text: string): string {
  let s = text.toLowerCase();
  s = s.replace(/[<[][^>\]]*[>\]]/g, ""); // remove words between brackets
  s = s.replace(/\(([^)]+?)\)/g, ""); // remove words between parenthesis
  s = s.replace(IGNORE_PATTERNS, "");
  s = s.replace(/\s+'/g, "'"); // when there's a space before an apostrophe
  for (const [pattern, replacement] of REPLACERS) s = s.replace(pattern, replacement);
  s = s.replace(/(\d),(\d)/g, "$1$2"); // remove commas between digits
  s = s.replace(/\.([^0-9]|$)/g, " $1"); // remove periods not followed by numbers
  s = removeSymbolsAndDiacritics(s, ".%$¢€£"); // keep numeric symbols
  s = numberNormalizer.normalize(s);
  s = s
    .split(/\s+/)
    .filter((w) => w.length > 0)
    .map((w) => (Object.hasOwn(SPELLINGS, w) ? SPELLINGS[w] : w))
    .join(" ");
  // now remove prefix/suffix symbols that are not preceded/followed by numbers
  s = s.replace(/[.$¢€£]([^0-9])/g, " $1");
  s = s.replace(/([^0-9])%/g, "$1 ");
  s = s.replace(/\s+/g, " ");
  return s.trim();
}
