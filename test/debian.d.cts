export function ensureDebianPackages(packages: string[], commands?: string[]): void;
