import { useEffect, useState } from "preact/hooks";
import { account, model } from "../lib/app";
import { formatDateTime, formatMoney } from "../lib/format";
import type { LiveEvent } from "../lib/sdk";
import { useStore } from "../lib/store";
import { usePaged } from "../lib/usePaged";
import { InlineError, Spinner } from "./common";

function EventCard({ event }: { event: LiveEvent }) {
  const attendance = useStore(model.store, (s) => s.attendance[event.id]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  useEffect(() => {
    if (!attendance) void account.registration(event.id, "GET");
  }, [event.id]);

  const change = async (register: boolean) => {
    setBusy(true);
    setError(undefined);
    const outcome = await account.registration(event.id, register ? "PUT" : "DELETE");
    setBusy(false);
    if (!outcome.ok) setError(outcome.error);
  };

  const registered = attendance?.registered === true;
  const full = attendance !== undefined && attendance.remaining === 0 && !registered;
  return (
    <li class="card event-card">
      <article aria-labelledby={`ev-${event.id}`}>
        <p class="eyebrow">
          {event.category} · {event.city}
        </p>
        <h2 id={`ev-${event.id}`}>{event.title}</h2>
        <p class="muted">
          <time dateTime={event.startsAt}>{formatDateTime(event.startsAt)}</time>
          {event.venue && ` · ${event.venue}`}
        </p>
        <p class="clamp">{event.description}</p>
        <p class="event-facts">
          <span>{formatMoney(event.price)}</span>
          <span>
            {attendance
              ? `${attendance.attendees} of ${attendance.capacity} going · ${attendance.remaining} left`
              : `${event.capacity} places`}
          </span>
        </p>
        <div class="row">
          {registered ? (
            <>
              <span class="tag tag-ok">You're going</span>
              <button type="button" class="btn" disabled={busy} onClick={() => void change(false)}>
                Cancel registration
              </button>
            </>
          ) : (
            <button
              type="button"
              class="btn btn-primary"
              disabled={busy || full}
              onClick={() => void change(true)}
              aria-label={`Register for ${event.title}`}
            >
              {full ? "Full" : "Register"}
            </button>
          )}
        </div>
        <InlineError text={error} />
      </article>
    </li>
  );
}

export function Events() {
  const events = usePaged<LiveEvent>("Loading events", "/events", 10);
  return (
    <section class="screen" aria-labelledby="events-title">
      <div class="screen-head">
        <h1 id="events-title">Events</h1>
      </div>
      <InlineError text={events.error} />
      <ul class="grid">
        {events.items.map((event) => (
          <EventCard key={event.id} event={event} />
        ))}
      </ul>
      {events.loading && <Spinner label="Loading events" />}
      {!events.loading && events.items.length === 0 && !events.error && (
        <p class="muted">No upcoming events.</p>
      )}
      {events.hasMore && !events.loading && (
        <button type="button" class="btn" onClick={events.loadMore}>
          More events
        </button>
      )}
    </section>
  );
}
