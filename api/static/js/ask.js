// The ask page: a question, the answer streaming in, numbered citations, feedback.
import { ApiError, api, canPromote, el, keyField, sessionControls, stream, where, whoAmI } from "./api.js";

const $ = (id) => document.getElementById(id);
const form = $("ask-form");
const question = $("question");
const answerBox = $("answer");
let current = null; // the answer record being shown
let rating = null;
let running = null; // AbortController of the answer being streamed

async function showWho() {
  try {
    const me = await whoAmI();
    $("who").textContent = me.authEnabled ? `— ${me.name} (${me.role})` : "— authentication is off";
    $("admin-link").hidden = !(canPromote(me) || me.role === "owner");
    await sessionControls($("session"), me);
  } catch (error) {
    $("who").textContent = `— ${error.message}`;
    await sessionControls($("session"), null);
    if (error.status === 401 || error.status === 403) $("key-box").open = true; // a key is needed
  }
}

function docLink(record, c) {
  const params = new URLSearchParams({
    index: record.index.name,
    version: String(record.index.version),
    doc: c.doc_id,
    chunk: c.chunk_id,
  });
  return `/view?${params}`;
}

function openCitation(n) {
  const c = current && current.citations.find((x) => x.n === n);
  if (!c) return;
  $("citation-title").textContent = `[${c.n}] ${c.title}`;
  $("citation-where").textContent = `${where(c)} · ${c.source}${c.page ? ` · page ${c.page}` : ""}`;
  $("citation-quote").textContent = c.quote;
  $("citation-link").href = docLink(current, c);
  $("citation-dialog").showModal();
}

/** Answer text with each [n] marker as a button that opens citation n. */
function renderAnswer(text, linkable) {
  answerBox.replaceChildren();
  const parts = text.split(/(\[\d+(?:,\s*\d+)*\])/);
  for (const part of parts) {
    const m = part.match(/^\[(\d+(?:,\s*\d+)*)\]$/);
    if (!m || !linkable) {
      answerBox.append(part);
      continue;
    }
    for (const n of m[1].split(/,\s*/).map(Number)) {
      answerBox.append(
        el("button", { type: "button", class: "marker", "aria-label": `Source ${n}`, onclick: () => openCitation(n) }, `[${n}]`),
      );
    }
  }
}

function renderCitations(record) {
  const list = $("citations");
  list.replaceChildren(
    ...record.citations.map((c) =>
      el(
        "li",
        { value: c.n, id: `citation-${c.n}` },
        el("button", { type: "button", class: "link", onclick: () => openCitation(c.n) }, c.title),
        el("span", { class: "muted" }, ` — ${where(c)}${c.page ? `, page ${c.page}` : ""}`),
      ),
    ),
  );
  $("sources-heading").hidden = record.citations.length === 0;
}

function renderRecord(record) {
  current = record;
  renderAnswer(record.answer, true);
  renderCitations(record);
  $("not-covered").hidden = !record.refused;
  answerBox.classList.toggle("refused", record.refused);
  const via = record.index.alias === null ? "pinned" : record.index.alias.endsWith(":canary") ? "canary" : "live";
  $("answered-by").textContent =
    `Answered by ${record.index.name} version ${record.index.version} (${via}) · ` +
    `${record.model.provider}:${record.model.name} · prompt ${record.prompt.name}/${record.prompt.version}`;
  $("answered-by").dataset.version = String(record.index.version);
  resetFeedback();
  $("feedback").hidden = false;
}

function resetFeedback() {
  rating = null;
  for (const b of document.querySelectorAll(".thumb")) b.setAttribute("aria-pressed", "false");
  $("comment").value = "";
  $("send-feedback").disabled = true;
  $("feedback-status").textContent = "";
}

async function ask() {
  const text = question.value.trim();
  if (!text) {
    question.focus();
    return;
  }
  if (running) running.abort();
  running = new AbortController();
  current = null;
  $("result").hidden = false;
  $("feedback").hidden = true;
  $("not-covered").hidden = true;
  $("citations").replaceChildren();
  $("sources-heading").hidden = true;
  $("answered-by").textContent = "";
  answerBox.replaceChildren();
  answerBox.classList.remove("refused");
  answerBox.setAttribute("aria-busy", "true");
  $("status").textContent = "Looking in the policies…";
  $("ask-button").disabled = true;
  let streamed = "";
  let deltas = 0;
  const body = { question: text, stream: true };
  const index = $("index").value.trim();
  if (index) body.index = index;
  try {
    await stream(
      "/v1/ask",
      body,
      (name, data) => {
        if (name === "delta") {
          streamed += data.text;
          answerBox.dataset.deltas = String(++deltas); // how many pieces arrived (tests read it)
          renderAnswer(streamed, false);
          $("status").textContent = "Answering…";
        } else if (name === "answer") {
          renderRecord(data);
          $("status").textContent = "";
        } else if (name === "error") {
          $("status").textContent = `The answer failed: ${data.message}`;
        }
      },
      running.signal,
    );
  } catch (error) {
    if (error.name !== "AbortError") {
      const code = error instanceof ApiError ? ` (${error.code})` : "";
      $("status").textContent = `Could not answer: ${error.message}${code}`;
    }
  } finally {
    answerBox.setAttribute("aria-busy", "false");
    $("ask-button").disabled = false;
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  ask();
});
question.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    ask();
  }
});

for (const button of document.querySelectorAll(".thumb")) {
  button.addEventListener("click", () => {
    rating = button.dataset.rating;
    for (const b of document.querySelectorAll(".thumb")) b.setAttribute("aria-pressed", String(b === button));
    $("send-feedback").disabled = false;
  });
}

$("feedback").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!current || !rating) return;
  const comment = $("comment").value.trim();
  try {
    await api(`/v1/answers/${encodeURIComponent(current.answer_id)}/feedback`, {
      method: "POST",
      body: comment ? { rating, comment } : { rating },
    });
    $("feedback-status").textContent = "Thank you: your feedback was saved.";
    $("send-feedback").disabled = true;
  } catch (error) {
    $("feedback-status").textContent = `Feedback not saved: ${error.message}`;
  }
});

keyField($("key-form"), showWho);
showWho();
const asked = new URLSearchParams(location.search).get("q");
if (asked) {
  question.value = asked;
  ask();
}
