import type { CreateTemplateInput, SubmitJobsInput } from './control-schemas.js';
import type { SimulatorControl } from './control.js';
import { ControlApiError } from './errors.js';
import type { PublishReleaseInput } from './releases.js';
import type { Route } from './routing.js';

/** The `/_sim/` routes: a thin JSON wrapper over SimulatorControl. */
export function controlRoutes(control: SimulatorControl): Route[] {
  const route = (method: string, path: string, handle: Route['handle']): Route => ({
    api: 'control',
    method,
    path: `/_sim${path}`,
    endpoint: `sim${path.replace(/\/:?/g, '.')}.${method.toLowerCase()}`,
    handle,
  });
  const ok = (body: unknown, status = 200): ReturnType<Route['handle']> => ({ status, body });
  return [
    route('GET', '/state', () => ok(control.state())),
    route('GET', '/migs/:name', (request) => ok(control.mig(request.params['name'] ?? ''))),
    route('GET', '/clock', () => ok(control.clock())),
    route('POST', '/clock/advance', (request) => ok(control.advance(field(request.body, 'seconds')))),
    route('POST', '/clock/speed', (request) => ok(control.setSpeed(field(request.body, 'speed')))),
    route('GET', '/behaviours', () => ok(control.behaviours())),
    route('PATCH', '/behaviours', (request) => ok(control.patchBehaviours(request.body ?? {}))),
    route('PUT', '/behaviours', (request) => ok(control.setProfile(request.body as { profile: string }))),
    route('GET', '/faults', () => ok(control.faults())),
    route('PUT', '/faults', (request) => ok(control.setFaults(request.body ?? {}))),
    route('PATCH', '/faults', (request) => ok(control.patchFaults(request.body ?? {}))),
    route('DELETE', '/faults', () => ok(control.clearFaults())),
    route('GET', '/counters', () => ok({ counters: control.counters() })),
    route('GET', '/github-traffic', () => ok(control.githubTraffic())),
    route('DELETE', '/counters', () => {
      control.resetCounters();
      return ok({ counters: control.counters() });
    }),
    route('GET', '/mutations', (request) => {
      const since = request.query.get('since');
      const endpoint = request.query.get('endpoint');
      if (since !== null && !/^\d+$/.test(since))
        throw new ControlApiError(400, `since must be a sequence number, got "${since}"`);
      return ok({
        mutations: control.mutations({
          ...(since === null ? {} : { since: Number(since) }),
          ...(endpoint === null ? {} : { endpoint }),
        }),
      });
    }),
    route('GET', '/releases', () => ok({ releases: control.releases() })),
    route('POST', '/releases', (request) => ok(control.publishRelease(request.body as PublishReleaseInput), 201)),
    route('POST', '/templates', (request) => ok(control.createTemplate(request.body as CreateTemplateInput), 201)),
    route('GET', '/jobs', () => ok(control.jobs())),
    route('PUT', '/jobs/rates', (request) => ok({ rates: control.setJobRates(field(request.body, 'rates')) })),
    route('POST', '/jobs', (request) => ok({ jobs: control.submitJobs(request.body as SubmitJobsInput) }, 201)),
  ];
}

/** Reads one field of a JSON object body; the control methods validate its value. */
function field<T>(body: unknown, name: string): T {
  if (body === null || typeof body !== 'object' || !(name in body)) {
    throw new ControlApiError(400, `request body must be a JSON object with "${name}"`);
  }
  return (body as Record<string, T>)[name] as T;
}
