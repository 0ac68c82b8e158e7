// The agent's version, reported in heartbeats and events (kept equal to package.json by a test).
export const AGENT_VERSION = '0.1.0';
