/**
 * A structure-aware protobuf mutator: parses wire-format bytes into records (field number, wire
 * type, value), recursing into length-delimited payloads that parse as messages, mutates one
 * record at any depth and serialises back. Random bytes almost never reach a nested
 * `google.protobuf.Value`; this reaches every field of `ohp.v0_1.Envelope` with hostile values
 * (NaN and ±Infinity doubles, empty `Value`s, 2^64 varints, invalid UTF-8, unknown and repeated
 * fields, changed wire types).
 */
import fc from "fast-check";

type Rec =
  | { field: number; wt: 0; v: bigint }
  | { field: number; wt: 1; v: Uint8Array }
  | { field: number; wt: 5; v: Uint8Array }
  | { field: number; wt: 2; v: Uint8Array; sub?: Rec[] };

function readVarint(b: Uint8Array, pos: number): [bigint, number] | undefined {
  let x = 0n;
  for (let i = 0; i < 10; i++) {
    if (pos >= b.length) return undefined;
    const c = b[pos++] as number;
    x |= BigInt(c & 0x7f) << BigInt(7 * i);
    if ((c & 0x80) === 0) return [x, pos];
  }
  return undefined;
}

/** Records of a message, or undefined when `b` is not a well-formed message. */
export function parseRecords(b: Uint8Array, depth = 0): Rec[] | undefined {
  const out: Rec[] = [];
  let pos = 0;
  while (pos < b.length) {
    const t = readVarint(b, pos);
    if (t === undefined) return undefined;
    pos = t[1];
    const field = Number(t[0] >> 3n);
    const wt = Number(t[0] & 7n);
    if (field === 0) return undefined;
    if (wt === 0) {
      const v = readVarint(b, pos);
      if (v === undefined) return undefined;
      out.push({ field, wt, v: v[0] });
      pos = v[1];
    } else if (wt === 1 || wt === 5) {
      const n = wt === 1 ? 8 : 4;
      if (pos + n > b.length) return undefined;
      out.push({ field, wt, v: b.slice(pos, pos + n) });
      pos += n;
    } else if (wt === 2) {
      const l = readVarint(b, pos);
      if (l === undefined) return undefined;
      pos = l[1];
      const len = Number(l[0]);
      if (pos + len > b.length) return undefined;
      const v = b.slice(pos, pos + len);
      pos += len;
      const sub = depth < 16 && len > 0 ? parseRecords(v, depth + 1) : undefined;
      out.push(sub === undefined ? { field, wt, v } : { field, wt, v, sub });
    } else return undefined;
  }
  return out;
}

function varint(x: bigint): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, x);
  do {
    let c = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) c |= 0x80;
    out.push(c);
  } while (v !== 0n);
  return out;
}

export function serialize(recs: readonly Rec[]): Uint8Array {
  const out: number[] = [];
  for (const r of recs) {
    out.push(...varint((BigInt(r.field) << 3n) | BigInt(r.wt)));
    if (r.wt === 0) out.push(...varint(r.v));
    else if (r.wt === 2) {
      const payload = r.sub !== undefined ? serialize(r.sub) : r.v;
      out.push(...varint(BigInt(payload.length)), ...payload);
    } else out.push(...r.v);
  }
  return Uint8Array.from(out);
}

const EDGE_VARINTS = [0n, 1n, 2n, 127n, 128n, 2n ** 31n - 1n, 2n ** 31n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n];
const f64 = (x: number): Uint8Array => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, x, true);
  return b;
};
const f32 = (x: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, x, true);
  return b;
};
const EDGE_F64 = [Number.NaN, Infinity, -Infinity, -0, 2 ** 53 + 2, 1e308, 5e-324].map(f64);
const EDGE_PAYLOADS: Uint8Array[] = [
  new Uint8Array(0),
  Uint8Array.from([0xc3, 0x28]),
  Uint8Array.from([0xed, 0xa0, 0x80]),
  Uint8Array.from([0xff]),
  new TextEncoder().encode("\u0000"),
  new TextEncoder().encode("/__proto__"),
  new TextEncoder().encode("/x"),
  new TextEncoder().encode("x~2"),
  new TextEncoder().encode("2026-05-28T13:42:13Z"),
  new TextEncoder().encode("regulated"),
  // A Value with NaN, an empty Value, a Struct field with an empty Value.
  Uint8Array.from([0x11, ...f64(Number.NaN)]),
  Uint8Array.from([0x11, ...f64(Infinity)]),
  Uint8Array.from([0x0a, 0x03, 0x0a, 0x01, 0x61]),
];

