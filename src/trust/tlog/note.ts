/**
 * C2SP signed-note (https://c2sp.org/signed-note): a UTF-8 text ending in a newline, a blank
 * line, then one or more signature lines `— <key name> <base64(key ID (4 bytes, big-endian) ||
 * signature)>`. Ed25519 signatures (type 0x01) sign the note text; the key ID is the first four
 * bytes of SHA-256(key name || 0x0A || 0x01 || 32-byte public key).
 *
 * Verifier keys use the golang.org/x/mod/sumdb/note text form
 * `<name>+<key ID, 8 hex>+<base64(0x01 || public key)>`; signer keys
 * `PRIVATE+KEY+<name>+<key ID>+<base64(0x01 || seed)>`.
 *
 * Opening a note: signatures from unknown keys (name and key ID not both matching a trusted
 * verifier) are ignored; a signature from a trusted key that fails to verify rejects the whole
 * note; at least one trusted signature must verify.
 *
 * @module
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import { ed25519PrivateKeyFromSeed, ed25519PublicKeyBytes, ed25519PublicKeyFromBytes, ed25519Sign, ed25519Verify } from "../../crypto/ed25519.js";
import { ALG_EDDSA, type PublicJwk } from "../../crypto/jwk.js";
import type { PrivateKeyRecord } from "../../crypto/keys.js";
import { b64uDecode } from "../../util/base64url.js";
import { NoteError } from "./errors.js";
import { b64DecodeStrict, b64Encode, sha256 } from "./hash.js";

/** Signature type byte of Ed25519 note signatures. */
export const NOTE_SIG_ED25519 = 0x01;

/** Most signature lines a note may carry (C2SP: at least 16 MUST be accepted; Go's note package allows 100). */
export const MAX_NOTE_SIGNATURES = 100;

/** Largest note (UTF-8 bytes) {@link parseNote} reads. */
export const MAX_NOTE_BYTES = 1024 * 1024;

/** Signs note texts. */
export interface NoteSigner {
  /** Key name (no spaces, no "+"). */
  readonly name: string;
  /** 32-bit key ID. */
  readonly keyId: number;
  /** Signature over the note text bytes. */
  sign(message: Uint8Array): Uint8Array;
}

/** Verifies note signatures of one key. */
export interface NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  verify(message: Uint8Array, signature: Uint8Array): boolean;
}

/** One signature line. */
export interface NoteSignature {
  readonly name: string;
  readonly keyId: number;
  /** The base64 text after the name: base64(key ID || signature). */
  readonly base64: string;
}

/** A parsed (not yet verified) note. */
export interface ParsedNote {
  /** The note text, including its final newline, excluding the blank separator line. */
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

/** A note whose signatures were checked against trusted verifiers. */
export interface OpenedNote {
  readonly text: string;
  /** Signatures from trusted keys that verified (duplicates removed). */
  readonly verified: readonly NoteSignature[];
  /** Signatures from unknown keys (ignored, duplicates removed). */
  readonly unverified: readonly NoteSignature[];
}

const encoder = new TextEncoder();
const SIG_PREFIX = "\u2014 ";

function malformed(message: string, detail?: Record<string, unknown>): NoteError {
  return new NoteError("ERR_NOTE_MALFORMED", `malformed note: ${message}`, detail === undefined ? undefined : { detail });
}

/** C2SP signed-note key names: non-empty, no Unicode spaces, no "+". */
export function isValidKeyName(name: unknown): name is string {
  return typeof name === "string" && name.length > 0 && name.isWellFormed() && !/[\s+]/u.test(name) && !hasControl(name);
}

function hasControl(text: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u0009\u000b-\u001f]/.test(text);
}

/** C2SP signed-note key ID: SHA-256(name || 0x0A || type || public key)[:4], big-endian. */
export function noteKeyId(name: string, sigType: number, publicKey: Uint8Array): number {
  const h = sha256(Buffer.concat([encoder.encode(name), Uint8Array.of(0x0a, sigType), publicKey]));
  return Buffer.from(h).readUInt32BE(0);
}

function keyIdHex(keyId: number): string {
  return keyId.toString(16).padStart(8, "0");
}

