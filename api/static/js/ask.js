// The ask page: a question, the answer streaming in, numbered citations, feedback.
import { ApiError, api, canPromote, el, keyField, sessionControls, stream, where, whoAmI } from "./api.js";

const $ = (id) => document.getElementById(id);
const form = $("ask-form");
const question = $("question");
const answerBox = $("answer");
let current = null; // the answer record being shown
let rating = null;
let running = null; // AbortController of the answer being streamed
let conversation = []; // earlier turns [{role, content}] sent as `history`: the next question is a follow-up
const KEPT_TURNS = 6; // how many earlier turns a follow-up is sent with

async function showWho() {
  try {
    const me = await whoAmI();
    $("who").textContent = me.authEnabled ? `— ${me.name} (${me.role})` : "— authentication is off";
    $("admin-link").hidden = !(canPromote(me) || me.role === "owner");
    await sessionControls($("session"), me);
    showRecent(); // only once the caller is known: no failed request without a key
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

/** Append text to `box` with each [n] marker as a button that opens citation n. */
function appendText(box, text, linkable) {
  const parts = text.split(/(\[\d+(?:,\s*\d+)*\])/);
  for (const part of parts) {
    const m = part.match(/^\[(\d+(?:,\s*\d+)*)\]$/);
    if (!m || !linkable) {
      box.append(part);
      continue;
    }
    for (const n of m[1].split(/,\s*/).map(Number)) {
      box.append(
        el("button", { type: "button", class: "marker", "aria-label": `Source ${n}`, onclick: () => openCitation(n) }, `[${n}]`),
      );
    }
  }
}

const PROBLEMS = {
  no_citation: "cites no source",
  figure_not_in_source: "states a figure its sources do not hold",
  words_not_in_source: "is not what its sources say",
};

function why(sentence) {
  const reasons = sentence.problems.map((p) => PROBLEMS[p] || p);
  const figures = sentence.missing_figures.length ? ` (${sentence.missing_figures.join(", ")})` : "";
  return `Not supported: this sentence ${reasons.join(" and ")}${figures}.`;
}

/** Answer text with its markers as buttons; each flagged sentence marked, with the reason. */
function renderAnswer(text, linkable, flagged = []) {
  answerBox.replaceChildren();
  let pos = 0;
  for (const sentence of flagged) {
    const at = text.indexOf(sentence.text, pos);
    if (at < 0) continue;
    appendText(answerBox, text.slice(pos, at), linkable);
    const mark = el("mark", { class: "unsupported", title: why(sentence) });
    appendText(mark, sentence.text, linkable);
    mark.append(el("span", { class: "visually-hidden" }, ` (${why(sentence)})`));
    answerBox.append(mark);
    pos = at + sentence.text.length;
  }
  appendText(answerBox, text.slice(pos), linkable);
}

function showConversation() {
  const asked = conversation.filter((t) => t.role === "user").map((t) => t.content);
  $("conversation").hidden = asked.length === 0;
  $("conversation-turns").replaceChildren(...asked.map((q) => el("li", {}, q)));
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
  const flagged = (record.support || []).filter((s) => !s.supported);
  renderAnswer(record.answer, true, flagged);
  $("unsupported").hidden = record.grounded !== false || record.refused;
  $("standalone").textContent = record.standalone_question ? `Understood as: ${record.standalone_question}` : "";
  renderCitations(record);
  $("not-covered").hidden = !record.refused;
  answerBox.classList.toggle("refused", record.refused);
  const via = record.index.alias === null ? "pinned" : record.index.alias.endsWith(":canary") ? "canary" : "live";
  const then = record.index.as_of
    ? `as of ${record.index.as_of.slice(0, 16).replace("T", " ")} UTC: live from ` +
      `${record.index.live_from.slice(0, 10)} ${record.index.live_until ? `until ${record.index.live_until.slice(0, 10)}` : "until now"}`
    : via;
  $("answered-by").textContent =
    `Answered by ${record.index.name} version ${record.index.version} (${then}) · ` +
    `${record.model.provider}:${record.model.name} · prompt ${record.prompt.name}/${record.prompt.version}`;
  $("answered-by").dataset.version = String(record.index.version);
  $("receipt-link").href = `/v1/answers/${encodeURIComponent(record.answer_id)}/receipt`;
  $("receipt-line").hidden = false;
  resetFeedback();
  $("feedback").hidden = false;
}

async function showReceipt(event) {
  event.preventDefault();
  if (!current) return;
  try {
    const receipt = await api(`/v1/answers/${encodeURIComponent(current.answer_id)}/receipt`);
    const quotes = receipt.citations.map((c) => `[${c.n}] ${c.doc_id} ${c.quote_start}–${c.quote_end}`).join(", ");
    $("receipt-summary").textContent =
      `${receipt.index.name} version ${receipt.version.number}, answered ${receipt.answered_at.slice(0, 19)} UTC` +
      (quotes ? ` · quotes at ${quotes}` : "");
    const json = JSON.stringify(receipt, null, 2);
    $("receipt-json").textContent = json;
    $("receipt-download").href = URL.createObjectURL(new Blob([json], { type: "application/json" }));
    $("receipt-dialog").showModal();
  } catch (error) {
    $("status").textContent = `No receipt: ${error.message}`;
  }
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
  $("unsupported").hidden = true;
  $("standalone").textContent = "";
  $("citations").replaceChildren();
  $("sources-heading").hidden = true;
  $("answered-by").textContent = "";
  $("receipt-line").hidden = true;
  answerBox.replaceChildren();
  answerBox.classList.remove("refused");
  answerBox.setAttribute("aria-busy", "true");
  $("status").textContent = "Looking in the policies…";
  $("ask-button").disabled = true;
  let streamed = "";
  let deltas = 0;
  const body = { question: text, stream: true };
  if (conversation.length) body.history = conversation.slice(-KEPT_TURNS);
  const index = $("index").value.trim();
  if (index) body.index = index;
  const asOf = $("as-of").value;
  if (asOf) body.as_of = asOf;
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
          if (!data.refused) {
            conversation.push({ role: "user", content: text }, { role: "assistant", content: data.answer });
            question.value = "";
            showConversation();
          }
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

$("receipt-link").addEventListener("click", showReceipt);

$("new-conversation").addEventListener("click", () => {
  conversation = [];
  showConversation();
  question.focus();
});

const RECENT_DAYS = 30;

/** The "Recently changed" list: documents of the caller's groups whose sections changed lately. */
async function showRecent() {
  const index = ($("index").value.trim() || "policies").split("@")[0];
  const since = new Date(Date.now() - RECENT_DAYS * 86400000).toISOString().slice(0, 10);
  try {
    const data = await api(`/v1/indexes/${encodeURIComponent(index)}/changes?since=${since}`);
    const items = data.changes.slice(0, 10).map((c) => {
      const parts = c.sections.map((s) => `${s.heading_path[s.heading_path.length - 1] || "(top)"} (${s.change})`);
      return el(
        "li",
        {},
        el("strong", {}, c.title),
        ` — ${c.status}${parts.length ? `: ${parts.slice(0, 4).join(", ")}${parts.length > 4 ? ", …" : ""}` : ""}`,
        el("span", { class: "muted" }, ` · version ${c.version}, ${c.live_from.slice(0, 10)}${c.owner ? ` · ${c.owner}` : ""}`),
      );
    });
    $("recent-list").replaceChildren(...items);
    $("recent").hidden = items.length === 0;
  } catch {
    $("recent").hidden = true; // no key yet, or no such index: nothing to list
  }
}

keyField($("key-form"), showWho);
showWho();
const asked = new URLSearchParams(location.search).get("q");
if (asked) {
  question.value = asked;
  ask();
}
