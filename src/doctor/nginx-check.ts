import fs from 'node:fs/promises';
import type { NginxRouterConfig } from '../config/types.js';
import {
  discoverPidFile,
  nginxErrorLine,
  runNginx,
  runningMasterPid,
  type NginxCommand,
} from '../router/nginx/nginx-process.js';
import type { CheckResult } from './check-result.js';

/**
 * `router: nginx`: what `cutover server` needs of the team's nginx, checked
 * the way the router uses it: the program runs, the main config passes
 * `nginx -t`, it includes cutover's file, and a master is running to reload.
 */
export async function checkNginx(nginx: NginxRouterConfig): Promise<CheckResult> {
  const id = 'router.nginx';
  const command: NginxCommand = {
    binary: nginx.binary,
    mainConfig: nginx.mainConfig,
    ...(nginx.prefix === undefined ? {} : { prefix: nginx.prefix }),
  };
  const version = await runNginx(command, ['-v']);
  if (version.code !== 0) {
    return {
      id,
      status: 'fail',
      message: `cannot run ${nginx.binary}: ${nginxErrorLine(version.stderr)}`,
      fix: 'Install nginx (apt-get install nginx), or point server.nginx.binary at it.',
    };
  }
  if ((await fs.stat(nginx.includeFile).catch(() => null)) === null) {
    return {
      id,
      status: 'fail',
      message: `${nginx.includeFile} does not exist, so nginx -t fails on its include`,
      fix: `Create it empty (touch ${nginx.includeFile}); cutover fills it at start.`,
    };
  }
  const test = await runNginx(command, ['-t']);
  if (test.code !== 0) {
    return {
      id,
      status: 'fail',
      message: `nginx -t -c ${nginx.mainConfig} fails: ${nginxErrorLine(test.stderr)}`,
      fix: `Fix ${nginx.mainConfig} (or the file named) until nginx -t passes; cutover never reloads a config nginx -t refuses.`,
    };
  }
  const dump = await runNginx(command, ['-T']);
  if (!dump.stdout.includes(`# configuration file ${nginx.includeFile}:`)) {
    return {
      id,
      status: 'fail',
      message: `${nginx.mainConfig} does not include ${nginx.includeFile}`,
      fix: `Add "include ${nginx.includeFile};" inside its http { } block.`,
    };
  }
  const discovered = nginx.pidFile === undefined ? await discoverPidFile(command) : { pidFile: nginx.pidFile };
  const pid = 'pidFile' in discovered ? discovered.pidFile : null;
  const master = pid === null ? null : runningMasterPid(pid);
  if (master === null) {
    return {
      id,
      status: 'fail',
      message: `no nginx master runs for ${nginx.mainConfig}${pid === null ? '' : ` (no live pid in ${pid})`}`,
      fix: `Start it: ${nginx.binary} -c ${nginx.mainConfig}${nginx.prefix === undefined ? '' : ` -p ${nginx.prefix}`}`,
    };
  }
  return {
    id,
    status: 'ok',
    message: `nginx (pid ${master}) runs ${nginx.mainConfig}, which passes nginx -t and includes ${nginx.includeFile}`,
  };
}
