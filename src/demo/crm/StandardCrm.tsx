/**
 * Demo "Standard CRM" (issue 10 §2): a CRM that knows only the FDC3 standard. It handles
 * `CreateInteraction` with an `fdc3.interaction`, stores it in IndexedDB, lists it, and answers
 * with an `fdc3.transactionResult`; it knows nothing of `SaveTranscript` or `fdc3.transcript`.
 */
import { StrictMode, useCallback, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import type { Context, IntentHandler } from "@finos/fdc3";
import { CREATE_INTERACTION, INTERACTION_ID_KEY } from "../../contracts";
import { useIntentListener } from "../shared/useIntentListener";
import { errorText, useFdc3 } from "../shared/useFdc3";
import { createInteraction, type InteractionRecord } from "./createInteraction";
import { IndexedDbInteractionStore } from "./interactionStore";

const APP_ID = "standard-crm";
const NAME = "Standard CRM";

/** The Standard CRM app: its interactions, and the CreateInteraction listener. */
export function StandardCrm() {
  const conn = useFdc3();
  const [store, setStore] = useState<IndexedDbInteractionStore | null>(null);
  const [storeError, setStoreError] = useState<string | null>(null);
  const [records, setRecords] = useState<InteractionRecord[]>([]);
  const [refusals, setRefusals] = useState<string[]>([]);

  useEffect(() => {
    document.title = NAME;
    IndexedDbInteractionStore.open(APP_ID)
      .then(async (s) => {
        setStore(s);
        setRecords(await s.list());
      })
      .catch((e: unknown) => setStoreError(`cannot open the database: ${errorText(e)}`));
  }, []);

  const handler = useCallback<IntentHandler>(
    async (context, metadata) => {
      const from = metadata?.source?.appId ?? "unknown app";
      const outcome = await createInteraction(context, store ?? { upsert: () => Promise.reject(new Error(storeError ?? "database not open yet")) }, NAME);
      if (outcome.ok) setRecords(await store!.list());
      else setRefusals((r) => [`Refused an interaction from ${from}: ${outcome.error}`, ...r].slice(0, 10));
      return outcome.result as unknown as Context;
    },
    [store, storeError],
  );

  // Registered once connected and the database is open (or failed), so no intent arrives first;
  // once, whatever the handler's state (see useIntentListener).
  const intentListener = useIntentListener(conn, CREATE_INTERACTION, Boolean(store || storeError), handler);
  const listening = intentListener.listening;

  return (
    <div className="app">
      <h1 style={{ color: "#1565c0" }}>{NAME}</h1>
      <div className={`status ${conn.status}`} data-testid="fdc3-status">
        {conn.status === "failed" ? conn.error : conn.status}
        {listening ? ` · handling ${CREATE_INTERACTION}` : ""}
      </div>
      {(storeError ?? intentListener.error) && (
        <div className="error" role="alert">
          {storeError ?? intentListener.error}
        </div>
      )}
      {refusals.length > 0 && (
        <div className="error" role="alert" data-testid="crm-error">
          {refusals.map((r, i) => (
            <div key={i}>{r}</div>
          ))}
        </div>
      )}
      <h2 style={{ fontSize: "0.95rem", margin: 0 }}>Interactions ({records.length})</h2>
      {records.length === 0 && <p className="muted">No interactions yet. Save one from the transcriber.</p>}
      {records.map((r) => (
        <article key={r.recordId} className="card" data-testid="crm-record" data-record-id={r.recordId} data-source-id={(r.interaction.id as Record<string, string>)[INTERACTION_ID_KEY] ?? ""}>
          <div className="row">
            <strong>{r.recordId}</strong>
            <span className="muted">{new Date(r.savedAt).toLocaleString()}</span>
            <span className="pill">{r.interaction.interactionType}</span>
            {r.interaction.origin && <span className="muted">from {r.interaction.origin}</span>}
          </div>
          <div className="muted" data-testid="crm-record-when">
            {r.interaction.timeRange.startTime}
            {r.interaction.timeRange.endTime ? ` – ${r.interaction.timeRange.endTime}` : ""}
          </div>
          {r.interaction.participants.contacts.length > 0 && (
            <div className="muted" data-testid="crm-record-participants">
              With {r.interaction.participants.contacts.map((c) => c.name ?? c.id.email ?? "?").join(", ")}
            </div>
          )}
          <p data-testid="crm-record-text" style={{ whiteSpace: "pre-wrap" }}>
            {r.interaction.description}
          </p>
          <details>
            <summary className="muted">fdc3.interaction</summary>
            <pre data-testid="crm-record-json" style={{ whiteSpace: "pre-wrap", fontSize: "0.75rem" }}>
              {JSON.stringify(r.interaction, null, 2)}
            </pre>
          </details>
        </article>
      ))}
    </div>
  );
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <StandardCrm />
  </StrictMode>,
);
