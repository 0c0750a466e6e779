// The admin page: indexes, versions with manifests and gate scores, aliases and canary, jobs with
// live progress, a diff between versions, a gated version's answer diff, and build / promote / roll back
// for the roles allowed.
import { api, canBuild, canPromote, el, keyField, sessionControls, whoAmI } from "./api.js";
import { loadCanary } from "./canary.js";
import { loadReleases, releaseDiffForm } from "./releases.js";

const $ = (id) => document.getElementById(id);
let me = null;
let indexes = [];
let selected = null;
let pollTimer = null;

function say(text, isError = false) {
  $("message").textContent = text;
  $("message").classList.toggle("error", isError);
}

const when = (iso) => (iso ? new Date(iso).toLocaleString() : "");
const pct = (x) => (typeof x === "number" ? x.toFixed(3) : "");

function gateCell(manifest) {
  const gate = manifest && manifest.evaluation && manifest.evaluation.gate;
  if (!gate) return "—";
  const scores = Object.entries(gate.new || {})
    .filter(([name, value]) => name !== "version" && typeof value === "number")
    .map(([name, value]) => `${name} ${pct(value)}`)
    .join(", ");
  return el(
    "span",
    {},
    el("span", { class: `badge ${gate.passed ? "live" : "failed"}` }, gate.passed ? "passed" : "held back"),
    ` ${scores}`,
    gate.reasons && gate.reasons.length ? el("div", { class: "muted" }, gate.reasons.join("; ")) : null,
  );
}

async function loadIndexes() {
  indexes = await api("/v1/indexes");
  $("indexes").replaceChildren(
    ...indexes.map((ix) =>
      el(
        "tr",
        {},
        el("th", { scope: "row" }, ix.name),
        el("td", {}, ix.live_version ? `v${ix.live_version}` : "none"),
        el("td", {}, ix.canary_version ? `v${ix.canary_version} (${Math.round((ix.canary_share || 0) * 100)}%)` : "none"),
        el("td", {}, String(ix.versions)),
      ),
    ),
  );
  const select = $("index-select");
  const keep = selected || (indexes[0] && indexes[0].name);
  select.replaceChildren(...indexes.map((ix) => el("option", { value: ix.name, selected: ix.name === keep }, ix.name)));
  selected = keep;
}

async function promote(version) {
  try {
    const r = await api(`/v1/indexes/${selected}/promote`, { method: "POST", body: { version } });
    say(`${r.alias} now names version ${r.version} (was ${r.previous_version ?? "none"}).`);
  } catch (error) {
    say(`Promotion failed: ${error.message}`, true);
  }
  await refresh();
}

async function rollback() {
  try {
    const r = await api(`/v1/indexes/${selected}/rollback`, { method: "POST" });
    say(`Rolled back: ${r.alias} now names version ${r.version} (was ${r.previous_version}).`);
  } catch (error) {
    say(`Rollback failed: ${error.message}`, true);
  }
  await refresh();
}

