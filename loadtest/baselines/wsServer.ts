/**
 * Baseline 1: the simplest room broadcast on raw `ws` (no framework, no persistence), speaking
 * the JSON of ./protocol.ts. Each broadcast is encoded once and written to every other member.
 *
 *   node --import tsx loadtest/baselines/wsServer.ts [--port 8081] [--host 127.0.0.1]
 */
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { type WebSocket, WebSocketServer } from "ws";
import { MAX_FRAME_BYTES, parseClientFrame, RoomSeqs, type ServerFrame } from "./protocol.js";

export interface BaselineServer {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

export async function startWsBaseline(
  options: { port?: number; host?: string } = {},
): Promise<BaselineServer> {
  const host = options.host ?? "127.0.0.1";
  const wss = new WebSocketServer({ port: options.port ?? 0, host, maxPayload: MAX_FRAME_BYTES });
  const rooms = new Map<string, Set<WebSocket>>();
  const seqs = new RoomSeqs();
  const reply = (ws: WebSocket, frame: ServerFrame) => ws.send(JSON.stringify(frame));

  wss.on("connection", (ws) => {
    const joined = new Set<string>();
    ws.on("message", (data) => {
      let frame: ReturnType<typeof parseClientFrame>;
      try {
        frame = parseClientFrame(JSON.parse(data.toString()));
      } catch {
        frame = undefined;
      }
      if (!frame) {
        ws.close(1003, "invalid frame");
        return;
      }
      if (frame.type === "join") {
        let members = rooms.get(frame.room);
        if (!members) {
          members = new Set();
          rooms.set(frame.room, members);
        }
        members.add(ws);
        joined.add(frame.room);
        reply(ws, { type: "ack", id: frame.id });
        return;
      }
      if (!joined.has(frame.room)) {
        reply(ws, { type: "ack", id: frame.id, error: "not a member" });
        return;
      }
      const seq = seqs.next(frame.room);
      const out = JSON.stringify({
        type: "msg",
        room: frame.room,
        text: frame.text,
        id: frame.id,
        t: frame.t,
        seq,
      });
      for (const member of rooms.get(frame.room) ?? []) if (member !== ws) member.send(out);
      reply(ws, { type: "ack", id: frame.id, seq });
    });
    ws.on("close", () => {
      for (const room of joined) {
        const members = rooms.get(room);
        members?.delete(ws);
        if (members?.size === 0) {
          rooms.delete(room);
          seqs.forget(room);
        }
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    wss.once("listening", resolve);
    wss.once("error", reject);
  });
  const port = (wss.address() as { port: number }).port;
  return {
    port,
    url: `ws://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { values } = parseArgs({ options: { port: { type: "string" }, host: { type: "string" } } });
  const server = await startWsBaseline({
    port: Number(values.port ?? 8081),
    host: values.host ?? "127.0.0.1",
  });
  console.log(`ws baseline listening on ${server.url} (pid ${process.pid})`);
  const stop = () => void server.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
