import { ErrorCode } from "../../protocol/errors.js";
import { AppError } from "../errors.js";
import type { ProfileDirectory } from "../persistence/stores/ProfileDirectory.js";
import type { ActorCaller } from "./runtime/ActorRuntime.js";
import type { CallResult } from "./runtime/types.js";

function answerOf<T>(result: CallResult): T {
  if (result.ok) return result.value as T;
  // Not fulfilled: the request fails with the actor's code (retryable ones may be re-run).
  const code = (Object.values(ErrorCode) as string[]).includes(result.error.code)
    ? (result.error.code as ErrorCode)
    : ErrorCode.INTERNAL;
  throw new AppError(code, code === ErrorCode.INTERNAL ? "internal error" : result.error.message);
}

/**
 * The user actor's part of the data rights: its state for an export, and erasure (the actor
 * resets, tells matches and chats; the discovery card goes). Erasure uses a fixed key so a
 * re-run after an interruption is applied once.
 */
export function userActorData(actors: () => ActorCaller, profiles: ProfileDirectory) {
  const ref = (id: string) => ({ kind: "user", id });
  return {
    async export(userId: string): Promise<unknown> {
      return answerOf(await actors().call(ref(userId), { type: "export" }));
    },
    async erase(userId: string): Promise<{ chats: number; matches: number }> {
      const reply = answerOf<{ chats: number; matches: number }>(
        await actors().call(ref(userId), { type: "erase" }, { key: `erase:${userId}` }),
      );
      await profiles.delete(userId);
      return reply;
    },
  };
}
