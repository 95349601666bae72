import type { AppModel, Attendance, Outcome } from "./model";
import type { Preferences, Privacy, Profile, PublicProfile } from "./sdk";

export interface Photo {
  readonly id: string;
  readonly url: string;
}

interface Registration {
  readonly status?: string;
  readonly registered?: boolean;
  readonly attendees: number;
  readonly capacity: number;
  readonly remaining: number;
}

export const PHOTO_TYPES = ["image/jpeg", "image/png", "image/webp"];

/** Discovery, profile, settings, photos and event registration. */
export class AccountActions {
  constructor(private readonly model: AppModel) {}

  async discover(cursor?: string): Promise<{ profiles: PublicProfile[]; next?: string } | undefined> {
    const page = await this.model.run(
      "Loading people to discover",
      this.model.client.send("discover", { limit: 10, ...(cursor ? { cursor } : {}) }),
    );
    for (const p of page?.profiles ?? []) this.model.rememberName(p.userId, p.displayName);
    return page;
  }

  async like(userId: string): Promise<string | undefined> {
    const result = await this.model.run("Liking", this.model.client.send("like", { userId }));
    if (result?.status === "matched") {
      const chatId = this.model.state.me?.matches.find((m) => m.userId === userId)?.chatId;
      this.model.showMatch(userId, chatId);
    }
    return result?.status;
  }

  async pass(userId: string): Promise<boolean> {
    return (await this.model.run("Passing", this.model.client.send("pass", { userId }))) !== undefined;
  }

  async saveProfile(profile: Partial<Profile>): Promise<Outcome<unknown>> {
    const outcome = await this.model.attempt(
      "Saving your profile",
      this.model.client.send("profile.update", { profile }),
    );
    if (outcome.ok) this.model.store.update({ me: outcome.value.me });
    return outcome;
  }

  async saveSettings(preferences: Preferences, privacy: Privacy): Promise<Outcome<unknown>> {
    const outcome = await this.model.attempt(
      "Saving your settings",
      this.model.client.send("settings.update", { preferences, privacy }),
    );
    if (outcome.ok) this.model.store.update({ me: outcome.value.me });
    return outcome;
  }

  photos(): Promise<Outcome<Photo[]>> {
    return this.model.attempt(
      "Loading your photos",
      this.model.client.call<Photo[]>("GET", "/users/me/photos"),
    );
  }

  upload(file: File): Promise<Outcome<Photo>> {
    return this.model.attempt(
      "Uploading a photo",
      this.model.client.upload<Photo>("/users/me/photos", file, file.type),
    );
  }

  deletePhoto(id: string): Promise<Outcome<unknown>> {
    return this.model.attempt(
      "Deleting a photo",
      this.model.client.call("DELETE", `/users/me/photos/${encodeURIComponent(id)}`),
    );
  }

  /** `GET` (status), `PUT` (register) or `DELETE` (cancel) of `/events/:id/registration`. */
  async registration(eventId: string, method: "GET" | "PUT" | "DELETE"): Promise<Outcome<Attendance>> {
    const what = method === "PUT" ? "Registering" : method === "DELETE" ? "Cancelling" : "Loading attendance";
    const outcome = await this.model.attempt(
      what,
      this.model.client.call<Registration>(method, `/events/${encodeURIComponent(eventId)}/registration`),
    );
    if (!outcome.ok) return outcome;
    const r = outcome.value;
    const registered =
      r.registered ??
      (r.status === undefined ? undefined : r.status === "registered" || r.status === "already-registered");
    const attendance: Attendance = {
      attendees: r.attendees,
      capacity: r.capacity,
      remaining: r.remaining,
      ...(registered !== undefined ? { registered } : {}),
    };
    this.model.store.update((s) => ({ attendance: { ...s.attendance, [eventId]: attendance } }));
    return { ok: true, value: attendance };
  }
}
