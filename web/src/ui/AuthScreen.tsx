import { useState } from "preact/hooks";
import { model } from "../lib/app";
import { describeError } from "../lib/errors";
import { InlineError } from "./common";

type Mode = "login" | "register";

/** Sign in or create an account (REST), then the app connects the socket. */
export function AuthScreen() {
  const [mode, setMode] = useState<Mode>("register");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      if (mode === "register") await model.register({ email, password, displayName });
      else await model.login({ email, password });
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  const switchTo = (next: Mode) => {
    setMode(next);
    setError(undefined);
  };

  return (
    <section class="auth" aria-labelledby="auth-title">
      <div class="auth-intro">
        <h1 id="auth-title">Find people who love the same music</h1>
        <p>Meet fans nearby, chat in real time and go to concerts together.</p>
      </div>
      <div class="card auth-card">
        <fieldset class="segmented">
          <legend class="sr-only">Create an account or sign in</legend>
          <button type="button" aria-pressed={mode === "register"} onClick={() => switchTo("register")}>
            Create account
          </button>
          <button type="button" aria-pressed={mode === "login"} onClick={() => switchTo("login")}>
            Sign in
          </button>
        </fieldset>
        <form onSubmit={submit} aria-label={mode === "register" ? "Create account" : "Sign in"}>
          {mode === "register" && (
            <div class="field">
              <label for="auth-name">Display name</label>
              <input
                id="auth-name"
                autoComplete="nickname"
                required
                maxLength={60}
                value={displayName}
                onInput={(e) => setDisplayName(e.currentTarget.value)}
              />
            </div>
          )}
          <div class="field">
            <label for="auth-email">Email</label>
            <input
              id="auth-email"
              type="email"
              autoComplete="email"
              required
              value={email}
              onInput={(e) => setEmail(e.currentTarget.value)}
            />
          </div>
          <div class="field">
            <label for="auth-password">Password</label>
            <input
              id="auth-password"
              type="password"
              autoComplete={mode === "register" ? "new-password" : "current-password"}
              required
              aria-describedby={mode === "register" ? "auth-password-hint" : undefined}
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
            />
            {mode === "register" && (
              <p id="auth-password-hint" class="hint">
                8 to 128 characters; not a common password.
              </p>
            )}
          </div>
          <InlineError text={error} />
          <button type="submit" class="btn btn-primary btn-block" disabled={busy}>
            {busy ? "Please wait…" : mode === "register" ? "Create account" : "Sign in"}
          </button>
        </form>
      </div>
    </section>
  );
}
