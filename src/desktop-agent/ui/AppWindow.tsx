/**
 * One app instance: a title bar (state, user channel, close) over the app's iframe. The iframe
 * is same-origin with the host, may use the microphone and capture a tab (`allow="microphone; display-capture"`), and is named
 * after the instance so the app's FDC3 sessionStorage entry survives reloads of the frame.
 */
import type { AppInstance, DesktopAgentHost } from "../DesktopAgentHost";
import { ChannelSelect } from "./ChannelSelect";

/** One app instance's window; its controls act on `host`. */
export function AppWindow({ instance, host }: { instance: AppInstance; host: DesktopAgentHost }) {
  return (
    <section className={`app-window app-${instance.state}`} data-testid="app-window" data-app-id={instance.appId} data-instance-id={instance.instanceId}>
      <header>
        <span className="app-title">{instance.title}</span>
        <time className="app-opened" dateTime={instance.openedAt} title="opened at">
          {new Date(instance.openedAt).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false })}
        </time>
        <span className="app-state" data-testid="app-state" title={instance.error}>
          {instance.state}
        </span>
        <ChannelSelect
          testId="app-channel"
          label={`${instance.title} user channel`}
          value={instance.channelId}
          onChange={(id) => host.setInstanceChannel(instance.instanceId, id)}
        />
        <button className="close" aria-label={`Close ${instance.title}`} onClick={() => host.close(instance.instanceId)}>
          ×
        </button>
      </header>
      {instance.error && (
        <p className="app-error" role="alert">
          {instance.error}
        </p>
      )}
      <iframe
        ref={(el) => host.attachWindow(instance.instanceId, el?.contentWindow ?? null)}
        src={instance.url}
        name={`fdc3-instance-${instance.instanceId}`}
        title={instance.title}
        allow="microphone; display-capture"
        data-app-id={instance.appId}
        data-instance-id={instance.instanceId}
      />
    </section>
  );
}