async function loadVersions() {
  if (!selected) {
    $("versions").replaceChildren();
    return;
  }
  const ix = indexes.find((i) => i.name === selected);
  const versions = await api(`/v1/indexes/${selected}/versions`);
  $("alias-line").textContent =
    `Alias ${selected} → ${ix && ix.live_version ? `version ${ix.live_version}` : "no version"}` +
    (ix && ix.canary_version ? `; alias ${selected}:canary → version ${ix.canary_version}, ${Math.round(ix.canary_share * 100)}% of questions` : "");
  $("rollback-row").hidden = !canPromote(me);
  $("canary-form").hidden = !canPromote(me);
  const ready = versions.filter((v) => v.state === "ready" && !v.live);
  $("canary-version").replaceChildren(...ready.map((v) => el("option", { value: v.version }, `v${v.version}`)));
  $("build-section").hidden = !canBuild(me, selected);
  const rows = [];
  for (const v of versions) {
    const m = v.manifest;
    const badges = [
      el("span", { class: `badge ${v.state === "failed" ? "failed" : ""}` }, v.state),
      v.live ? el("span", { class: "badge live" }, "live") : null,
      ix && ix.canary_version === v.version ? el("span", { class: "badge canary" }, "canary") : null,
    ];
    const actions = [];
    if (canPromote(me) && v.state === "ready" && !v.live) {
      actions.push(el("button", { type: "button", "data-promote": v.version, onclick: () => promote(v.version) }, `Promote v${v.version}`));
    }
    rows.push(
      el(
        "tr",
        { "data-version": v.version },
        el("th", { scope: "row" }, `v${v.version}`),
        el("td", {}, badges),
        el("td", {}, v.chunk_count ?? ""),
        el("td", {}, v.document_count ?? ""),
        el("td", {}, when(v.finished_at || v.created_at)),
        el("td", {}, gateCell(m)),
        el("td", {}, actions),
      ),
    );
    const details = [];
    if (m) {
      details.push(
        el("details", {}, el("summary", {}, `Manifest of v${v.version}`), el("pre", {}, JSON.stringify(m, null, 2))),
      );
      if (m.errors && m.errors.length) {
        details.push(
          el("ul", { class: "error", "aria-label": `Files v${v.version} could not read` }, ...m.errors.map((e) => el("li", {}, `${e.source}: ${e.error}`))),
        );
      }
    }
    if (v.error) details.push(el("p", { class: "error" }, v.error));
    if (details.length) rows.push(el("tr", {}, el("td", { colspan: 7 }, details)));
  }
  $("versions").replaceChildren(...rows);
  const diffed = versions.filter((v) => v.manifest?.evaluation?.gate?.answers?.summary);
  $("answers-section").hidden = !canBuild(me, selected) || !diffed.length;
  $("answers-version").replaceChildren(...diffed.map((v) => el("option", { value: v.version }, `v${v.version}: ${v.manifest.evaluation.gate.answers.summary.text}`)));
  const options = (sel) => versions.map((v) => el("option", { value: v.version, selected: sel(v) }, `v${v.version}`));
  $("diff-from").replaceChildren(...options((v) => v === versions[1]));
  $("diff-to").replaceChildren(...options((v) => v === versions[0]));
}

function jobRow(job) {
  const p = job.progress || {};
  const total = p.chunks_total ?? p.documents_total;
  const done = p.chunks_total !== undefined ? p.chunks_done : p.documents_done;
  const active = job.state === "queued" || job.state === "running";
  const progress = active
    ? [
        el("progress", { max: total || 1, value: done || 0, "aria-label": `Job ${job.job_id.slice(0, 8)} progress` }),
        ` ${p.stage || job.state}${total ? ` ${done || 0}/${total}` : ""}`,
      ]
    : [p.stage || ""];
  const r = job.result;
  const result = [];
  if (r) {
    result.push(`v${r.version}: ${r.chunks} chunks (${r.chunks_embedded} embedded, ${r.chunks_reused} reused). ${r.promotion || ""}`);
    if (r.errors && r.errors.length) result.push(el("ul", { class: "error" }, ...r.errors.map((e) => el("li", {}, `${e.source}: ${e.error}`))));
    if (r.gate) result.push(el("div", {}, gateCell({ evaluation: { gate: r.gate } })));
  }
  if (job.error) result.push(el("div", { class: "error" }, job.error));
  return el(
    "tr",
    { "data-job": job.job_id },
    el("th", { scope: "row" }, el("code", {}, job.job_id.slice(0, 8)), el("div", { class: "muted" }, `${job.mode}, promote ${job.promote}${job.trigger ? `, by ${job.trigger}` : ""}`)),
    el("td", {}, el("span", { class: `badge ${job.state === "failed" ? "failed" : job.state === "succeeded" ? "live" : ""}` }, job.state)),
    el("td", {}, progress),
    el("td", {}, result),
    el("td", {}, when(job.created_at)),
  );
}

function describeSource(spec) {
  if (spec.kind === "folder") return `folder ${spec.folder}`;
  if (spec.kind === "git") return `Git ${spec.url} @ ${spec.branch}${spec.path ? ` : ${spec.path}` : ""}`;
  if (spec.kind === "s3") return `S3 s3://${spec.bucket}/${spec.prefix}${spec.endpoint_url ? ` at ${spec.endpoint_url}` : ""}`;
  return `Confluence ${spec.base_url}, space ${spec.space}`;
}

