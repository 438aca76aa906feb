/**
 * OAP (Open Agent Protocol) 1.0 draft, invocation plane — documents, signatures, replay and
 * idempotency, actions and policy, authentication, receipts and anchoring, protobuf mapping.
 * See docs/oap.md.
 *
 * @module
 */
export * from "./errors.js";
export * from "./util.js";
export * from "./documents.js";
export * from "./sign.js";
export * from "./replay.js";
export * from "./idempotency.js";
export * from "./instructions.js";
export * from "./rate-limit.js";
export {
  ActionCatalog,
  ActionSchemaCache,
  CompiledAction,
  JURISDICTION_GROUPS,
  actionRuleIssues,
  checkAnonymous,
  checkConsent,
  checkCurrency,
  checkDeprecation,
  checkJurisdiction,
  closeSchema,
  compileAction,
  defaultActionSchemaCache,
  effectiveRiskClass,
  jurisdictionCovers,
  negotiateLocale,
  runActionPolicies,
  supportedCurrencies,
  type ActionPolicyDecision,
  type ActionPolicyOutcome,
  type ActionPolicyResult,
  type CompileActionOptions,
  type LocaleChoice,
} from "./actions.js";
export * from "./auth.js";
export * from "./anchors.js";
export {
  MemoryReceiptStore,
  OAP_RECEIPT_GENESIS,
  ReceiptChainError,
  ReceiptLedger,
  assertReceiptChain,
  invocationReceiptBody,
  verifyReceiptChain,
  type BrokenReceipt,
  type InvocationReceiptInput,
  type IssuedReceipt,
  type ReceiptBody,
  type ReceiptChainErrorCode,
  type ReceiptChainReport,
  type ReceiptLedgerOptions,
  type ReceiptStore,
  type VerifyReceiptChainOptions,
} from "./receipts.js";
export * from "./proto-json.js";
// Part B: server, tasks, webhooks, client, example tools (docs/oap-server.md).
export * from "./tasks/index.js";
export * from "./webhooks/index.js";
export * from "./server/index.js";
export * from "./client/index.js";
export * from "./tools/index.js";
// Governance and commerce planes, adapters (docs/oap-governance.md, docs/oap-commerce.md).
export * from "./governance/index.js";
export * from "./commerce/index.js";
export * from "./adapters/index.js";
