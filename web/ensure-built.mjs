// `npm start`'s prestart: builds the web app when web/dist is missing; a fast no-op otherwise.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

if (existsSync(new URL("./dist/index.html", import.meta.url))) process.exit(0);
if (!existsSync(new URL("../node_modules/vite/package.json", import.meta.url))) {
  // Production installs (--omit=dev) build the app in their image instead (npm run web:build).
  console.warn(
    "web/dist is missing and Vite is not installed: the server answers / with a note to build it.",
  );
  process.exit(0);
}
console.log("web/dist is missing: building the web app once (npm run web:build)…");
const build = spawnSync("npm", ["run", "web:build"], {
  stdio: "inherit",
  shell: process.platform === "win32",
});
process.exit(build.status ?? 1);
