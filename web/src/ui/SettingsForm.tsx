import { useState } from "preact/hooks";
import { account } from "../lib/app";
import type { Me, Preferences, Privacy } from "../lib/sdk";
import { SaveState } from "./common";

const GENDERS = [
  ["woman", "Women"],
  ["man", "Men"],
  ["nonbinary", "Non-binary people"],
] as const;

const PRIVACY: [keyof Privacy, string][] = [
  ["discoverable", "Show me in Discover"],
  ["showOnline", "Show when I'm online"],
  ["showLastSeen", "Show when I was last online"],
];

/** Discovery preferences and privacy (`settings.update`). */
export function SettingsForm({ me }: { me: Me }) {
  const [prefs, setPrefs] = useState<Preferences>(me.preferences);
  const [privacy, setPrivacy] = useState<Privacy>(me.privacy);
  const [saving, setSaving] = useState(false);
  const [state, setState] = useState<{ ok: boolean; text: string }>();

  const toggleGender = (g: Preferences["genders"][number]) =>
    setPrefs({
      ...prefs,
      genders: prefs.genders.includes(g) ? prefs.genders.filter((x) => x !== g) : [...prefs.genders, g],
    });

  const submit = async (event: Event) => {
    event.preventDefault();
    setSaving(true);
    const outcome = await account.saveSettings(prefs, privacy);
    setSaving(false);
    setState(outcome.ok ? { ok: true, text: "Settings saved." } : { ok: false, text: outcome.error });
  };

  return (
    <form class="card form" onSubmit={submit} aria-labelledby="settings-title">
      <h2 id="settings-title">Discovery and privacy</h2>
      <fieldset>
        <legend>Show me</legend>
        {GENDERS.map(([value, label]) => (
          <label key={value} class="check">
            <input
              type="checkbox"
              checked={prefs.genders.includes(value)}
              onChange={() => toggleGender(value)}
            />
            {label}
          </label>
        ))}
        <p class="hint">None ticked: everyone.</p>
      </fieldset>
      <div class="field-row">
        <div class="field">
          <label for="st-min">Minimum age</label>
          <input
            id="st-min"
            type="number"
            min={18}
            max={120}
            value={prefs.minAge}
            onInput={(e) => setPrefs({ ...prefs, minAge: Number(e.currentTarget.value) })}
          />
        </div>
        <div class="field">
          <label for="st-max">Maximum age</label>
          <input
            id="st-max"
            type="number"
            min={18}
            max={120}
            value={prefs.maxAge}
            onInput={(e) => setPrefs({ ...prefs, maxAge: Number(e.currentTarget.value) })}
          />
        </div>
      </div>
      <div class="field">
        <label for="st-city">Only in city</label>
        <input
          id="st-city"
          maxLength={80}
          placeholder="Anywhere"
          value={prefs.city}
          onInput={(e) => setPrefs({ ...prefs, city: e.currentTarget.value })}
        />
      </div>
      <fieldset>
        <legend>Privacy</legend>
        {PRIVACY.map(([key, label]) => (
          <label key={key} class="check">
            <input
              type="checkbox"
              checked={privacy[key] === true}
              onChange={(e) => setPrivacy({ ...privacy, [key]: e.currentTarget.checked })}
            />
            {label}
          </label>
        ))}
        <label class="check">
          <input
            type="checkbox"
            checked={privacy.profileVisibility === "matches"}
            onChange={(e) =>
              setPrivacy({ ...privacy, profileVisibility: e.currentTarget.checked ? "matches" : "everyone" })
            }
          />
          Only matches may see my profile
        </label>
      </fieldset>
      <SaveState state={state} />
      <button type="submit" class="btn btn-primary" disabled={saving}>
        {saving ? "Saving…" : "Save settings"}
      </button>
    </form>
  );
}
