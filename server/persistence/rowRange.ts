/**
 * The smallest string greater than every string starting with `prefix` under ordinal
 * comparison: the prefix with its last character incremented. Used as the exclusive upper bound
 * of a prefix scan by both adapters (Azure has no "starts with" filter).
 */
export function prefixUpperBound(prefix: string): string | undefined {
  if (prefix.length === 0) return undefined;
  const last = prefix.charCodeAt(prefix.length - 1);
  return prefix.slice(0, -1) + String.fromCharCode(last + 1);
}
