import { Router } from "express";
import { z } from "zod";
import { ContentId } from "../../protocol/content.js";
import { ErrorCode } from "../../protocol/errors.js";
import type { EventReply } from "../actors/EventActor.js";
import { callEventActor, changeRegistration } from "../actors/eventAttendance.js";
import type { ActorCaller } from "../actors/runtime/ActorRuntime.js";
import type { TokenService } from "../auth/TokenService.js";
import type { EventStore } from "../persistence/stores/contentStores.js";
import { actorResultOf } from "./actorResults.js";
import type { RouteDoc } from "./apiDocs.js";
import { sendData } from "./envelope.js";
import { authOf, requireAuth } from "./requireAuth.js";

const EventParams = z.object({ id: ContentId });
/** Optional client-chosen key: a retried registration with the same key is applied once. */
const IdempotencyKey = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, "8-64 letters, digits, _ or -");

export const Registration = z.object({
  status: z.enum(["registered", "already-registered", "unregistered", "not-registered"]).optional(),
  registered: z.boolean().optional(),
  attendees: z.number().int(),
  capacity: z.number().int(),
  remaining: z.number().int(),
});

/**
 * Event registration (`/api/v1/events/:id/registration`). Every change goes through the event's
 * actor — one writer per event — so concurrent registrations can never exceed capacity, on one
 * node or many. The actor is (re)configured from the event record before each change; that is
 * free when nothing changed.
 */
export function eventRoutes(events: EventStore, actors: ActorCaller, tokens: TokenService): Router {
  const router = Router();
  const auth = requireAuth(tokens);

  const deps = { events, actors };

  const keyOf = (userId: string, header: string | undefined) =>
    header === undefined ? undefined : `${userId}:${IdempotencyKey.parse(header)}`;

  router.put("/events/:id/registration", auth, async (req, res) => {
    const { id } = EventParams.parse(req.params);
    const { userId } = authOf(res);
    const key = keyOf(userId, req.get("Idempotency-Key"));
    sendData(res, actorResultOf<EventReply>(await changeRegistration(deps, userId, id, "register", key)));
  });

  router.delete("/events/:id/registration", auth, async (req, res) => {
    const { id } = EventParams.parse(req.params);
    const { userId } = authOf(res);
    const key = keyOf(userId, req.get("Idempotency-Key"));
    sendData(res, actorResultOf<EventReply>(await changeRegistration(deps, userId, id, "unregister", key)));
  });

  router.get("/events/:id/registration", auth, async (req, res) => {
    const { id } = EventParams.parse(req.params);
    res.setHeader("Cache-Control", "no-store");
    const status = await callEventActor(deps, id, { type: "status", userId: authOf(res).userId });
    sendData(res, actorResultOf<EventReply>(status));
  });

  return router;
}

const errors = [ErrorCode.NOT_FOUND, ErrorCode.CONFLICT, ErrorCode.ACTOR_UNAVAILABLE, ErrorCode.TIMEOUT];

export const eventRouteDocs: RouteDoc[] = [
  {
    method: "put",
    path: "/events/{id}/registration",
    summary: "Register for an event (idempotent; 409 CONFLICT when full, started or over)",
    tags: ["events"],
    auth: true,
    params: EventParams,
    response: Registration,
    errors: [ErrorCode.VALIDATION_FAILED, ...errors],
  },
  {
    method: "delete",
    path: "/events/{id}/registration",
    summary: "Cancel a registration (409 CONFLICT once the event has started)",
    tags: ["events"],
    auth: true,
    params: EventParams,
    response: Registration,
    errors: [ErrorCode.VALIDATION_FAILED, ...errors],
  },
  {
    method: "get",
    path: "/events/{id}/registration",
    summary: "Attendance and whether the caller is registered",
    tags: ["events"],
    auth: true,
    params: EventParams,
    response: Registration,
    errors,
  },
];