/** Ed25519 note signer from a 32-byte seed, a private KeyObject or an EdDSA {@link PrivateKeyRecord}. */
export function ed25519NoteSigner(name: string, key: Uint8Array | KeyObject | PrivateKeyRecord): NoteSigner {
  if (!isValidKeyName(name)) throw new NoteError("ERR_NOTE_KEY_INVALID", `invalid note key name ${JSON.stringify(name)}`);
  let keyObject: KeyObject;
  if (key instanceof Uint8Array) {
    if (key.length !== 32) throw new NoteError("ERR_NOTE_KEY_INVALID", "an Ed25519 seed is 32 bytes");
    keyObject = ed25519PrivateKeyFromSeed(key);
  } else if ("publicJwk" in key) {
    if (key.alg !== ALG_EDDSA || key.keyObject === undefined) throw new NoteError("ERR_NOTE_KEY_INVALID", `note signing needs an EdDSA key (got ${key.alg})`);
    keyObject = key.keyObject;
  } else {
    keyObject = key;
  }
  if (keyObject.asymmetricKeyType !== "ed25519" || keyObject.type !== "private") {
    throw new NoteError("ERR_NOTE_KEY_INVALID", "note signing needs a private Ed25519 key");
  }
  const publicKey = ed25519PublicKeyBytes(keyObject);
  const keyId = noteKeyId(name, NOTE_SIG_ED25519, publicKey);
  return Object.freeze({ name, keyId, sign: (message: Uint8Array) => ed25519Sign(keyObject, message) });
}

/** Ed25519 note verifier from the 32-byte public key, a public KeyObject or an OKP/Ed25519 JWK. */
export function ed25519NoteVerifier(name: string, key: Uint8Array | KeyObject | PublicJwk): NoteVerifier {
  if (!isValidKeyName(name)) throw new NoteError("ERR_NOTE_KEY_INVALID", `invalid note key name ${JSON.stringify(name)}`);
  let publicKey: Uint8Array;
  if (key instanceof Uint8Array) publicKey = key;
  else if ("kty" in key) {
    const jwk = key as PublicJwk & { x?: unknown; crv?: unknown };
    if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519" || typeof jwk.x !== "string") throw new NoteError("ERR_NOTE_KEY_INVALID", "expected an OKP Ed25519 JWK");
    publicKey = b64uDecode(jwk.x);
  } else {
    publicKey = ed25519PublicKeyBytes(key.type === "private" ? createPublicKey(key) : key);
  }
  if (publicKey.length !== 32) throw new NoteError("ERR_NOTE_KEY_INVALID", "an Ed25519 public key is 32 bytes");
  const keyObject = ed25519PublicKeyFromBytes(publicKey);
  const keyId = noteKeyId(name, NOTE_SIG_ED25519, publicKey);
  return Object.freeze({
    name,
    keyId,
    publicKey: Uint8Array.from(publicKey),
    verify: (message: Uint8Array, signature: Uint8Array) => ed25519Verify(keyObject, message, signature),
  });
}

/** The golang.org/x/mod/sumdb/note verifier key text `<name>+<keyID hex>+<base64(0x01 || pub)>`. */
export function formatVerifierKey(name: string, publicKey: Uint8Array): string {
  const v = ed25519NoteVerifier(name, publicKey);
  return `${name}+${keyIdHex(v.keyId)}+${b64Encode(Buffer.concat([Uint8Array.of(NOTE_SIG_ED25519), publicKey]))}`;
}

/** The verifier key text of a signer's Ed25519 key. */
export function verifierKeyOf(name: string, key: Uint8Array | KeyObject | PrivateKeyRecord): string {
  let keyObject: KeyObject | undefined;
  if (key instanceof Uint8Array) keyObject = ed25519PrivateKeyFromSeed(key);
  else if ("publicJwk" in key) keyObject = key.keyObject;
  else keyObject = key;
  if (keyObject === undefined || keyObject.asymmetricKeyType !== "ed25519") throw new NoteError("ERR_NOTE_KEY_INVALID", "expected an Ed25519 key");
  return formatVerifierKey(name, ed25519PublicKeyBytes(keyObject));
}

function splitKey(text: string, parts: number, what: string): string[] {
  if (typeof text !== "string") throw new NoteError("ERR_NOTE_KEY_INVALID", `${what} must be a string`);
  // The first parts-1 "+" separate fields; the base64 key (last field) may itself contain "+".
  const out: string[] = [];
  let rest = text;
  for (let i = 0; i < parts - 1; i++) {
    const at = rest.indexOf("+");
    if (at < 0) throw new NoteError("ERR_NOTE_KEY_INVALID", `malformed ${what}`);
    out.push(rest.slice(0, at));
    rest = rest.slice(at + 1);
  }
  out.push(rest);
  return out;
}

