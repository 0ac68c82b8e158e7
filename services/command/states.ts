// The states of a command from queued to its outcome: one list for the service, its routes and the CLI.
export const COMMAND_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'timed_out', 'expired', 'refused'] as const;
export type CommandStatus = (typeof COMMAND_STATUSES)[number];
