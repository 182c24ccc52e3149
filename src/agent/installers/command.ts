import type { Job } from '../../protocol/messages.ts';
import { AGENT_EXIT, PLG_EXIT, label } from '../../protocol/exit-codes.ts';
import { tail, type InstallRequest, type Installer, type InstallerResult } from './installer.ts';
import { runProcess } from './run-process.ts';

// An installer that is any command: {zip}, {plugin}, {version} and {action} in its arguments are replaced,
// and its exit code is read as a Conn2Flow PLG_EXIT_* code (0 is success).

const KNOWN_CODES = new Set<number>(Object.values(PLG_EXIT));

export class CommandInstaller implements Installer {
  readonly name = 'command';
  private readonly command: string[];
  private readonly timeoutMs: number;

  constructor(command: string[], timeoutSeconds: number) {
    this.command = command;
    this.timeoutMs = timeoutSeconds * 1000;
  }

  install(request: InstallRequest): Promise<InstallerResult> {
    return this.run(request.job, request.zip, request.job.action, request.onProcess);
  }

  uninstall(job: Job, backupFile: string, onProcess?: (pgid: number) => void): Promise<InstallerResult> {
    return this.run(job, backupFile, 'uninstall', onProcess);
  }

  private async run(job: Job, zip: string, action: string, onSpawn?: (pgid: number) => void): Promise<InstallerResult> {
    const values: Record<string, string> = { zip, plugin: job.plugin.id, version: job.plugin.version, action };
    const [program, ...args] = this.command.map((part) =>
      part.replace(/\{(zip|plugin|version|action)\}/g, (_all, key: string) => values[key]),
    );
    const env = {
      ...process.env,
      C2F_ZIP: zip,
      C2F_PLUGIN: job.plugin.id,
      C2F_VERSION: job.plugin.version,
      C2F_ACTION: action,
      C2F_JOB_ID: job.jobId,
    };
    const result = await runProcess(program, args, { env, timeoutMs: this.timeoutMs, onSpawn });
    const logTail = tail(`${result.stdout}\n${result.stderr}`);
    const installed = action === 'uninstall' ? null : job.plugin.version;
    if (result.spawnError)
      return {
        exitCode: AGENT_EXIT.INSTALLER_NOT_RUN,
        message: `the installer command could not be started: ${result.spawnError}`,
        logTail,
        installedVersion: null,
      };
    if (result.timedOut)
      return {
        exitCode: AGENT_EXIT.INSTALLER_TIMEOUT,
        message: `the installer ran longer than ${this.timeoutMs / 1000} s and was stopped`,
        logTail,
        installedVersion: null,
      };
    if (result.code === null)
      return {
        exitCode: AGENT_EXIT.INSTALLER_CRASHED,
        message: `the installer was killed by ${result.signal}`,
        logTail,
        installedVersion: null,
      };
    if (result.code === 0)
      return {
        exitCode: PLG_EXIT.OK,
        message:
          action === 'uninstall' ? `${job.plugin.id} removed` : `${job.plugin.id} ${job.plugin.version} installed`,
        logTail,
        installedVersion: installed,
        siteChanged: true,
      };
    if (KNOWN_CODES.has(result.code))
      return {
        exitCode: result.code,
        message: `the installer failed with ${result.code} (${label(result.code)})`,
        logTail,
        installedVersion: null,
        siteChanged: true,
      };
    return {
      exitCode: AGENT_EXIT.INSTALLER_CRASHED,
      message: `the installer exited with ${result.code}, which is not a Conn2Flow exit code`,
      logTail,
      installedVersion: null,
      siteChanged: true,
    };
  }
}
