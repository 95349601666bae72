export function describeStoresContract(_n: string, _s: () => unknown): void {}
