/**
 * CRM connectors (the `CrmConnector` port in `../pipeline/stages/types.ts`) and the webhook
 * signing they share with intake.
 */
import type { CrmConnector } from "../pipeline/stages/types";
import { GenericJsonConnector } from "./generic-json";

export { GenericJsonConnector, CrmDeliveryError, deliveryIdFor, type GenericJsonConnectorOptions } from "./generic-json";
export { signWebhook, verifyWebhook, generateWebhookSecret, WebhookSignatureError, TOLERANCE_SECONDS, type WebhookHeaders, type WebhookRejection, type HeaderBag } from "./signing";

/** Connectors by name, and the one used when a webhook names none. */
export interface CrmRegistry {
  connectors: Map<string, CrmConnector>;
  defaultName: string;
}

/**
 * The registry for the configured generic connector (`CALLSCRIBE_CRM_URL`), signed with `secret`.
 * @throws Error when the URL is not http(s)
 */
export function createCrmRegistry(options: { url: string; secret: string; timeoutMs?: number }): CrmRegistry {
  const generic = new GenericJsonConnector(options);
  return { connectors: new Map([[generic.name, generic]]), defaultName: generic.name };
}

/**
 * The connector for a call: the one named by the webhook's `crm`, else the default.
 * @throws Error naming the unknown connector and the known ones
 */
export function selectConnector(registry: CrmRegistry, requested?: string): CrmConnector {
  const name = requested ?? registry.defaultName;
  const connector = registry.connectors.get(name);
  if (!connector) throw new Error(`unknown CRM connector "${name}" (known: ${[...registry.connectors.keys()].join(", ")})`);
  return connector;
}
