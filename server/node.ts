import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import { matchMaker, type Server } from "@colyseus/core";
import type { Express } from "express";
import { Redis } from "ioredis";
import { userChannel } from "./actors/channels.js";
import { chatActor } from "./actors/chat/ChatActor.js";
import { eventActor } from "./actors/EventActor.js";
import { ActorRuntime } from "./actors/runtime/ActorRuntime.js";
import { type LeaseManager, LocalLeaseManager, RedisLeaseManager } from "./actors/runtime/leases.js";
import { countSockets, createActorMetrics } from "./actors/runtime/metrics.js";
import type { AnyActorDefinition } from "./actors/runtime/types.js";
import { syncPhotos } from "./actors/syncPhotos.js";
import { userActor } from "./actors/user/UserActor.js";
import { userActorData } from "./actors/userData.js";
import { AccountRights } from "./auth/AccountRights.js";
import { AuthService } from "./auth/AuthService.js";
import { LoginThrottle } from "./auth/LoginThrottle.js";
import { PasswordHasher } from "./auth/PasswordHasher.js";
import { loadSigningKey } from "./auth/signingKey.js";
import { TokenService } from "./auth/TokenService.js";
import type { Config } from "./config.js";
import { createHttpApp } from "./http/createHttpApp.js";
import type { ReadinessCheck } from "./http/healthRoutes.js";
import type { Logger } from "./logger.js";
import { createMetrics } from "./metrics.js";
import { openAzureStorage } from "./persistence/azure/openAzureStorage.js";
import { instrumentStorage } from "./persistence/instrumented.js";
import type { Storage } from "./persistence/ports.js";
import { seedIfEmpty } from "./persistence/seed/seed.js";
import { openEmbeddedStorage } from "./persistence/sqlite/openEmbeddedStorage.js";
import { ALL_CONTAINERS, ALL_TABLES, createStores, type Stores } from "./persistence/stores/index.js";
import { sharedKeySlot } from "./persistence/stores/SharedKeyStore.js";
import { createRealtimeServer } from "./realtime.js";
import { PresenceBook } from "./rooms/PresenceBook.js";
import { createSeatBroker } from "./rooms/seats.js";
import { createUserRoom } from "./rooms/UserRoom.js";

/** A running node: what tests and `main` need to reach and stop it. */
export interface RunningNode {
  readonly port: number;
  readonly stores: Stores;
  readonly actors: ActorRuntime;
  /** Drains and stops everything in order; idempotent. */
  stop(reason: string): Promise<void>;
}

const STORAGE_BOOT_ATTEMPTS = 10;

/**
 * Opens the configured storage. Azure (or Azurite in a compose cluster) may still be starting:
 * retry for a while before giving up, so nodes and storage can start in any order.
 */
async function openStorage(config: Config, logger: Logger): Promise<Storage> {
  if (config.storage.kind === "embedded") return openEmbeddedStorage(config.storage.dataDir);
  for (let attempt = 1; ; attempt++) {
    try {
      return await openAzureStorage({
        connectionString: config.storage.connectionString,
        tables: ALL_TABLES,
        containers: ALL_CONTAINERS,
      });
    } catch (err) {
      if (attempt >= STORAGE_BOOT_ATTEMPTS) throw err;
      logger.warn({ err, attempt }, "azure storage not reachable yet; retrying");
      await delay(Math.min(5_000, 250 * 2 ** attempt));
    }
  }
}

/**
 * The composition root: the only place that knows which storage and presence are in use. Builds
 * stores, seeds content, the REST app and the Colyseus server, and starts listening.
 */
/** Additions a caller (tests, tools) may plug into a node. */
export interface NodeExtensions {
  readonly actorDefinitions?: readonly AnyActorDefinition[];
  /** Routes mounted before the REST API's 404 handler. */
  readonly routes?: (app: Express, actors: ActorRuntime) => void;
}

