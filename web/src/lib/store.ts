import { useEffect, useReducer, useRef } from "preact/hooks";

/** A tiny observable state container: immutable snapshots, synchronous listeners. */
export class Store<T extends object> {
  private listeners = new Set<() => void>();

  constructor(private state: T) {}

  get(): T {
    return this.state;
  }

  update(change: Partial<T> | ((state: T) => Partial<T>)): void {
    const patch = typeof change === "function" ? change(this.state) : change;
    this.state = { ...this.state, ...patch };
    for (const listener of [...this.listeners]) listener();
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/**
 * The selected slice of a store's state; the component re-renders when it changes (by identity,
 * so select existing objects rather than building new ones).
 */
export function useStore<T extends object, S>(store: Store<T>, select: (state: T) => S): S {
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const value = select(store.get());
  const latest = useRef({ select, value });
  latest.current = { select, value };
  useEffect(
    () =>
      store.subscribe(() => {
        if (latest.current.select(store.get()) !== latest.current.value) rerender(0);
      }),
    [store],
  );
  return value;
}
