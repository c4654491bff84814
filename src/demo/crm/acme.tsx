/** Entry of the Acme CRM page (`/demo/crm/acme.html`, App Directory record `acme-crm`). */
import { mountCrm } from "./mountCrm";
import { ACME_CRM } from "./crmConfig";

mountCrm(ACME_CRM);
