/**
 * Demo CRM app (Acme CRM and Notes CRM are this component with another {@link CrmConfig}).
 * It handles `SaveTranscript`: a valid `fdc3.transcript` is stored in IndexedDB and listed;
 * an invalid one is refused with a visible error and a `Failed` `fdc3.transactionResult`.
 */
import { useCallback, useEffect, useState } from "react";
import type { Context, IntentHandler } from "@finos/fdc3";
import { IntentName } from "../../contracts";
import { useIntentListener } from "../shared/useIntentListener";
import { errorText, useFdc3 } from "../shared/useFdc3";
import type { CrmConfig } from "./crmConfig";
import { IndexedDbRecordStore } from "./recordStore";
import { saveTranscript, type CrmRecord } from "./saveTranscript";
import { recordContact, VIEW_INTERACTIONS } from "./viewInteractions";

interface Refusal {
  at: string;
  from: string;
  error: string;
}

/** The demo CRM app: its records, and the SaveTranscript intent listener that stores transcripts. */
export function Crm({ config }: { config: CrmConfig }) {
  const conn = useFdc3();
  const [store, setStore] = useState<IndexedDbRecordStore | null>(null);
  const [storeError, setStoreError] = useState<string | null>(null);
  const [records, setRecords] = useState<CrmRecord[]>([]);
  const [refusals, setRefusals] = useState<Refusal[]>([]);
  const [viewCalls, setViewCalls] = useState<{ recordId: string; text: string; ok: boolean } | null>(null);

  // "View calls": ViewInteractions with the record's contact; the desktop opens the app that shows them.
  const raiseViewCalls = async (r: CrmRecord) => {
    const contact = recordContact(r.transcript);
    if (conn.status !== "connected" || !contact) return;
    try {
      const resolution = await conn.agent.raiseIntent(VIEW_INTERACTIONS, contact as unknown as Context);
      const result = (await resolution.getResult()) as { type?: string; status?: string; message?: string } | undefined;
      const failed = result?.type === "fdc3.transactionResult" && result.status === "Failed";
      setViewCalls({ recordId: r.recordId, ok: !failed, text: failed ? (result.message ?? "refused") : `Showing calls in ${resolution.source.appId}` });
    } catch (e) {
      setViewCalls({ recordId: r.recordId, ok: false, text: `${VIEW_INTERACTIONS}: ${errorText(e)}` });
    }
  };

  useEffect(() => {
    document.title = config.name;
    IndexedDbRecordStore.open(config.appId, config.recordPrefix)
      .then(async (s) => {
        setStore(s);
        setRecords(await s.list());
      })
      .catch((e: unknown) => setStoreError(`cannot open the record database: ${errorText(e)}`));
  }, [config]);

  const handler = useCallback<IntentHandler>(
    async (context, metadata) => {
      const from = metadata?.source?.appId ?? "unknown app";
      const outcome = store
        ? await saveTranscript(context, store, config.name)
        : await saveTranscript(context, { upsert: () => Promise.reject(new Error(storeError ?? "database not open yet")) }, config.name);
      if (outcome.ok) {
        setRecords(await store!.list());
      } else {
        setRefusals((r) => [{ at: new Date().toISOString(), from, error: outcome.error }, ...r].slice(0, 10));
      }
      return outcome.result as unknown as Context;
    },
    [store, storeError, config.name],
  );

  // Registered once connected and the database is open (or failed), so no intent arrives first;
  // once, whatever the handler's state (see useIntentListener).
  const intentListener = useIntentListener(conn, IntentName.SaveTranscript, Boolean(store || storeError), handler);
  const listening = intentListener.listening;

  return (
    <div className="app">
      <h1 style={{ color: config.accent }}>{config.name}</h1>
      <div className={`status ${conn.status}`} data-testid="fdc3-status">
        {conn.status === "failed" ? conn.error : conn.status}
        {listening ? ` · handling ${IntentName.SaveTranscript}` : ""}
      </div>
      {(storeError ?? intentListener.error) && (
        <div className="error" role="alert">
          {storeError ?? intentListener.error}
        </div>
      )}
      {refusals.length > 0 && (
        <div className="error" role="alert" data-testid="crm-error">
          {refusals.map((r) => (
            <div key={r.at + r.error}>
              Refused a transcript from {r.from}: {r.error}
            </div>
          ))}
        </div>
      )}
      <h2 style={{ fontSize: "0.95rem", margin: 0 }}>Transcripts ({records.length})</h2>
      {records.length === 0 && <p className="muted">No transcripts yet. Save one from the transcriber.</p>}
      {records.map((r) => (
        <article key={r.recordId} className="card" data-testid="crm-record" data-record-id={r.recordId} data-transcript-id={r.transcript.id.transcriptId}>
          <div className="row">
            <strong>{r.recordId}</strong>
            <span className="muted">{new Date(r.savedAt).toLocaleString()}</span>
            <span className="pill">{r.transcript.source}</span>
            {r.transcript.id.callId && <span className="muted">call {r.transcript.id.callId}</span>}
          </div>
          {r.transcript.participants && (
            <div className="muted">With {r.transcript.participants.contacts.map((c) => c.name ?? c.id.email ?? "?").join(", ")}</div>
          )}
          {recordContact(r.transcript) && (
            <div className="row">
              <button type="button" data-testid="view-calls" disabled={conn.status !== "connected"} onClick={() => void raiseViewCalls(r)}>
                View calls
              </button>
              {viewCalls?.recordId === r.recordId && (
                <span className={viewCalls.ok ? "muted" : "error"} data-testid="view-calls-result">
                  {viewCalls.text}
                </span>
              )}
            </div>
          )}
          <p data-testid="crm-record-text">{r.transcript.text}</p>
          <div className="muted">
            {r.transcript.segments?.length ?? 0} segments
            {r.transcript.duration !== undefined ? ` · ${r.transcript.duration.toFixed(1)} s` : ""}
            {r.transcript.provider ? ` · ${r.transcript.provider.name}${r.transcript.provider.model ? ` ${r.transcript.provider.model}` : ""}` : ""}
          </div>
          <details>
            <summary className="muted">fdc3.transcript</summary>
            <pre data-testid="crm-record-json" style={{ whiteSpace: "pre-wrap", fontSize: "0.75rem" }}>
              {JSON.stringify(r.transcript, null, 2)}
            </pre>
          </details>
        </article>
      ))}
    </div>
  );
}
