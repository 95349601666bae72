import { model } from "../lib/app";
import { useStore } from "../lib/store";

/** Every failure the app met, in words (code and message), until dismissed. */
export function Notices() {
  const notices = useStore(model.store, (s) => s.notices);
  return (
    <section class="notices" aria-label="Notifications" aria-live="assertive">
      {notices.map((n) => (
        <div key={n.id} class={`notice notice-${n.tone}`} role={n.tone === "error" ? "alert" : "status"}>
          <p>{n.text}</p>
          <button type="button" class="btn-icon" aria-label="Dismiss" onClick={() => model.dismiss(n.id)}>
            ×
          </button>
        </div>
      ))}
    </section>
  );
}