async function loadSource() {
  $("source-section").hidden = true;
  if (!selected || !canBuild(me, selected)) return; // the source is shown to the index's owners and admins
  let s;
  try {
    s = await api(`/v1/indexes/${selected}/source`);
  } catch (error) {
    say(`Could not load the source: ${error.message}`, true);
    return;
  }
  $("source-section").hidden = false;
  const rows = s.spec
    ? [
        ["Built from", describeSource(s.spec)],
        ["Checked", s.every ? `every ${s.every}` : "not scheduled"],
        ["Last check", s.last_check_at ? when(s.last_check_at) : "never"],
        ["Last change seen", s.last_change_at ? when(s.last_change_at) : "never"],
        ["Next check", s.next_check_at ? when(s.next_check_at) : "—"],
      ]
    : [["Built from", "no source: uploads only"]];
  if (s.last_error) rows.push(["Last check failed", s.last_error]);
  $("source").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", { class: k.includes("failed") ? "error" : "" }, v)]));
}

async function loadJobs() {
  const jobs = await api(`/v1/jobs?${new URLSearchParams({ index: selected || "", limit: "20" })}`);
  $("jobs").replaceChildren(...jobs.map(jobRow));
  const active = jobs.some((j) => j.state === "queued" || j.state === "running");
  clearTimeout(pollTimer);
  if (active) {
    pollTimer = setTimeout(async () => {
      const before = jobs.filter((j) => j.state === "queued" || j.state === "running").length;
      await loadJobs();
      const after = [...document.querySelectorAll("#jobs .badge")].filter((b) => ["queued", "running"].includes(b.textContent)).length;
      if (after < before) await refresh(); // a job finished: versions and aliases may have changed
    }, 1500);
  }
}

async function refresh() {
  try {
    await loadIndexes();
    await loadVersions();
    await loadReleases(selected, me, async (text, isError) => {
      say(text, isError);
      await refresh();
    });
    await loadCanary(selected, me);
    await loadSource();
    await loadJobs();
  } catch (error) {
    say(`Could not load: ${error.message}`, true);
  }
}

$("index-select").addEventListener("change", (event) => {
  selected = event.target.value;
  refresh();
});
$("rollback").addEventListener("click", rollback);
releaseDiffForm(() => selected);
$("canary-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const version = Number($("canary-version").value);
  const share = Number($("canary-share").value) / 100;
  try {
    const c = await api(`/v1/indexes/${selected}/canary`, { method: "POST", body: { version, share } });
    say(`${c.alias} now names version ${c.version} for ${Math.round(c.share * 100)}% of questions.`);
  } catch (error) {
    say(`Canary not set: ${error.message}`, true);
  }
  await refresh();
});
$("canary-remove").addEventListener("click", async () => {
  try {
    const c = await api(`/v1/indexes/${selected}/canary`, { method: "DELETE" });
    say(c.version ? `Canary v${c.version} removed: every question goes to the live version.` : "There was no canary.");
  } catch (error) {
    say(`Canary not removed: ${error.message}`, true);
  }
  await refresh();
});
$("build-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const job = await api(`/v1/indexes/${selected}/builds`, {
      method: "POST",
      body: { mode: $("build-mode").value, promote: $("build-promote").value },
    });
    say(`Build queued: job ${job.job_id.slice(0, 8)}.`);
  } catch (error) {
    say(`Build not started: ${error.message}`, true);
  }
  await loadJobs();
});
$("diff-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const from = $("diff-from").value;
  const to = $("diff-to").value;
  try {
    const d = await api(`/v1/indexes/${selected}/diff?${new URLSearchParams({ from, to })}`);
    const list = (title, items) =>
      el("div", {}, el("h3", {}, `${title} (${items.length})`),
        items.length ? el("ul", {}, ...items.map((c) => el("li", {}, `${c.title} (${c.doc_id}): ${c.from_chunks ?? 0} → ${c.to_chunks ?? 0} chunks`))) : el("p", { class: "muted" }, "none"));
    $("diff").replaceChildren(
      el("p", {}, `v${d.from_version} → v${d.to_version}: ${d.from_chunks} → ${d.to_chunks} chunks, ${d.unchanged} documents unchanged.`),
      list("Added", d.added),
      list("Changed", d.changed),
      list("Removed", d.removed),
    );
    await showSectionChanges(d);
  } catch (error) {
    $("diff").replaceChildren(el("p", { class: "error" }, `Cannot compare: ${error.message}`));
  }
});

