/**
 * Rows of the wallet tables (SQLite and PostgreSQL share the column layout) as the typed records
 * of ./wallet-store.ts. Integers arrive as bigint, number or decimal text depending on the driver.
 */
import type { BalanceRow, EntryRow, HoldRow, WalletRecord } from "./wallet-store.js";

/** A database row. */
export type Row = Record<string, unknown>;

/** A nullable text column. */
export function opt(v: unknown): string | undefined {
  return v === null || v === undefined ? undefined : String(v);
}

/** An integer column of ledger units. */
export function big(v: unknown): bigint {
  return typeof v === "bigint" ? v : BigInt(v as string | number);
}

export function walletOf(r: Row): WalletRecord {
  return { wallet_did: String(r["wallet_did"]), principal_did: String(r["principal_did"]), status: r["status"] as WalletRecord["status"], created_at: String(r["created_at"]) };
}

export function balanceOf(r: Row): BalanceRow {
  return { wallet_did: String(r["wallet_did"]), currency: String(r["currency"]), balance: big(r["balance"]), held: big(r["held"]) };
}

export function holdOf(r: Row): HoldRow {
  const agent = opt(r["agent_did"]);
  return {
    hold_id: String(r["hold_id"]),
    wallet_did: String(r["wallet_did"]),
    currency: String(r["currency"]),
    amount: big(r["amount"]),
    captured: big(r["captured"]),
    status: r["status"] as HoldRow["status"],
    tool_did: String(r["tool_did"]),
    ...(agent === undefined ? {} : { agent_did: agent }),
    created_at: String(r["created_at"]),
    expires_at: String(r["expires_at"]),
    expires_ms: Number(r["expires_ms"]),
  };
}

const ENTRY_OPTIONAL = ["counterparty_did", "memo", "hold_id", "tool_did", "agent_did", "refund_of", "idem_key", "idem_hash"] as const;

export function entryOf(r: Row): EntryRow {
  const e: Record<string, unknown> = {
    entry_id: String(r["entry_id"]),
    wallet_did: String(r["wallet_did"]),
    currency: String(r["currency"]),
    type: r["type"],
    amount: big(r["amount"]),
    effect: big(r["effect"]),
    timestamp: String(r["timestamp"]),
    ts_ms: Number(r["ts_ms"]),
    receipt_id: String(r["receipt_id"]),
    refunded: big(r["refunded"]),
    seq: Number(r["seq"]),
  };
  for (const k of ENTRY_OPTIONAL) {
    const v = opt(r[k]);
    if (v !== undefined) e[k] = v;
  }
  return e as unknown as EntryRow;
}
