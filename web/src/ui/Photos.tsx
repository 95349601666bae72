import { useEffect, useState } from "preact/hooks";
import { PHOTO_TYPES, type Photo } from "../lib/account";
import { account, model } from "../lib/app";
import { useStore } from "../lib/store";
import { InlineError } from "./common";

const MAX_PHOTOS = 6;
const MAX_BYTES = 5 * 1024 * 1024;

/** The caller's photos over REST: signed read URLs, raw-body upload, delete. */
export function Photos({ count }: { count: number }) {
  const status = useStore(model.store, (s) => s.status);
  const [photos, setPhotos] = useState<Photo[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [note, setNote] = useState("");

  const reload = async () => {
    const outcome = await account.photos();
    if (outcome.ok) setPhotos(outcome.value);
    else setError(outcome.error);
  };

  // `count` follows the actor's photo list (`me`), so other devices' changes show too.
  useEffect(() => {
    void reload();
  }, [count]);

  const upload = async (input: HTMLInputElement) => {
    const file = input.files?.[0];
    input.value = "";
    if (!file) return;
    setError(undefined);
    if (!PHOTO_TYPES.includes(file.type)) {
      setError(`UNSUPPORTED_MEDIA_TYPE: ${file.name} is not a JPEG, PNG or WebP image`);
      return;
    }
    if (file.size > MAX_BYTES) {
      setError(`PAYLOAD_TOO_LARGE: ${file.name} is larger than 5 MiB`);
      return;
    }
    setBusy(true);
    const outcome = await account.upload(file);
    setBusy(false);
    if (!outcome.ok) return setError(outcome.error);
    setNote("Photo uploaded.");
    await reload();
  };

  const remove = async (photo: Photo, index: number) => {
    setBusy(true);
    const outcome = await account.deletePhoto(photo.id);
    setBusy(false);
    if (!outcome.ok) return setError(outcome.error);
    setNote(`Photo ${index + 1} deleted.`);
    await reload();
  };

  return (
    <section class="card" aria-labelledby="photos-title">
      <h2 id="photos-title">Photos</h2>
      <p class="muted small">
        Up to {MAX_PHOTOS} JPEG, PNG or WebP images of at most 5 MiB. Location and camera data are removed on
        upload.
      </p>
      {photos.length > 0 ? (
        <ul class="photos">
          {photos.map((photo, i) => (
            <li key={photo.id}>
              <img
                src={photo.url}
                alt={`You (${i + 1} of ${photos.length})`}
                width={120}
                height={120}
                loading="lazy"
              />
              <button
                type="button"
                class="btn btn-small"
                disabled={busy}
                onClick={() => void remove(photo, i)}
              >
                Delete<span class="sr-only"> photo {i + 1}</span>
              </button>
            </li>
          ))}
        </ul>
      ) : (
        <p class="muted">No photos yet.</p>
      )}
      <p class="sr-only" role="status">
        {note}
      </p>
      <InlineError text={error} />
      <label class={`btn ${busy || photos.length >= MAX_PHOTOS || status === "closed" ? "disabled" : ""}`}>
        {busy ? "Working…" : "Upload a photo"}
        <input
          type="file"
          class="sr-only"
          accept={PHOTO_TYPES.join(",")}
          disabled={busy || photos.length >= MAX_PHOTOS}
          onChange={(e) => void upload(e.currentTarget)}
        />
      </label>
    </section>
  );
}
