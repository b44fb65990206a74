import { api, call } from '../api';
import { Problem, useLoad, usePage } from '../ui';

export function LimitsScreen({ ws }: { ws: number }) {
  const page = usePage(`Limits of workspace ${ws}`);
  const limits = useLoad(async () => (await call(api.GET('/v1/workspaces/{ws}/limits', { params: { path: { ws } } }))).data, [ws]);
  const c = limits.data?.custom_properties;
  return (
    <main id="main">
      <h1 tabIndex={-1} ref={page.ref}>
        Limits of workspace {ws}
      </h1>
      <Problem failure={limits.failure} />
      {c ? (
        <div class="field">
          <label for="limit-meter">
            Custom properties: {c.used.toLocaleString()} used of {c.limit.toLocaleString()} allowed
          </label>
          <meter id="limit-meter" min={0} max={Math.max(c.limit, 1)} value={c.used} high={c.limit * 0.9} />
          <p class="hint">System properties do not count. The operator sets the limit of each workspace.</p>
        </div>
      ) : null}
    </main>
  );
}
