/**
 * OAP-CORE-1.0 §11.2 the OAP Wallet: balance, authorize (holds), capture, refund, the signed
 * statement, limits per Tool / Agent / period, and ledger export / import between providers —
 * the same behaviour on the in-memory and the SQLite store (PostgreSQL: test/store).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { SqliteWalletStore } from "../../../src/oap/commerce/wallet-sqlite.js";
import { MemoryWalletStore } from "../../../src/oap/commerce/wallet-store.js";
import { walletBehaviourSuite } from "./wallet-suite.js";

const dir = mkdtempSync(join(tmpdir(), "aw-wallet-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

walletBehaviourSuite("memory", () => new MemoryWalletStore());
walletBehaviourSuite("sqlite", () => new SqliteWalletStore(join(dir, `w${n++}.sqlite`)));
