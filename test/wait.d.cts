/** What `check` resolves to once it is truthy. */
type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;
export function waitFor<T>(check: () => T | Promise<T>, ms: number, what: string, intervalMs?: number): Promise<Truthy<T>>;
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T>;
