import cors from "cors";
import express, { type Express } from "express";
import helmet from "helmet";
import { pinoHttp } from "pino-http";
import type { ActorCaller } from "../actors/runtime/ActorRuntime.js";
import type { AccountRights } from "../auth/AccountRights.js";
import type { AuthService } from "../auth/AuthService.js";
import type { SigningKey } from "../auth/signingKey.js";
import type { TokenService } from "../auth/TokenService.js";
import { type Logger, redactUrl } from "../logger.js";
import type { Metrics } from "../metrics.js";
import type { Stores } from "../persistence/stores/index.js";
import type { SeatBroker } from "../rooms/seats.js";
import { type AdminOptions, adminRoutes } from "./adminRoutes.js";
import { buildOpenApi, type RouteDoc } from "./apiDocs.js";
import { authRouteDocs, authRoutes } from "./authRoutes.js";
import { contentRouteDocs, contentRoutes } from "./contentRoutes.js";
import { docsRoutes } from "./docsRoutes.js";
import { eventRouteDocs, eventRoutes } from "./eventRoutes.js";
import { forumRouteDocs, forumRoutes } from "./forumRoutes.js";
import { type HealthOptions, healthRoutes } from "./healthRoutes.js";
import { errorHandler, notFound, requireJsonBody } from "./middleware.js";
import { photoRouteDocs, photoRoutes } from "./photoRoutes.js";
import { realtimeRouteDocs, realtimeRoutes } from "./realtimeRoutes.js";
import { userRouteDocs, userRoutes } from "./userRoutes.js";
import { webApp } from "./webApp.js";

export interface HttpDependencies {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly stores: Stores;
  readonly auth: {
    readonly service: AuthService;
    readonly tokens: TokenService;
    readonly rights: AccountRights;
    /** Signs short-lived photo URLs. */
    readonly key: Pick<SigningKey, "derivedSecret">;
  };
  readonly actors: ActorCaller;
  readonly health: HealthOptions;
  readonly corsOrigins: readonly string[];
  readonly trustProxy: string;
  /** Seats in users' rooms (`POST /realtime/connect`); absent in REST-only test apps. */
  readonly seats?: SeatBroker;
  /** Called after a user's photos changed (keeps their actor's photo list in step). */
  readonly onPhotosChanged?: (userId: string) => Promise<void>;
  /** Operator routes under `/admin` (behind `ADMIN_TOKEN`); absent or without a token: 404. */
  readonly admin?: AdminOptions;
  /** Extra routes (tests, tools), mounted before the 404 handler. */
  readonly extraRoutes?: (app: Express) => void;
}

const JSON_LIMIT = "100kb";

/** Every documented `/api/v1` route: the OpenAPI document, and the route table tests iterate. */
export const API_ROUTE_DOCS: readonly RouteDoc[] = [
  ...authRouteDocs,
  ...contentRouteDocs,
  ...eventRouteDocs,
  ...forumRouteDocs,
  ...userRouteDocs,
  ...photoRouteDocs,
  ...realtimeRouteDocs,
];

/**
 * The REST surface as an Express app, mounted under the Colyseus transport's HTTP server (whose
 * own `/matchmake` routes are matched first). Built without listening, so tests drive it
 * in-process with supertest.
 */
export function createHttpApp(deps: HttpDependencies): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", deps.trustProxy);
  app.set("query parser", "simple");

  app.use(
    pinoHttp({
      logger: deps.logger,
      serializers: {
        req: (req: { method: string; url: string; id: unknown }) => ({
          id: req.id,
          method: req.method,
          url: redactUrl(req.url),
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      // Probes and scrapes every few seconds would drown the log.
      autoLogging: { ignore: (req) => req.url?.startsWith("/health/") === true || req.url === "/metrics" },
      customLogLevel: (_req, res, err) =>
        err || res.statusCode >= 500 ? "error" : res.statusCode >= 400 ? "warn" : "info",
    }),
  );
  app.use((req, res, next) => {
    const end = deps.metrics.httpDuration.startTimer();
    res.on("finish", () => {
      // Only matched route patterns become labels: raw paths would let anyone grow the registry.
      const pattern = req.route?.path as string | undefined;
      const route =
        pattern !== undefined
          ? `${(res.locals.routeBase as string | undefined) ?? ""}${pattern}`
          : "unmatched";
      const labels = { method: req.method, route };
      end(labels);
      deps.metrics.httpRequests.inc({ ...labels, status: String(res.statusCode) });
    });
    next();
  });
  app.use(helmet());
  app.use(
    cors({
      origin: deps.corsOrigins.includes("*") ? true : [...deps.corsOrigins],
      maxAge: 600,
    }),
  );

  app.use(healthRoutes(deps.health));
  app.get("/.well-known/jwks.json", (_req, res) => {
    res.setHeader("Cache-Control", "public, max-age=300");
    res.json(deps.auth.tokens.publicJwks());
  });
  app.use(docsRoutes(buildOpenApi(API_ROUTE_DOCS, { title: "Lovecraft API", version: "0.1.0" })));
  app.get("/metrics", async (_req, res) => {
    res.setHeader("Content-Type", deps.metrics.registry.contentType);
    res.send(await deps.metrics.registry.metrics());
  });
  if (deps.admin) app.use(adminRoutes(deps.admin));

  // Photo uploads read a raw image body, so they are mounted before the JSON-only API router.
  app.use(
    photoRoutes({
      photos: deps.stores.photos,
      tokens: deps.auth.tokens,
      secret: deps.auth.key.derivedSecret,
      ...(deps.onPhotosChanged ? { onPhotosChanged: deps.onPhotosChanged } : {}),
    }),
  );
  const api = express.Router();
  api.use((req, res, next) => {
    // Express resets req.baseUrl once an error leaves the router: remember it for metric labels.
    res.locals.routeBase = req.baseUrl;
    next();
  });
  api.use(requireJsonBody);
  api.use(express.json({ limit: JSON_LIMIT, strict: true }));
  api.use(authRoutes(deps.auth.service, deps.auth.tokens));
  api.use(contentRoutes(deps.stores));
  api.use(eventRoutes(deps.stores.events, deps.actors, deps.auth.tokens));
  api.use(forumRoutes(deps.stores.forum, deps.stores.accounts, deps.auth.tokens));
  api.use(userRoutes(deps.auth.rights, deps.auth.tokens));
  if (deps.seats) {
    api.use(
      realtimeRoutes({
        seats: deps.seats,
        auth: deps.auth.service,
        tokens: deps.auth.tokens,
        actors: deps.actors,
        profiles: deps.stores.profiles,
      }),
    );
  }
  app.use("/api/v1", api);
  deps.extraRoutes?.(app);

  app.use(webApp());
  app.use(notFound);
  app.use(errorHandler(deps.logger));
  return app;
}
