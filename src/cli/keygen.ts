import { join } from "node:path";
import { parseArgs } from "node:util";
import { ALG_EDDSA, ALG_HPKE_X25519, ALG_MLDSA65, ALG_MLDSA65_ED25519, isKeyAlg, type KeyAlg } from "../crypto/jwk.js";
import { generateKeyPair, privateJwks, publicJwks } from "../crypto/keys.js";
import { CliExit, EXIT_OK, EXIT_USAGE, UsageError, type CliIo, type Command } from "./io.js";

/** Keys `agentwire keygen` makes by default: everything an OHP node needs up to Regulated. */
export const DEFAULT_KEYGEN_ALGS: readonly KeyAlg[] = [ALG_EDDSA, ALG_MLDSA65, ALG_HPKE_X25519];

const ALIASES: Readonly<Record<string, KeyAlg>> = {
  eddsa: ALG_EDDSA,
  ed25519: ALG_EDDSA,
  "ml-dsa-65": ALG_MLDSA65,
  mldsa65: ALG_MLDSA65,
  composite: ALG_MLDSA65_ED25519,
  "ml-dsa-65-ed25519": ALG_MLDSA65_ED25519,
  x25519: ALG_HPKE_X25519,
  hpke: ALG_HPKE_X25519,
};

function parseAlg(text: string): KeyAlg {
  if (isKeyAlg(text)) return text;
  const alias = ALIASES[text.toLowerCase()];
  if (alias === undefined) throw new UsageError(`unknown key algorithm ${JSON.stringify(text)}`);
  return alias;
}

export const keygenCommand: Command = {
  name: "keygen",
  summary: "generate signing (Ed25519, ML-DSA-65) and HPKE (X25519) keys as private/public JWK Sets",
  usage: `usage: agentwire keygen --out DIR [--alg ALG]... [--force]

Writes DIR/private.jwks.json (mode 0600; keep it secret) and DIR/public.jwks.json (publish it,
e.g. at /.well-known/ohp-jwks.json). Each kid is the RFC 7638 thumbprint of its key.
Private keys are never printed.

  --alg ALG  EdDSA, ML-DSA-65, HPKE/X25519-SHA256-CHACHA20POLY1305 (alias x25519) or the opt-in
             composite ML-DSA-65-Ed25519; repeatable. Default: EdDSA, ML-DSA-65 and X25519.
  --force    overwrite existing files

Exit status: 0 written, 2 usage or I/O error.`,
  async run(args: string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: false,
      options: {
        out: { type: "string" },
        alg: { type: "string", multiple: true },
        force: { type: "boolean", default: false },
      },
    });
    void positionals;
    if (values.out === undefined) throw new UsageError("keygen needs --out DIR");
    const algs = values.alg === undefined ? DEFAULT_KEYGEN_ALGS : values.alg.map(parseAlg);
    if (new Set(algs).size !== algs.length) throw new UsageError("each --alg may be given once");
    const keys = algs.map((alg) => generateKeyPair(alg));
    const privatePath = join(values.out, "private.jwks.json");
    const publicPath = join(values.out, "public.jwks.json");
    const exclusive = !values.force;
    try {
      await io.writeFile(privatePath, JSON.stringify(privateJwks(keys), null, 2) + "\n", { mode: 0o600, exclusive });
      await io.writeFile(publicPath, JSON.stringify(publicJwks(keys), null, 2) + "\n", { mode: 0o644, exclusive });
    } catch (e) {
      const code = (e as { code?: string }).code;
      const hint = code === "EEXIST" ? " (exists; pass --force to overwrite)" : "";
      throw new CliExit(`cannot write keys to ${values.out}: ${(e as Error).message}${hint}`, EXIT_USAGE);
    }
    io.stdout(`wrote ${privatePath} (private, keep secret) and ${publicPath}\n`);
    for (const k of keys) io.stdout(`  ${k.alg.padEnd(36)} ${k.use}  kid ${k.kid}\n`);
    return EXIT_OK;
  },
};
