import { useEffect, useState } from "preact/hooks";
import { account, model } from "../lib/app";
import { ageOf } from "../lib/format";
import type { PublicProfile } from "../lib/sdk";
import { useStore } from "../lib/store";
import { Avatar, Spinner } from "./common";

/** Discovery: one card at a time, like or pass; a mutual like opens the match dialog. */
export function Discover() {
  const phase = useStore(model.store, (s) => s.phase);
  const [queue, setQueue] = useState<PublicProfile[]>([]);
  const [next, setNext] = useState<string>();
  const [loading, setLoading] = useState(false);
  const [busy, setBusy] = useState(false);
  const [said, setSaid] = useState("");

  const load = async (cursor?: string) => {
    setLoading(true);
    const page = await account.discover(cursor);
    setLoading(false);
    if (!page) return;
    setQueue((q) => (cursor ? [...q, ...page.profiles] : page.profiles));
    setNext(page.next);
  };

  useEffect(() => {
    if (phase === "ready") void load();
  }, [phase]);

  const card = queue[0];
  const decide = async (profile: PublicProfile, like: boolean) => {
    setBusy(true);
    const status = like
      ? await account.like(profile.userId)
      : (await account.pass(profile.userId)) && "passed";
    setBusy(false);
    if (!status) return;
    setSaid(
      status === "matched"
        ? `You and ${profile.displayName} matched!`
        : like
          ? `You liked ${profile.displayName}.`
          : `You passed on ${profile.displayName}.`,
    );
    const rest = queue.slice(1);
    setQueue(rest);
    if (rest.length === 0 && next) void load(next);
  };

  return (
    <section class="screen discover" aria-labelledby="discover-title">
      <div class="screen-head">
        <h1 id="discover-title">Discover</h1>
        <button type="button" class="btn" onClick={() => void load()} disabled={loading || phase !== "ready"}>
          Refresh
        </button>
      </div>
      <p class="sr-only" role="status">
        {said}
      </p>
      {loading && queue.length === 0 ? (
        <Spinner label="Looking for people" />
      ) : card ? (
        <article class="card profile-card" aria-labelledby={`p-${card.userId}`}>
          <div class="profile-card-top">
            <Avatar id={card.userId} name={card.displayName} size="lg" />
            <div>
              <h2 id={`p-${card.userId}`}>
                {card.displayName}
                {ageOf(card.birthYear) !== undefined && <span class="age">, {ageOf(card.birthYear)}</span>}
              </h2>
              <p class="muted">
                {[card.city, card.gender, card.photos.length ? `${card.photos.length} photo(s)` : ""]
                  .filter(Boolean)
                  .join(" · ") || "No details yet"}
              </p>
            </div>
          </div>
          {card.bio && <p class="bio">{card.bio}</p>}
          {card.interests.length > 0 && (
            <ul class="chips" aria-label="Interests">
              {card.interests.map((i) => (
                <li key={i} class="chip">
                  {i}
                </li>
              ))}
            </ul>
          )}
          <div class="decide">
            <button
              type="button"
              class="btn btn-pass"
              disabled={busy}
              onClick={() => void decide(card, false)}
              aria-label={`Pass on ${card.displayName}`}
            >
              ✕ Pass
            </button>
            <button
              type="button"
              class="btn btn-primary btn-like"
              disabled={busy}
              onClick={() => void decide(card, true)}
              aria-label={`Like ${card.displayName}`}
            >
              ♥ Like
            </button>
          </div>
          {queue.length > 1 && <p class="muted small">{queue.length - 1} more waiting</p>}
        </article>
      ) : (
        <div class="card empty">
          <p>{said && <strong>{said} </strong>}No one new to discover right now.</p>
          <p class="muted">
            People appear here once they have signed in, match your preferences and have not been liked or
            passed yet. Try Refresh in a moment.
          </p>
        </div>
      )}
    </section>
  );
}
