/** §1.8 `to` and `reason`, §2.1 "ignore events not addressed to you". */
import { describe, expect, it } from "vitest";
import { REASON_TOKENS, isAddressedTo, isPrivate, isWhisper, reasonTokens, type OfpEvent } from "../../src/ofp/index.js";

const me = { speakerUri: "tag:me.example,2025:1", serviceUrl: "https://site.example/ofp" };

describe("§2.1 isAddressedTo", () => {
  it("no `to`: every recipient", () => {
    expect(isAddressedTo({ eventType: "bye" }, me)).toBe(true);
  });
  it("a speakerUri must match", () => {
    expect(isAddressedTo({ eventType: "grantFloor", to: { speakerUri: me.speakerUri } }, me)).toBe(true);
    expect(isAddressedTo({ eventType: "grantFloor", to: { speakerUri: "tag:other,2025:1", serviceUrl: me.serviceUrl } }, me)).toBe(false);
  });
  it("§1.12 an invite also reaches the agent at its serviceUrl (the speakerUri is only a suggestion)", () => {
    expect(isAddressedTo({ eventType: "invite", to: { speakerUri: "tag:suggested,2025:1", serviceUrl: me.serviceUrl } }, me)).toBe(true);
  });
  it("§1.17 serviceUrl alone: every agent served there", () => {
    expect(isAddressedTo({ eventType: "getManifests", to: { serviceUrl: me.serviceUrl } }, me)).toBe(true);
    expect(isAddressedTo({ eventType: "getManifests", to: { serviceUrl: "https://elsewhere.example" } }, me)).toBe(false);
    expect(isAddressedTo({ eventType: "getManifests", to: { serviceUrl: me.serviceUrl } }, { speakerUri: me.speakerUri })).toBe(false);
  });
});

describe("§1.8/§1.10 private events and whispers", () => {
  const de = { speakerUri: "u", span: { startTime: "t" }, features: { text: { mimeType: "text/plain", tokens: [{ value: "x" }] } } };
  it("a private utterance is a whisper; a private bye is merely private", () => {
    const whisper: OfpEvent = { eventType: "utterance", to: { speakerUri: "a", private: true }, parameters: { dialogEvent: de } };
    const bye: OfpEvent = { eventType: "bye", to: { speakerUri: "a", private: true } };
    expect([isPrivate(whisper), isWhisper(whisper), isPrivate(bye), isWhisper(bye)]).toStrictEqual([true, true, true, false]);
  });
});

describe("§1.8 reason tokens", () => {
  it("extracts @tokens as written", () => {
    expect(reasonTokens("convener agent taking back the floor because @timedOut")).toStrictEqual(["@timedOut"]);
    expect(reasonTokens("@brokenPolicy: agents should not... @error_2.")).toStrictEqual(["@brokenPolicy", "@error_2"]);
    expect(reasonTokens(undefined)).toStrictEqual([]);
  });
  it("§1.13/§1.15/§1.21/§1.22 tables", () => {
    expect(REASON_TOKENS.revokeFloor).toContain("@override");
    expect(REASON_TOKENS.yieldFloor).toContain("@complete");
    expect(REASON_TOKENS.declineInvite).toContain("@outOfDomain");
    expect(REASON_TOKENS.uninvite).toStrictEqual(["@timedOut", "@brokenPolicy", "@error"]);
  });
});
