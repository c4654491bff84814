/**
 * English text normalization for word-error-rate (WER) scoring: reference and hypothesis go through
 * the same rules, so that differences in case, punctuation or number style are not counted as errors.
 * Own implementation of the behaviour the issue asks for ("as Whisper's English normalizer does").
 * Differs from Whisper's EnglishTextNormalizer: no British→American spelling list.
 *
 * Rules, in order:
 * 1. lower-case; Unicode NFKD with combining marks dropped (é → e); œ æ ø ß ł đ ð þ → oe ae o ss l d d th;
 * 2. drop spans in brackets: `[laughter]`, `<unk>`, `(inaudible)`;
 * 3. contractions: won't → will not, can't → can not, shan't → shall not, let's → let us, n't → not,
 *    're → are, 'd → would, 'll → will, 've → have, 'm → am; 's → is after it, that, there, here,
 *    what, who, he, she, where, when, why, how. Any other apostrophe inside a word is dropped, so a
 *    possessive keeps its "s" attached (john's → johns), and ain't → aint;
 * 4. titles before a name, with or without a period: mr mister, mrs missus, dr doctor, st saint,
 *    jr junior, sr senior, prof professor, gen general, sgt sergeant, capt captain, lt lieutenant,
 *    col colonel, rev reverend, hon honorable;
 * 5. punctuation and symbols → spaces, except in numbers: "3.5", "$3.50", "£5", "€5", "20%" stay,
 *    and thousands separators go ("1,000" → "1000");
 * 6. fillers dropped as whole words: hmm, mm, mmm, mhm, uh, um;
 * 7. spelled-out numbers → digits, see `english-numbers.ts` ("twenty one" → "21", "fourteen fifty five"
 *    → "1455", "twenty third" → "23rd", "twenty percent" → "20%", "ten cents" → "$0.10");
 * 8. words joined by single spaces, trimmed.
 */
import { BREAK, spellNumbers } from "./english-numbers";

/** Letters that NFKD leaves whole, written as ASCII. */
const LETTER_FOLDS = new Map(Object.entries({
  œ: "oe", Œ: "OE", æ: "ae", Æ: "AE", ø: "o", Ø: "O", ß: "ss", ł: "l", Ł: "L",
  đ: "d", Đ: "D", ð: "d", Ð: "D", þ: "th", Þ: "TH", ı: "i",
}));

/** One character, decomposed (NFKD), without combining marks, with {@link LETTER_FOLDS} applied. */
function foldChar(c: string): string {
  let out = "";
  for (const d of c.normalize("NFKD")) {
    if (/\p{Mn}/u.test(d)) continue;
    out += LETTER_FOLDS.get(d) ?? d;
  }
  return out;
}

/**
 * Drop diacritics and replace marks, symbols and punctuation (Unicode M, S, P) with a space.
 * @param s any text
 * @param keep characters to leave exactly as they are (e.g. `".%$"`)
 * @returns the text with one space per removed character: ("Café—au-lait!") → "Cafe au lait "
 */
export function removeSymbolsAndDiacritics(s: string, keep = ""): string {
  let out = "";
  for (const c of s) {
    if (keep.includes(c)) out += c;
    else out += foldChar(c).replace(/[\p{M}\p{S}\p{P}]/gu, " ");
  }
  return out;
}

/** Lower-case, strip diacritics, and make every apostrophe-like mark a plain `'`. */
function foldText(s: string): string {
  let out = "";
  for (const c of s.toLowerCase()) out += foldChar(c);
  return out.replace(/[\u2018\u2019\u02bc\u2032`]/g, "'");
}

/** Not preceded / followed by a letter or digit: a whole-word edge that also works past ASCII. */
const START = "(?<![\\p{L}\\p{N}'])";
const END = "(?![\\p{L}\\p{N}'])";
const word = (body: string): RegExp => new RegExp(`${START}${body}${END}`, "gu");
const suffix = (body: string): RegExp => new RegExp(`(?<=\\p{L})${body}${END}`, "gu");

const CONTRACTIONS: ReadonlyArray<readonly [RegExp, string]> = [
  [word("won't"), "will not"],
  [word("can't"), "can not"],
  [word("shan't"), "shall not"],
  [word("ain't"), "aint"],
  [word("let's"), "let us"],
  [suffix("n't"), " not"],
  [suffix("'re"), " are"],
  [word("(it|that|there|here|what|who|he|she|where|when|why|how)'s"), "$1 is"],
  [suffix("'d"), " would"],
  [suffix("'ll"), " will"],
  [suffix("'ve"), " have"],
  [suffix("'m"), " am"],
];

const TITLES = new Map(Object.entries({
  mr: "mister", mrs: "missus", dr: "doctor", st: "saint", jr: "junior", sr: "senior", prof: "professor",
  gen: "general", sgt: "sergeant", capt: "captain", lt: "lieutenant", col: "colonel", rev: "reverend",
  hon: "honorable",
}));
const TITLE = new RegExp(`${START}(${[...TITLES.keys()].join("|")})${END}\\.?`, "gu");

const FILLERS = new Set(["hmm", "mm", "mmm", "mhm", "uh", "um"]);

/**
 * Tokens, left to right: a number in digits with its currency sign, decimals and `%`/`¢` or letter
 * suffix ("$3.50", "10.5%", "1960s"); a word, apostrophes inside it allowed; or sentence
 * punctuation, which becomes {@link BREAK}. Anything else separates tokens and is dropped.
 */
const TOKEN = /[$£€]?(?:\d+(?:\.\d+)*|\.\d+)(?:[%¢]|[\p{L}\p{N}]+)?|[\p{L}\p{N}]+(?:'[\p{L}\p{N}]+)*|[.,;:!?…—–]/gu;

function tokenize(s: string): string[] {
  const tokens: string[] = [];
  for (const [t] of s.matchAll(TOKEN)) {
    if (/^[.,;:!?…—–]$/.test(t)) tokens.push(BREAK);
    else tokens.push(t.replace(/'/g, ""));
  }
  return tokens;
}

/**
 * Normalize English text for WER scoring (rules in the module comment).
 * Example: `"Mr. Quilter's 42 apostles, [laughs] twenty percent!"` → `"mister quilters 42 apostles 20%"`.
 * @param text any English text (reference or hypothesis); never throws
 * @returns lower-case words joined by single spaces, trimmed; `""` when nothing is left
 */
export function normalizeEnglish(text: string): string {
  let s = foldText(text);
  s = s.replace(/\[[^\]]*\]|<[^>]*>|\([^)]*\)/g, " ");
  for (const [pattern, replacement] of CONTRACTIONS) s = s.replace(pattern, replacement);
  s = s.replace(TITLE, (_, t: string) => TITLES.get(t) ?? t);
  s = s.replace(/(?<=\d),(?=\d{3}(?!\d))/g, ""); // thousands separators: "1,000,000" → "1000000"
  const tokens = tokenize(s).filter((t) => !FILLERS.has(t));
  return spellNumbers(tokens).join(" ");
}