export async function startNode(
  config: Config,
  logger: Logger,
  extensions: NodeExtensions = {},
): Promise<RunningNode> {
  const metrics = createMetrics();
  // Every table/blob operation counts its failures in lovecraft_storage_errors_total{op}.
  const storage = instrumentStorage(await openStorage(config, logger), (op) =>
    metrics.storageErrors.inc({ op }),
  );
  const stores = createStores(storage);
  if (config.seedContent) await seedIfEmpty(stores, logger);
  const signingKey = await loadSigningKey({
    pem: config.jwt.privateKeyPem,
    dataDir: config.dataDir,
    // Shared storage means several nodes: they must agree on one key (see SharedKeyStore).
    ...(storage.kind === "azure" ? { shared: sharedKeySlot(storage.tables) } : {}),
  });
  logger.info({ kid: signingKey.kid }, "access-token signing key loaded");

  const redis = config.redisUrl
    ? new Redis(config.redisUrl, {
        maxRetriesPerRequest: 1,
        enableOfflineQueue: false,
        lazyConnect: false,
        // A blackholed connection must fail commands, not hang them (leases, readiness).
        commandTimeout: 2_000,
      })
    : undefined;
  redis?.on("error", (err) => {
    metrics.redisErrors.inc();
    logger.warn({ err: err.message }, "redis connection error");
  });

  let draining = false;
  const checks: ReadinessCheck[] = [{ name: "storage", check: () => storage.ping() }];
  if (redis) checks.push({ name: "redis", check: async () => void (await redis.ping()) });

  const tokens = new TokenService(signingKey, config.jwt.issuer, config.jwt.audience);
  const hasher = new PasswordHasher();
  // Closing the user's sockets on revocation comes with the user actor (realtime product).
  // Revoked sessions close their sockets wherever the user's room lives (its user channel).
  let revoke: (userId: string, familyId?: string) => void = () => undefined;
  const onRevoked = (userId: string, familyId?: string) => {
    logger.info({ userId, familyId }, "sessions revoked");
    revoke(userId, familyId);
  };
  const throttle = new LoginThrottle(redis);
  const auth = new AuthService({
    accounts: stores.accounts,
    refreshTokens: stores.refreshTokens,
    hasher,
    tokens,
    throttle,
    onRevoked,
  });
  const rights = new AccountRights({
    ...stores,
    hasher,
    throttle,
    onRevoked,
    // The runtime is built below; data-rights requests only arrive once the node listens.
    actorData: userActorData(() => actorRuntime, stores.profiles),
  });

  const leases: LeaseManager = redis
    ? new RedisLeaseManager(redis, `${randomUUID()}`, config.actors.leaseMs)
    : new LocalLeaseManager();
  const actorRuntime: ActorRuntime = new ActorRuntime({
    definitions: [eventActor, userActor, chatActor, ...(extensions.actorDefinitions ?? [])],
    journal: stores.journal,
    reminders: stores.reminders,
    leases,
    logger,
    metrics: createActorMetrics(
      metrics.registry,
      () => actorRuntime.countByKind(),
      () => countSockets(actorRuntime.localActors()),
    ),
    idleMs: config.actors.idleMs,
    callTimeoutMs: config.actors.callTimeoutMs,
    snapshotMaxAgeMs: config.actors.snapshotMaxAgeMs,
    directorySweepMs: config.actors.directorySweepMs,
  });
  const httpApp = createHttpApp({
    logger,
    metrics,
    stores,
    auth: { service: auth, tokens, rights, key: signingKey },
    actors: actorRuntime,
    seats: createSeatBroker(actorRuntime),
    onPhotosChanged: (userId) => syncPhotos(stores, actorRuntime, logger, userId),
    health: { checks, isDraining: () => draining },
    corsOrigins: config.corsOrigins,
    trustProxy: config.trustProxy,
    admin: {
      token: config.adminToken,
      publicAddress: config.publicAddress,
      isDraining: () => draining,
      actorsByKind: () => actorRuntime.countByKind(),
      sockets: () => countSockets(actorRuntime.localActors()),
    },
    ...(extensions.routes ? { extraRoutes: (app: Express) => extensions.routes?.(app, actorRuntime) } : {}),
  });
  const presenceBook = new PresenceBook();
  const realtime = createRealtimeServer({
    redisUrl: config.redisUrl,
    publicAddress: config.publicAddress,
    httpApp,
    logger,
    actorRuntime,
    corsOrigins: config.corsOrigins,
    roomAdapters: new Map([
      [
        "user",
        createUserRoom({
          runtime: actorRuntime,
          tokens,
          auth,
          accounts: stores.accounts,
          profiles: stores.profiles,
          events: stores.events,
          logger,
          presenceBook,
        }),
      ],
    ]),
  });
  revoke = (userId, familyId) => {
    // Local presence publishes synchronously, Redis presence returns a promise: handle both.
    const message = { type: "revoked", ...(familyId ? { familyId } : {}) };
    Promise.resolve()
      .then(() => matchMaker.presence.publish(userChannel(userId), message))
      .catch((err: unknown) => logger.warn({ err, userId }, "could not close revoked sockets"));
  };
  await listenOrFail(realtime, config.port, config.host);
  // Cluster mode: users of a node that died without saying goodbye go offline (PresenceBook).
  // One sweep at a time: a slow Redis must not pile them up.
  let presenceSweep: Promise<void> | undefined;
  const presenceSweeper =
    redis && config.actors.directorySweepMs > 0
      ? setInterval(() => {
          presenceSweep ??= presenceBook
            .sweep(redis)
            .then(
              (turned) => {
                if (turned > 0) logger.info({ turned }, "users of a dead node marked offline");
              },
              (err: unknown) => logger.warn({ err }, "presence sweep failed; will retry"),
            )
            .finally(() => {
              presenceSweep = undefined;
            });
        }, config.actors.directorySweepMs).unref()
      : undefined;
  const port = (realtime.transport.server!.address() as AddressInfo).port;
  logger.info(
    { port, storage: storage.kind, cluster: Boolean(config.redisUrl), publicAddress: config.publicAddress },
    "lovecraft node listening",
  );

  let stopping: Promise<void> | undefined;
  const stop = (reason: string) => {
    stopping ??= (async () => {
      logger.info({ reason }, "shutting down: draining");
      draining = true;
      clearInterval(presenceSweeper);
      actorRuntime.stopSweeps();
      // Locks every room and waits for each to dispose (actors flush and snapshot there), then
      // closes the websocket server, the HTTP server, presence and driver.
      await realtime.gracefullyShutdown(false);
      actorRuntime.close();
      realtime.transport.server?.closeAllConnections?.();
      await presenceSweep; // it uses the Redis connection closed next
      await redis?.quit().catch(() => undefined);
      await storage.close();
      logger.info("shutdown complete");
    })();
    return stopping;
  };
  return { port, stores, actors: actorRuntime, stop };
}

/**
 * Colyseus' `listen` never settles when the port cannot be bound (EADDRINUSE, EACCES): it
 * installs its error handler only once listening, and the transport merely logs the error. The
 * node then ran on, listening on nothing. Here the first server error before listening rejects,
 * so the process reports it and exits.
 */
async function listenOrFail(realtime: Server, port: number, host: string): Promise<void> {
  const server = realtime.transport.server;
  await new Promise<void>((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException) =>
      reject(new Error(`cannot listen on ${host}:${port}: ${err.code ?? err.message}`, { cause: err }));
    server?.once("error", failed);
    realtime.listen(port, host).then(() => {
      server?.off("error", failed);
      resolve();
    }, reject);
  });
}
