/**
 * What a runner VM talks to, faked on 127.0.0.1: the GCE metadata server, the token proxy, the instance
 * deleter, the runner release download and GitHub's archive of the config repository. Also a directory of
 * fake system commands (sudo, systemctl, chown, shutdown) that log their calls, and a runner to execute the VM
 * scripts with every endpoint pointed at the fakes.
 */
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  readonly authorization: string | undefined;
  readonly body: string;
}

export interface VmInstance {
  name: string;
  zone: string;
  machineType: string;
  cpuPlatform?: string;
  attributes: Record<string, string>;
}

export interface FakeCloud {
  readonly url: string;
  readonly requests: RecordedRequest[];
  instance: VmInstance;
  /** Status the token proxy and the deleter answer with (200 unless a test breaks them). */
  proxyStatus: number;
  deleterStatus: number;
  /** Bytes served at /downloads/<name>. */
  readonly downloads: Map<string, Buffer>;
  close(): Promise<void>;
}

/** The ID token the fake metadata server issues, so tests can check it reached the right audience. */
export const fakeIdToken = (audience: string, format: string) => `id-token.${format}.${audience}`;

export async function startFakeCloud(instance: VmInstance): Promise<FakeCloud> {
  const requests: RecordedRequest[] = [];
  const server = createServer((request, response) => {
    void readBody(request).then((body) => {
      const url = new URL(request.url ?? '/', 'http://fake');
      const recorded: RecordedRequest = {
        method: request.method ?? 'GET',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        authorization: request.headers.authorization,
        body,
      };
      requests.push(recorded);
      const [status, payload] = route(cloud, recorded, request.headers['metadata-flavor']);
      response.writeHead(status, { 'content-type': 'application/octet-stream' });
      response.end(payload);
    });
  });
  const cloud: FakeCloud = {
    url: '',
    requests,
    instance,
    proxyStatus: 200,
    deleterStatus: 200,
    downloads: new Map(),
    close: () => new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  Object.assign(cloud, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  return cloud;
}

function route(
  cloud: FakeCloud,
  request: RecordedRequest,
  flavor: string | string[] | undefined,
): [number, string | Buffer] {
  const { path, method } = request;
  if (path.startsWith('/computeMetadata/v1/')) {
    if (flavor !== 'Google') return [403, 'missing Metadata-Flavor: Google'];
    const key = path.slice('/computeMetadata/v1/'.length);
    const { instance } = cloud;
    const project = 'projects/123456';
    const values: Record<string, string | undefined> = {
      'instance/name': instance.name,
      'instance/zone': `${project}/zones/${instance.zone}`,
      'instance/machine-type': `${project}/machineTypes/${instance.machineType}`,
      'instance/cpu-platform': instance.cpuPlatform,
      'instance/service-accounts/default/identity': fakeIdToken(
        request.query.audience ?? '',
        request.query.format ?? 'standard',
      ),
    };
    const value = key.startsWith('instance/attributes/')
      ? instance.attributes[key.slice('instance/attributes/'.length)]
      : values[key];
    return value === undefined ? [404, 'not found'] : [200, value];
  }
  if (path === '/proxy/register' || path === '/proxy/remove') {
    if (method !== 'POST') return [405, 'method not allowed'];
    if (request.authorization !== `Bearer ${fakeIdToken(`${cloud.url}/proxy`, 'standard')}`) return [401, 'no'];
    if (cloud.proxyStatus !== 200) return [cloud.proxyStatus, 'proxy failure'];
    const scope = (JSON.parse(request.body) as { scope?: string }).scope;
    return [200, JSON.stringify({ token: `${path.slice('/proxy/'.length)}-token-for-${scope}` })];
  }
  if (path === '/deleter/') {
    if (method !== 'DELETE') return [400, 'bad method'];
    if (request.authorization !== `Bearer ${fakeIdToken(`${cloud.url}/deleter`, 'full')}`) return [401, 'no'];
    return [cloud.deleterStatus, cloud.deleterStatus === 200 ? 'marked for deletion' : 'deleter failure'];
  }
  const download = path.startsWith('/downloads/') ? cloud.downloads.get(path.slice('/downloads/'.length)) : undefined;
  return download === undefined ? [404, 'not found'] : [200, download];
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A scratch directory with fake system commands in `bin/` that log every call to `calls.log`. */
export interface Sandbox {
  readonly dir: string;
  readonly bin: string;
  readonly callsLog: string;
  calls(): Promise<string[]>;
  remove(): Promise<void>;
}

const FAKE_COMMANDS: Record<string, string> = {
  // Runs the command as the current user: drops -u USER and --preserve-env=... (the environment is kept).
  sudo: `while [[ "$1" == -* ]]; do [[ "$1" == -u ]] && shift; shift; done\nexec "$@"`,
  systemctl: 'exit 0',
  chown: 'exit 0',
  shutdown: 'exit 0',
};

export async function createSandbox(): Promise<Sandbox> {
  const dir = await mkdtemp(join(tmpdir(), 'runner-vm-'));
  const bin = join(dir, 'bin');
  const callsLog = join(dir, 'calls.log');
  await mkdir(bin);
  for (const [name, body] of Object.entries(FAKE_COMMANDS)) {
    const path = join(bin, name);
    await writeFile(path, `#!/usr/bin/env bash\necho "${name} $*" >>"${callsLog}"\n${body}\n`);
    await chmod(path, 0o755);
  }
  return {
    dir,
    bin,
    callsLog,
    calls: async () => (await readFile(callsLog, 'utf8').catch(() => '')).split('\n').filter((line) => line !== ''),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface ScriptResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a script with bash, the fake commands first on PATH and `env` added to the environment. */
export function runScript(script: string, sandbox: Sandbox, env: Record<string, string>): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script], {
      env: {
        ...process.env,
        PATH: `${sandbox.bin}:${process.env.PATH ?? ''}`,
        TMPDIR: sandbox.dir,
        HTTP_RETRIES: '0',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
