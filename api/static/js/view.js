// The document viewer: a document as one version holds it, with the cited chunk highlighted.
import { api, el } from "./api.js";

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

if (!index || !version || !docId) {
  $("doc-meta").textContent = "This link names no document.";
} else {
  api(`/v1/indexes/${encodeURIComponent(index)}/versions/${encodeURIComponent(version)}/documents/${docId.split("/").map(encodeURIComponent).join("/")}`)
    .then(render)
    .catch((error) => {
      $("doc-meta").textContent = `The document cannot be shown: ${error.message}`;
    });
}
