/** ofp.v1.FloorService (our gRPC / Connect binding, proto/ofp/v1/floor.proto) in front of a floor manager. */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { create, fromJson, toJson } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConverseRequestSchema, SendRequestSchema, SendResponseSchema } from "../../gen/ofp/v1/floor_pb.js";
import { defineAgent } from "../../src/ofp/agent.js";
import { invite } from "../../src/ofp/build.js";
import { FloorManager } from "../../src/ofp/floor.js";
import { floorClient, serveFloorGrpc, type RunningFloorServers } from "../../src/ofp/grpc.js";
import { sendEnvelope, type RunningOfpServer } from "../../src/ofp/http.js";
import type { OfpDocument } from "../../src/ofp/types.js";
import { REPO_DIR } from "../helpers/upstream.js";
import { envelope, FLOOR_URI, manifestOf, say, spoken, types, USER } from "./runtime-helpers.js";

let servers: RunningFloorServers;
let travelServer: RunningOfpServer;
let floor: FloorManager;
const travel = defineAgent({ manifest: { ...manifestOf("travel"), identification: { ...manifestOf("travel").identification, serviceUrl: undefined } }, greeting: "hi", onUtterance: (u) => (u.from.includes("user") || u.from.includes("streamer") ? `travel: ${u.text}` : undefined) });

beforeAll(async () => {
  travelServer = await travel.serve();
  floor = new FloorManager({ identity: { speakerUri: FLOOR_URI } });
  servers = await serveFloorGrpc({ floor });
});
afterAll(async () => {
  await servers.close();
  await travelServer.close();
});

describe("ofp.v1 ProtoJSON is the Open Floor JSON", () => {
  it("an envelope with extension members, nulls, numbers and nested arrays round-trips through Struct exactly", () => {
    const doc = {
      openFloor: {
        schema: { version: "1.1.0" },
        conversation: { id: "c1", "x-custom": { nested: [1, 2.5, null, true, "s", { deep: [] }] } },
        sender: { speakerUri: USER.speakerUri },
        events: [say(USER.speakerUri, "hello")],
        "x-ovon": { responseCode: { code: 200 } },
      },
    };
    const message = create(SendRequestSchema, { envelope: doc as never });
    const json = toJson(SendRequestSchema, message);
    expect(json).toEqual({ envelope: doc });
    expect(fromJson(SendRequestSchema, JSON.parse(JSON.stringify(json))).envelope).toEqual(doc);
  });

  it("buf lint is clean (proto/ofp/v1)", () => {
    expect(() => execFileSync(join(REPO_DIR, "node_modules/.bin/buf"), ["lint", "--path", "proto/ofp"], { cwd: REPO_DIR, stdio: "pipe" })).not.toThrow();
  });
});

describe("ofp.v1.FloorService/Send", () => {
  for (const protocol of ["grpc", "connect", "grpc-web"] as const) {
    it(`${protocol}: the same exchange as an HTTPS POST`, async () => {
      const id = `send-${protocol}`;
      const client = floorClient(protocol === "grpc" ? servers.grpcUrl : servers.http.origin, { protocol });
      const answer = await client.send(envelope(id, USER, [invite({ to: { serviceUrl: travel.serviceUrl! } }), say(USER.speakerUri, "Rome")]));
      expect(spoken(answer)).toEqual(["travel: hi", "travel: travel: Rome"]);
      expect(answer.openFloor.sender.speakerUri).toBe(FLOOR_URI);
      // the HTTPS binding on the same listener, same conversation
      const posted = await sendEnvelope(servers.http.url, envelope(id, USER, [say(USER.speakerUri, "Milan")]));
      expect(spoken(posted.value)).toEqual(["travel: travel: Milan"]);
    });
  }

  it("INVALID_ARGUMENT for an invalid envelope, FAILED_PRECONDITION for a stranger", async () => {
    const client = floorClient(servers.grpcUrl);
    const invalid = await client.send({ openFloor: { schema: { version: "1.1.0" } } } as unknown as OfpDocument).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(ConnectError);
    expect((invalid as ConnectError).code).toBe(Code.InvalidArgument);
    await client.send(envelope("g-stranger", USER, []));
    const stranger = await client.send(envelope("g-stranger", { speakerUri: "tag:stranger,2026:1" }, [])).catch((e: unknown) => e);
    expect((stranger as ConnectError).code).toBe(Code.FailedPrecondition);
    // the HTTPS binding says the same with 409
    await expect(sendEnvelope(servers.http.url, envelope("g-stranger", { speakerUri: "tag:stranger,2026:1" }, []))).rejects.toMatchObject({ code: "ERR_OFP_TRANSPORT", detail: { status: 409 } });
  });

  it("the response message's ProtoJSON carries the floor's envelope verbatim", async () => {
    const answer = await floor.receive(envelope("g-json", USER, []));
    expect(toJson(SendResponseSchema, create(SendResponseSchema, { envelope: answer as never }))).toEqual({ envelope: answer });
  });
});

