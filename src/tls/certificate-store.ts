import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { certificateHost } from './certificate-host.js';
import { ACME_CHALLENGE_TYPES, type AcmeChallengeType } from './challenge-responder.js';

/**
 * The ACME account key and the certificates cutover obtained, under
 * `<stateDir>/tls/`:
 *
 *   tls/                   0700
 *     account-key.pem      0600  the ACME account's private key
 *     certs/               0700
 *       <host>.json        0600  chain, key and metadata of one host
 *
 * One file per host, so a certificate and its key are replaced together by
 * one rename: a reader (the proxy loading it, `certs list`) sees the old
 * pair or the new one, never the new chain with the old key. Each write goes
 * to a temp file in the same directory (created 0600 with O_EXCL), is
 * fsynced, renamed over the old one, and the directory fsynced, so a crash
 * leaves the old file or the new one. Host names are checked by
 * certificateHost() before they name a file; temp files start with a dot,
 * which no host does, so they never read as a host.
 */
export interface StoredCertificate {
  host: string;
  /** The chain as the CA sent it, leaf first (PEM). */
  certPem: string;
  /** The certificate's private key (PEM, PKCS#8). */
  keyPem: string;
  issuer: string;
  serial: string;
  notBefore: number;
  notAfter: number;
  dnsNames: string[];
  /** Which challenge proved the host. */
  challenge: AcmeChallengeType;
  /** The directory URL of the CA that issued it. */
  directoryUrl: string;
  obtainedAt: number;
}

const storedCertificateSchema = z.object({
  host: z.string(),
  certPem: z.string().min(1),
  keyPem: z.string().min(1),
  issuer: z.string(),
  serial: z.string(),
  notBefore: z.number(),
  notAfter: z.number(),
  dnsNames: z.array(z.string()),
  challenge: z.enum(ACME_CHALLENGE_TYPES),
  directoryUrl: z.string(),
  obtainedAt: z.number(),
});

const DIRECTORY_MODE = 0o700;
const FILE_MODE = 0o600;
const CERTIFICATE_SUFFIX = '.json';

export class CertificateStore {
  /** `<stateDir>/tls` */
  readonly dir: string;
  private readonly certsDir: string;

  constructor(stateDir: string) {
    this.dir = path.join(stateDir, 'tls');
    this.certsDir = path.join(this.dir, 'certs');
  }

  /** The path of a host's file (the host checked first); for the nginx router and `certs list`. */
  certificatePath(host: string): string {
    return path.join(this.certsDir, `${certificateHost(host)}${CERTIFICATE_SUFFIX}`);
  }

  async readAccountKey(): Promise<string | null> {
    return readIfPresent(path.join(this.dir, 'account-key.pem'));
  }

  async writeAccountKey(keyPem: string): Promise<void> {
    await this.ensureDirectory(this.dir);
    await writeFileAtomically(path.join(this.dir, 'account-key.pem'), keyPem);
  }

  /** The stored account key, or a new one from `create`, saved before it is returned (so one account per state dir). */
  async accountKey(create: () => Promise<string>): Promise<string> {
    const existing = await this.readAccountKey();
    if (existing !== null) return existing;
    const created = await create();
    await this.writeAccountKey(created);
    return created;
  }

  /** The host's certificate; null when there is none or its file is not one this store wrote (then it gets a new order). */
  async read(host: string): Promise<StoredCertificate | null> {
    const file = this.certificatePath(host);
    const text = await readIfPresent(file);
    if (text === null) return null;
    return parseStored(text, certificateHost(host));
  }

  async write(certificate: StoredCertificate): Promise<void> {
    const file = this.certificatePath(certificate.host);
    await this.ensureDirectory(this.dir);
    await this.ensureDirectory(this.certsDir);
    await writeFileAtomically(file, `${JSON.stringify(certificate, null, 2)}\n`);
  }

  /** Every stored certificate, by host name; files that are not a valid stored certificate are left out. */
  async list(): Promise<StoredCertificate[]> {
    let names: string[];
    try {
      names = await readdir(this.certsDir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const found: StoredCertificate[] = [];
    for (const name of names.sort()) {
      if (name.startsWith('.') || !name.endsWith(CERTIFICATE_SUFFIX)) continue;
      const host = name.slice(0, -CERTIFICATE_SUFFIX.length);
      let checked: string;
      try {
        checked = certificateHost(host);
      } catch {
        continue;
      }
      if (checked !== host) continue;
      const text = await readIfPresent(path.join(this.certsDir, name));
      const stored = text === null ? null : parseStored(text, host);
      if (stored) found.push(stored);
    }
    return found;
  }

  async remove(host: string): Promise<void> {
    await rm(this.certificatePath(host), { force: true });
  }

  /** Creates the directory 0700, and narrows it to 0700 when it exists wider (an older or hand-made one). */
  private async ensureDirectory(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true, mode: DIRECTORY_MODE });
    await chmod(dir, DIRECTORY_MODE);
  }
}

function parseStored(text: string, host: string): StoredCertificate | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return null;
  }
  const parsed = storedCertificateSchema.safeParse(json);
  // A file that names another host than its own (copied by hand) is not trusted for this one.
  if (!parsed.success || parsed.data.host !== host) return null;
  return parsed.data;
}

async function readIfPresent(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** Temp file in the same directory (0600, exclusive), fsync, rename over `file`, fsync the directory. */
export async function writeFileAtomically(file: string, content: string): Promise<void> {
  const dir = path.dirname(file);
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', FILE_MODE);
  try {
    await handle.writeFile(content, 'utf8');
    // The mode given to open() is narrowed by the umask only; chmod makes it exactly 0600 whatever the umask.
    await handle.chmod(FILE_MODE);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  const directory = await open(dir, 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
