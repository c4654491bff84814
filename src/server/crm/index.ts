/**
 * CRM connectors (the `CrmConnector` port in `./connector.ts`). The entry points (`main.ts`,
 * `pipeline/worker-main.ts`) build the registry with {@link crmRegistryFromConfig} and pass it to
 * the pipeline. Signing lives in `../webhooks/signing.ts` (intake uses it too).
 */
import { ConfigError } from "../config";
import type { CrmConnector } from "./connector";
import { GenericJsonConnector } from "./generic-json";

export { GenericJsonConnector, CrmDeliveryError, deliveryIdFor, type GenericJsonConnectorOptions } from "./generic-json";

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
 * The registry the configuration asks for: the generic JSON connector at `crmUrl`
 * (CALLSCRIBE_CRM_URL), signed with `webhookSecret`; undefined when no CRM URL is set.
 * @throws ConfigError (CALLSCRIBE_WEBHOOK_SECRET) when a CRM URL is set without a secret
 */
export function crmRegistryFromConfig(config: { crmUrl?: string; webhookSecret?: string }): CrmRegistry | undefined {
  if (!config.crmUrl) return undefined;
  if (!config.webhookSecret) {
    throw new ConfigError("CALLSCRIBE_WEBHOOK_SECRET", "Missing environment variable CALLSCRIBE_WEBHOOK_SECRET: CRM deliveries (CALLSCRIBE_CRM_URL) are signed with it.");
  }
  return createCrmRegistry({ url: config.crmUrl, secret: config.webhookSecret });
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
