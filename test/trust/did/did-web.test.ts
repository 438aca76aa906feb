import { describe, expect, it } from "vitest";
import { didMethodOf, didWebDocumentUrl, didWebJwksUrl, parseDidWeb } from "../../../src/trust/did/index.js";
import { throwsWith } from "./helpers.js";

describe("did:web §2.5.2 Read (Resolve): DID → URL", () => {
  // The examples of the did:web method specification (§2.3 and §2.5.2).
  it.each([
    ["did:web:w3c-ccg.github.io", "https://w3c-ccg.github.io/.well-known/did.json"],
    ["did:web:w3c-ccg.github.io:user:alice", "https://w3c-ccg.github.io/user/alice/did.json"],
    ["did:web:example.com%3A3000", "https://example.com:3000/.well-known/did.json"],
    ["did:web:example.com%3A3000:user:alice", "https://example.com:3000/user/alice/did.json"],
    ["did:web:example.com:u:bob", "https://example.com/u/bob/did.json"],
  ])("%s → %s", (did, url) => {
    expect(didWebDocumentUrl(did)).toBe(url);
  });

  it("§2.5.2 step 2: the port colon is percent-decoded in either hex case", () => {
    expect(didWebDocumentUrl("did:web:localhost%3a8443")).toBe("https://localhost:8443/.well-known/did.json");
    expect(parseDidWeb("did:web:example.com%3A3000:user:alice")).toMatchObject({ host: "example.com", port: 3000, path: ["user", "alice"] });
  });

  it("percent-encoded path segments stay encoded in the URL", () => {
    expect(didWebDocumentUrl("did:web:example.com:user%20x")).toBe("https://example.com/user%20x/did.json");
  });

  it("OHP §5.9 / B13: the OHP JWKS lives at the host root, also for path-form DIDs", () => {
    expect(didWebJwksUrl("did:web:agents.example.com:asst_b3")).toBe("https://agents.example.com/.well-known/ohp-jwks.json");
    expect(didWebJwksUrl("did:web:example.com%3A3000:user:alice")).toBe("https://example.com:3000/.well-known/ohp-jwks.json");
  });
});

describe("did:web §2.2/§2.3 syntax: invalid DIDs are rejected", () => {
  it.each([
    ["did:web:", "empty method-specific id"],
    ["did:WEB:example.com", "method name not lowercase"],
    ["did:web:192.168.0.1", "IPv4 address (§2.3 MUST NOT)"],
    ["did:web:[::1]", "IPv6 address"],
    ["did:web:example.com:", "empty path segment"],
    ["did:web:example.com::x", "empty path segment in the middle"],
    ["did:web:example.com:..", "dot segment"],
    ["did:web:example.com:%2e%2E", "percent-encoded dot segment"],
    ["did:web:example.com:a%2Fb", "encoded slash"],
    ["did:web:example.com%3A0", "port 0"],
    ["did:web:example.com%3A70000", "port above 65535"],
    ["did:web:example.com%3A", "empty port"],
    ["did:web:exa%6Dple.com", "percent-encoding in the host"],
    ["did:web:-example.com", "label starting with a hyphen"],
    ["did:web:example", "not a fully qualified domain name"],
    ["did:web:example.com#key-1", "DID URL with fragment"],
    ["did:web:example.com/path", "slash"],
    ["did:web:example.com?x=1", "query"],
    ["did:web:ex ample.com", "space"],
  ])("%s (%s) → ERR_DID_INVALID", (did) => {
    throwsWith(() => parseDidWeb(did), "ERR_DID_INVALID");
  });

  it("another method is ERR_DID_METHOD_UNSUPPORTED", () => {
    throwsWith(() => parseDidWeb("did:example:123"), "ERR_DID_METHOD_UNSUPPORTED");
  });

  it("DID Core syntax: didMethodOf rejects non-DIDs", () => {
    expect(didMethodOf("did:web:example.com")).toBe("web");
    throwsWith(() => didMethodOf("https://example.com"), "ERR_DID_INVALID");
    throwsWith(() => didMethodOf("did:Web:example.com"), "ERR_DID_INVALID");
  });

  it("localhost is accepted (tests), with a port", () => {
    expect(parseDidWeb("did:web:localhost%3A8080").port).toBe(8080);
  });
});
