export * from "../protocol/errors.js";
export * from "../protocol/realtime.js";
export { ChatCursors } from "./ChatCursors.js";
export {
  type ClientEvents,
  type ClientOptions,
  LovecraftClient,
  LovecraftError,
  type Session,
  type Status,
} from "./LovecraftClient.js";
