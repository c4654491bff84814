/**
 * Word lists behind the on-premise topic and action-item rules (see `../analyze.ts` for how they
 * are scored). Keywords are matched on lemmas (so `charged` matches `charge`); a keyword with a
 * space is a phrase matched on consecutive lemmas and counts double.
 */

/** The default taxonomy (issue 4). */
export const DEFAULT_TAXONOMY = ["Sales Inquiry", "Support Request", "Complaint", "Billing"] as const;

/** Keywords for the default labels; a custom label without keywords uses the words of its own name. */
export const DEFAULT_TOPIC_KEYWORDS: Record<string, string[]> = {
  "sales inquiry": [
    "price", "pricing", "quote", "buy", "purchase", "demo", "plan", "upgrade", "discount", "offer", "interested",
    "product", "subscription", "trial", "license", "package", "cost", "order", "sign up", "how much", "sales", "deal", "contract",
  ],
  "support request": [
    "help", "issue", "problem", "error", "fix", "install", "setup", "set up", "reset", "password", "login", "log in",
    "crash", "troubleshoot", "support", "ticket", "broken", "configure", "access", "not work", "connect", "device", "bug",
  ],
  complaint: [
    "unhappy", "disappointed", "frustrated", "angry", "terrible", "awful", "complaint", "complain", "unacceptable",
    "bad", "poor", "rude", "manager", "escalate", "not happy", "waste", "ridiculous", "worst", "upset", "wait",
  ],
  billing: [
    "bill", "billing", "invoice", "charge", "payment", "pay", "refund", "credit card", "card", "balance", "overcharge",
    "fee", "receipt", "statement", "due", "transaction", "account", "debit", "direct debit",
  ],
};

/**
 * Words that date an imperative into an action item ("send the contract by friday"). Lemmas.
 */
export const TIME_WORDS = new Set([
  "today", "tomorrow", "tonight", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
  "week", "month", "morning", "afternoon", "evening", "asap", "eod", "deadline", "later", "soon", "hour", "minute",
]);

/** First-person commitments: subject, then a modal (lemmas, after wink expands `'ll` to `will`). */
export const COMMITMENT_SUBJECTS = new Set(["i", "we"]);
/** Modal phrases (lemma sequences) that follow a {@link COMMITMENT_SUBJECTS} subject in a commitment. */
export const COMMITMENT_MODALS = [["will"], ["shall"], ["be", "go", "to"], ["need", "to"], ["have", "to"]] as const;

/** Adverbs allowed between the modal and the verb ("we will also send"). */
export const FILLER_ADVERBS = new Set(["also", "just", "then", "definitely", "certainly", "now", "quickly", "first", "still", "right", "really", "personally"]);

/** Verbs that open courtesies, not tasks ("thank you for calling today"): never an imperative action item. */
export const COURTESY_VERBS = new Set(["thank", "excuse", "pardon", "welcome", "hold", "bear", "sorry", "bye", "hello", "hi"]);
