/**
 * The Temporal CLI dev server as a child process on a fixed port, in memory or on a SQLite file, so that
 * clients and workers reconnect after a restart and a restart on the same file continues the same history.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { ROLLOUT_SEARCH_ATTRIBUTE_FLAGS } from '../workflows/rollout-contract.js';
import { StackError } from './errors.js';
import { registerMissingSearchAttributes } from './search-attributes.js';
import { freePort, UI_PORT_OFFSET } from './ports.js';

export interface DevServerOptions {
  /** The Temporal CLI binary. */
  readonly binary: string;
  /** Frontend port; a free one when 0 or omitted. */
  readonly port?: number;
  /** Serve the Web UI on port + 1000; headless otherwise. */
  readonly ui?: boolean;
  /** SQLite file: the history survives a restart. In memory when omitted. */
  readonly dbFilename?: string;
  /**
   * Workflow task timeout for workflows that set none (child workflows included), e.g. `3s`: how soon a task
   * held by a killed worker goes to another one. The server default is 10s.
   */
  readonly workflowTaskTimeout?: string;
  readonly logLevel?: 'warn' | 'error';
}

/** The server gets this long to come up; a first start also creates the SQLite schema. */
const SERVER_START_TIMEOUT_MS = 60_000;
/** SIGTERM lets the server close SQLite cleanly; after this long it is killed. */
const SERVER_STOP_TIMEOUT_MS = 10_000;
const NAMESPACE = 'default';

export class DevServer {
  private child: ChildProcess | undefined;
  /** The last lines the server printed, to explain a failed start. */
  private readonly log: string[] = [];
  private connectionToServer: Connection | undefined;
  private clientOfServer: Client | undefined;
  readonly address: string;
  readonly uiUrl: string | undefined;

  private constructor(
    readonly port: number,
    private readonly options: DevServerOptions,
  ) {
    this.address = `127.0.0.1:${port}`;
    this.uiUrl = options.ui === true ? `http://127.0.0.1:${port + UI_PORT_OFFSET}` : undefined;
  }

  static async start(options: DevServerOptions): Promise<DevServer> {
    const port = options.port === undefined || options.port === 0 ? await freePort() : options.port;
    const server = new DevServer(port, options);
    try {
      await server.spawn();
      server.connectionToServer = await Connection.connect({ address: server.address });
      server.clientOfServer = new Client({ connection: server.connectionToServer, namespace: NAMESPACE });
      // `--search-attribute` flags only apply when the namespace is created: a database from an earlier version
      // of the engine lacks keys added since, so those are registered explicitly.
      await registerMissingSearchAttributes({
        binary: options.binary,
        connection: server.connectionToServer,
        address: server.address,
        namespace: NAMESPACE,
      });
      return server;
    } catch (error) {
      await server.close();
      throw error;
    }
  }

  /** One connection for the server's life; it reconnects across restarts. */
  get connection(): Connection {
    if (this.connectionToServer === undefined) throw new Error('the dev server has not started');
    return this.connectionToServer;
  }

  get client(): Client {
    if (this.clientOfServer === undefined) throw new Error('the dev server has not started');
    return this.clientOfServer;
  }

  /** Stops the server (SIGTERM, then SIGKILL after a grace time); `start()` brings it back on the same file. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), SERVER_STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }

  async start(): Promise<void> {
    if (this.child !== undefined) throw new Error('the dev server is already running');
    await this.spawn();
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async close(): Promise<void> {
    await this.stop();
    await this.connectionToServer?.close();
  }

  private async spawn(): Promise<void> {
    const args = [
      'server',
      'start-dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(this.port),
      ...(this.options.ui === true ? ['--ui-port', String(this.port + UI_PORT_OFFSET)] : ['--headless']),
      '--namespace',
      NAMESPACE,
      '--log-level',
      this.options.logLevel ?? 'warn',
      // The machine may have no outside network: no phoning home for version checks.
      '--dynamic-config-value',
      'frontend.enableServerVersionCheck=false',
      ...ROLLOUT_SEARCH_ATTRIBUTE_FLAGS,
      ...(this.options.dbFilename === undefined ? [] : ['--db-filename', this.options.dbFilename]),
      ...(this.options.workflowTaskTimeout === undefined
        ? []
        : ['--dynamic-config-value', `history.defaultWorkflowTaskTimeout="${this.options.workflowTaskTimeout}"`]),
    ];
    const child = spawn(this.options.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    // A process that exits without stopping the server must not leave it behind.
    const killOnExit = (): boolean => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    child.once('exit', () => process.off('exit', killOnExit));
    const keep = (chunk: Buffer): void => {
      this.log.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      this.log.splice(0, Math.max(0, this.log.length - 20));
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.child = child;
    const exited = once(child, 'exit');
    exited.catch(() => undefined);
    const deadline = Date.now() + SERVER_START_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) break;
      try {
        const connection = await Connection.connect({ address: this.address, connectTimeout: '1 second' });
        try {
          // The frontend answers before the namespace is loaded from a restarted database.
          await connection.workflowService.describeNamespace({ namespace: NAMESPACE });
          return;
        } finally {
          await connection.close();
        }
      } catch {
        if (Date.now() > deadline) break;
        await Promise.race([sleep(200), exited]);
      }
    }
    throw new StackError(`the Temporal dev server did not start on ${this.address}: ${this.log.at(-1) ?? 'no output'}`);
  }
}