function parseKeyParts(name: string, hash: string, b64: string, what: string): { key: Uint8Array; keyId: number } {
  if (!isValidKeyName(name)) throw new NoteError("ERR_NOTE_KEY_INVALID", `malformed ${what}: bad key name`);
  if (!/^[0-9a-f]{8}$/.test(hash)) throw new NoteError("ERR_NOTE_KEY_INVALID", `malformed ${what}: key ID must be 8 lowercase hex digits`);
  const raw = b64DecodeStrict(b64);
  if (raw === undefined || raw.length < 1) throw new NoteError("ERR_NOTE_KEY_INVALID", `malformed ${what}: bad base64 key`);
  if (raw[0] !== NOTE_SIG_ED25519) throw new NoteError("ERR_NOTE_KEY_INVALID", `${what}: unknown signature type 0x${(raw[0] as number).toString(16)}`);
  if (raw.length !== 33) throw new NoteError("ERR_NOTE_KEY_INVALID", `${what}: an Ed25519 key is 32 bytes`);
  return { key: raw.subarray(1), keyId: Number.parseInt(hash, 16) };
}

/** Parses a verifier key `<name>+<keyID>+<base64(0x01 || pub)>`; the key ID must match the key. */
export function parseVerifierKey(vkey: string): NoteVerifier {
  const [name, hash, b64] = splitKey(vkey, 3, "verifier key") as [string, string, string];
  const { key, keyId } = parseKeyParts(name, hash, b64, "verifier key");
  const verifier = ed25519NoteVerifier(name, key);
  if (verifier.keyId !== keyId) throw new NoteError("ERR_NOTE_KEY_INVALID", "verifier key: key ID does not match the key");
  return verifier;
}

/** Parses a signer key `PRIVATE+KEY+<name>+<keyID>+<base64(0x01 || seed)>`; the key ID must match. */
export function parseSignerKey(skey: string): NoteSigner {
  const [p, k, name, hash, b64] = splitKey(skey, 5, "signer key") as [string, string, string, string, string];
  if (p !== "PRIVATE" || k !== "KEY") throw new NoteError("ERR_NOTE_KEY_INVALID", "malformed signer key");
  const { key, keyId } = parseKeyParts(name, hash, b64, "signer key");
  const signer = ed25519NoteSigner(name, key);
  if (signer.keyId !== keyId) throw new NoteError("ERR_NOTE_KEY_INVALID", "signer key: key ID does not match the key");
  return signer;
}

function checkText(text: string, what: string): void {
  if (!text.isWellFormed()) throw malformed(`${what} is not valid UTF-8`);
  if (hasControl(text)) throw malformed(`${what} contains control characters other than newline`);
}

/** Decodes note bytes (fatal UTF-8) or passes a string through. */
function noteString(note: string | Uint8Array): string {
  if (typeof note === "string") {
    if (note.length > MAX_NOTE_BYTES) throw malformed("note too large");
    return note;
  }
  if (!(note instanceof Uint8Array)) throw malformed("a note is a string or bytes");
  if (note.length > MAX_NOTE_BYTES) throw malformed("note too large");
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(note);
  } catch {
    throw malformed("note is not valid UTF-8");
  }
}

/** C2SP signed-note §Format: splits a note into text and signature lines (no verification). */
export function parseNote(note: string | Uint8Array): ParsedNote {
  const msg = noteString(note);
  checkText(msg, "note");
  const split = msg.lastIndexOf("\n\n");
  if (split < 0) throw malformed("no blank line before the signatures");
  const text = msg.slice(0, split + 1);
  const sigs = msg.slice(split + 2);
  if (sigs.length === 0 || !sigs.endsWith("\n")) throw malformed("the signature block must be non-empty and end with a newline");
  const lines = sigs.slice(0, -1).split("\n");
  if (lines.length > MAX_NOTE_SIGNATURES) throw malformed(`more than ${MAX_NOTE_SIGNATURES} signatures`, { count: lines.length });
  const signatures = lines.map((line, i): NoteSignature => {
    if (!line.startsWith(SIG_PREFIX)) throw malformed(`signature line ${i + 1} does not start with an em dash and a space`);
    const rest = line.slice(SIG_PREFIX.length);
    const space = rest.indexOf(" ");
    const name = rest.slice(0, space);
    const base64 = rest.slice(space + 1);
    if (space < 0 || !isValidKeyName(name)) throw malformed(`signature line ${i + 1} has no valid key name`);
    const raw = b64DecodeStrict(base64);
    if (raw === undefined || raw.length < 5) throw malformed(`signature line ${i + 1} is not base64 of key ID || signature`);
    return { name, keyId: Buffer.from(raw).readUInt32BE(0), base64 };
  });
  return { text, signatures };
}

