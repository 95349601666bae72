import { useState } from "preact/hooks";
import { account, model } from "../lib/app";
import type { Me, Profile } from "../lib/sdk";
import { useStore } from "../lib/store";
import { SaveState, Spinner } from "./common";
import { Photos } from "./Photos";
import { SettingsForm } from "./SettingsForm";

const GENDERS = [
  ["", "Prefer not to say"],
  ["woman", "Woman"],
  ["man", "Man"],
  ["nonbinary", "Non-binary"],
] as const;

function ProfileForm({ me }: { me: Me }) {
  const [form, setForm] = useState(() => ({
    ...me.profile,
    birthYear: me.profile.birthYear === null ? "" : String(me.profile.birthYear),
    interests: me.profile.interests.join(", "),
  }));
  const [saving, setSaving] = useState(false);
  const [state, setState] = useState<{ ok: boolean; text: string }>();
  const set = (key: keyof typeof form) => (e: Event) =>
    setForm({ ...form, [key]: (e.currentTarget as HTMLInputElement).value });

  const submit = async (event: Event) => {
    event.preventDefault();
    setSaving(true);
    const profile: Partial<Profile> = {
      displayName: form.displayName,
      bio: form.bio,
      city: form.city,
      gender: (form.gender || null) as Profile["gender"],
      birthYear: form.birthYear.trim() ? Number(form.birthYear) : null,
      interests: form.interests
        .split(",")
        .map((i) => i.trim())
        .filter(Boolean),
    };
    const outcome = await account.saveProfile(profile);
    setSaving(false);
    setState(outcome.ok ? { ok: true, text: "Profile saved." } : { ok: false, text: outcome.error });
  };

  return (
    <form class="card form" onSubmit={submit} aria-labelledby="profile-form-title">
      <h2 id="profile-form-title">About you</h2>
      <div class="field">
        <label for="pf-name">Display name</label>
        <input id="pf-name" required maxLength={60} value={form.displayName} onInput={set("displayName")} />
      </div>
      <div class="field">
        <label for="pf-bio">Bio</label>
        <textarea id="pf-bio" rows={3} maxLength={1000} value={form.bio} onInput={set("bio")} />
      </div>
      <div class="field-row">
        <div class="field">
          <label for="pf-year">Birth year</label>
          <input
            id="pf-year"
            inputMode="numeric"
            pattern="[0-9]{4}"
            value={form.birthYear}
            onInput={set("birthYear")}
          />
        </div>
        <div class="field">
          <label for="pf-gender">Gender</label>
          <select id="pf-gender" value={form.gender ?? ""} onChange={set("gender")}>
            {GENDERS.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </div>
      </div>
      <div class="field">
        <label for="pf-city">City</label>
        <input id="pf-city" maxLength={80} value={form.city} onInput={set("city")} />
      </div>
      <div class="field">
        <label for="pf-interests">Interests</label>
        <input
          id="pf-interests"
          aria-describedby="pf-interests-hint"
          value={form.interests}
          onInput={set("interests")}
        />
        <p id="pf-interests-hint" class="hint">
          Separate with commas, up to 20.
        </p>
      </div>
      <SaveState state={state} />
      <button type="submit" class="btn btn-primary" disabled={saving}>
        {saving ? "Saving…" : "Save profile"}
      </button>
    </form>
  );
}

export function ProfileScreen() {
  const me = useStore(model.store, (s) => s.me);
  const user = useStore(model.store, (s) => s.user);
  return (
    <section class="screen profile" aria-labelledby="profile-title">
      <div class="screen-head">
        <h1 id="profile-title">Your profile</h1>
        <button type="button" class="btn" onClick={() => void model.logout()}>
          Sign out
        </button>
      </div>
      {user && <p class="muted">Signed in as {user.email}</p>}
      {!me ? (
        <Spinner label="Loading your profile" />
      ) : (
        <div class="profile-grid">
          <ProfileForm me={me} />
          <Photos count={me.photos.length} />
          <SettingsForm me={me} />
        </div>
      )}
    </section>
  );
}
