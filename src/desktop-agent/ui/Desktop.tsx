/**
 * The desktop agent's page: launcher, desktop channel selector, app windows (iframes), the
 * intent resolver and an activity log. All state lives in {@link DesktopAgentHost}.
 */
import { useSyncExternalStore } from "react";
import type { DesktopAgentHost } from "../DesktopAgentHost";
import { AppWindow } from "./AppWindow";
import { ChannelSelect } from "./ChannelSelect";
import { IntentResolverDialog } from "./IntentResolverDialog";

/** The desktop page, rendered from `host`'s snapshot. */
export function Desktop({ host }: { host: DesktopAgentHost }) {
  const snap = useSyncExternalStore(host.subscribe, host.getSnapshot);
  return (
    <div className="desktop">
      <header className="desktop-bar">
        <h1>Callscribe desktop</h1>
        <nav className="launcher" aria-label="Launcher">
          {host.apps().map((app) => (
            <button key={app.appId} data-testid={`launch-${app.appId}`} title={app.description} onClick={() => void host.launch(app.appId)}>
              {app.title}
            </button>
          ))}
        </nav>
        <label className="desktop-channel">
          Desktop channel{" "}
          <ChannelSelect testId="desktop-channel" value={snap.desktopChannelId} onChange={(id) => host.setDesktopChannel(id)} />
        </label>
      </header>
      <main className="windows">
        {snap.instances.length === 0 && <p className="hint">Open an app from the launcher.</p>}
        {snap.instances.map((inst) => (
          <AppWindow key={inst.instanceId} instance={inst} host={host} />
        ))}
      </main>
      <details className="activity" data-testid="activity">
        <summary>Activity ({snap.activity.length})</summary>
        <ol>
          {snap.activity.map((a, i) => (
            <li key={i}>
              <time>{a.at.slice(11, 19)}</time> {a.text}
            </li>
          ))}
        </ol>
      </details>
      {snap.resolver && <IntentResolverDialog request={snap.resolver} onChoose={(key) => host.resolve(snap.resolver!.id, key)} />}
    </div>
  );
}