export interface ProtoOp {
  readonly at: number;
  readonly kind: number;
  readonly pick: number;
  readonly bytes: Uint8Array;
}

export function protoOpsArb(maxOps = 3): fc.Arbitrary<ProtoOp[]> {
  return fc.array(fc.record({ at: fc.nat(), kind: fc.nat({ max: 9 }), pick: fc.nat(), bytes: fc.uint8Array({ maxLength: 16 }) }), { minLength: 1, maxLength: maxOps });
}

function allLists(recs: Rec[]): Rec[][] {
  const out: Rec[][] = [recs];
  for (let i = 0; i < out.length; i++) for (const r of out[i] as Rec[]) if (r.wt === 2 && r.sub !== undefined) out.push(r.sub);
  return out;
}

function cloneRecs(recs: readonly Rec[]): Rec[] {
  return recs.map((r) => (r.wt === 2 && r.sub !== undefined ? { ...r, sub: cloneRecs(r.sub) } : { ...r }) as Rec);
}

function applyOp(root: Rec[], op: ProtoOp): void {
  const lists = allLists(root);
  const list = lists[op.at % lists.length] as Rec[];
  const i = list.length === 0 ? 0 : op.pick % list.length;
  const r = list[i];
  switch (op.kind) {
    case 0:
      if (r) list.splice(i, 1);
      return;
    case 1:
      if (r) list.splice(i + 1, 0, r.wt === 2 && r.sub !== undefined ? { ...r, sub: cloneRecs(r.sub) } : { ...r });
      return;
    case 2:
      if (r) list[i] = { field: r.field, wt: 0, v: EDGE_VARINTS[op.pick % EDGE_VARINTS.length] as bigint };
      return;
    case 3:
      if (r) list[i] = { field: r.field, wt: 1, v: EDGE_F64[op.pick % EDGE_F64.length] as Uint8Array };
      return;
    case 4:
      if (r) list[i] = { field: r.field, wt: 2, v: EDGE_PAYLOADS[op.pick % EDGE_PAYLOADS.length] as Uint8Array };
      return;
    case 5:
      if (r) list[i] = { field: r.field, wt: 2, v: op.bytes };
      return;
    case 6:
      list.splice(i, 0, { field: 1 + (op.pick % 40), wt: 2, v: EDGE_PAYLOADS[op.pick % EDGE_PAYLOADS.length] as Uint8Array });
      return;
    case 7:
      if (r) list[i] = { ...r, field: 1 + (op.pick % 48) } as Rec;
      return;
    case 8:
      if (r) list[i] = { field: r.field, wt: 5, v: f32(op.pick % 2 === 0 ? Number.NaN : Infinity) };
      return;
    default:
      // Move a record from one message into another (wrong message type for the field).
      if (r) {
        const target = lists[op.bytes.length % lists.length] as Rec[];
        target.push(r.wt === 2 && r.sub !== undefined ? { ...r, sub: cloneRecs(r.sub) } : { ...r });
      }
  }
}

/** Mutated message bytes (falls back to the input when it is not a well-formed message). */
export function mutateProto(bytes: Uint8Array, ops: readonly ProtoOp[]): Uint8Array {
  const recs = parseRecords(bytes);
  if (recs === undefined) return bytes;
  for (const op of ops) applyOp(recs, op);
  return serialize(recs);
}
