// The command contract shared by the agent and the server: which actions exist and what arguments each takes.
import { z } from 'zod';

export type IntervalName = 'collect' | 'resources' | 'heartbeat';

/** Bounds in seconds of each collector interval the `set-interval` action may set. */
export const INTERVAL_LIMITS: Readonly<Record<IntervalName, readonly [number, number]>> = { collect: [1, 3600], resources: [1, 3600], heartbeat: [1, 300] };

const int = (min: number, max: number) => z.string().regex(/^\d{1,16}$/, 'must be a whole number').transform(Number).pipe(z.number().int().min(min).max(max));

/** A process start time as given by the caller: RFC 3339 (as in process.start of our events) or Unix ms. */
const startTime = z.string().max(64).transform((s, ctx) => {
  const digits = /^\d{1,16}$/.test(s);
  const ms = digits ? Number(s) : Date.parse(s);
  if (!Number.isFinite(ms) || (!digits && !/^\d{4}-\d\d-\d\dT/.test(s))) {
    ctx.addIssue({ code: 'custom', message: 'must be an RFC 3339 time or Unix milliseconds' });
    return z.NEVER;
  }
  // A start given to the second is compared to the second; one given to the millisecond, exactly.
  return { ms, wholeSeconds: !digits && !/\.\d/.test(s) };
});

const setInterval = z.strictObject({ seconds: int(1, 3600), collector: z.enum(['collect', 'resources', 'heartbeat']).default('collect') })
  .refine((a) => a.seconds >= INTERVAL_LIMITS[a.collector][0] && a.seconds <= INTERVAL_LIMITS[a.collector][1], {
    message: 'seconds is outside the bounds of this collector (heartbeat: 1-300)', path: ['seconds'],
  });

/** The allow-list: every action an agent may run, with the schema of its arguments (all arrive as strings). */
export const COMMAND_ARGS = {
  ping: z.strictObject({}),
  'collect-now': z.strictObject({}),
  'set-interval': setInterval,
  'list-processes': z.strictObject({ limit: int(1, 100_000).optional() }),
  'list-connections': z.strictObject({ state: z.string().regex(/^[A-Z_]{1,32}$/).optional() }),
  'kill-process': z.strictObject({ pid: int(1, 2 ** 22), start: startTime, signal: z.enum(['SIGTERM', 'SIGKILL', 'SIGINT', 'SIGHUP']).default('SIGTERM') }),
  'rotate-credentials': z.strictObject({}),
} as const;

export type CommandAction = keyof typeof COMMAND_ARGS;
export type CommandArgs<A extends CommandAction> = z.output<(typeof COMMAND_ARGS)[A]>;
export const COMMAND_ACTIONS = Object.keys(COMMAND_ARGS) as CommandAction[];

/** Whether a name is an action of the allow-list; an own-key check, so `constructor` or `__proto__` never is. */
export function isCommandAction(name: string): name is CommandAction {
  return Object.hasOwn(COMMAND_ARGS, name);
}

export type ArgsCheck<A extends CommandAction> = { ok: true; action: A; args: CommandArgs<A> } | { ok: false; reason: string };

/** Checks an action and its string arguments against the allow-list; the reason names what is wrong. */
export function checkCommandArgs(action: string, args: Readonly<Record<string, string>>): ArgsCheck<CommandAction> {
  if (!isCommandAction(action)) return { ok: false, reason: `unknown action ${JSON.stringify(action)} (allowed: ${COMMAND_ACTIONS.join(', ')})` };
  // Copied into an object without a prototype: argument names come from the caller.
  const input: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(args)) input[k] = v;
  const parsed = (COMMAND_ARGS[action] as z.ZodType<unknown, Record<string, string>>).safeParse(input);
  if (parsed.success) return { ok: true, action, args: parsed.data as CommandArgs<CommandAction> };
  const why = parsed.error.issues.map((i) => (i.code === 'unrecognized_keys' ? `unknown argument(s) ${i.keys.join(', ')}` : `${i.path.join('.') || 'args'}: ${i.message}`));
  return { ok: false, reason: `bad arguments for ${action}: ${why.join('; ')}` };
}
