/// The report page's inline style sheet and script. The script builds neuron sections from the JSON block with
/// DOM text nodes only (never innerHTML), so untrusted tokens and explanations cannot become markup.
enum ReportAssets {
    static let css = """
        :root { --fg: #1d2330; --muted: #5d6677; --line: #d8dce3; --bg: #fafbfc; --accent: #1f6feb; }
        * { box-sizing: border-box; }
        body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg);
               margin: 0 auto; padding: 16px 24px 80px; max-width: 1280px; }
        h1 { font-size: 22px; margin: 0 0 8px; } h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); }
        h3 { font-size: 15px; margin: 12px 0 6px; } a { color: var(--accent); }
        code { font-size: 12px; } .hint { color: var(--muted); margin: 4px 0 10px; }
        dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0 0 8px; font-size: 13px; }
        dl.meta dt { color: var(--muted); } dl.meta dd { margin: 0; word-break: break-all; }
        .cards { display: flex; flex-wrap: wrap; gap: 12px; }
        .card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; width: 390px; }
        .card.control { background: #f4f4f6; }
        .badge { font-size: 11px; background: #6e7681; color: #fff; border-radius: 8px; padding: 1px 7px; vertical-align: middle; }
        .badge.shown { background: #9a6700; } .badge.scored { background: #1a7f37; }
        svg.histogram { width: 100%; height: auto; } .bar { fill: #2f81f7; } .bar.control { fill: #8c959f; }
        .axis { stroke: #8c959f; } .mean { stroke: #cf222e; stroke-width: 2; stroke-dasharray: 4 2; }
        .tick { font-size: 10px; fill: var(--muted); text-anchor: middle; } .tick.start { text-anchor: start; }
        table { border-collapse: collapse; } td, th { padding: 3px 8px; text-align: left; vertical-align: top; }
        table.stats th { color: var(--muted); font-weight: normal; } .num { text-align: right; font-variant-numeric: tabular-nums; }
        .n { color: var(--muted); font-size: 11px; }
        table.layers, #neuron-table, table.scores { background: #fff; border: 1px solid var(--line); }
        table.layers td, table.layers th, #neuron-table td, #neuron-table th, table.scores td, table.scores th { border-bottom: 1px solid var(--line); }
        .filters { display: flex; gap: 12px; align-items: center; flex-wrap: wrap; margin-bottom: 6px; }
        .filters input[type=search] { width: 320px; padding: 4px 6px; } .filters input[type=number] { width: 70px; }
        .table-wrap { max-height: 520px; overflow: auto; border: 1px solid var(--line); }
        #neuron-table { width: 100%; } #neuron-table thead th { position: sticky; top: 0; background: #eef1f5; cursor: pointer; user-select: none; }
        #neuron-table th.asc::after { content: " ▲"; } #neuron-table th.desc::after { content: " ▼"; }
        #neuron-table tbody tr { cursor: pointer; } #neuron-table tbody tr:hover { background: #eef4ff; }
        #neuron-table tbody tr.current { background: #dbe9ff; }
        .neuron-head { display: flex; gap: 16px; align-items: baseline; flex-wrap: wrap; }
        .explanation { font-size: 15px; margin: 4px 0; } .explanation b { color: var(--muted); font-weight: normal; }
        .record { margin: 6px 0 10px; } .record .label { font-size: 12px; color: var(--muted); margin-bottom: 2px; }
        .excerpt { font: 13px/1.9 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #fff; border: 1px solid var(--line);
                   border-radius: 4px; padding: 3px 6px; white-space: pre-wrap; word-break: break-word; }
        .excerpt span { border-radius: 2px; } .excerpt span:hover { outline: 1px solid #1d2330; }
        .excerpt span.hl { outline: 2px solid #bf8700; background: #fff8c5; }
        .pair-row { display: grid; grid-template-columns: 70px 1fr; gap: 2px 8px; align-items: start; }
        .pair-row .kind { font-size: 12px; color: var(--muted); padding-top: 4px; }
        .tabs button { margin-right: 6px; padding: 2px 10px; border: 1px solid var(--line); background: #fff; border-radius: 4px; cursor: pointer; }
        .tabs button.on { background: var(--accent); color: #fff; border-color: var(--accent); }
        .legend { font-size: 12px; color: var(--muted); }
        body.neuron-only > header, body.neuron-only #overview, body.neuron-only #neurons { display: none; }
        """

