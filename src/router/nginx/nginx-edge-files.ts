import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { MaintenanceRoute, ServiceRoute, TlsCertificate } from '../index.js';
import { maintenanceHtml, maintenanceJson } from '../maintenance-page.js';

/**
 * The files the rendered config points at, next to cutover's include file
 * (`<dir>/<include name without .conf>.d/`): each certificate and key of a
 * route (`tls/`, owner-only: nginx's master reads them when it loads the
 * config), and each service's maintenance page (`maintenance/`, readable by
 * nginx's workers, which serve it per request).
 *
 * Names are content hashes, never a host or service name: nothing a client or
 * a config value says becomes a path, and a failed apply that puts the last
 * good config back finds its files unchanged (a new page or certificate is a
 * new file, the old one stays until an apply that no longer uses it).
 */
export interface NginxFile {
  path: string;
  content: string;
  /** Owner-only (a private key, and its certificate with it); else world-readable (a maintenance page). */
  private: boolean;
}

/** `/etc/nginx/conf.d/cutover.conf` → `/etc/nginx/conf.d/cutover.d` (not matched by an `include conf.d/*.conf`). */
export function filesDirOf(includeFile: string): string {
  const base = path.basename(includeFile).replace(/\.conf$/, '');
  return path.join(path.dirname(includeFile), `${base}.d`);
}

export function certificateFiles(filesDir: string, certificate: TlsCertificate): { cert: string; key: string } {
  const name = hashOf(certificate.certPem, certificate.keyPem);
  return { cert: path.join(filesDir, 'tls', `${name}.crt`), key: path.join(filesDir, 'tls', `${name}.key`) };
}

/** The two answers of a service in maintenance: the HTML page (the team's own, or cutover's) and the JSON. */
export function maintenanceFiles(
  filesDir: string,
  maintenance: MaintenanceRoute,
): { html: NginxFile; json: NginxFile } {
  const html = maintenance.page ?? maintenanceHtml(maintenance.message);
  const json = maintenanceJson(maintenance.message);
  return {
    html: { path: path.join(filesDir, 'maintenance', `${hashOf(html)}.html`), content: html, private: false },
    json: { path: path.join(filesDir, 'maintenance', `${hashOf(json)}.json`), content: json, private: false },
  };
}

/** Every file these routes need. */
export function filesForRoutes(filesDir: string, routes: Iterable<ServiceRoute>): NginxFile[] {
  const files: NginxFile[] = [];
  for (const route of routes) {
    for (const certificate of route.tls?.certificates ?? []) {
      const paths = certificateFiles(filesDir, certificate);
      files.push({ path: paths.cert, content: certificate.certPem, private: true });
      files.push({ path: paths.key, content: certificate.keyPem, private: true });
    }
    if (route.maintenance) {
      const pages = maintenanceFiles(filesDir, route.maintenance);
      files.push(pages.html, pages.json);
    }
  }
  return files;
}

/**
 * Writes the files that are missing (write-then-rename, with their mode from
 * the start: a key is never readable by others, not even for a moment).
 * The directory is 0755 and `maintenance/` too (workers read the pages),
 * `tls/` 0700.
 */
export function writeNginxFiles(filesDir: string, files: readonly NginxFile[]): void {
  fs.mkdirSync(path.join(filesDir, 'maintenance'), { recursive: true, mode: 0o755 });
  fs.mkdirSync(path.join(filesDir, 'tls'), { recursive: true, mode: 0o700 });
  // Whatever the umask: workers must reach the pages, and nobody but the owner the keys.
  fs.chmodSync(filesDir, 0o755);
  fs.chmodSync(path.join(filesDir, 'maintenance'), 0o755);
  fs.chmodSync(path.join(filesDir, 'tls'), 0o700);
  for (const file of files) {
    if (fs.existsSync(file.path)) continue;
    const temp = path.join(path.dirname(file.path), `.${path.basename(file.path)}.${process.pid}.tmp`);
    fs.writeFileSync(temp, file.content, { mode: file.private ? 0o600 : 0o644 });
    fs.chmodSync(temp, file.private ? 0o600 : 0o644);
    fs.renameSync(temp, file.path);
  }
}

/** Removes the files of `tls/` and `maintenance/` that the applied config no longer points at. */
export function pruneNginxFiles(filesDir: string, keep: readonly NginxFile[]): void {
  const kept = new Set(keep.map((file) => file.path));
  for (const sub of ['tls', 'maintenance']) {
    const dir = path.join(filesDir, sub);
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      const file = path.join(dir, name);
      if (!kept.has(file)) fs.rmSync(file, { force: true });
    }
  }
}

function hashOf(...parts: string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\0');
  return hash.digest('hex').slice(0, 32);
}
