/** Small node:http helpers shared by every HTTP listener of the project. */
import type { IncomingMessage } from "node:http";
import { createServer, type AddressInfo, type Server } from "node:net";

/** Reads a request body, refusing (without buffering further) anything over `max` bytes. */
export async function readBodyLimited(req: IncomingMessage, max: number): Promise<Buffer | "too-large"> {
  if (Number(req.headers["content-length"] ?? "0") > max) return "too-large";
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) return "too-large";
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Listens on `port` (0 = any free port) and `host`, resolving with the bound address. */
export async function listenOn(server: Server, port: number, host: string): Promise<AddressInfo> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return server.address() as AddressInfo;
}

/**
 * A TCP port free on loopback right now (bound to port 0, then released). Another process may
 * take it before the caller binds: callers that must not fail retry with a new one.
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}
