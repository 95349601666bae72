import { model } from "../lib/app";
import { describeClose } from "../lib/errors";
import { useStore } from "../lib/store";

const LABELS = {
  online: "Online",
  offline: "Offline",
  connecting: "Connecting",
  closed: "Disconnected",
} as const;

/** The connection state in the header, always visible ("Offline" while the device has no network). */
export function StatusPill() {
  const sdkStatus = useStore(model.store, (s) => s.status);
  const deviceOnline = useStore(model.store, (s) => s.deviceOnline);
  const status = !deviceOnline && sdkStatus !== "closed" ? "offline" : sdkStatus;
  return (
    <span class={`pill pill-${status}`} role="status" aria-label={`Connection: ${LABELS[status]}`}>
      <span class="pill-dot" aria-hidden="true" />
      {LABELS[status]}
    </span>
  );
}

/** What is wrong with the connection, in words, and what the app does about it. */
export function ConnectionBanner() {
  const phase = useStore(model.store, (s) => s.phase);
  const status = useStore(model.store, (s) => s.status);
  const code = useStore(model.store, (s) => s.closeCode);
  const caughtUp = useStore(model.store, (s) => s.caughtUp);
  const deviceOnline = useStore(model.store, (s) => s.deviceOnline);

  if (phase === "connecting") {
    return (
      <div class="banner banner-info" role="status">
        Connecting to Harmony Meet…
      </div>
    );
  }
  if (phase === "failed") {
    return (
      <div class="banner banner-error" role="alert">
        Could not connect (details below).{" "}
        <button type="button" class="btn btn-small" onClick={() => void model.retry()}>
          Try again
        </button>
      </div>
    );
  }
  if (status === "offline" || status === "connecting") {
    const why = deviceOnline ? describeClose(code) : "your device is offline";
    return (
      <div class="banner banner-warn" role="status">
        <strong>Reconnecting…</strong>{" "}
        {why ? `${why[0]?.toUpperCase()}${why.slice(1)}.` : "The connection dropped."} Messages you send now
        go out once the connection is back, and anything you missed will be fetched.
      </div>
    );
  }
  if (status === "closed") {
    return (
      <div class="banner banner-error" role="alert">
        Disconnected: {describeClose(code) || "the connection closed for good"}.{" "}
        <button type="button" class="btn btn-small" onClick={() => location.reload()}>
          Reload
        </button>
      </div>
    );
  }
  if (caughtUp) {
    return (
      <div class="banner banner-ok" role="status">
        Back online — caught up on everything you missed.
      </div>
    );
  }
  return null;
}
