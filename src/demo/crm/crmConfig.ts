/** Which CRM a page is: the two demo CRMs share one app, built twice (acme.html, notes.html). */
export interface CrmConfig {
  /** App Directory appId; must match the record whose `details.url` is this page. */
  appId: string;
  /** Display name, e.g. "Notes CRM". */
  name: string;
  /** Prefix of record ids, e.g. `NOTE` gives `NOTE-000001`. */
  recordPrefix: string;
  /** Header colour. */
  accent: string;
}

/** The Acme CRM page (acme.html). */
export const ACME_CRM: CrmConfig = { appId: "acme-crm", name: "Acme CRM", recordPrefix: "ACME", accent: "#6a1b9a" };
/** The Notes CRM page (notes.html). */
export const NOTES_CRM: CrmConfig = { appId: "notes-crm", name: "Notes CRM", recordPrefix: "NOTE", accent: "#00695c" };
