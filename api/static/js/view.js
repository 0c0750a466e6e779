// The document viewer: a document as one version holds it, with the cited chunk highlighted.
import { api, apiPath, el } from "./api.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const index = params.get("index");
const version = params.get("version");
const docId = params.get("doc");
const chunkId = params.get("chunk");

function render(doc) {
  $("doc-title").textContent = doc.title;
  document.title = `${doc.title} · Policy assistant`;
  $("doc-meta").textContent = `${doc.source} · ${doc.format} · ${doc.index} version ${doc.version}`;
  const cited = doc.chunks.find((c) => c.chunk_id === chunkId);
  const box = $("doc-text");
  box.replaceChildren();
  doc.segments.forEach((seg, i) => {
    if (i > 0) box.append(el("span", { class: "gap", "aria-hidden": "true" }, "⋯"));
    if (!cited || cited.end <= seg.start || cited.start >= seg.end) {
      box.append(seg.text);
      return;
    }
    const a = Math.max(cited.start, seg.start) - seg.start;
    const b = Math.min(cited.end, seg.end) - seg.start;
    const where = [...cited.heading_path, cited.page ? `page ${cited.page}` : ""].filter(Boolean).join(" › ");
    box.append(
      seg.text.slice(0, a),
      el("mark", { id: "cited", tabindex: "-1", "aria-label": `Cited passage: ${where}` }, seg.text.slice(a, b)),
      seg.text.slice(b),
    );
  });
  const mark = $("cited");
  if (mark) {
    mark.scrollIntoView({ block: "center" });
    mark.focus({ preventScroll: true });
  }
}

// The link's values never become path segments of their own: index and version must look like
// an index name and a version number, and the doc id travels as a query parameter (a doc id such as
// "../../keys" must not turn into a request to another route, sent with the stored key).
const INDEX_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const VERSION = /^[1-9][0-9]{0,9}$/;

if (!index || !version || !docId) {
  $("doc-meta").textContent = "This link names no document.";
} else if (!INDEX_NAME.test(index) || !VERSION.test(version)) {
  $("doc-meta").textContent = "This link names no valid index and version.";
} else {
  const query = new URLSearchParams({ doc_id: docId });
  Promise.resolve()
    .then(() => api(`${apiPath("v1", "indexes", index, "versions", version, "document")}?${query}`))
    .then(render)
    .catch((error) => {
      $("doc-meta").textContent = `The document cannot be shown: ${error.message}`;
    });
}
