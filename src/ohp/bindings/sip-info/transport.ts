/**
 * The node's sender side over ohp/sip-info: one SIP dialog per call (its Call-ID is the
 * envelope's `session.callId`, so the receiver can bind the envelope to the live leg, D09
 * step 4), reused by every later verb of that call; answers come back as INFOs on the dialog.
 */
import type { JsonObject } from "../../../json/types.js";
import { isJsonObject } from "../../../json/types.js";
import { ControlError } from "../../control/machine.js";
import type { OhpTransport, PeerRef } from "../../control/node.js";
import type { SipDialog, SipInfoEndpoint } from "./endpoint.js";

/** An {@link OhpTransport} over an endpoint's dialogs. */
export function sipInfoTransport(endpoint: () => SipInfoEndpoint, options: { readonly timeoutMs?: number } = {}): OhpTransport {
  const dialogs = new Map<string, Promise<SipDialog>>();
  return {
    async send(peer: PeerRef, envelope: JsonObject): Promise<JsonObject | undefined> {
      const session = isJsonObject(envelope["session"]) ? envelope["session"] : {};
      const callId = typeof session["callId"] === "string" ? session["callId"] : undefined;
      const key = `${peer.url} ${callId ?? ""}`;
      try {
        let dialog = dialogs.get(key);
        if (dialog === undefined) {
          dialog = endpoint().call(peer.url, callId === undefined ? {} : { callId });
          dialogs.set(key, dialog);
          dialog.catch(() => dialogs.delete(key));
        }
        return await endpoint().sendAndAwaitAnswer(await dialog, envelope, options.timeoutMs ?? 30_000);
      } catch (cause) {
        throw new ControlError("ERR_OHP_CONTROL_BINDING", `ohp/sip-info: ${peer.url}: ${(cause as Error).message}`, { cause });
      }
    },
  };
}
