import { parseArgs } from "node:util";
import { isAgentwireError } from "../errors.js";
import { parseJsonStrict } from "../json/parse.js";
import { validateDocument } from "../validate.js";
import { isSchemaName, schemaNames } from "../schema/validate.js";
import { ofpDocumentKind } from "../ofp/versions.js";
import { validateOfp } from "../ofp/validate.js";
import { EXIT_FAIL, EXIT_OK, EXIT_USAGE, UsageError, type CliIo, type Command } from "./io.js";

export const validateCommand: Command = {
  name: "validate",
  summary: "validate wire documents (OHP envelopes, well-known documents, Open Floor / OVON) against schema and spec rules",
  usage: `usage: agentwire validate FILE... [--schema NAME] [--json] [--strict]

Detects each document's type (or takes --schema NAME), validates it against its JSON Schema
and, for OHP envelopes, the per-tier rules of OHP §4.2, §4.4, §4.5 and §6.1 that a schema
cannot express. Open Floor / OVON documents (\`openFloor\` / \`ovon\` envelopes by declared
version, dialog events, manifests) get their specification rules too (see \`agentwire ofp\`).
FILE "-" reads standard input.

  --schema NAME  one of: ${schemaNames().join(", ")}
  --json         print one JSON result object per file
  --strict       treat warnings (SHOULD rows, lenient MUSTs) as errors

Exit status: 0 all valid, 1 at least one invalid, 2 usage or I/O error.`,
  async run(args: string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        schema: { type: "string" },
        json: { type: "boolean", default: false },
        strict: { type: "boolean", default: false },
      },
    });
    if (positionals.length === 0) throw new UsageError("validate needs at least one FILE");
    if (values.schema !== undefined && !isSchemaName(values.schema)) {
      throw new UsageError(`unknown schema ${JSON.stringify(values.schema)} (known: ${schemaNames().join(", ")})`);
    }
    let worst = EXIT_OK;
    for (const file of positionals) {
      let text: string;
      try {
        text = await io.readFile(file);
      } catch (e) {
        io.stderr(`agentwire validate: cannot read ${file}: ${(e as Error).message}\n`);
        return EXIT_USAGE;
      }
      let doc: unknown;
      try {
        doc = parseJsonStrict(text);
      } catch (e) {
        const pointer = isAgentwireError(e) ? String(e.detail?.["pointer"] ?? "") : "";
        const result = { file, valid: false, schema: null, errors: [{ pointer, message: (e as Error).message, rule: "RFC 8259" }], warnings: [] };
        io.stdout(values.json ? JSON.stringify(result) + "\n" : `${file}: invalid JSON\n  ${pointer || "/"}: ${(e as Error).message}\n`);
        worst = EXIT_FAIL;
        continue;
      }
      const forced = values.schema !== undefined && isSchemaName(values.schema) ? { schema: values.schema } : {};
      const result =
        ofpDocumentKind(doc) === undefined
          ? validateDocument(doc, { ...forced, byteLength: Buffer.byteLength(text, "utf8") })
          : { tier: undefined, ...validateOfp(doc, forced) };
      if (result.schema === undefined) {
        io.stderr(`agentwire validate: cannot tell what kind of document ${file} is; pass --schema NAME\n`);
        return EXIT_USAGE;
      }
      const errors = values.strict ? [...result.errors, ...result.warnings] : result.errors;
      const warnings = values.strict ? [] : result.warnings;
      const valid = errors.length === 0;
      if (!valid) worst = EXIT_FAIL;
      if (values.json) {
        io.stdout(JSON.stringify({ file, valid, schema: result.schema, ...(result.tier ? { tier: result.tier } : {}), errors, warnings }) + "\n");
        continue;
      }
      const what = result.tier ? `${result.schema}, tier ${result.tier}` : result.schema;
      io.stdout(`${file}: ${valid ? "valid" : "invalid"} (${what})\n`);
      for (const e of errors) io.stdout(`  error   ${e.pointer || "/"}: ${e.message} [${e.rule}]\n`);
      for (const w of warnings) io.stdout(`  warning ${w.pointer || "/"}: ${w.message} [${w.rule}]\n`);
    }
    return worst;
  },
};
