"use strict";
// The review page. All text on it comes from data people typed: it is set with textContent and
// attributes only, never as markup.
(function () {
  const data = JSON.parse(document.getElementById("review-data").textContent);
  const W = data.words;
  const notes = [];
  const approvals = {};
  const videos = {};

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") node.textContent = v;
      else if (k === "className") node.className = v;
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children) if (c) node.append(c);
    return node;
  }
  const fmtTime = (t) => {
    const ms = Math.round(t * 1000), h = Math.floor(ms / 3600000), m = Math.floor(ms / 60000) % 60;
    const s = Math.floor(ms / 1000) % 60, r = ms % 1000;
    return (h ? String(h).padStart(2, "0") + ":" : "") + String(m).padStart(2, "0") + ":" +
      String(s).padStart(2, "0") + "." + String(r).padStart(3, "0");
  };
  const srtTime = (t) => {
    const ms = Math.round(t * 1000), h = Math.floor(ms / 3600000), m = Math.floor(ms / 60000) % 60;
    const s = Math.floor(ms / 1000) % 60, r = ms % 1000;
    return [h, m, s].map((x) => String(x).padStart(2, "0")).join(":") + "," + String(r).padStart(3, "0");
  };
  function download(name, text, type) {
    const blob = new Blob([text], { type: type || "text/plain;charset=utf-8" });
    const a = el("a", { href: URL.createObjectURL(blob), download: name });
    document.body.append(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }
  function copyButton(text) {
    const b = el("button", { type: "button", className: "secondary", text: W.copy });
    b.addEventListener("click", async () => {
      try { await navigator.clipboard.writeText(text); } catch (e) {
        const t = el("textarea", {}); t.value = text; document.body.append(t); t.select();
        document.execCommand("copy"); t.remove();
      }
      b.textContent = W.copied;
      setTimeout(() => { b.textContent = W.copy; }, 1500);
    });
    return b;
  }
  function verdict(ok, text) {
    return el("span", { className: ok ? "pass" : "fail", text: text + " — " + (ok ? W.pass : W.fail) });
  }

  function tile(o) {
    const phone = o.height > o.width;
    const frame = el("div", { className: "frame" + (phone ? " phone" : "") });
    frame.style.aspectRatio = o.width + " / " + o.height;
    const video = el("video", { controls: true, preload: "metadata", src: o.video, poster: o.poster || null,
      "aria-label": o.label + " (" + (o.version || W.main) + ")", id: "video-" + o.id });
    o.tracks.forEach((t, i) => {
      video.append(el("track", { kind: "captions", src: "data:text/vtt;charset=utf-8," + encodeURIComponent(t.vtt),
        srclang: t.lang, label: t.label, "data-file": t.src, default: i === 0 }));
    });
    videos[o.id] = video;
    const zones = el("div", { className: "zones", "aria-hidden": "true" });
    const s = o.safe;
    for (const [k, v] of Object.entries({ top: s.top, bottom: s.bottom, left: s.left, right: s.right })) {
      if (!v) continue;
      const z = el("div", { className: "zone zone-" + k });
      if (k === "top" || k === "bottom") { z.style.left = "0"; z.style.right = "0"; z.style[k] = "0";
        z.style.height = (v * 100) + "%"; } else { z.style.top = "0"; z.style.bottom = "0"; z.style[k] = "0";
        z.style.width = (v * 100) + "%"; }
      zones.append(z);
    }
    frame.append(video, zones);
    const shade = el("button", { type: "button", className: "secondary shade", "aria-pressed": "false",
      text: W.shade });
    shade.addEventListener("click", () => {
      const on = frame.classList.toggle("shaded");
      shade.setAttribute("aria-pressed", on ? "true" : "false");
    });
    const facts = el("dl", { className: "facts" });
    const fact = (k, v) => facts.append(el("dt", { text: k }), el("dd", {}, v));
    fact(W.duration, document.createTextNode(o.duration.toFixed(2) + " " + W.seconds + " (" + o.fps + " fps)"));
    const mb = (o.size / 1e6).toFixed(1) + " MB";
    fact(W.size, o.max_bytes ? verdict(o.size <= o.max_bytes, mb + " / " + W.limit + " " +
      (o.max_bytes / 1e6) + " MB") : document.createTextNode(mb));
    fact(W.loudness, verdict(Math.abs(o.loudness - o.loudness_target) <= 1,
      o.loudness.toFixed(1) + " LUFS (" + W.target + " " + o.loudness_target + ")"));
    fact(W.peak, verdict(o.true_peak <= o.true_peak_limit,
      o.true_peak.toFixed(1) + " dBTP (" + W.limit + " " + o.true_peak_limit + ")"));
    fact(W.captions, document.createTextNode(o.burned ? W.burned : (o.tracks.length ? W.sidecar : W.none)));
    for (const person of o.names_left_out || []) {  // a failure in words, not colour alone
      fact(W.name_strap, el("span", { className: "fail", text: W.name_missing.replace("{person}", person) }));
    }
    const body = el("article", { className: "tile", id: "tile-" + o.id },
      el("h3", { text: o.label + (o.version ? " — " + o.version : "") }), frame, el("div", { className: "bar" }, shade),
      facts);
    if (o.described) body.append(describedPanel(o));
    if ((o.items || []).some((it) => it.cutaways)) body.append(cutawaysPanel(o, video));
    if (o.warnings.length) {
      const ul = el("ul", { className: "warn", "aria-label": W.warnings });
      for (const [w, lang] of o.warnings) ul.append(el("li", { text: w, lang: lang !== data.lang ? lang : null }));
      body.append(el("h4", { text: W.warnings }), ul);
    }
    const pub = el("details", { className: "publish" }, el("summary", { text: W.publish }));
    for (const [k, v] of [[W.title, o.publish.title], [W.description, o.publish.description],
      [W.hashtags, o.publish.hashtags], [W.link, o.publish.link]]) {
      if (!v) continue;
      pub.append(el("p", {}, el("strong", { text: k + ": " }), el("span", { text: v }), document.createTextNode(" "),
        copyButton(v)));
    }
    if (o.qr) pub.append(el("img", { className: "qr", src: o.qr, alt: "QR: " + o.publish.link }));
    body.append(pub);
    // notes and approval
    const noteId = "note-" + o.id;
    const noteLabel = el("label", { for: noteId, text: W.note + " 00:00.000" });
    const noteText = el("textarea", { id: noteId, rows: "2" });
    const list = el("ul", { className: "notes-list" });
    const add = el("button", { type: "button", text: W.add_note });
    video.addEventListener("timeupdate", () => { noteLabel.textContent = W.note + " " + fmtTime(video.currentTime); });
    add.addEventListener("click", () => {
      const text = noteText.value.trim();
      if (!text) return;
      const n = { version: o.version || "main", channel: o.channel, at: Math.round(video.currentTime * 1000) / 1000,
        text: text };
      notes.push(n);
      list.append(el("li", { text: fmtTime(n.at) + ": " + text }));
      noteText.value = "";
    });
    const byId = "by-" + o.id, dateId = "date-" + o.id;
    const by = el("input", { type: "text", id: byId, autocomplete: "name" });
    const date = el("input", { type: "date", id: dateId });
    date.value = data.generated;
    const approve = el("button", { type: "button", className: "secondary", text: W.approve });
    const approvedText = el("p", { className: "pass", role: "status" });
    if (o.approved && o.approved.by) approvedText.textContent = W.unchanged_approval + ": " + o.approved.by + " " +
      (o.approved.date || "");
    approve.addEventListener("click", () => {
      if (!by.value.trim()) { by.focus(); return; }
      approvals[o.id] = { by: by.value.trim(), date: date.value, fingerprint: o.fingerprint, channel: o.channel,
        version: o.version || "main" };
      approvedText.textContent = W.unchanged_approval + ": " + by.value.trim() + " " + date.value;
    });
    body.append(el("details", {}, el("summary", { text: W.notes }), noteLabel, noteText,
      el("div", { className: "bar" }, add), list, el("label", { for: byId, text: W.approved_by }), by,
      el("label", { for: dateId, text: W.date }), date, el("div", { className: "bar" }, approve), approvedText));
    return body;
  }

  // synstolking: the described version plays on the tile, its lines listed, the script downloadable
  function describedPanel(o) {
    const video = el("video", { controls: true, preload: "metadata", src: o.described, className: "described",
      poster: o.poster || null,
      "aria-label": W.described + ": " + o.label + " (" + (o.version || W.main) + ")", id: "described-" + o.id });
    const frame = el("div", { className: "frame" + (o.height > o.width ? " phone" : "") }, video);
    frame.style.aspectRatio = o.width + " / " + o.height;
    const list = el("ol", { className: "description-lines", "aria-label": W.description_lines });
    for (const d of o.descriptions) {
      const held = d.hold ? " (" + W.held + " " + d.hold.seconds.toFixed(2) + " " + W.seconds + ")" : "";
      const at = el("button", { type: "button", className: "secondary time", text: fmtTime(d.start),
        "aria-label": W.play + " " + fmtTime(d.start) });
      at.addEventListener("click", () => { video.currentTime = d.start; video.play().catch(() => {}); });
      list.append(el("li", { "data-id": d.id, "data-held": d.hold ? "true" : "false" }, at,
        el("code", { text: d.id }), document.createTextNode(" "), el("span", { text: d.text + held })));
    }
    return el("section", { className: "described-version", "aria-label": W.described },
      el("h4", { text: W.described }), frame, el("h4", { text: W.description_lines }), list,
      el("p", {}, el("a", { href: "#script", text: W.edit_in_script })));
  }

  // cutaways (B-roll): where each sits on the output, the clip shown and the words it covers
  function cutawaysPanel(o, video) {
    const list = el("ol", { className: "cutaways", "aria-label": W.cutaways });
    for (const it of o.items || []) {
      for (const c of it.cutaways || []) {
        const at = el("button", { type: "button", className: "secondary time", text: fmtTime(c.at),
          "aria-label": W.play + " " + fmtTime(c.at) });
        at.addEventListener("click", () => { video.currentTime = c.at; video.play().catch(() => {}); });
        const words = c.during ? " " + W.over_words + " «" + c.during + "»" : "";
        list.append(el("li", { "data-clip": c.clip, "data-at": String(c.at) }, at, el("code", { text: c.clip }),
          el("span", { text: words + " (" + c.duration.toFixed(2) + " " + W.seconds + ", " + W.over_clip + " " +
            it.clip + ")" })));
      }
    }
    return el("section", { className: "cutaways-panel", "aria-label": W.cutaways }, el("h4", { text: W.cutaways }),
      list);
  }

  // a legend's sentence with its sample (a <mark> holding only the words it stands for) in place of {mark}
  const legend = (sentence, sample) => {
    const [before, after] = sentence.split("{mark}");
    return [document.createTextNode(before), sample, document.createTextNode(after === undefined ? "" : after)];
  };
  const escapeRe = (w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  // glossary words (names to check) as <mark>, words Whisper was unsure of as <mark class="low">
  function highlight(text, low) {
    const frag = document.createDocumentFragment();
    const words = (data.glossary || []).filter((w) => w && w.length > 1);
    const unsure = (low || []).map((w) => w.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, "")).filter((w) => w);
    if (!words.length && !unsure.length) { frag.append(document.createTextNode(text)); return frag; }
    const parts = words.map(escapeRe).concat(unsure.map((w) => "(?<![\\p{L}\\p{N}])" + escapeRe(w) +
      "(?![\\p{L}\\p{N}])")).sort((a, b) => b.length - a.length);
    const re = new RegExp("(" + parts.join("|") + ")", "giu");
    const lowSet = new Set(unsure.map((w) => w.toLowerCase()));
    let last = 0;
    for (const m of text.matchAll(re)) {
      const isLow = lowSet.has(m[0].toLowerCase());
      frag.append(document.createTextNode(text.slice(last, m.index)),
        el("mark", { text: m[0], className: isLow ? "low" : null, title: isLow ? W.low_title.replace("{pct}",
          Math.round(data.low_confidence * 100)) : null }));
      last = m.index + m[0].length;
    }
    frag.append(document.createTextNode(text.slice(last)));
    return frag;
  }

  function playClipMoment(clip, t) {
    for (const ed of data.editions) {
      for (const o of ed.outputs) {
        for (const it of o.items || []) {
          if (it.clip === clip && t >= it.from && t < it.to) {
            const v = videos[o.id];
            v.currentTime = it.at + (t - it.from);
            v.scrollIntoView({ block: "center" });
            v.play().catch(() => {});
            return true;
          }
        }
      }
    }
    return false;
  }

  // the served page (review --serve) talks to its server; the file:// page downloads instead
  async function post(path, body) {
    const r = await fetch("api/" + path, { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body) });
    const answer = await r.json().catch(() => ({ error: r.status + " " + r.statusText }));
    if (!r.ok) throw new Error(answer.error || r.statusText);
    return answer;
  }
  // a background job of the server (loading the campaign again after a save, drafts): polled until it ends
  async function follow(job, onStep) {
    for (;;) {
      if (job.state === "done" || job.state === "failed") return job;
      await new Promise((ok) => setTimeout(ok, 500));
      const r = await fetch("api/jobs/" + encodeURIComponent(job.id));
      job = await r.json();
      if (!r.ok) throw new Error(job.error || r.statusText);
      onStep(job);
    }
  }
  const showState = (status, state) => {  // the status keeps its class: "pass", "fail" or "" beside it
    status.classList.remove("pass", "fail");
    if (state) status.classList.add(state);
  };
  function drafts(outputs, status) {
    const b = el("button", { type: "button", className: "secondary", text: W.render_drafts, "data-drafts": "" });
    const bar = el("progress", { max: "1", value: "0", hidden: true });
    b.addEventListener("click", async () => {
      b.disabled = true; bar.hidden = false; bar.value = 0;
      status.textContent = W.drafts_running; showState(status, ""); status.dataset.state = "running";
      try {
        const st = await follow(await post("drafts", { outputs: outputs() }), (st) => {
          bar.value = st.fraction;
          const parts = Object.entries(st.outputs || {}).map(([k, v]) => k + " " + Math.round(v * 100) + " %");
          status.textContent = W.drafts_running + ": " + parts.join(", ");
        });
        bar.value = st.fraction;
        if (st.state === "done") {
          status.textContent = W.drafts_done.replace("{folder}", st.folder); showState(status, "pass");
        } else { status.textContent = W.drafts_failed + ": " + st.error; showState(status, "fail"); }
      } catch (e) { status.textContent = W.drafts_failed + ": " + e.message; showState(status, "fail"); }
      status.dataset.state = bar.value >= 1 ? "done" : "failed";
      b.disabled = false;
    });
    return el("span", {}, b, bar);
  }
  // "save": the server answers once the file is written, then loads the campaign with it (re-timing a
  // corrected transcript's words) in the background; the status follows that job to its end
  function saveButton(send, status, after) {
    const b = el("button", { type: "button", text: W.save, "data-save": "" });
    b.addEventListener("click", async () => {
      b.disabled = true;
      if (after) after.hidden = true;
      status.dataset.state = "saving"; showState(status, "");
      try {
        const answer = await send();
        const said = (key) => W[key].replace("{file}", answer.file);
        status.textContent = said("reloading");
        status.dataset.state = "reloading";
        const job = await follow(answer.job, (st) => {
          const parts = Object.entries(st.outputs || {}).map(([k, v]) => k + " " + Math.round(v * 100) + " %");
          status.textContent = said("reloading") + " " + (parts.length ? parts.join(", ") : Math.round(st.elapsed) +
            " " + W.seconds);
        });
        if (job.state === "done") {
          status.textContent = said("reloaded"); showState(status, "pass"); status.dataset.state = "done";
          if (after) after.hidden = false;
        } else {
          status.textContent = said("reload_failed") + ": " + ((job.problems || []).length ? job.problems.join("; ")
            : job.error);
          showState(status, "fail"); status.dataset.state = "failed";
        }
      } catch (e) {
        status.textContent = W.not_saved + ": " + e.message; showState(status, "fail"); status.dataset.state = "failed";
      }
      b.disabled = false;
    });
    return b;
  }

  function transcripts() {
    const pct = Math.round(data.low_confidence * 100);
    const sec = el("section", { id: "transcripts", "aria-labelledby": "transcripts-title" },
      el("h2", { id: "transcripts-title", text: W.transcripts }),
      el("p", { text: (data.served ? W.served_help : W.transcript_help).replace("{folder}", data.transcripts_folder) }),
      el("p", { className: "legend" }, ...legend(W.glossary, el("mark", { text: W.glossary_mark })),
        document.createTextNode(" "), ...legend(W.legend_low.replace("{pct}", pct),
          el("mark", { className: "low", text: W.legend_low_mark })), document.createTextNode(" " + W.legend_used)));
    const versionName = (v) => (v === "main" ? W.main : v);
    for (const t of data.transcripts) {  // one desk per clip: one set of fields, one file
      const box = el("article", { className: "tile transcript", id: "transcript-" + t.clip, "data-clip": t.clip },
        el("h3", { text: W.clip + " " + t.clip + (t.person ? " — " + t.person : "") }));
      const fields = [];
      const used = el("div", { className: "cues used" });
      const rest = el("div", { className: "cues rest" });
      t.cues.forEach((c, i) => {
        const id = "cue-" + t.clip + "-" + i;
        const play = el("button", { type: "button", className: "secondary time",
          text: fmtTime(c.start) + " " + W.play, "aria-label": W.play + " " + fmtTime(c.start) });
        const status = el("span", { role: "status" });
        play.addEventListener("click", () => { if (!playClipMoment(t.clip, c.start + 0.01)) status.textContent = W.not_in_edit; });
        const area = el("textarea", { id: id, rows: "2", "aria-label": W.clip + " " + t.clip + " " + fmtTime(c.start) });
        area.value = c.text;
        const preview = el("div", { className: "preview" });
        const refresh = () => { preview.replaceChildren(highlight(area.value, c.low)); };
        area.addEventListener("input", refresh);
        refresh();
        fields.push({ cue: c, area: area });
        const tags = el("span", { className: "used-by" });
        if (c.used.length) tags.textContent = W.used_by + ": " + c.used.map(versionName).join(", ");
        (c.used.length ? used : rest).append(el("div", { className: "cue", "data-used": c.used.join(" ") },
          el("div", {}, play, tags, status), area, preview));
      });
      box.append(used);
      const unused = t.cues.filter((c) => !c.used.length).length;
      if (unused) box.append(el("details", { className: "unused" }, el("summary", {
        text: W.unused_cues.replace("{n}", unused) }), rest));
      const srt = () => fields.map((f, i) => (i + 1) + "\n" + srtTime(f.cue.start) + " --> " + srtTime(f.cue.end) + "\n" +
        f.area.value.trim().replace(/\r/g, "") + "\n").join("\n");
      const dl = el("button", { type: "button", text: W.download_srt, "data-clip": t.clip });
      dl.addEventListener("click", () => download(t.clip + ".srt", srt(), "application/x-subrip;charset=utf-8"));
      const bar = el("div", { className: "bar" }, dl);
      if (data.served) {
        const status = el("p", { role: "status", className: "save-status" });
        const after = drafts(() => t.outputs, status);
        after.hidden = true;
        bar.append(saveButton(() => post("transcript", { clip: t.clip, srt: srt() }), status, after), after);
        box.append(bar, status);
      } else box.append(bar);
      sec.append(box);
    }
    return sec;
  }

  // synstolking: the description script once (each line id once, with the outputs that speak it)
  function script() {
    if (!data.script.length) return null;
    const file = data.script_file;
    const sec = el("section", { id: "script", "aria-labelledby": "script-title" },
      el("h2", { id: "script-title", text: W.script_title }),
      el("p", { text: (data.served ? W.served_help.replace("{folder}", file) : W.script_help.replace("{file}", file)) }));
    const box = el("article", { className: "tile transcript" });
    const fields = [];
    for (const d of data.script) {
      const id = "line-" + d.id;
      const area = el("textarea", { id: id, rows: "2", "data-line": d.id });
      area.value = d.text;
      fields.push({ line: d, area: area });
      box.append(el("div", { className: "cue" }, el("label", { for: id }, el("code", { text: d.id }),
        document.createTextNode(" " + fmtTime(d.start) + " — " + d.outputs.join(", "))), area));
    }
    // the file holds the lines the producer corrected (the others stay drafted from the spec)
    const corrections = () => {
      const out = Object.assign({}, data.script_corrections);
      for (const f of fields) {
        const v = f.area.value.replace(/\s+/g, " ").trim();
        if (v && v !== f.line.text) out[f.line.id] = v;
      }
      return out;
    };
    const yml = () => "# Synstolking: line id: what the voice says (read by render; see python cli.py describe " +
      "export SPEC)\n" + Object.entries(corrections()).map(([k, v]) => k + ": " + JSON.stringify(v)).join("\n") + "\n";
    const dl = el("button", { type: "button", text: W.download_script, id: "download-script" });
    dl.addEventListener("click", () => download("script.yml", yml(), "text/yaml;charset=utf-8"));
    const bar = el("div", { className: "bar" }, dl);
    box.append(bar);
    if (data.served) {
      const status = el("p", { role: "status", className: "save-status" });
      bar.append(saveButton(() => post("script", { lines: corrections() }), status, null));
      box.append(status);
    }
    sec.append(box);
    return sec;
  }

  function notesPanel() {
    const dl = el("button", { type: "button", text: W.download_notes, id: "download-notes" });
    dl.addEventListener("click", () => {
      const doc = { campaign: data.campaign, generated: new Date().toISOString(), notes: notes, approvals: approvals };
      download("review-notes.json", JSON.stringify(doc, null, 2), "application/json");
      const md = ["# " + data.title, ""].concat(notes.map((n) => "- " + n.version + "/" + n.channel + " " +
        fmtTime(n.at) + ": " + n.text)).concat(Object.values(approvals).map((a) => "- " + a.version + "/" +
        a.channel + ": " + W.approved_by + " " + a.by + " " + a.date));
      download("review-notes.md", md.join("\n") + "\n", "text/markdown;charset=utf-8");
    });
    return el("section", { id: "notes", "aria-labelledby": "notes-title" }, el("h2", { id: "notes-title", text: W.notes }),
      el("p", { text: W.notes_help }), dl);
  }

  function main() {
    const app = document.getElementById("app");
    app.replaceChildren();
    const nav = document.getElementById("edition-nav");
    for (const ed of data.editions) {
      const id = "edition-" + (ed.version || "main");
      nav.append(el("a", { href: "#" + id, text: ed.version ? ed.version : W.main }));
      const sec = el("section", { className: "edition", id: id, "aria-labelledby": id + "-title" },
        el("h2", { id: id + "-title", text: (ed.version ? ed.version + ": " : W.main + ": ") + ed.title }));
      const tiles = el("div", { className: "tiles" });
      if (!ed.outputs.length) tiles.append(el("p", { text: W.no_outputs }));
      for (const o of ed.outputs) tiles.append(tile(o));
      sec.append(tiles);
      app.append(sec);
    }
    const people = el("ul", { className: "people" });
    for (const p of data.people) {
      const consent = p.consent_expires ? W.consent + " " + p.consent_expires + (p.consent_soon ? " — " + W.consent_soon : "")
        : (p.library ? W.consent_none : "");
      people.append(el("li", { className: p.consent_soon ? "soon" : "", text: p.person + (p.role ? ", " + p.role : "") +
        (consent ? " (" + consent + ")" : "") }));
    }
    app.append(el("section", { id: "people" }, el("h2", { text: W.people }), people));
    if (data.contact_sheet) {
      app.append(el("section", { className: "contact" }, el("h2", { text: W.contact }),
        el("a", { href: data.contact_sheet }, el("img", { src: data.contact_sheet, alt: W.contact }))));
    }
    app.append(transcripts());
    const desk = script();
    if (desk) app.append(desk);
    app.append(notesPanel());
  }
  main();
}());
