/**
 * Baseline 2: the same room broadcast on Socket.IO with its rooms (`socket.to(room).emit`), the
 * JSON of ./protocol.ts as event payloads and Socket.IO acks for the answers. Websocket transport
 * only (the generator does not use long-polling).
 *
 *   node --import tsx loadtest/baselines/socketioServer.ts [--port 8082] [--host 127.0.0.1]
 */
import { createServer } from "node:http";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { Server } from "socket.io";
import { MAX_FRAME_BYTES, parseClientFrame, RoomSeqs } from "./protocol.js";
import type { BaselineServer } from "./wsServer.js";

type Ack = (answer: { seq?: number; error?: string }) => void;

export async function startSocketIoBaseline(
  options: { port?: number; host?: string } = {},
): Promise<BaselineServer> {
  const host = options.host ?? "127.0.0.1";
  const http = createServer();
  const io = new Server(http, { transports: ["websocket"], maxHttpBufferSize: MAX_FRAME_BYTES });
  const seqs = new RoomSeqs();
  io.of("/").adapter.on("delete-room", (room: string) => seqs.forget(room));

  io.on("connection", (socket) => {
    socket.on("join", (payload: unknown, ack?: Ack) => {
      const frame = parseClientFrame({ ...(payload as object), type: "join" });
      if (!frame || typeof ack !== "function") return void socket.disconnect(true);
      void socket.join(frame.room);
      ack({});
    });
    socket.on("send", (payload: unknown, ack?: Ack) => {
      const frame = parseClientFrame({ ...(payload as object), type: "send" });
      if (frame?.type !== "send" || typeof ack !== "function") return void socket.disconnect(true);
      if (!socket.rooms.has(frame.room)) return ack({ error: "not a member" });
      const seq = seqs.next(frame.room);
      socket
        .to(frame.room)
        .emit("msg", { room: frame.room, text: frame.text, id: frame.id, t: frame.t, seq });
      ack({ seq });
    });
  });

  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(options.port ?? 0, host, resolve);
  });
  const port = (http.address() as { port: number }).port;
  return {
    port,
    url: `ws://${host}:${port}`,
    close: async () => {
      io.disconnectSockets(true);
      await io.close();
    },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { values } = parseArgs({ options: { port: { type: "string" }, host: { type: "string" } } });
  const server = await startSocketIoBaseline({
    port: Number(values.port ?? 8082),
    host: values.host ?? "127.0.0.1",
  });
  console.log(`Socket.IO baseline listening on ${server.url} (pid ${process.pid})`);
  const stop = () => void server.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
