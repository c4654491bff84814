/**
 * The host's intent resolver: which app (or running window) should handle an intent.
 * Cancel answers the raiser with `UserCancelledResolution` (see `DesktopAgentHost.narrowIntents`).
 */
import type { ResolverRequest } from "../DesktopAgentHost";

/** Lists `request.options`; `onChoose` gets the chosen option's key, or `null` on Cancel / Escape. */
export function IntentResolverDialog({ request, onChoose }: { request: ResolverRequest; onChoose: (optionKey: string | null) => void }) {
  const intents = [...new Set(request.options.map((o) => o.intent.displayName ?? o.intent.name))];
  return (
    <div className="resolver-backdrop">
      <div
        role="dialog"
        aria-modal="true"
        aria-labelledby="resolver-title"
        className="resolver"
        data-testid="intent-resolver"
        onKeyDown={(e) => {
          if (e.key === "Escape") onChoose(null);
        }}
      >
        <h2 id="resolver-title">Choose an app</h2>
        <p title={`context: ${request.contextType}`}>
          {request.raiser.title} wants to <strong>{intents.join(" / ")}</strong>. Which app should do it?
        </p>
        <ul>
          {request.options.map((o) => (
            <li key={o.key}>
              <button autoFocus={o === request.options[0]} data-testid="resolver-option" data-app-id={o.appId} data-intent={o.intent.name} data-instance-id={o.instanceId ?? ""} onClick={() => onChoose(o.key)}>
                {intents.length > 1 ? `${o.intent.displayName ?? o.intent.name}: ` : ""}
                {o.label}
              </button>
            </li>
          ))}
        </ul>
        <button data-testid="resolver-cancel" className="cancel" onClick={() => onChoose(null)}>
          Cancel
        </button>
      </div>
    </div>
  );
}
