import { ErrorCode } from "../../protocol/errors.js";
import type { CallResult } from "../actors/runtime/types.js";
import { AppError } from "../errors.js";

const KNOWN = new Set<string>(Object.values(ErrorCode));

/** The value of a successful actor call, or the actor's coded error as an `AppError`. */
export function actorResultOf<T = unknown>(result: CallResult): T {
  if (result.ok) return result.value as T;
  const code = (KNOWN.has(result.error.code) ? result.error.code : ErrorCode.INTERNAL) as ErrorCode;
  // An actor's internal failure text stays in the logs, not in the answer.
  const message = code === ErrorCode.INTERNAL ? "internal error" : result.error.message;
  throw new AppError(code, message, result.error.details, { cause: new Error(result.error.message) });
}
