/**
 * The inspector page (bundled by src/inspector/build.mjs into dist/inspector/inspector.js):
 * Connect-Web calls to `agentwire.inspector.v1.InspectorService` on the page's own origin (the
 * node), rendered with the tiny DOM layer of dom.ts. Sealed fields are opened here, in the page,
 * with the pasted private key (sealed.ts); that key is never sent to the node.
 */
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import {
  DocumentType,
  InspectorService,
  type Handoff,
  type InspectResponse,
  type Issue,
  type OapReport,
  type OfpReport,
  type OhpReport,
  type Signature,
} from "../../../gen/agentwire/inspector/v1/inspector_pb.js";
import { byId, h, origin, ready, type Child, type DomFile, type El } from "./dom.js";
import { openInPage } from "./sealed.js";

type InspectorClient = Client<typeof InspectorService>;

const TYPE_NAMES: Readonly<Record<number, string>> = {
  [DocumentType.UNSPECIFIED]: "unknown",
  [DocumentType.OHP_ENVELOPE]: "OHP envelope",
  [DocumentType.OFP_DOCUMENT]: "Open Floor document",
  [DocumentType.OAP_RECEIPT]: "OAP receipts",
  [DocumentType.OTHER]: "document",
};

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function section(title: string, id: string, ...children: Child[]): El {
  return h("div", { id, class: "block" }, h("h3", { text: title }), ...children);
}

function issues(errors: readonly Issue[], warnings: readonly Issue[]): El {
  if (errors.length === 0 && warnings.length === 0) return section("Validation", "validation", h("p", { class: "ok", text: "no issues" }));
  const item = (kind: "error" | "warning", i: Issue): El =>
    h("li", { class: kind, data: { pointer: i.pointer, rule: i.rule } }, h("span", { class: "mono", text: i.pointer === "" ? "/" : i.pointer }), ` ${i.message}`, i.rule ? h("span", { class: "note", text: ` (${i.rule})` }) : null);
  return section(
    "Validation",
    "validation",
    h("ul", { class: "issues", id: "issues" }, errors.map((i) => item("error", i)), warnings.map((i) => item("warning", i))),
  );
}

function signatureTable(id: string, sigs: readonly Signature[]): El {
  if (sigs.length === 0) return h("p", { class: "muted", id, text: "no signatures" });
  return h(
    "table",
    { id },
    h("thead", {}, h("tr", {}, h("th", { text: "alg" }), h("th", { text: "kid" }), h("th", { text: "verified" }), h("th", { text: "why not" }))),
    h(
      "tbody",
      {},
      sigs.map((s) =>
        h(
          "tr",
          { class: "signature", data: { alg: s.alg, kid: s.kid, verified: String(s.verified) } },
          h("td", { text: s.alg }),
          h("td", { class: "mono", text: s.kid }),
          h("td", { class: s.verified ? "ok verified" : "bad verified", text: s.verified ? "✓ verified" : "✗ not verified" }),
          h("td", { class: "note", text: s.error }),
        ),
      ),
    ),
  );
}

function pipeline(ohp: OhpReport): El {
  return section(
    "Receiver pipeline",
    "pipeline-section",
    h(
      "table",
      { id: "pipeline" },
      h("thead", {}, h("tr", {}, h("th", { text: "step" }), h("th", { text: "check" }), h("th", { text: "status" }), h("th", { text: "note" }))),
      h(
        "tbody",
        {},
        ohp.steps.map((s) =>
          h(
            "tr",
            { class: `step status-${s.status}`, data: { check: s.name, step: String(s.number), status: s.status } },
            h("td", { text: s.number === 0 ? "–" : String(s.number) }),
            h("td", { text: s.name }),
            h("td", { class: "status", text: s.status }),
            h("td", { class: "note", text: s.note }),
          ),
        ),
      ),
    ),
    h("p", { class: "note", text: `Run at ${ohp.now ? timestampDate(ohp.now).toISOString() : "?"}; issuer keys from ${ohp.issuerKeys === "request" ? "the JWKS above" : ohp.issuerKeys === "node" ? "the node's trust" : "nowhere (not trusted)"}.` }),
    ohp.unverified.length > 0 ? h("div", {}, h("strong", { text: "Not verified (no hook or key):" }), h("ul", { class: "issues", id: "unverified" }, ohp.unverified.map((u) => h("li", { class: "warning", text: u })))) : null,
    ohp.warnings.length > 0 ? h("div", {}, h("strong", { text: "Warnings:" }), h("ul", { class: "issues" }, ohp.warnings.map((u) => h("li", { class: "warning", text: u })))) : null,
  );
}

