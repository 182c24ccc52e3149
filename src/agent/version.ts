import { VERSION } from '../version.ts';

/** The agent's version, as heartbeats and enrollment report it. */
export const AGENT_VERSION = VERSION;
