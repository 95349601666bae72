import { describe, expect, it } from "vitest";
import {
  defaults,
  parseArgs,
  parseDuration,
  perSocketRate,
  UsageError,
  warnings,
} from "../../loadtest/lib/options.js";
import { planWorkers, share } from "../../loadtest/lib/plan.js";

describe("parseDuration", () => {
  it("reads ms, s, m, h and bare seconds", () => {
    expect(parseDuration("30s")).toBe(30_000);
    expect(parseDuration("2m")).toBe(120_000);
    expect(parseDuration("1.5h")).toBe(5_400_000);
    expect(parseDuration("500ms")).toBe(500);
    expect(parseDuration("12")).toBe(12_000);
  });

  it("refuses anything else", () => {
    for (const bad of ["", "s", "-1s", "10 minutes", "1e3"])
      expect(() => parseDuration(bad)).toThrow(UsageError);
  });
});

describe("parseArgs", () => {
  it("reads the command line of the issue", () => {
    const o = parseArgs([
      "--scenario",
      "dm",
      "--users",
      "1000",
      "--duration",
      "30s",
      "--target",
      "http://127.0.0.1:2567",
      "--workers",
      "4",
    ]);
    expect(o).toMatchObject({
      scenario: "dm",
      users: 1000,
      durationMs: 30_000,
      target: "http://127.0.0.1:2567",
      workers: 4,
      rate: 1,
      groupSize: 50,
      historyChats: 100,
      register: false,
      progress: true,
    });
  });

  it("fills defaults that depend on the scenario and the baseline", () => {
    expect(parseArgs(["--scenario", "mixed"])).toMatchObject({ rate: 0.5, target: "http://127.0.0.1:2567" });
    expect(parseArgs(["--scenario", "login-storm"])).toMatchObject({ rate: 5, clientIps: 1 });
    expect(parseArgs(["--baseline", "ws"])).toMatchObject({ baseline: "ws", target: "ws://127.0.0.1:8081" });
    expect(parseArgs(["--baseline", "socketio", "--scenario", "group", "--group-size", "10"])).toMatchObject({
      baseline: "socketio",
      target: "ws://127.0.0.1:8082",
      groupSize: 10,
    });
    expect(parseArgs(["--workers", "0", "--history", "all", "--quiet", "--register"])).toMatchObject({
      workers: 0,
      historyChats: "all",
      progress: false,
      register: true,
    });
    expect(parseArgs(["--server-pid", "1234", "--out", "/tmp/x", "--drain", "2s"])).toMatchObject({
      serverPid: 1234,
      out: "/tmp/x",
      drainMs: 2000,
    });
    expect(parseArgs(["--help"])).toEqual({ help: true });
  });

  it("refuses unknown options, bad numbers and impossible combinations", () => {
    const bad = [
      ["--scenario", "chaos"],
      ["--users", "many"],
      ["--users", "0"],
      ["--rate", "-1"],
      ["--group-size", "51"],
      ["--frobnicate"],
      ["stray"],
      ["--baseline", "uws"],
      ["--baseline", "ws", "--scenario", "mixed"],
      ["--baseline", "ws", "--target", "http://127.0.0.1:1"],
      ["--target", "ws://127.0.0.1:1"],
      ["--scenario", "dm", "--users", "1"],
      ["--scenario", "login-storm", "--rate", "0"],
    ];
    for (const argv of bad) expect(() => parseArgs(argv), argv.join(" ")).toThrow(UsageError);
  });

  it("warns before the server's per-socket rate limit is reached", () => {
    expect(perSocketRate(defaults({ scenario: "dm", rate: 10 }))).toBe(5);
    expect(perSocketRate(defaults({ scenario: "group", rate: 50, groupSize: 50 }))).toBe(1);
    expect(warnings(defaults({ scenario: "dm", rate: 2 }))).toEqual([]);
    expect(warnings(defaults({ scenario: "dm", rate: 40 })).join()).toMatch(/per socket/);
    expect(warnings(defaults({ scenario: "dm", rate: 40, baseline: "ws", target: "ws://x:1" }))).toEqual([]);
  });
});

describe("planWorkers", () => {
  it("keeps each pair in one worker and spreads pairs evenly", () => {
    const plans = planWorkers("dm", 10, 50, 2);
    expect(plans.map((p) => [p.first, p.count, p.units.length])).toEqual([
      [0, 4, 2],
      [4, 6, 3],
    ]);
    expect(plans[1]?.units).toEqual([
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
  });

  it("leaves an odd user idle in the last worker, and never starts more workers than chats", () => {
    const plans = planWorkers("dm", 5, 50, 8);
    expect(plans).toHaveLength(2);
    expect(plans.reduce((s, p) => s + p.count, 0)).toBe(5);
    expect(plans.at(-1)?.units.flat()).not.toContain(2);
  });

  it("makes groups of group-size, the last one smaller, never of one", () => {
    const plans = planWorkers("group", 105, 50, 2);
    expect(plans.flatMap((p) => p.units.map((u) => u.length))).toEqual([50, 50, 5]);
    expect(planWorkers("group", 101, 50, 2).flatMap((p) => p.units.map((u) => u.length))).toEqual([50, 50]);
  });

  it("splits connect-only users evenly and gives login storms no users", () => {
    expect(planWorkers("connect", 7, 50, 3).map((p) => p.count)).toEqual([2, 2, 3]);
    expect(planWorkers("login-storm", 20, 50, 2).map((p) => p.count)).toEqual([0, 0]);
    expect(planWorkers("dm", 4, 50, 0)).toHaveLength(1); // 0: one in-process worker
  });

  it("shares rates in proportion to the chats and whole counts rounded up", () => {
    const plans = planWorkers("dm", 10, 50, 2);
    expect(share(100, plans, plans[0] as never)).toBeCloseTo(40);
    expect(share(5, plans, plans[1] as never, true)).toBe(3);
  });
});
