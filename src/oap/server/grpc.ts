/**
 * `oap.v1.ToolService` (proto/oap/v1/tool_service.proto) for gRPC, gRPC-Web and Connect, served
 * by connect-node from the same {@link OapToolServer} as the HTTPS binding:
 *
 * - `Invoke`: the response envelope (`status: "accepted"` with the §9.2 descriptor as `output`
 *   when the call became a task);
 * - `Stream`: `oap.progress` events with seq, then `oap.complete` (signed response + receipt) or
 *   `oap.error`;
 * - `GetTask`, `ListTasks`, `WatchTask`: for the task's Principal or agent, authenticated like the
 *   HTTPS task endpoints (RFC 9421 signature over the gRPC request's method / authority / path,
 *   or a bearer credential in `authorization`);
 * - `CancelTask`, `ProvideInput`: signed control messages.
 *
 * Errors: the gRPC status of src/oap/errors.ts with the Appendix B code in the `oap-error-code`
 * trailer (`toConnectError`). The §8.4 headers travel as metadata (`oap-idempotency-key`,
 * `oap-trace`, `authorization`, `oap-request-id`, `oap-version`); responses carry `oap-trace`
 * and `oap-request-id`. With several tools on one server the `oap-tool` request header names
 * the tool (default: the first).
 *
 * @module
 */
import { Code, ConnectError, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import {
  CancelTaskRequestSchema,
  ListTasksResponseSchema,
  ProvideInputRequestSchema,
  TaskEventSchema,
  type CancelTaskRequest,
  type GetTaskRequest,
  type ListTasksRequest,
  type ProvideInputRequest,
  type WatchTaskRequest,
} from "../../../gen/oap/v1/task_pb.js";
import type { RequestEnvelope } from "../../../gen/oap/v1/envelope_pb.js";
import { ToolService } from "../../../gen/oap/v1/tool_service_pb.js";
import type { JsonObject } from "../../json/types.js";
import { toConnectError } from "../errors.js";
import { OapProtoJsonError, oapMessageFromJson, oapMessageToJson, requestEnvelopeToJson, responseEnvelopeFromJson, streamEventFromJson, taskFromJson } from "../proto-json.js";
import { httpMessage } from "../webhooks/rfc9421.js";
import type { InvocationMeta, OapToolServer } from "./engine.js";
import { formatTraceparent } from "./trace.js";

/** The full method names. */
export const OAP_GRPC_METHODS = Object.freeze({
  invoke: "/oap.v1.ToolService/Invoke",
  stream: "/oap.v1.ToolService/Stream",
  getTask: "/oap.v1.ToolService/GetTask",
  cancelTask: "/oap.v1.ToolService/CancelTask",
  listTasks: "/oap.v1.ToolService/ListTasks",
  watchTask: "/oap.v1.ToolService/WatchTask",
  provideInput: "/oap.v1.ToolService/ProvideInput",
});

function connectErrorOf(e: unknown): ConnectError {
  if (e instanceof ConnectError) return e;
  if (e instanceof OapProtoJsonError) return new ConnectError(e.message, Code.InvalidArgument);
  return toConnectError(e);
}

function metaOf(ctx: HandlerContext): InvocationMeta {
  return { transport: "grpc", header: (name) => ctx.requestHeader.get(name) ?? undefined, signal: ctx.signal };
}

/** Runs `fn`, answering any failure as the Connect error of its OAP error. */
async function guarded<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw connectErrorOf(e);
  }
}

/** Sets the OAP-Trace and OAP-Request-Id response headers of an invoke or stream outcome. */
function annotate(ctx: HandlerContext, o: { readonly trace: Parameters<typeof formatTraceparent>[0]; readonly requestId: string }): void {
  ctx.responseHeader.set("oap-trace", formatTraceparent(o.trace));
  ctx.responseHeader.set("oap-request-id", o.requestId);
}

function callerMessage(ctx: HandlerContext) {
  return httpMessage({ method: ctx.requestMethod, url: ctx.url, headers: ctx.requestHeader });
}

/** Registers `oap.v1.ToolService` for one or several tools on a Connect router. */
export function oapToolServiceRoutes(servers: OapToolServer | readonly OapToolServer[]): (router: ConnectRouter) => void {
  const list = Array.isArray(servers) ? (servers as readonly OapToolServer[]) : [servers as OapToolServer];
  const pick = (ctx: HandlerContext): OapToolServer => {
    const wanted = ctx.requestHeader.get("oap-tool");
    if (wanted === null) return list[0] as OapToolServer;
    const hit = list.find((s) => s.tool.manifest.tool.id === wanted);
    if (hit === undefined) throw new ConnectError(`no tool ${wanted} here`, Code.NotFound);
    return hit;
  };
  return (router) =>
    router.service(ToolService, {
      async invoke(req: RequestEnvelope, ctx) {
        const server = pick(ctx);
        const o = await server.invoke(await guarded(() => requestEnvelopeToJson(req)), metaOf(ctx));
        annotate(ctx, o);
        if (o.kind === "error") throw connectErrorOf(o.cause);
        return responseEnvelopeFromJson(o.body);
      },
      async *stream(req: RequestEnvelope, ctx) {
        const server = pick(ctx);
        const o = await server.openStream(await guarded(() => requestEnvelopeToJson(req)), metaOf(ctx));
        annotate(ctx, o);
        if (o.kind === "error") throw connectErrorOf(o.cause);
        for await (const ev of o.events) yield streamEventFromJson(ev);
      },
      async getTask(req: GetTaskRequest, ctx) {
        const server = pick(ctx);
        return guarded(async () => taskFromJson(await server.getTask(req.taskId ?? "", await server.authenticateCaller(callerMessage(ctx)))));
      },
      async cancelTask(req: CancelTaskRequest, ctx) {
        const server = pick(ctx);
        return guarded(async () => taskFromJson(await server.cancelTask(oapMessageToJson(CancelTaskRequestSchema, req))));
      },
      async listTasks(req: ListTasksRequest, ctx) {
        const server = pick(ctx);
        return guarded(async () => {
          const out = await server.listTasks(
            {
              ...(req.principalDid === undefined ? {} : { principal_did: req.principalDid }),
              status: req.status,
              ...(req.pageSize === undefined ? {} : { page_size: req.pageSize }),
              ...(req.pageToken === undefined ? {} : { page_token: req.pageToken }),
            },
            await server.authenticateCaller(callerMessage(ctx)),
          );
          return oapMessageFromJson(ListTasksResponseSchema, out);
        });
      },
      async *watchTask(req: WatchTaskRequest, ctx) {
        const server = pick(ctx);
        const events = await guarded(async () => server.watchTask(req.taskId ?? "", req.afterSeq ?? 0, await server.authenticateCaller(callerMessage(ctx)), ctx.signal));
        for await (const ev of events) yield oapMessageFromJson(TaskEventSchema, { seq: ev.seq, task: ev.task as unknown as JsonObject });
      },
      async provideInput(req: ProvideInputRequest, ctx) {
        const server = pick(ctx);
        return guarded(async () => taskFromJson(await server.provideInput(oapMessageToJson(ProvideInputRequestSchema, req))));
      },
    });
}
