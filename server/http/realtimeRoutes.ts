import { Router } from "express";
import { z } from "zod";
import { ErrorCode } from "../../protocol/errors.js";
import { ConnectRequest, PROTOCOL_VERSION, UserId } from "../../protocol/realtime.js";
import type { ActorCaller } from "../actors/runtime/ActorRuntime.js";
import type { AuthService } from "../auth/AuthService.js";
import type { TokenService } from "../auth/TokenService.js";
import { AppError } from "../errors.js";
import type { ProfileDirectory } from "../persistence/stores/ProfileDirectory.js";
import type { SeatBroker } from "../rooms/seats.js";
import { actorResultOf } from "./actorResults.js";
import type { RouteDoc } from "./apiDocs.js";
import { sendData } from "./envelope.js";
import { authOf, requireAuth } from "./requireAuth.js";

export interface RealtimeRouteDeps {
  readonly seats: SeatBroker;
  readonly auth: AuthService;
  readonly tokens: TokenService;
  readonly actors: ActorCaller;
  readonly profiles: ProfileDirectory;
}

const UserParams = z.object({ id: UserId });

/**
 * `POST /api/v1/realtime/connect` opens a device's session: it checks the protocol version and
 * that the session was not revoked, activates the user's actor and answers with a seat
 * reservation for its room (the SDK opens the websocket with it). `GET /api/v1/users/:id` is a
 * public profile, as the owner's actor decides (privacy settings, blocks).
 */
export function realtimeRoutes(deps: RealtimeRouteDeps): Router {
  const router = Router();
  const auth = requireAuth(deps.tokens);

  router.post("/realtime/connect", auth, async (req, res) => {
    const { protocol } = ConnectRequest.parse(req.body);
    if (protocol !== PROTOCOL_VERSION) {
      throw new AppError(ErrorCode.PROTOCOL_MISMATCH, `this server speaks protocol ${PROTOCOL_VERSION}`, {
        server: PROTOCOL_VERSION,
      });
    }
    const claims = authOf(res);
    await deps.auth.assertSessionActive(claims);
    const reservation = await deps.seats.reserveUserSeat({
      userId: claims.userId,
      familyId: claims.familyId,
      expiresAt: claims.expiresAt,
    });
    res.setHeader("Cache-Control", "no-store");
    sendData(res, { protocol: PROTOCOL_VERSION, reservation });
  });

  router.get("/users/:id", auth, async (req, res) => {
    const { id } = UserParams.parse(req.params);
    // Only users with a profile have an actor worth waking: unknown ids never create one.
    if (!(await deps.profiles.get(id))) throw new AppError(ErrorCode.NOT_FOUND, "user not found");
    const viewer = authOf(res).userId;
    res.setHeader("Cache-Control", "private, no-cache");
    sendData(
      res,
      actorResultOf(await deps.actors.call({ kind: "user", id }, { type: "profile.view", viewer })),
    );
  });

  return router;
}

const PublicProfileSchema = z.object({
  userId: z.string(),
  displayName: z.string(),
  bio: z.string(),
  birthYear: z.number().int().nullable(),
  gender: z.string().nullable(),
  city: z.string(),
  interests: z.array(z.string()),
  photos: z.array(z.string()),
});

export const realtimeRouteDocs: RouteDoc[] = [
  {
    method: "post",
    path: "/realtime/connect",
    summary:
      "Open a realtime session: a seat reservation for the caller's own user room (see docs/PROTOCOL.md)",
    tags: ["realtime"],
    auth: true,
    body: ConnectRequest,
    response: z.object({ protocol: z.number().int(), reservation: z.record(z.string(), z.unknown()) }),
    errors: [ErrorCode.VALIDATION_FAILED, ErrorCode.PROTOCOL_MISMATCH, ErrorCode.ACTOR_UNAVAILABLE],
  },
  {
    method: "get",
    path: "/users/{id}",
    summary: "A public profile, as far as its owner's privacy settings and blocks allow (else 404)",
    tags: ["users"],
    auth: true,
    params: UserParams,
    response: PublicProfileSchema,
    errors: [ErrorCode.VALIDATION_FAILED, ErrorCode.NOT_FOUND],
  },
];
