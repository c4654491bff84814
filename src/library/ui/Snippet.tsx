/**
 * A search hit's snippet, rendered without `dangerouslySetInnerHTML`. The server sends HTML-escaped
 * text with matches in `<mark>…</mark>` (`src/server/library/store.ts`, `snippets`); this parser
 * knows exactly those two tags and the five entities the server's escaping writes (`&amp;`,
 * `&lt;`, `&gt;`, `&quot;`, `&#39;`). Everything else, a `<script>` or `<img onerror>` included,
 * stays literal text, which React escapes again.
 */

/** One run of snippet text; `mark`: a match. */
export interface SnippetPart {
  text: string;
  mark: boolean;
}

const ENTITIES: Record<string, string> = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'" };
const decode = (s: string) => s.replace(/&(?:amp|lt|gt|quot|#39);/g, (e) => ENTITIES[e]!);

/**
 * Split a snippet into plain and marked runs. `<mark>` opens a match and `</mark>` closes it
 * (an unmatched one is dropped); adjacent runs of the same kind are merged; empty runs dropped.
 */
export function parseSnippet(snippet: string): SnippetPart[] {
  const parts: SnippetPart[] = [];
  let mark = false;
  const push = (raw: string) => {
    const text = decode(raw);
    if (!text) return;
    const last = parts[parts.length - 1];
    if (last && last.mark === mark) last.text += text;
    else parts.push({ text, mark });
  };
  for (const piece of snippet.split(/(<\/?mark>)/)) {
    if (piece === "<mark>") mark = true;
    else if (piece === "</mark>") mark = false;
    else push(piece);
  }
  return parts;
}

/** The snippet as text with `<mark>` elements for matches. */
export function Snippet({ html }: { html: string }) {
  return (
    <p className="lib-snippet" data-testid="hit-snippet">
      {parseSnippet(html).map((p, i) => (p.mark ? <mark key={i}>{p.text}</mark> : <span key={i}>{p.text}</span>))}
    </p>
  );
}