function sealedSection(ohp: OhpReport, document: unknown, privateJwks: string, accepted: boolean): El | null {
  const s = ohp.sealed;
  if (s === undefined) return null;
  const local = h("div", { id: "sealed-local", data: { state: "idle" } });
  if (privateJwks.trim() === "") {
    local.append(h("p", { class: "muted", text: "Paste a private JWKS above to open the sealed fields in this page." }));
  } else {
    local.dataset["state"] = "opening";
    local.append(h("p", { class: "muted", text: "opening in the page…" }));
    openInPage(document, privateJwks).then(
      (opened) => {
        local.dataset["state"] = "opened";
        local.replaceChildren(
          h("p", { class: "ok", text: `Opened in this page with key ${opened.kid} (${opened.mode}).` }),
          ...(accepted ? [] : [h("p", { class: "bad", text: "The envelope did not pass the pipeline: treat these values as unauthenticated." })]),
          h("pre", { id: "sealed-values", text: JSON.stringify(opened.fields, null, 2) }),
        );
      },
      (e: unknown) => {
        local.dataset["state"] = "failed";
        local.replaceChildren(h("p", { class: "bad", id: "sealed-error", text: `Not opened: ${errorText(e)}` }));
      },
    );
  }
  return section(
    "Sealed fields",
    "sealed",
    h(
      "table",
      {},
      h(
        "tbody",
        {},
        h("tr", {}, h("th", { text: "alg" }), h("td", { class: "mono", text: s.alg })),
        h("tr", {}, h("th", { text: "fields" }), h("td", { class: "mono", id: "sealed-fields", text: s.fields.join(", ") })),
        h("tr", {}, h("th", { text: "recipients" }), h("td", { class: "mono", text: s.recipientKids.join(", ") })),
      ),
    ),
    s.opened ? h("div", {}, h("p", { class: "ok", text: `Opened by the node with key ${s.openedKid} (${s.mode}).` }), h("pre", { text: s.valuesJson })) : null,
    local,
  );
}

function ofpSection(ofp: OfpReport): El {
  return section(
    "Open Floor",
    "ofp",
    h(
      "table",
      {},
      h(
        "tbody",
        {},
        h("tr", {}, h("th", { text: "kind" }), h("td", { text: ofp.kind })),
        ofp.declaredVersion ? h("tr", {}, h("th", { text: "version" }), h("td", { text: ofp.declaredVersion })) : null,
        h("tr", {}, h("th", { text: "events" }), h("td", { class: "mono", text: ofp.eventTypes.join(", ") || "none" })),
      ),
    ),
  );
}

function oapSection(oap: OapReport): El {
  return section(
    "OAP receipts",
    "oap",
    h(
      "p",
      { id: "oap-chain", data: { ok: String(oap.ok) }, class: oap.ok ? "ok" : "bad" },
      oap.ok ? "chain verifies" : "chain broken",
      h("span", { class: "note", text: ` · ${oap.receipts} receipt(s) · signatures ${oap.signaturesVerified ? "checked" : "not checked (no keys)"} · anchors ${oap.anchorsVerified} verified, ${oap.anchorsSkipped} skipped` }),
    ),
    oap.firstBroken ? h("p", { class: "bad", text: `first broken: #${oap.firstBroken.index} ${oap.firstBroken.receiptId} ${oap.firstBroken.code}: ${oap.firstBroken.reason}` }) : null,
    oap.items.map((r, i) =>
      h(
        "div",
        { class: "receipt", data: { receiptId: r.receiptId } },
        h("h3", { class: "mono", text: `#${i} ${r.receiptId}` }),
        h("p", { class: "note mono", text: `principal ${r.principalDid} · tool ${r.toolDid} · hash ${r.hash} · previous ${r.previousReceiptHash}` }),
        signatureTable(`oap-signatures-${i}`, r.signatures),
      ),
    ),
  );
}

