import { findNginx } from "../../scripts/localCluster.js";

export { findNginx };

/** Whether an nginx binary is available to the tests (NGINX_BIN, the PATH or the usual sbin dirs). */
export function hasNginx(): boolean {
  return findNginx() !== undefined;
}

/**
 * Suites that need nginx call this at load time. Without it they are skipped locally (visibly),
 * but CI sets `REQUIRE_NGINX=1`, and then a missing binary fails the run instead (as
 * `redisAvailability` does for `REQUIRE_REDIS`).
 */
export function nginxAvailability(): { run: boolean } {
  const available = hasNginx();
  if (!available && process.env.REQUIRE_NGINX === "1") {
    throw new Error("REQUIRE_NGINX=1 but nginx is not installed (apt-get install nginx-light)");
  }
  return { run: available };
}
