import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ALG_EDDSA } from "../../../src/crypto/jwk.js";
import { keyPairFromSeed } from "../../../src/crypto/keys.js";
import {
  EMPTY_ROOT_HASH,
  ed25519NoteSigner,
  ed25519NoteVerifier,
  formatCheckpoint,
  formatVerifierKey,
  noteKeyId,
  openCheckpoint,
  openNote,
  parseCheckpoint,
  parseNote,
  parseSignerKey,
  parseVerifierKey,
  signCheckpoint,
  signNote,
  verifierKeyOf,
  type NoteSignature,
} from "../../../src/trust/tlog/index.js";
import { codeOf, readJson, VECTORS } from "./helpers.js";

interface NoteVectors {
  peterVerifierKey: string;
  peterSignerKey: string;
  enochVerifierKey: string;
  badVerifierKeys: string[];
  text: string;
  peterSigLine: string;
  enochSigLine: string;
  signedByPeter: string;
  peterSignature: NoteSignature;
  enochSignature: NoteSignature;
  c2spExamples: { signedNote: string; checkpoint: string };
}

const V = readJson<NoteVectors>(join(VECTORS, "go-sumdb-note.json"));
const peter = parseVerifierKey(V.peterVerifierKey);
const enoch = parseVerifierKey(V.enochVerifierKey);

describe("C2SP signed-note keys (golang.org/x/mod/sumdb/note vectors)", () => {
  it("C2SP signed-note key ID = SHA-256(name || 0x0A || 0x01 || pubkey)[:4]: the PeterNeumann vkey parses", () => {
    expect(peter.name).toBe("PeterNeumann");
    expect(peter.keyId).toBe(0xc74f20a3);
    expect(enoch.keyId).toBe(0xaf0cfe78);
    const pub = Buffer.from(V.peterVerifierKey.split("+")[2]!, "base64").subarray(1);
    expect(noteKeyId("PeterNeumann", 0x01, pub)).toBe(0xc74f20a3);
    expect(formatVerifierKey("PeterNeumann", pub)).toBe(V.peterVerifierKey);
  });

  it("C2SP signed-note every truncation and every single-byte mangling of the vkey is rejected", () => {
    const b = Buffer.from(V.peterVerifierKey);
    const bad: string[] = [];
    for (let i = 0; i <= b.length; i++) for (let j = i + 1; j <= b.length; j++) if (i !== 0 || j !== b.length) bad.push(b.subarray(i, j).toString());
    for (let i = 0; i < b.length; i++) {
      const c = Buffer.from(b);
      c[i] = c[i]! + 1;
      bad.push(c.toString("latin1"));
    }
    bad.push(...V.badVerifierKeys);
    for (const k of bad) expect(codeOf(() => parseVerifierKey(k)), k).toBe("ERR_NOTE_KEY_INVALID");
  });

  it("C2SP signed-note the signer key derives the matching verifier key", () => {
    const signer = parseSignerKey(V.peterSignerKey);
    expect(signer.name).toBe("PeterNeumann");
    expect(signer.keyId).toBe(0xc74f20a3);
    const seed = Buffer.from(V.peterSignerKey.split("+").slice(4).join("+"), "base64").subarray(1);
    expect(verifierKeyOf("PeterNeumann", new Uint8Array(seed))).toBe(V.peterVerifierKey);
    expect(codeOf(() => parseSignerKey(V.peterSignerKey.replace("c74f20a3", "c74f20a4")))).toBe("ERR_NOTE_KEY_INVALID");
    expect(codeOf(() => parseSignerKey(V.peterSignerKey.slice(8)))).toBe("ERR_NOTE_KEY_INVALID");
  });

  it("C2SP signed-note key names must be non-empty without spaces or '+'", () => {
    const seed = new Uint8Array(32).fill(1);
    for (const name of ["", "a b", "a+b", "tab\tname"]) expect(codeOf(() => ed25519NoteSigner(name, seed)), name).toBe("ERR_NOTE_KEY_INVALID");
  });
});

