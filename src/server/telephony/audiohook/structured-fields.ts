/**
 * The part of Structured Field Values for HTTP (RFC 8941) that HTTP Message Signatures (RFC 9421)
 * need: parsing a Dictionary whose members are Items or Inner Lists with Parameters, and
 * serializing an Inner List back (the `@signature-params` line of a signature base).
 * Bare items: Integer, Decimal, String, Token, Byte Sequence, Boolean.
 */

export type BareItem = number | string | boolean | Uint8Array | { token: string };
export type Params = [string, BareItem][];
export interface Item {
  value: BareItem;
  params: Params;
}
export interface InnerList {
  items: Item[];
  params: Params;
}
export type Member = Item | InnerList;

/** A structured field that does not parse. */
export class StructuredFieldError extends Error {}

class Parser {
  i = 0;
  constructor(readonly s: string) {}
  fail(what: string): never {
    throw new StructuredFieldError(`${what} at character ${this.i}`);
  }
  peek(): string {
    return this.s[this.i] ?? "";
  }
  sp(): void {
    while (this.peek() === " ") this.i++;
  }
  ows(): void {
    while (this.peek() === " " || this.peek() === "\t") this.i++;
  }
  key(): string {
    const m = /^[a-z*][a-z0-9_\-.*]*/.exec(this.s.slice(this.i));
    if (!m) this.fail("expected a key");
    this.i += m[0].length;
    return m[0];
  }
  bareItem(): BareItem {
    const c = this.peek();
    if (c === '"') return this.string();
    if (c === ":") return this.bytes();
    if (c === "?") {
      this.i++;
      const b = this.peek();
      if (b !== "0" && b !== "1") this.fail("expected a boolean");
      this.i++;
      return b === "1";
    }
    if (c === "-" || (c >= "0" && c <= "9")) return this.number();
    if (/[A-Za-z*]/.test(c)) {
      const m = /^[A-Za-z*][A-Za-z0-9:/!#$%&'*+\-.^_`|~]*/.exec(this.s.slice(this.i))!;
      this.i += m[0].length;
      return { token: m[0] };
    }
    return this.fail("expected an item");
  }
  string(): string {
    this.i++;
    let out = "";
    for (;;) {
      const c = this.s[this.i++];
      if (c === undefined) this.fail("unterminated string");
      if (c === "\\") {
        const n = this.s[this.i++];
        if (n !== '"' && n !== "\\") this.fail("bad escape in string");
        out += n;
      } else if (c === '"') return out;
      else if (c < " " || c > "~") this.fail("bad character in string");
      else out += c;
    }
  }
  bytes(): Uint8Array {
    const end = this.s.indexOf(":", this.i + 1);
    if (end < 0) this.fail("unterminated byte sequence");
    const b64 = this.s.slice(this.i + 1, end);
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) this.fail("bad byte sequence");
    this.i = end + 1;
    return new Uint8Array(Buffer.from(b64, "base64"));
  }
  number(): number {
    const m = /^-?[0-9]{1,15}(\.[0-9]{1,3})?/.exec(this.s.slice(this.i));
    if (!m) this.fail("bad number");
    this.i += m[0].length;
    return Number(m[0]);
  }
  params(): Params {
    const out: Params = [];
    while (this.peek() === ";") {
      this.i++;
      this.sp();
      const k = this.key();
      let v: BareItem = true;
      if (this.peek() === "=") {
        this.i++;
        v = this.bareItem();
      }
      const at = out.findIndex(([n]) => n === k);
      if (at >= 0) out[at] = [k, v];
      else out.push([k, v]);
    }
    return out;
  }
  member(): Member {
    if (this.peek() === "(") {
      this.i++;
      const items: Item[] = [];
      for (;;) {
        this.sp();
        if (this.peek() === ")") {
          this.i++;
          return { items, params: this.params() };
        }
        const value = this.bareItem();
        items.push({ value, params: this.params() });
        const c = this.peek();
        if (c !== " " && c !== ")") this.fail("expected a space or ) in inner list");
      }
    }
    const value = this.bareItem();
    return { value, params: this.params() };
  }
}

/**
 * Parse a Dictionary field value (several header lines joined with ", ").
 * @throws StructuredFieldError when it does not parse
 */
export function parseDictionary(value: string): Map<string, Member> {
  const p = new Parser(value.trim());
  const out = new Map<string, Member>();
  if (p.s.length === 0) return out;
  for (;;) {
    const k = p.key();
    let m: Member;
    if (p.peek() === "=") {
      p.i++;
      m = p.member();
    } else {
      m = { value: true, params: p.params() };
    }
    out.set(k, m);
    p.ows();
    if (p.i >= p.s.length) return out;
    if (p.peek() !== ",") p.fail("expected a comma");
    p.i++;
    p.ows();
    if (p.i >= p.s.length) p.fail("trailing comma");
  }
}

export const isInnerList = (m: Member): m is InnerList => "items" in m;

function serializeBare(v: BareItem): string {
  if (typeof v === "string") return `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(Number(v.toFixed(3)));
  if (typeof v === "boolean") return v ? "?1" : "?0";
  if (v instanceof Uint8Array) return `:${Buffer.from(v).toString("base64")}:`;
  return v.token;
}

function serializeParams(params: Params): string {
  return params.map(([k, v]) => (v === true ? `;${k}` : `;${k}=${serializeBare(v)}`)).join("");
}

/** Serialize an Item (RFC 8941 §4.1.3). */
export function serializeItem(item: Item): string {
  return serializeBare(item.value) + serializeParams(item.params);
}

/** Serialize an Inner List with its parameters (RFC 8941 §4.1.1.1). */
export function serializeInnerList(list: InnerList): string {
  return `(${list.items.map(serializeItem).join(" ")})${serializeParams(list.params)}`;
}
