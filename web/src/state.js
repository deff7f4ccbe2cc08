// A tiny observable value, so screens re-render when the language or the session changes.
import { useEffect, useState } from 'preact/hooks';

export function signal(initial) {
  let value = initial;
  const listeners = new Set();
  return {
    get: () => value,
    set(next) {
      value = next;
      for (const listener of listeners) listener(next);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export function useSignal(source) {
  const [, setValue] = useState(source.get());
  useEffect(() => source.subscribe(setValue), [source]);
  return source.get();
}
