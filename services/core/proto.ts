// The generated wire contract, re-exported with short names for the services.
import './proto-setup.js';
import { minisoc } from '../../proto/gen/minisoc.js';

export const { RawBatch, TelemetryBatch, Event, EventBatch, Alert, Heartbeat, AgentStatus, Command, CommandAck, CommandResult, DeadLetter } = minisoc;
export type Event = minisoc.IEvent;
export type RawBatch = minisoc.IRawBatch;
export type TelemetryBatch = minisoc.ITelemetryBatch;
export type EventBatch = minisoc.IEventBatch;
export type Alert = minisoc.IAlert;
export type Heartbeat = minisoc.IHeartbeat;
export type AgentStatus = minisoc.IAgentStatus;
export type Command = minisoc.ICommand;
export type CommandResult = minisoc.ICommandResult;
export type DeadLetter = minisoc.IDeadLetter;
export { minisoc };