describe("ofp.v1.FloorService/Converse", () => {
  it("streams every envelope routed to the conversant, each with its own sender", async () => {
    const me = { speakerUri: "tag:streamer.example,2026:1" };
    const stream = floorClient(servers.grpcUrl).converse();
    const received: OfpDocument[] = [];
    const reading = (async () => {
      for await (const doc of stream.received) received.push(doc);
    })();
    stream.send(envelope("stream-1", me, [invite({ to: { serviceUrl: travel.serviceUrl! } }), say(me.speakerUri, "Oslo")]));
    stream.send(envelope("stream-1", me, [say(me.speakerUri, "Bergen")]));
    stream.close();
    await reading;
    // Pushed as routed: from travel (not collapsed into one envelope from the floor).
    expect(received.map((d) => d.openFloor.sender.speakerUri)).toEqual([travel.speakerUri, travel.speakerUri]);
    expect(received.flatMap(spoken)).toEqual(["travel: hi", "travel: travel: Oslo", "travel: travel: Bergen"]);
    expect(types(received[0]!)).toEqual(["acceptInvite", "utterance", "utterance"]);
    const log = floor.log("stream-1");
    expect(log.filter((e) => e.kind === "delivered" && e.note === "stream")).toHaveLength(2);
    expect(log.some((e) => e.kind === "queued")).toBe(false);
  });

  it("after the stream closes, the conversant's events wait in its outbox again", async () => {
    const me = { speakerUri: "tag:streamer.example,2026:2" };
    const stream = floorClient(servers.grpcUrl, { protocol: "grpc" }).converse();
    stream.send(envelope("stream-2", me, [invite({ to: { serviceUrl: travel.serviceUrl! } })]));
    stream.close();
    for await (const _ of stream.received) void _;
    await floor.receive(envelope("stream-2", { speakerUri: travel.speakerUri }, [say(travel.speakerUri, "later")]));
    expect(spoken(await floor.receive(envelope("stream-2", me, [])))).toEqual(["travel: later"]);
  });

  it("INVALID_ARGUMENT when a stream changes conversation", async () => {
    const me = { speakerUri: "tag:streamer.example,2026:3" };
    const stream = floorClient(servers.grpcUrl).converse();
    stream.send(envelope("stream-3", me, []));
    stream.send(envelope("stream-3b", me, []));
    stream.close();
    const error = await (async () => {
      for await (const _ of stream.received) void _;
    })().catch((e: unknown) => e);
    expect((error as ConnectError).code).toBe(Code.InvalidArgument);
  });

  it("the request message carries the envelope as its ProtoJSON `envelope` member", () => {
    const doc = envelope("c", USER, []);
    expect(toJson(ConverseRequestSchema, create(ConverseRequestSchema, { envelope: doc as never }))).toEqual({ envelope: doc });
  });
});
