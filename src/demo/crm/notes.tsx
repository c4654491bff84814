/** Entry of the Notes CRM page (`/demo/crm/notes.html`, App Directory record `notes-crm`). */
import { mountCrm } from "./mountCrm";
import { NOTES_CRM } from "./crmConfig";

mountCrm(NOTES_CRM);
