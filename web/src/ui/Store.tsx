import { useEffect, useState } from "preact/hooks";
import { formatMoney } from "../lib/format";
import type { StoreItem } from "../lib/sdk";
import { usePaged } from "../lib/usePaged";
import { InlineError, Spinner } from "./common";

/** The band's catalogue (REST reads); purchases happen on the external shop. */
export function Store() {
  const [category, setCategory] = useState("");
  const items = usePaged<StoreItem>(
    "Loading the store",
    category ? `/store/items?category=${encodeURIComponent(category)}` : "/store/items",
  );
  // The categories offered are the ones seen in the catalogue so far.
  const [known, setKnown] = useState<string[]>([]);
  useEffect(() => {
    setKnown((k) => [...new Set([...k, ...items.items.map((i) => i.category)])].sort());
  }, [items.items]);
  return (
    <section class="screen" aria-labelledby="store-title">
      <div class="screen-head">
        <h1 id="store-title">Store</h1>
        <label class="inline-field">
          <span>Category</span>
          <select value={category} onChange={(e) => setCategory(e.currentTarget.value)}>
            <option value="">All</option>
            {known.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </label>
      </div>
      <InlineError text={items.error} />
      <ul class="grid">
        {items.items.map((item) => (
          <li key={item.id} class="card store-item">
            <article aria-labelledby={`item-${item.id}`}>
              <p class="eyebrow">{item.category}</p>
              <h2 id={`item-${item.id}`}>{item.title}</h2>
              <p class="clamp">{item.description}</p>
              <p class="price">
                {formatMoney(item.price)}
                {!item.available && <span class="tag"> sold out</span>}
              </p>
              <a class="btn" href={item.purchaseUrl} target="_blank" rel="noopener noreferrer">
                View in the shop <span class="sr-only">(opens a new tab)</span>
                <span aria-hidden="true"> ↗</span>
              </a>
            </article>
          </li>
        ))}
      </ul>
      {items.loading && <Spinner label="Loading the store" />}
      {!items.loading && items.items.length === 0 && !items.error && <p class="muted">Nothing here yet.</p>}
      {items.hasMore && !items.loading && (
        <button type="button" class="btn" onClick={items.loadMore}>
          More items
        </button>
      )}
    </section>
  );
}
