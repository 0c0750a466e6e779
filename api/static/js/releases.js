// The admin page's releases: what answers each index (version, prompt, model, settings), the live and
// canary ones marked, promote for admins, and what differs between two releases.
import { api, canPromote, el } from "./api.js";

const $ = (id) => document.getElementById(id);

function modelLabel(m) {
  return m.kind === "extractive" ? "extractive" : `${m.endpoint}: ${m.name} (t=${m.temperature}, ≤${m.max_tokens} tokens)`;
}

function settingsLabel(s) {
  return `${s.mode}/${s.fusion}, top ${s.top_k}, refuse < ${s.refusal_threshold}${s.calibrated_refusal ? " or calibrated" : ""}`;
}

/** Fill the releases table and the compare form; `done(text, isError)` reports a promotion. */
export async function loadReleases(index, me, done) {
  if (!index) {
    $("releases").replaceChildren();
    return;
  }
  const releases = await api(`/v1/indexes/${index}/releases`);
  $("releases").replaceChildren(
    ...releases.map((r) => {
      const e = r.effective;
      const state = [
        r.live ? el("span", { class: "badge live" }, "live") : null,
        r.canary ? el("span", { class: "badge canary" }, "canary") : null,
        r.follows_settings ? el("span", { class: "badge" }, "follows settings") : null,
      ];
      const actions = [];
      if (canPromote(me) && !r.live) {
        actions.push(
          el("button", { type: "button", onclick: () => promoteRelease(index, r.number, done) }, `Promote release ${r.number}`),
        );
      }
      return el(
        "tr",
        { "data-release": r.number },
        el("th", { scope: "row" }, String(r.number)),
        el("td", {}, `v${r.version}`),
        el("td", {}, e.prompt),
        el("td", {}, modelLabel(e.model)),
        el("td", {}, settingsLabel(e.settings)),
        el("td", {}, state),
        el("td", {}, actions),
      );
    }),
  );
  const options = (pick) => releases.map((r, i) => el("option", { value: r.number, selected: pick(i) }, `release ${r.number} (v${r.version})`));
  $("release-from").replaceChildren(...options((i) => i === 1));
  $("release-to").replaceChildren(...options((i) => i === 0));
}

async function promoteRelease(index, number, done) {
  try {
    const r = await api(`/v1/indexes/${index}/promote`, { method: "POST", body: { release: number } });
    await done(`${r.alias} now names release ${r.release} (version ${r.version}; was release ${r.previous_release ?? "none"}).`);
  } catch (error) {
    await done(`Promotion failed: ${error.message}`, true);
  }
}

/** Wire the compare form of the releases section for the index `current()` names. */
export function releaseDiffForm(current) {
  $("release-diff-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const params = new URLSearchParams({ from: $("release-from").value, to: $("release-to").value });
    try {
      const d = await api(`/v1/indexes/${current()}/releases/diff?${params}`);
      const show = (v) => (v === null || v === undefined ? "—" : String(v));
      $("release-diff").replaceChildren(
        el("p", {}, `Release ${d.from_release} → release ${d.to_release}: ${d.changes.length ? `${d.changes.length} differences` : "no differences"}.`),
        d.changes.length
          ? el("ul", { class: "release-changes" }, ...d.changes.map((c) => el("li", { "data-field": c.field }, `${c.field}: ${show(c.from)} → ${show(c.to)}`)))
          : null,
      );
    } catch (error) {
      $("release-diff").replaceChildren(el("p", { class: "error" }, `Cannot compare: ${error.message}`));
    }
  });
}
