import type { InstallerConfig } from '../config.ts';
import { CommandInstaller } from './command.ts';
import { Conn2FlowInstaller } from './conn2flow.ts';
import type { Installer } from './installer.ts';

export function createInstaller(config: InstallerConfig): Installer {
  return config.type === 'conn2flow'
    ? new Conn2FlowInstaller(config)
    : new CommandInstaller(config.command, config.timeoutSeconds);
}