describe("C2SP signed-note sign and open", () => {
  it("C2SP signed-note Ed25519 signing reproduces the Go note_test.go output byte for byte", () => {
    const signer = parseSignerKey(V.peterSignerKey);
    expect(signNote(V.text, [signer])).toBe(V.signedByPeter);
    // An existing signature by the same key is replaced.
    expect(signNote(V.text, [signer], [{ name: "PeterNeumann", keyId: 0xc74f20a3, base64: "BADSIGN=" }])).toBe(V.signedByPeter);
    // Signatures by other keys are kept, before the new ones.
    expect(signNote(V.text, [signer], [V.enochSignature])).toBe(V.text + "\n" + V.enochSigLine + V.peterSigLine);
  });

  it("C2SP signed-note signing rejects a text without final newline, a bad name, a bad pre-filled signature", () => {
    const signer = parseSignerKey(V.peterSignerKey);
    expect(codeOf(() => signNote("abc", [signer]))).toBe("ERR_NOTE_MALFORMED");
    expect(codeOf(() => signNote(V.text, [], [{ name: "a+b", keyId: 0, base64: "ABCD" }]))).toBe("ERR_NOTE_MALFORMED");
    expect(codeOf(() => signNote(V.text, [], [{ name: "PeterNeumann", keyId: 0xc74f20a3, base64: "BADHASH=" }]))).toBe("ERR_NOTE_MALFORMED");
    expect(codeOf(() => signNote("a\u0001b\n", [signer]))).toBe("ERR_NOTE_MALFORMED");
  });

  it("C2SP signed-note one trusted signature verifies, the unknown one is ignored", () => {
    const n = openNote(V.text + "\n" + V.peterSigLine + V.enochSigLine, [peter]);
    expect(n.text).toBe(V.text);
    expect(n.verified).toEqual([V.peterSignature]);
    expect(n.unverified).toEqual([V.enochSignature]);
  });

  it("C2SP signed-note both signatures verify with both keys", () => {
    const n = openNote(V.text + "\n" + V.peterSigLine + V.enochSigLine, [peter, enoch]);
    expect(n.verified).toEqual([V.peterSignature, V.enochSignature]);
    expect(n.unverified).toEqual([]);
  });

  it("C2SP signed-note no trusted signature: ERR_NOTE_UNVERIFIED", () => {
    expect(codeOf(() => openNote(V.text + "\n" + V.peterSigLine + V.enochSigLine, []))).toBe("ERR_NOTE_UNVERIFIED");
    expect(codeOf(() => openNote(V.text + "\n" + V.enochSigLine, [peter]))).toBe("ERR_NOTE_UNVERIFIED");
  });

  it("C2SP signed-note duplicated trusted verifier: ERR_NOTE_AMBIGUOUS_KEY when used, fine when unused", () => {
    expect(codeOf(() => openNote(V.text + "\n" + V.enochSigLine, [enoch, peter, enoch]))).toBe("ERR_NOTE_AMBIGUOUS_KEY");
    expect(openNote(V.text + "\n" + V.peterSigLine, [enoch, peter, enoch]).verified).toHaveLength(1);
  });

  it("C2SP signed-note more than 100 signatures is malformed", () => {
    expect(codeOf(() => openNote(V.text + "\n" + V.peterSigLine.repeat(101), [peter]))).toBe("ERR_NOTE_MALFORMED");
    expect(codeOf(() => openNote(V.text + "\n" + V.peterSigLine.repeat(101), []))).toBe("ERR_NOTE_MALFORMED");
    expect(openNote(V.text + "\n" + V.peterSigLine.repeat(16), [peter]).verified).toHaveLength(1);
  });

  it("C2SP signed-note a failing trusted signature rejects the whole note: ERR_NOTE_SIGNATURE_INVALID", () => {
    const bad = V.peterSigLine.slice(0, 60) + "ABCD" + V.peterSigLine.slice(60);
    expect(codeOf(() => openNote(V.text + "\n" + bad, [peter]))).toBe("ERR_NOTE_SIGNATURE_INVALID");
    expect(codeOf(() => openNote(V.text.replace("problem", "Problem") + "\n" + V.peterSigLine, [peter]))).toBe("ERR_NOTE_SIGNATURE_INVALID");
  });

  it("C2SP signed-note duplicated verified and unverified signatures are collapsed", () => {
    const enochABCD = V.enochSigLine.slice(0, 60) + "ABCD" + V.enochSigLine.slice(60);
    const n = openNote(V.text + "\n" + V.peterSigLine + V.peterSigLine + V.enochSigLine + V.enochSigLine + enochABCD, [peter]);
    expect(n.verified).toEqual([V.peterSignature]);
    expect(n.unverified.map((s) => s.name)).toEqual(["EnochRoot", "EnochRoot"]);
  });

  it("C2SP signed-note malformed encodings are rejected with ERR_NOTE_MALFORMED", () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    const bad: (string | Uint8Array)[] = [
      V.text,
      V.text + "\n",
      V.text + "\n" + V.peterSigLine.slice(0, -1),
      "\u0001" + V.text + "\n" + V.peterSigLine,
      Buffer.concat([Buffer.from([0xff]), enc(V.text + "\n" + V.peterSigLine)]),
      V.text + "\n" + "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
      V.text + "\n" + V.peterSigLine + "Unexpected line.\n",
      V.text + "\n" + "— PeterNeumann AAAA\n",
      V.text + "\n" + "— PeterNeumann not*base64\n",
    ];
    for (const msg of bad) expect(codeOf(() => openNote(msg, [peter])), String(msg)).toBe("ERR_NOTE_MALFORMED");
  });

  it("C2SP signed-note a signature under another name or key ID is an unknown key, not a forgery", () => {
    expect(codeOf(() => openNote(V.text + "\n" + V.peterSigLine.replace("PeterNeumann", "CarmenSandiego"), [peter]))).toBe("ERR_NOTE_UNVERIFIED");
    expect(codeOf(() => openNote(V.text + "\n" + V.peterSigLine.replace("x08g", "xxxx"), [peter]))).toBe("ERR_NOTE_UNVERIFIED");
  });

  it("C2SP signed-note the spec example parses (text keeps its inner blank line)", () => {
    const n = parseNote(V.c2spExamples.signedNote);
    expect(n.text).toBe("Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n");
    expect(n.signatures[0]!.name).toBe("quasimodo.example/salvatore");
  });

  it("C2SP signed-note signers from an agentwire EdDSA key record and from its JWK interoperate", () => {
    const key = keyPairFromSeed(ALG_EDDSA, new Uint8Array(32).fill(7));
    const signer = ed25519NoteSigner("log.example/a", key);
    const note = signNote("hello\n", [signer]);
    expect(openNote(note, [ed25519NoteVerifier("log.example/a", key.publicJwk)]).verified).toHaveLength(1);
    expect(openNote(note, [parseVerifierKey(verifierKeyOf("log.example/a", key))]).verified).toHaveLength(1);
  });
});

