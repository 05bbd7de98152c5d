/** The problems of a HAR document, one sentence each; an empty list when it is valid HAR 1.2. */
export declare function harProblems(har: unknown): string[];
