/**
 * The key a per-client limit counts a client IP (`CF-Connecting-IP`) under.
 *
 * An IPv4 address is its own key. An IPv6 client is counted by its /64: a
 * provider usually hands a subscriber at least a whole /64 (RFC 6177), so a
 * limit that counted single IPv6 addresses limited nobody who has one: each
 * request could come from a fresh address of the same network. Some hosts do
 * put many customers in one /64; they share a budget here, the price of not
 * handing one customer 2^64 of them. An IPv4-mapped IPv6 address
 * (`::ffff:192.0.2.1`) is an IPv4 client and keyed as one. The key has one spelling per network (the /64's four groups
 * in lower case without leading zeros, then `::/64`), so every way of writing
 * an address of one network shares one budget.
 *
 * Anything that does not parse as an address is returned as it came: behind
 * Cloudflare the header always holds one, and local tests may send any label.
 */
export function clientNetwork(ip: string): string {
  if (!ip.includes(":")) return ip;
  const groups = ipv6Groups(ip);
  if (groups === null) return ip;
  if (groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0 && groups[5] === 0xffff) {
    const hi = groups[6] ?? 0;
    const lo = groups[7] ?? 0;
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(":")}::/64`;
}

const HEX_GROUP = /^[0-9a-f]{1,4}$/i;
// Octets without leading zeros (RFC 4291 §2.2 writes the dotted tail as IPv4 addresses are written).
const OCTET = "(0|[1-9]\\d{0,2})";
const IPV4 = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

/** The eight 16-bit groups of an IPv6 address in text form (RFC 4291 §2.2), or null when it is not one. */
function ipv6Groups(text: string): number[] | null {
  const halves = text.split("::");
  if (halves.length > 2) return null;
  // A dotted IPv4 tail is only the address's low 32 bits: never before "::".
  const head = parts(halves[0] ?? "", halves.length === 1);
  const tail = halves.length === 2 ? parts(halves[1] ?? "", true) : [];
  if (head === null || tail === null) return null;
  const written = head.length + tail.length;
  // "::" stands for one group or more; without it, all eight are written.
  if (halves.length === 2 ? written > 7 : written !== 8) return null;
  const zeros: number[] = halves.length === 2 ? new Array<number>(8 - written).fill(0) : [];
  return [...head, ...zeros, ...tail];
}

/** The groups of one side of "::"; a dotted IPv4 address may end the address (two groups) when `endsAddress`. */
function parts(side: string, endsAddress: boolean): number[] | null {
  if (side === "") return [];
  const fields = side.split(":");
  const groups: number[] = [];
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i] ?? "";
    const v4 = endsAddress && i === fields.length - 1 ? IPV4.exec(field) : null;
    if (v4 !== null) {
      const octets = v4.slice(1).map(Number);
      if (octets.some((o) => o > 255)) return null;
      const [a = 0, b = 0, c = 0, d = 0] = octets;
      groups.push((a << 8) | b, (c << 8) | d);
      continue;
    }
    if (!HEX_GROUP.test(field)) return null;
    groups.push(parseInt(field, 16));
  }
  return groups;
}
