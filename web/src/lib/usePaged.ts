import { useCallback, useEffect, useState } from "preact/hooks";
import { model } from "./app";

interface Page<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}

/** A REST list (`{items, nextCursor}`) read page by page, with its error in words. */
export function usePaged<T>(what: string, path: string, pageSize = 12) {
  const [items, setItems] = useState<T[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string>();

  const load = useCallback(
    async (cursor: string | null) => {
      setLoading(true);
      setError(undefined);
      const query = `${path.includes("?") ? "&" : "?"}limit=${pageSize}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
      const outcome = await model.attempt(what, model.reader.rest<Page<T>>("GET", `${path}${query}`));
      setLoading(false);
      if (!outcome.ok) {
        setError(outcome.error);
        return;
      }
      setItems((current) => (cursor ? [...current, ...outcome.value.items] : outcome.value.items));
      setNext(outcome.value.nextCursor);
    },
    [what, path, pageSize],
  );

  useEffect(() => {
    setItems([]);
    void load(null);
  }, [load]);

  return {
    items,
    loading,
    error,
    hasMore: next !== null,
    loadMore: () => void load(next),
    reload: () => void load(null),
  };
}
