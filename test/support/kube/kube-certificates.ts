import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * What the test cluster's control plane authenticates with, made with the
 * real openssl binary (every value an argument of its own, no shell) in the
 * cluster's directory: a throwaway CA, the API server's serving certificate
 * for 127.0.0.1 and localhost, its client certificate towards the kubelet
 * (logs, exec), the service-account signing key, and static bearer tokens
 * (the admin's in system:masters, the kubelet's as the node's own user in
 * system:nodes, which the Node authorizer expects).
 */
export interface KubeCredentials {
  caFile: string;
  caPem: string;
  apiserverCertFile: string;
  apiserverKeyFile: string;
  /** The API server's client certificate towards the kubelet (logs, exec). */
  kubeletClientCertFile: string;
  kubeletClientKeyFile: string;
  serviceAccountKeyFile: string;
  serviceAccountPublicKeyFile: string;
  /** --token-auth-file: token,user,uid,"groups". */
  tokenFile: string;
  adminToken: string;
  kubeletToken: string;
}

export async function makeKubeCredentials(dir: string, nodeName: string): Promise<KubeCredentials> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = (name: string): string => path.join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(['req', '-x509', ...ec, '-keyout', file('ca.key'), '-out', file('ca.crt')], {
    days: '2',
    subj: '/CN=cutover test kubernetes CA',
  });
  // The in-cluster names too: a pod that reaches the API through the kubernetes Service checks them.
  const names = [
    'IP:127.0.0.1',
    'DNS:localhost',
    'IP:10.0.0.1',
    'DNS:kubernetes',
    'DNS:kubernetes.default',
    'DNS:kubernetes.default.svc',
  ];
  fs.writeFileSync(file('apiserver.ext'), `subjectAltName=${names.join(',')}\nextendedKeyUsage=serverAuth\n`);
  await openssl(['req', '-new', ...ec, '-keyout', file('apiserver.key'), '-out', file('apiserver.csr')], {
    subj: '/CN=kube-apiserver',
  });
  await openssl(
    ['x509', '-req', '-in', file('apiserver.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key')],
    { days: '2', set_serial: `0x${randomBytes(8).toString('hex')}` },
    ['-out', file('apiserver.crt'), '-extfile', file('apiserver.ext')],
  );
  fs.writeFileSync(file('kubelet-client.ext'), 'extendedKeyUsage=clientAuth\n');
  await openssl(['req', '-new', ...ec, '-keyout', file('kubelet-client.key'), '-out', file('kubelet-client.csr')], {
    subj: '/O=system:masters/CN=kube-apiserver-kubelet-client',
  });
  await openssl(
    ['x509', '-req', '-in', file('kubelet-client.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key')],
    { days: '2', set_serial: `0x${randomBytes(8).toString('hex')}` },
    ['-out', file('kubelet-client.crt'), '-extfile', file('kubelet-client.ext')],
  );
  // ES256 service-account tokens: a P-256 key is made in milliseconds, an RSA one in seconds on a busy machine.
  await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', file('service-account.key')]);
  await openssl(['ec', '-in', file('service-account.key'), '-pubout', '-out', file('service-account.pub')]);

  const adminToken = randomBytes(24).toString('hex');
  const kubeletToken = randomBytes(24).toString('hex');
  fs.writeFileSync(
    file('tokens.csv'),
    `${adminToken},cutover-test-admin,cutover-test-admin,"system:masters"\n` +
      `${kubeletToken},system:node:${nodeName},system:node:${nodeName},"system:nodes"\n`,
    { mode: 0o600 },
  );
  return {
    caFile: file('ca.crt'),
    caPem: fs.readFileSync(file('ca.crt'), 'utf8'),
    apiserverCertFile: file('apiserver.crt'),
    apiserverKeyFile: file('apiserver.key'),
    kubeletClientCertFile: file('kubelet-client.crt'),
    kubeletClientKeyFile: file('kubelet-client.key'),
    serviceAccountKeyFile: file('service-account.key'),
    serviceAccountPublicKeyFile: file('service-account.pub'),
    tokenFile: file('tokens.csv'),
    adminToken,
    kubeletToken,
  };
}

/** A kubeconfig with the CA embedded, so it stands on its own (client libraries, kubectl, the other test processes). */
export function kubeconfigYaml(server: string, caPem: string, user: string, token: string): string {
  // JSON is YAML: no quoting rules to get wrong for the token or the server.
  return `${JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'cutover-test',
          cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') },
        },
      ],
      users: [{ name: user, user: { token } }],
      contexts: [{ name: 'cutover-test', context: { cluster: 'cutover-test', user, namespace: 'default' } }],
      'current-context': 'cutover-test',
    },
    null,
    2,
  )}\n`;
}

async function openssl(head: string[], options: Record<string, string> = {}, tail: string[] = []): Promise<void> {
  const flags = Object.entries(options).flatMap(([name, value]) => [`-${name}`, value]);
  await run('openssl', [...head, ...flags, ...tail], {
    timeout: 30_000,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
}