function sigBytes(sig: NoteSignature): Uint8Array {
  return (b64DecodeStrict(sig.base64) as Uint8Array).subarray(4);
}

/**
 * Opens a note: C2SP signed-note §Signatures. Unknown keys are ignored; a trusted signature that
 * fails rejects the note (`ERR_NOTE_SIGNATURE_INVALID`); no verified trusted signature:
 * `ERR_NOTE_UNVERIFIED`; verifiers sharing name and key ID: `ERR_NOTE_AMBIGUOUS_KEY`.
 */
export function openNote(note: string | Uint8Array, verifiers: readonly NoteVerifier[]): OpenedNote {
  const parsed = parseNote(note);
  const message = encoder.encode(parsed.text);
  const verified: NoteSignature[] = [];
  const unverified: NoteSignature[] = [];
  const seenVerified = new Set<string>();
  const seenUnverified = new Set<string>();
  for (const sig of parsed.signatures) {
    const matches = verifiers.filter((v) => v.name === sig.name && v.keyId === sig.keyId);
    const id = `${sig.name}+${keyIdHex(sig.keyId)}`;
    if (matches.length > 1) throw new NoteError("ERR_NOTE_AMBIGUOUS_KEY", `ambiguous key ${id}`, { detail: { key: id } });
    const verifier = matches[0];
    if (verifier === undefined) {
      const key = `${sig.name} ${sig.base64}`;
      if (!seenUnverified.has(key)) {
        seenUnverified.add(key);
        unverified.push(sig);
      }
      continue;
    }
    if (seenVerified.has(id)) continue;
    if (!verifier.verify(message, sigBytes(sig))) {
      throw new NoteError("ERR_NOTE_SIGNATURE_INVALID", `invalid signature for key ${id}`, { detail: { key: id } });
    }
    seenVerified.add(id);
    verified.push(sig);
  }
  if (verified.length === 0) {
    throw new NoteError("ERR_NOTE_UNVERIFIED", "note has no verifiable signatures from a trusted key", {
      detail: { signers: unverified.map((s) => `${s.name}+${keyIdHex(s.keyId)}`) },
    });
  }
  return { text: parsed.text, verified, unverified };
}

/**
 * Signs a note text (which must end in a newline and be free of control characters other than
 * newline). Existing signatures are kept, except those by the same keys as `signers`; new
 * signatures follow them.
 */
export function signNote(text: string, signers: readonly NoteSigner[], existing: readonly NoteSignature[] = []): string {
  if (typeof text !== "string" || text.length === 0 || !text.endsWith("\n")) throw malformed("the note text must end with a newline");
  checkText(text, "note text");
  if (signers.length === 0 && existing.length === 0) throw malformed("a signed note needs at least one signature");
  const message = encoder.encode(text);
  const lines: string[] = [];
  for (const sig of existing) {
    if (!isValidKeyName(sig.name)) throw malformed(`bad key name ${JSON.stringify(sig.name)}`);
    if (signers.some((s) => s.name === sig.name && s.keyId === sig.keyId)) continue;
    const raw = b64DecodeStrict(sig.base64);
    if (raw === undefined || raw.length < 5 || Buffer.from(raw).readUInt32BE(0) !== sig.keyId) throw malformed(`bad pre-filled signature for ${sig.name}`);
    lines.push(`${SIG_PREFIX}${sig.name} ${sig.base64}\n`);
  }
  for (const signer of signers) {
    if (!isValidKeyName(signer.name)) throw new NoteError("ERR_NOTE_KEY_INVALID", `invalid signer name ${JSON.stringify(signer.name)}`);
    const id = Buffer.alloc(4);
    id.writeUInt32BE(signer.keyId >>> 0);
    lines.push(`${SIG_PREFIX}${signer.name} ${b64Encode(Buffer.concat([id, signer.sign(message)]))}\n`);
  }
  if (lines.length > MAX_NOTE_SIGNATURES) throw malformed(`more than ${MAX_NOTE_SIGNATURES} signatures`);
  return `${text}\n${lines.join("")}`;
}
