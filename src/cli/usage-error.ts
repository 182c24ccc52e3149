/** Wrong command-line usage: printed with the command's help, exit 64. */
export class UsageError extends Error {}
