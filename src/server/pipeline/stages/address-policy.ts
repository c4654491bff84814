/**
 * Which network addresses a recording may be downloaded from (issue 7 item 4, DESIGN §10): the
 * host-name allow-list alone lets a name that resolves to 127.0.0.1 or a private range (or that
 * re-binds to one between check and connect) reach internal services. So the download resolves a
 * name once, checks every address it resolves to, and connects to the checked address.
 *
 * Refused unless explicitly allowed: unspecified, loopback, private (RFC 1918), carrier-grade NAT,
 * link-local (incl. cloud metadata 169.254.169.254), IETF protocol assignments, benchmarking,
 * multicast, reserved and broadcast IPv4; unspecified, loopback, unique-local, link-local,
 * multicast and NAT64 IPv6; and IPv4-mapped IPv6 forms of the IPv4 ranges (`net.BlockList`
 * matches them against the IPv4 rules).
 *
 * Explicit opt-ins: an allow-list entry that is itself an IP literal (`127.0.0.1:8080`) allows that
 * address; `allowedAddresses` (CALLSCRIBE_ALLOWED_ADDRESSES: IPs or CIDRs) allows addresses that
 * names may resolve to, e.g. `10.0.0.0/8` for an on-premise recorder.
 */
import { lookup as dnsLookup } from "node:dns";
import { BlockList, isIP } from "node:net";

/** `dns.lookup` with `{ all: true }`'s shape; injectable for tests. */
export type ResolveAll = (hostname: string) => Promise<{ address: string; family: 4 | 6 }[]>;

/** The system resolver (`dns.lookup`, which honours /etc/hosts), every address. */
export const systemResolveAll: ResolveAll = (hostname) =>
  new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }))))),
  );

const FORBIDDEN: [string, number, "ipv4" | "ipv6", string][] = [
  ["0.0.0.0", 8, "ipv4", "unspecified"],
  ["10.0.0.0", 8, "ipv4", "private"],
  ["100.64.0.0", 10, "ipv4", "carrier-grade NAT"],
  ["127.0.0.0", 8, "ipv4", "loopback"],
  ["169.254.0.0", 16, "ipv4", "link-local"],
  ["172.16.0.0", 12, "ipv4", "private"],
  ["192.0.0.0", 24, "ipv4", "IETF protocol assignment"],
  ["192.168.0.0", 16, "ipv4", "private"],
  ["198.18.0.0", 15, "ipv4", "benchmarking"],
  ["224.0.0.0", 4, "ipv4", "multicast"],
  ["240.0.0.0", 4, "ipv4", "reserved"],
  ["::", 128, "ipv6", "unspecified"],
  ["::1", 128, "ipv6", "loopback"],
  ["64:ff9b::", 96, "ipv6", "NAT64"],
  ["64:ff9b:1::", 48, "ipv6", "NAT64"],
  ["fc00::", 7, "ipv6", "unique-local"],
  ["fe80::", 10, "ipv6", "link-local"],
  ["ff00::", 8, "ipv6", "multicast"],
];

const forbiddenLists = FORBIDDEN.map(([net, prefix, family, kind]) => {
  const list = new BlockList();
  list.addSubnet(net, prefix, family);
  return { list, kind };
});

const family = (address: string): "ipv4" | "ipv6" => (isIP(address) === 6 ? "ipv6" : "ipv4");

/** What kind of internal address `address` is (e.g. `loopback`), or undefined for a public one. */
export function internalAddressKind(address: string): string | undefined {
  return forbiddenLists.find(({ list }) => list.check(address, family(address)))?.kind;
}

/**
 * Parse CALLSCRIBE_ALLOWED_ADDRESSES entries: an IP (`10.0.0.5`, `::1`) or a CIDR (`10.0.0.0/8`).
 * @throws Error naming the entry that is neither
 */
export function parseAllowedAddresses(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const raw of entries) {
    const entry = raw.trim();
    if (!entry) continue;
    const [address, prefixText, ...rest] = entry.split("/");
    const kind = isIP(address);
    const max = kind === 6 ? 128 : 32;
    const prefix = prefixText === undefined ? max : Number(prefixText);
    if (!kind || rest.length || !Number.isInteger(prefix) || prefix < 0 || prefix > max || (prefixText !== undefined && !/^\d+$/.test(prefixText))) {
      throw new Error(`allowed address entry "${entry}" is not an IP address or CIDR range`);
    }
    list.addSubnet(address, prefix, kind === 6 ? "ipv6" : "ipv4");
  }
  return list;
}

/** An address the download may connect to. */
export interface PinnedAddress {
  address: string;
  family: 4 | 6;
}

/**
 * Resolve `hostname` once and check every address it resolves to. An IP-literal host needs no
 * check: it passed the host allow-list, which only an IP-literal entry matches (the explicit opt-in).
 * @returns the address to connect to (the first one)
 * @throws AddressRefusedError saying which address is refused and why (a permanent failure), or the resolver's error
 */
export async function resolveAllowedAddress(hostname: string, allowed: BlockList, resolveAll: ResolveAll): Promise<PinnedAddress> {
  const bare = hostname.startsWith("[") ? hostname.slice(1, -1) : hostname;
  if (isIP(bare)) return { address: bare, family: isIP(bare) === 6 ? 6 : 4 };
  const addresses = await resolveAll(bare);
  if (addresses.length === 0) throw new Error(`${bare} resolves to no address`);
  for (const a of addresses) {
    const kind = internalAddressKind(a.address);
    if (kind && !allowed.check(a.address, family(a.address))) {
      throw new AddressRefusedError(`${bare} resolves to ${a.address}, a ${kind} address (allow it with CALLSCRIBE_ALLOWED_ADDRESSES)`);
    }
  }
  return addresses[0];
}

/** An address is not allowed (permanent: the same name will resolve the same way). */
export class AddressRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AddressRefusedError";
  }
}
