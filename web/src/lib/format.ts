/** Formatting helpers (the browser's locale and time zone). */

const time = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const day = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short" });
const full = new Intl.DateTimeFormat(undefined, {
  weekday: "short",
  day: "numeric",
  month: "short",
  year: "numeric",
  hour: "2-digit",
  minute: "2-digit",
});

export const formatTime = (at: number | string) => time.format(new Date(at));
export const formatDateTime = (at: number | string) => full.format(new Date(at));

/** "14:05" today, "Mon 3 Mar" otherwise: for lists. */
export function formatShort(at: number): string {
  const date = new Date(at);
  return date.toDateString() === new Date().toDateString() ? time.format(date) : day.format(date);
}

export function formatMoney(price: { amount: number; currency: string } | null): string {
  if (!price || price.amount === 0) return "Free";
  return new Intl.NumberFormat(undefined, { style: "currency", currency: price.currency }).format(
    price.amount / 100,
  );
}

export function ageOf(birthYear: number | null): number | undefined {
  return birthYear === null ? undefined : new Date().getFullYear() - birthYear;
}

export function initials(name: string): string {
  const letters = name
    .trim()
    .split(/\s+/)
    .map((word) => word[0] ?? "")
    .join("");
  return (letters.slice(0, 2) || "?").toUpperCase();
}

/** A stable hue per id, for avatars. */
export function hueOf(id: string): number {
  let hash = 0;
  for (const char of id) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return hash % 360;
}