function render(result: InspectResponse, document: unknown, privateJwks: string): El[] {
  const out: El[] = [];
  const ohp = result.ohp;
  const verdict = ohp !== undefined ? ohp.outcome : result.valid ? "valid" : "invalid";
  out.push(
    h(
      "div",
      { class: "head" },
      h("span", { class: "badge", id: "doc-type", data: { type: DocumentType[result.type] ?? String(result.type) }, text: TYPE_NAMES[result.type] ?? "?" }),
      " ",
      h("span", { class: `badge ${verdict}`, id: "outcome", data: { outcome: verdict }, text: verdict }),
      ohp !== undefined && ohp.outcome === "reject"
        ? h("span", { id: "reject", data: { reason: ohp.rejectReason, step: String(ohp.firstFailingStep ?? ""), check: ohp.failedCheck } }, ` ${ohp.rejectReason} at step ${ohp.firstFailingStep ?? "?"} (${ohp.failedCheck})`)
        : null,
    ),
    h("p", { class: "summary", id: "summary", text: result.summary }),
  );
  if (ohp !== undefined && ohp.detailMessage !== "") {
    out.push(h("p", { class: "bad", id: "detail" }, h("span", { class: "mono", text: ohp.detailCode }), ` ${ohp.detailMessage}`, ohp.detailPointer ? h("span", { class: "mono", text: ` at ${ohp.detailPointer}` }) : null));
  }
  out.push(issues(result.errors, result.warnings));
  if (ohp !== undefined) {
    out.push(pipeline(ohp));
    out.push(section("Signatures", "signatures-section", signatureTable("signatures", ohp.signatures)));
    const sealed = sealedSection(ohp, document, privateJwks, ohp.outcome === "accept");
    if (sealed !== null) out.push(sealed);
  }
  if (result.ofp !== undefined) out.push(ofpSection(result.ofp));
  if (result.oap !== undefined) out.push(oapSection(result.oap));
  return out;
}