/** Next to each changed document of a diff: which of its sections changed (what changed, by section). */
async function showSectionChanges(d) {
  const items = $("diff").querySelectorAll("div:nth-of-type(2) li");
  await Promise.all(
    d.changed.slice(0, 20).map(async (c, i) => {
      const params = new URLSearchParams({ from: d.from_version, to: d.to_version });
      try {
        const ch = await api(`/v1/indexes/${selected}/documents/${encodeURIComponent(c.doc_id)}/changes?${params}`);
        const parts = ch.sections.map((s) => `${s.heading_path[s.heading_path.length - 1] || "(top)"} (${s.change})`);
        if (parts.length && items[i]) items[i].append(el("span", { class: "muted section-changes" }, ` — sections: ${parts.join(", ")}`));
      } catch {
        // a version built before texts were kept, and since dropped: the document diff above stands alone
      }
    }),
  );
}

/** One side of a question's answer diff: the answer, refused or not, what it cites, the expected document's rank. */
function answerSide(label, side) {
  const cited = side.cited.map((c) => `${c.doc} > ${c.heading_path.slice(1).join(" > ") || c.title}`);
  return el(
    "div",
    {},
    el("h4", {}, label),
    el("p", { class: side.refused ? "muted" : "" }, side.refused ? `Refused: ${side.answer}` : side.answer),
    el("p", { class: "muted" }, cited.length ? `Cites ${[...new Set(cited)].join("; ")}` : "Cites nothing"),
    el("p", { class: "muted" }, side.expected_rank ? `Expected document ranks ${side.expected_rank}` : "Expected document not retrieved"),
  );
}

function answerItem(d, item) {
  const flags = [
    item.lost_source ? "loses its expected source" : null,
    item.newly_refused ? "newly refused" : null,
    item.newly_answered ? "newly answered" : null,
    item.gained_source ? "gains its expected source" : null,
  ].filter(Boolean);
  return el(
    "details",
    { class: "answer-change", "data-question": item.id },
    el("summary", {}, `${item.id}: ${item.question}`, flags.length ? el("span", { class: "badge failed" }, flags.join(", ")) : null),
    el("div", { class: "side-by-side" }, answerSide(`Live v${d.live_version}`, item.live), answerSide(`Candidate v${d.version}`, item.candidate)),
  );
}

$("answers-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const version = $("answers-version").value;
  try {
    const d = await api(`/v1/indexes/${selected}/versions/${version}/answer-diff?changed_only=true`);
    const limits = Object.entries(d.thresholds).filter(([, v]) => v !== null).map(([k, v]) => `${k.replaceAll("_", " ")} ${v}`);
    $("answers").replaceChildren(
      el("p", { class: "answer-summary" }, `v${d.version} against v${d.live_version}: ${d.summary.text} (of ${d.summary.questions} questions).`),
      el("p", { class: "muted" }, `Answered by ${d.answerer}; ${limits.length ? `thresholds: ${limits.join(", ")}` : "no thresholds: reported only"}; ${d.passed ? "within them" : "over them"}.`),
      ...d.items.map((item) => answerItem(d, item)),
      el("h3", {}, `Golden questions stale for review (${d.stale.length})`),
      d.stale.length
        ? el("ul", {}, ...d.stale.map((s) => el("li", {}, `${s.id} (${s.doc}, ${s.reason.replaceAll("_", " ")}): ${s.question}`)))
        : el("p", { class: "muted" }, "none"),
    );
  } catch (error) {
    $("answers").replaceChildren(el("p", { class: "error" }, `Cannot show the answer diff: ${error.message}`));
  }
});

async function start() {
  try {
    me = await whoAmI();
    $("who").textContent = me.authEnabled ? `— ${me.name} (${me.role})` : "— authentication is off: everyone is an admin";
    await sessionControls($("session"), me);
  } catch (error) {
    await sessionControls($("session"), null);
    const hint = error.status === 401 || error.status === 403 ? " Enter your API key above." : "";
    say(`Who am I? ${error.message}.${hint}`, true);
    if (hint) document.querySelector("details.key").open = true;
    return;
  }
  await refresh();
}

keyField($("key-form"), start);
start();
