import type { ComponentChildren } from "preact";
import { hueOf, initials } from "../lib/format";
import { onLinkClick } from "../lib/router";

export function Link(props: {
  href: string;
  class?: string;
  children: ComponentChildren;
  "aria-current"?: "page";
}) {
  return (
    <a href={props.href} class={props.class} aria-current={props["aria-current"]} onClick={onLinkClick}>
      {props.children}
    </a>
  );
}

export function Avatar({ id, name, size = "md" }: { id: string; name: string; size?: "sm" | "md" | "lg" }) {
  return (
    <span
      class={`avatar avatar-${size}`}
      style={{ backgroundColor: `hsl(${hueOf(id)} 45% 38%)` }}
      aria-hidden="true"
    >
      {initials(name)}
    </span>
  );
}

/** A presence dot with its meaning in words for screen readers and a tooltip. */
export function PresenceDot({ online, label }: { online: boolean | undefined; label: string }) {
  return <span class={`dot ${online ? "dot-on" : "dot-off"}`} role="img" aria-label={label} title={label} />;
}

export function Badge({ count, label }: { count: number; label: string }) {
  if (count <= 0) return null;
  return (
    <span class="badge">
      <span aria-hidden="true">{count > 99 ? "99+" : count}</span>
      <span class="sr-only">{label}</span>
    </span>
  );
}

/** An inline, announced error under a form or a list. */
export function InlineError({ text }: { text: string | undefined }) {
  if (!text) return null;
  return (
    <p class="inline-error" role="alert">
      {text}
    </p>
  );
}

export function Spinner({ label }: { label: string }) {
  return (
    <p class="loading" role="status">
      {label}…
    </p>
  );
}

/** Saved / failed feedback under a form: the success announced politely, the error as an alert. */
export function SaveState({ state }: { state: { ok: boolean; text: string } | undefined }) {
  if (!state) return null;
  return state.ok ? (
    <p class="saved" role="status">
      {state.text}
    </p>
  ) : (
    <InlineError text={state.text} />
  );
}
