/** A JSON answer whose shape the test asserts on. */
// biome-ignore lint/suspicious/noExplicitAny: tests index into arbitrary JSON answers
export type Json = any;

export async function getJson(url: string, init?: RequestInit): Promise<{ status: number; body: Json }> {
  const res = await fetch(url, init);
  return { status: res.status, body: (await res.json()) as Json };
}