    static let javascript = """
        "use strict";
        const DATA = JSON.parse(document.getElementById("report-data").textContent);
        const el = (tag, attrs, ...children) => {
          const node = document.createElement(tag);
          for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
          for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
          return node;
        };
        // PackedValues (HTMLText.swift): two base-64url characters per value, level k -> (k - 2047) / 2047 * scale.
        const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        function unpack(text, scale) {
          const out = [];
          for (let i = 0; i + 1 < text.length; i += 2) {
            const k = ALPHABET.indexOf(text[i]) * 64 + ALPHABET.indexOf(text[i + 1]);
            out.push(k === 4095 ? null : Number(((k - 2047) / 2047 * scale).toPrecision(3)));
          }
          return out;
        }
        const fmt = v => v === null || v === undefined || Number.isNaN(v) ? "–" : Number(v).toFixed(3);
        const shownToken = t => t.replace(/\\n/g, "↵\\n").replace(/\\t/g, "⇥");

        // A token heatmap: background opacity = value / scale (green above 0, red below); hover shows the value.
        function heatmap(tokens, values, scale, hue) {
          const box = el("div", {class: "excerpt"});
          tokens.forEach((token, i) => {
            const v = values[i];
            const span = el("span", {title: v === null ? "n/a" : String(v)}, shownToken(token));
            if (v !== null && scale > 0) {
              const a = Math.min(1, Math.abs(v) / scale);
              const rgb = v >= 0 ? hue : "207,34,46";
              span.style.background = "rgba(" + rgb + "," + (0.85 * a).toFixed(3) + ")";
            }
            box.append(span);
          });
          return box;
        }

        // An excerpt as the judge saw it: tokens, the highlighted ones outlined.
        function marked(tokens, highlighted) {
          const box = el("div", {class: "excerpt"}), on = new Set(highlighted);
          tokens.forEach((token, i) => box.append(el("span", on.has(i) ? {class: "hl"} : {}, shownToken(token))));
          return box;
        }

        // Detection, fuzzing and intruder: the neuron's scores, then per pair (one tab each) every example with its
        // role, highlights and the judge's answer.
        function showJudged(view, n) {
          view.append(el("h3", {}, "Detection, fuzzing and intruder"));
          const table = el("table", {class: "scores"}, el("tr", {}, ...["explainer / scorer", "status", "score", "notes"]
            .map(h => el("th", {}, h))));
          for (const [pair, status, score, notes] of n.judged) {
            table.append(el("tr", {}, el("td", {}, DATA.judged[pair][0] + " (" + DATA.judged[pair][3] + ")"), el("td", {}, status),
              el("td", {class: "num"}, fmt(score)), el("td", {}, notes)));
          }
          view.append(table);
          const withExamples = n.judged.filter(j => j[4].length);
          if (!withExamples.length) return;
          const tabs = el("div", {class: "tabs"}), body = el("div", {});
          view.append(el("p", {class: "legend"}, "The examples as the judge saw them, highlighted tokens outlined; ✓ where " +
            "the judge was right, ✗ where it was wrong (controls' examples are not included)."), tabs, body);
          const render = k => {
            tabs.querySelectorAll("button").forEach((b, i) => b.classList.toggle("on", i === k));
            body.replaceChildren();
            const [pair, , , , examples] = withExamples[k];
            const kind = DATA.judged[pair][2];
            let lastCall = -1;
            for (const [excerpt, source, label, answer, confidence, highlighted, call] of examples) {
              if (kind === "intruder" && call !== lastCall) { body.append(el("h4", {}, "Trial " + (call + 1))); lastCall = call; }
              const role = kind === "intruder" ? (label ? "intruder" : "activating") :
                kind === "fuzzing" ? (label ? "true highlights" : "false highlights") : (label ? "activating" : "non-activating");
              const said = kind === "intruder" ? (answer ? " · named as the intruder" : "") :
                " · judge: " + (answer ? "yes" : "no") + (confidence === null ? "" : " (" + fmt(confidence) + ")");
              const mark = kind === "intruder" ? (label ? (answer ? " ✓" : " ✗ not named") : (answer ? " ✗" : "")) :
                (label === answer ? " ✓" : " ✗");
              const e = DATA.excerpts[excerpt];
              body.append(el("div", {class: "record"}, el("div", {class: "label"}, role + " (" + source + ")" + said + mark +
                " · " + excerptLabel(excerpt)), marked(e ? e[2] : [], highlighted)));
            }
          };
          withExamples.forEach(([pair], k) => {
            const b = el("button", {type: "button"}, DATA.judged[pair][0]);
            b.addEventListener("click", () => render(k));
            tabs.append(b);
          });
          render(0);
        }

        function excerptLabel(id) {
          const e = DATA.excerpts[id];
          return e ? e[0] + " @ token " + e[1] + " (excerpt " + id + ")" : "excerpt " + id;
        }

        function show(id) {
          const view = document.getElementById("neuron-view");
          view.replaceChildren();
          document.querySelectorAll("#neuron-table tr.current").forEach(r => r.classList.remove("current"));
          const row = document.querySelector('#neuron-table tr[data-id="' + id + '"]');
          if (row) row.classList.add("current");
          const n = DATA.sections[id];
          if (!n) {
            view.append(el("p", {class: "hint"}, "No section for neuron " + id + " in this report (" +
              Object.keys(DATA.sections).length + " of " + DATA.neurons + " neurons have one; the report command sets how many)."));
            return;
          }
          const [layer, neuron] = id.split(":");
          const [max, mean, std, positive, tokens] = n.stats;
          const real = id => unpack(n.activations[id] || "", n.scale);
          view.append(el("div", {class: "neuron-head"}, el("h3", {}, "Layer " + layer + ", neuron " + neuron),
            el("span", {class: "legend"}, "max " + fmt(max) + " · mean " + fmt(mean) + " · std " + fmt(std) +
              " · " + (100 * positive).toFixed(1) + "% of " + tokens + " tokens > 0")));
          const headlineExplainer = DATA.headlineExplainer;
          let explained = new Set();
          for (const [explainer, text, error, ids] of n.explanations) {
            view.append(el("p", {class: "explanation"}, el("b", {}, explainer + ": "), error ? "(failed: " + error + ")" : text));
            if (explainer === headlineExplainer) explained = new Set(ids);
          }
          const scores = el("table", {class: "scores"}, el("tr", {}, ...["explainer / scorer", "status", "correlation",
            "top", "random", "R²", "notes"].map(h => el("th", {}, h))));
          for (const [pair, status, corr, top, random, r2, notes] of n.scores) {
            scores.append(el("tr", {}, el("td", {}, DATA.pairs[pair][0]), el("td", {}, status), el("td", {class: "num"}, fmt(corr)),
              el("td", {class: "num"}, fmt(top)), el("td", {class: "num"}, fmt(random)), el("td", {class: "num"}, fmt(r2)), el("td", {}, notes)));
          }
          if (n.scores.length) view.append(scores);
          if (n.judged.length) showJudged(view, n);

          // Real next to simulated activations on the scored records, one tab per explainer × simulator.
          if (n.simulations.length) {
            const tabs = el("div", {class: "tabs"}), body = el("div", {});
            view.append(el("h3", {}, "Scored records: real and simulated activations"), tabs, body);
            const render = k => {
              tabs.querySelectorAll("button").forEach((b, i) => b.classList.toggle("on", i === k));
              body.replaceChildren();
              const [pair, simScale, records] = n.simulations[k];
              body.append(el("p", {class: "legend"}, "real: green, scaled to the neuron's max (" + fmt(max) + "); simulated: blue, " +
                "scaled to this simulation's max (" + fmt(simScale) + "), before calibration. " + DATA.pairs[pair][0]));
              for (const [role, excerpt, packed] of records) {
                const actual = real(excerpt), simulated = unpack(packed, simScale);
                const e = DATA.excerpts[excerpt], toks = e ? e[2] : actual.map(() => "?");
                body.append(el("div", {class: "record"}, el("div", {class: "label"}, role + " · " + excerptLabel(excerpt)),
                  el("div", {class: "pair-row"}, el("span", {class: "kind"}, "real"), heatmap(toks, actual, max, "26,127,55"),
                    el("span", {class: "kind"}, "simulated"), heatmap(toks, simulated, simScale, "31,111,235"))));
              }
            };
            n.simulations.forEach(([pair], k) => {
              const b = el("button", {type: "button"}, DATA.pairs[pair][0]);
              b.addEventListener("click", () => render(k));
              tabs.append(b);
            });
            render(0);
          }

          view.append(el("h3", {}, "Records"), el("p", {class: "legend"}, "Colour: activation ÷ the neuron's max (" + fmt(max) +
            "); hover a token for its value. “shown” = given to the explainer (" + headlineExplainer + ")."));
          let lastGroup = "";
          for (const [label, excerpt] of n.records) {
            const values = real(excerpt);
            const group = label.split(":")[0].replace(/ \\d+$/, "");
            if (group !== lastGroup) { view.append(el("h4", {}, {top: "Top-activating", quantile: "Quantile buckets", random: "Random",
              bottom: "Bottom (most negative)"}[group] || group)); lastGroup = group; }
            const e = DATA.excerpts[excerpt];
            const peak = values.reduce((a, b) => Math.max(a, b ?? -Infinity), -Infinity);
            const head = el("div", {class: "label"}, label + " · max " + fmt(peak) + " · " + excerptLabel(excerpt) + " ");
            if (explained.has(excerpt)) head.append(el("span", {class: "badge shown"}, "shown"));
            view.append(el("div", {class: "record"}, head, heatmap(e ? e[2] : values.map(() => "?"), values, max, "26,127,55")));
          }
        }

        // Table: sort by a column, filter by text, layer and minimum headline score; click opens a neuron.
        const table = document.getElementById("neuron-table");
        const tbody = table.tBodies[0];
        const allRows = Array.from(tbody.rows);
        table.tHead.querySelectorAll("th").forEach((th, column) => th.addEventListener("click", () => {
          const descending = !th.classList.contains("desc");
          table.tHead.querySelectorAll("th").forEach(h => h.classList.remove("asc", "desc"));
          th.classList.add(descending ? "desc" : "asc");
          const numeric = th.dataset.type === "num";
          const key = r => { const c = r.cells[column]; return numeric ? parseFloat(c.dataset.v ?? c.textContent) : c.textContent.toLowerCase(); };
          const sorted = allRows.slice().sort((a, b) => {
            const x = key(a), y = key(b);
            if (numeric) { if (Number.isNaN(x)) return Number.isNaN(y) ? 0 : 1; if (Number.isNaN(y)) return -1; return descending ? y - x : x - y; }
            return descending ? y.localeCompare(x) : x.localeCompare(y);
          });
          tbody.append(...sorted);
        }));
        const filterText = document.getElementById("filter-text"), filterLayer = document.getElementById("filter-layer"),
              filterScore = document.getElementById("filter-score"), filterCount = document.getElementById("filter-count");
        const headlineColumn = 3 + DATA.headline;
        function applyFilters() {
          const q = filterText.value.trim().toLowerCase(), layer = filterLayer.value, min = parseFloat(filterScore.value);
          let visible = 0;
          for (const r of allRows) {
            const score = parseFloat(r.cells[headlineColumn]?.dataset.v);
            const ok = (!q || r.dataset.id === q || r.cells[2].textContent.toLowerCase().includes(q)) &&
              (!layer || r.dataset.layer === layer) && (Number.isNaN(min) || score >= min);
            r.hidden = !ok;
            if (ok) visible++;
          }
          filterCount.textContent = visible + " of " + allRows.length + " neurons";
        }
        [filterText, filterLayer, filterScore].forEach(i => i.addEventListener("input", applyFilters));
        applyFilters();
        tbody.addEventListener("click", e => { const r = e.target.closest("tr"); if (r) location.hash = "neuron-" + r.dataset.id.replace(":", "-"); });
        // "?view=neuron" shows only the neuron section (for printing or a screenshot of one neuron).
        const neuronOnly = new URLSearchParams(location.search).get("view") === "neuron";
        document.body.classList.toggle("neuron-only", neuronOnly);
        function fromHash() {
          const m = /^#neuron-(\\d+)-(\\d+)$/.exec(location.hash);
          if (m) { show(m[1] + ":" + m[2]); if (!neuronOnly) document.getElementById("neuron").scrollIntoView(); }
        }
        window.addEventListener("hashchange", fromHash);
        fromHash();
        """
}