describe("C2SP tlog-checkpoint", () => {
  const signer = parseSignerKey(V.peterSignerKey);
  const root = new Uint8Array(32).fill(0xab);

  it("C2SP tlog-checkpoint the spec example body parses", () => {
    const cp = parseCheckpoint(parseNote(V.c2spExamples.checkpoint).text);
    expect(cp.origin).toBe("example.com/behind-the-sofa");
    expect(cp.size).toBe(20852163);
    expect(Buffer.from(cp.rootHash).toString("base64")).toBe("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=");
    expect(cp.extensions).toEqual([]);
  });

  it("C2SP tlog-checkpoint format/parse round trip with extension lines, sign and open", () => {
    const text = formatCheckpoint({ origin: "PeterNeumann", size: 42, rootHash: root, extensions: ["ext one"] });
    expect(text).toBe(`PeterNeumann\n42\n${Buffer.from(root).toString("base64")}\next one\n`);
    const note = signCheckpoint({ origin: "PeterNeumann", size: 42, rootHash: root }, [signer]);
    const opened = openCheckpoint(note, [peter], { origin: "PeterNeumann" });
    expect(opened.size).toBe(42);
    expect(opened.rootHash).toEqual(root);
    expect(opened.opened.verified[0]!.name).toBe("PeterNeumann");
  });

  it("C2SP tlog-checkpoint a forged size or root fails the signature; a wrong origin or unknown key is rejected", () => {
    const note = signCheckpoint({ origin: "PeterNeumann", size: 42, rootHash: root }, [signer]);
    expect(codeOf(() => openCheckpoint(note.replace("\n42\n", "\n43\n"), [peter]))).toBe("ERR_NOTE_SIGNATURE_INVALID");
    const otherRoot = Buffer.from(new Uint8Array(32).fill(0xac)).toString("base64");
    expect(codeOf(() => openCheckpoint(note.replace(Buffer.from(root).toString("base64"), otherRoot), [peter]))).toBe("ERR_NOTE_SIGNATURE_INVALID");
    expect(codeOf(() => openCheckpoint(note, [peter], { origin: "someone.else" }))).toBe("ERR_CHECKPOINT_ORIGIN_MISMATCH");
    expect(codeOf(() => openCheckpoint(note, [enoch]))).toBe("ERR_NOTE_UNVERIFIED");
  });

  it("C2SP tlog-checkpoint malformed bodies are rejected with ERR_CHECKPOINT_MALFORMED", () => {
    const b64 = Buffer.from(EMPTY_ROOT_HASH).toString("base64");
    for (const body of [
      `o\n0\n`,
      `\n0\n${b64}\n`,
      `o\n01\n${b64}\n`,
      `o\n-1\n${b64}\n`,
      `o\n1e3\n${b64}\n`,
      `o\n99999999999999999999\n${b64}\n`,
      `o\n1\n${b64.slice(0, -4)}\n`,
      `o\n1\nnot base64\n`,
      `o\n1\n${b64}\n\next\n`,
      `o\n1\n${b64}`,
    ]) {
      expect(codeOf(() => parseCheckpoint(body)), JSON.stringify(body)).toBe("ERR_CHECKPOINT_MALFORMED");
    }
    // A signed but malformed body is rejected after the signature check.
    expect(codeOf(() => openCheckpoint(signNote(`o\n01\n${b64}\n`, [signer]), [peter]))).toBe("ERR_CHECKPOINT_MALFORMED");
  });
});