async function inspect(client: InspectorClient): Promise<void> {
  const text = byId("document").value;
  const privateJwks = byId("private-jwks").value;
  const nowText = byId("now").value.trim();
  const resultEl = byId("result");
  const button = byId("inspect");
  let now: Date | undefined;
  if (nowText !== "") {
    now = new Date(nowText);
    if (Number.isNaN(now.getTime())) {
      resultEl.replaceChildren(h("p", { class: "bad", id: "input-error", text: `The receiver clock ${JSON.stringify(nowText)} is not a date-time.` }));
      return;
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined; // the node reports why
  }
  button.disabled = true;
  byId("busy").hidden = false;
  try {
    const result = await client.inspect({
      documentJson: text,
      jwksJson: byId("jwks").value,
      signerDid: byId("signer-did").value.trim(),
      ...(now !== undefined ? { now: timestampFromDate(now) } : {}),
      // privateJwksJson is deliberately never sent: sealed blocks are opened in the page.
    });
    resultEl.replaceChildren(...render(result, parsed, privateJwks));
    resultEl.dataset["state"] = "done";
  } catch (e) {
    resultEl.replaceChildren(h("p", { class: "bad", id: "call-error", text: `The node did not answer: ${errorText(e)}` }));
    resultEl.dataset["state"] = "error";
  } finally {
    button.disabled = false;
    byId("busy").hidden = true;
  }
}

// ---------------------------------------------------------------------------------------------
// live handoffs

function handoffRow(x: Handoff, client: InspectorClient): El {
  const envelope = x.envelopesJson["PROPOSE"] ?? x.envelopesJson["ASSUME"] ?? Object.values(x.envelopesJson)[0];
  return h(
    "tr",
    { class: "handoff", data: { handoffId: x.id, role: x.role, state: x.state } },
    h("td", { class: "note", text: x.updatedAt ? timestampDate(x.updatedAt).toISOString().replace("T", " ").slice(0, 19) : "" }),
    h("td", { class: "mono", text: x.id }),
    h("td", { text: x.role }),
    h("td", { class: "state", text: x.state + (x.rejectReason ? ` (${x.rejectReason})` : "") }),
    h("td", { text: x.tier }),
    h("td", { text: x.binding }),
    h("td", { class: "mono", text: x.peer }),
    h(
      "td",
      {},
      envelope === undefined
        ? null
        : h("button", {
            class: "small",
            text: "inspect",
            title: "Load this handoff's envelope into the inspector",
            on: {
              click: () => {
                byId("document").value = JSON.stringify(JSON.parse(envelope), null, 2);
                void inspect(client);
              },
            },
          }),
    ),
  );
}

function watchHandoffs(client: InspectorClient): void {
  const rows = byId("handoff-rows");
  const status = byId("watch-status");
  const known = new Map<string, Handoff>();
  const draw = (): void => {
    const list = [...known.values()].sort((a, b) => Number((b.updatedAt?.seconds ?? 0n) - (a.updatedAt?.seconds ?? 0n)) || (b.updatedAt?.nanos ?? 0) - (a.updatedAt?.nanos ?? 0));
    if (list.length === 0) rows.replaceChildren(h("tr", { class: "empty" }, h("td", { attrs: { colspan: "8" }, class: "muted", text: "no handoffs yet" })));
    else rows.replaceChildren(...list.map((x) => handoffRow(x, client)));
  };
  const setStatus = (s: "live" | "offline", text: string): void => {
    status.className = `badge ${s}`;
    status.dataset["state"] = s;
    status.textContent = text;
  };
  const run = async (): Promise<void> => {
    for (;;) {
      try {
        for await (const m of client.watchHandoffs({})) {
          if (m.snapshot) known.clear();
          for (const x of m.handoffs) known.set(`${x.role}:${x.id}`, x);
          setStatus("live", "live");
          draw();
        }
        setStatus("offline", "stream ended, reconnecting…");
      } catch (e) {
        setStatus("offline", `offline: ${errorText(e)}`);
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
  };
  void run();
}

// ---------------------------------------------------------------------------------------------

async function loadFile(file: DomFile | undefined): Promise<void> {
  if (file === undefined) return;
  byId("document").value = await file.text();
}

ready(() => {
  const client: InspectorClient = createClient(InspectorService, createConnectTransport({ baseUrl: origin() }));
  const doc = byId("document");
  byId("inspect").addEventListener("click", () => void inspect(client));
  byId("clear").addEventListener("click", () => {
    doc.value = "";
    byId("result").replaceChildren(h("p", { class: "muted", text: "Nothing inspected yet." }));
    doc.focus();
  });
  doc.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey === true || e.metaKey === true)) {
      e.preventDefault();
      void inspect(client);
    }
  });
  const zone = byId("drop-zone");
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("dragging");
    void loadFile(e.dataTransfer?.files[0]).then(() => inspect(client));
  });
  byId("file").addEventListener("change", (e) => void loadFile(e.target?.files?.[0] ?? undefined).then(() => inspect(client)));
  client.getNode({}).then(
    (n) => {
      const info = byId("node-info");
      info.replaceChildren(
        n.did === "" ? "node" : h("span", { class: "mono", id: "node-did", text: n.did }),
        n.vendor ? ` · ${n.vendor}` : "",
        n.maxTier ? ` · receives up to ${n.maxTier}` : "",
      );
    },
    (e: unknown) => {
      byId("node-info").textContent = `node unreachable: ${errorText(e)}`;
    },
  );
  watchHandoffs(client);
});
