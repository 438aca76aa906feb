/**
 * OAP-CORE-1.0 §7.1 / §28.2: "Outputs MUST NOT contain free form text fields that mirror system
 * instructions"; "Tools MUST NOT emit free form text that mimics control instructions".
 *
 * The spec names no test, so this is a documented heuristic (docs/oap.md "§7.1 output check"):
 * every string in the output is scanned for
 *  1. chat-template control tokens and role tags (`<|im_start|>`, `[INST]`, `<<SYS>>`,
 *     `<system>`, `<tool_call>`, `<|endoftext|>`, ...): `chat-control-token`;
 *  2. a line that opens with a privileged role label (`System:`, `Developer:`,
 *     `### Instruction`, `SYSTEM PROMPT:`): `role-prefix`;
 *  3. instruction-override phrasing ("ignore all previous instructions", "disregard the above
 *     rules", "forget your instructions"): `override-instructions`;
 *  4. persona reassignment ("you are now ...", "from now on you must ...", "act as the system"):
 *     `persona-reassignment`;
 *  5. claims of new or hidden instructions ("new instructions:", "system prompt", "developer
 *     mode", "jailbreak"): `instruction-claim`;
 *  6. concealment directed at the agent ("do not tell the user", "without informing the
 *     user"): `concealment`.
 * It has false positives (a quoted attack in a security report) and misses paraphrases; a Tool
 * whose output legitimately quotes such text can pass `allow` for those pointers.
 *
 * @module
 */
import { escapePointerToken } from "../json/pointer.js";

/** One suspicious string. */
export interface InstructionFinding {
  /** JSON pointer of the string in the output. */
  readonly pointer: string;
  /** Which heuristic matched. */
  readonly rule: InstructionRule;
  /** The matched text (at most 80 characters). */
  readonly match: string;
}

/** Heuristic names. */
export type InstructionRule =
  | "chat-control-token"
  | "role-prefix"
  | "override-instructions"
  | "persona-reassignment"
  | "instruction-claim"
  | "concealment"
  | "custom";

/** The built-in patterns, in the order they are tried. */
export const INSTRUCTION_PATTERNS: readonly { readonly rule: InstructionRule; readonly pattern: RegExp }[] = Object.freeze([
  {
    rule: "chat-control-token",
    pattern: /<\|(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id|end_header_id)\|>|\[\/?INST\]|<<\/?SYS>>|<\/?(?:system|developer|tool_call|function_call|instructions?)>/iu,
  },
  { rule: "role-prefix", pattern: /(?:^|\n)\s*(?:#{1,6}\s*)?(?:system|developer)(?:\s+(?:prompt|message|instructions?))?\s*:/iu },
  { rule: "role-prefix", pattern: /(?:^|\n)\s*#{1,6}\s*(?:instruction|instructions|system)\b/iu },
  {
    rule: "override-instructions",
    pattern:
      /\b(?:ignore|disregard|forget|override|bypass)\b[^.\n]{0,40}?\b(?:previous|prior|preceding|above|earlier|all|any|your|the|system|developer)\b[^.\n]{0,30}?\b(?:instructions?|prompts?|rules|directives|guidelines|guardrails|policies)\b/iu,
  },
  { rule: "persona-reassignment", pattern: /\b(?:you are now|from now on,? you|you must now|act as (?:the|a|an) (?:system|developer|administrator|root))\b/iu },
  { rule: "instruction-claim", pattern: /\b(?:new|updated|hidden|secret|real) (?:system )?instructions?\s*:|\bsystem prompt\b|\bdeveloper mode\b|\bjailbreak\b/iu },
  { rule: "concealment", pattern: /\b(?:do not|don't|never) (?:tell|inform|reveal (?:this )?to|mention (?:this )?to|show) the (?:user|principal|human)\b|\bwithout (?:telling|informing|notifying) the (?:user|principal|human)\b/iu },
]);

/** Options of {@link findInstructionLikeText}. */
export interface InstructionCheckOptions {
  /** More patterns (reported as rule "custom"). */
  readonly extraPatterns?: readonly RegExp[];
  /** Pointers whose strings are exempt (the action documents that they quote text verbatim). */
  readonly allow?: (pointer: string) => boolean;
  /** Also scan object member names (default false). */
  readonly scanKeys?: boolean;
}

function check(text: string, pointer: string, options: InstructionCheckOptions, out: InstructionFinding[]): void {
  if (options.allow?.(pointer) === true) return;
  for (const { rule, pattern } of INSTRUCTION_PATTERNS) {
    const m = pattern.exec(text);
    if (m !== null) {
      out.push({ pointer, rule, match: m[0].trim().slice(0, 80) });
      return;
    }
  }
  for (const pattern of options.extraPatterns ?? []) {
    const m = pattern.exec(text);
    if (m !== null) {
      out.push({ pointer, rule: "custom", match: m[0].trim().slice(0, 80) });
      return;
    }
  }
}

/** Every string of `value` (depth first, document order) that looks like an instruction. */
export function findInstructionLikeText(value: unknown, options: InstructionCheckOptions = {}): InstructionFinding[] {
  const out: InstructionFinding[] = [];
  const walk = (v: unknown, pointer: string, depth: number): void => {
    if (depth > 256) return;
    if (typeof v === "string") check(v, pointer, options, out);
    else if (Array.isArray(v)) v.forEach((item, i) => walk(item, `${pointer}/${i}`, depth + 1));
    else if (typeof v === "object" && v !== null) {
      for (const [k, item] of Object.entries(v)) {
        const p = `${pointer}/${escapePointerToken(k)}`;
        if (options.scanKeys === true) check(k, p, options, out);
        walk(item, p, depth + 1);
      }
    }
  };
  walk(value, "", 0);
  return out;
}
